// Scenario model: round trip, key-path edits, unknown keys, bad input, snapshots, the all-keys tree.
#include "core/ScenarioDocument.h"
#include "core/ScenarioTreeModel.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestScenarioDocument : public QObject {
    Q_OBJECT
private:
    const QString m_fixture = QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml");

private slots:
    void roundTripGivesTheSameTree()
    {
        ScenarioDocument original;
        QVERIFY2(original.load(m_fixture), qPrintable(original.errorString()));
        QTemporaryDir dir;
        const QString saved = dir.filePath(QStringLiteral("saved.yaml"));
        QVERIFY(original.save(saved));
        ScenarioDocument reloaded;
        QVERIFY(reloaded.load(saved));
        QVERIFY(ScenarioDocument::sameTree(original.root(), reloaded.root()));
        // And once more, so emitting is stable too.
        QCOMPARE(reloaded.toYaml(), original.toYaml());
    }

    void keepsKeysTheGuiDoesNotKnow()
    {
        ScenarioDocument document;
        QVERIFY(document.load(m_fixture));
        document.setValue(QStringLiteral("deployment.replicas"), QStringLiteral("16"));
        QTemporaryDir dir;
        QVERIFY(document.save(dir.filePath(QStringLiteral("edited.yaml"))));
        ScenarioDocument reloaded;
        QVERIFY(reloaded.load(dir.filePath(QStringLiteral("edited.yaml"))));
        QCOMPARE(reloaded.value(QStringLiteral("deployment.replicas")), QStringLiteral("16"));
        QCOMPARE(reloaded.value(QStringLiteral("deployment.future_knob.mode")), QStringLiteral("experimental"));
        QCOMPARE(reloaded.value(QStringLiteral("deployment.future_knob.weights.2")), QStringLiteral("3"));
        QCOMPARE(reloaded.value(QStringLiteral("unknown_top_level.1.second")), QStringLiteral("2"));
        QCOMPARE(reloaded.value(QStringLiteral("datacenter.network.fabric.kind")), QStringLiteral("infiniband"));
    }

    void setValueCreatesAndRemovesKeys()
    {
        ScenarioDocument document;
        QVERIFY(document.load(m_fixture));
        QSignalSpy changed(&document, &ScenarioDocument::valueChanged);
        QVERIFY(!document.isModified());

        document.setValue(QStringLiteral("facility.cooling"), QStringLiteral("liquid"));
        QCOMPARE(document.kind(QStringLiteral("facility")), ScenarioDocument::NodeKind::Mapping);
        QCOMPARE(document.value(QStringLiteral("facility.cooling")), QStringLiteral("liquid"));
        QVERIFY(document.isModified());

        // A numeric segment creates a sequence entry where there is none.
        document.setValue(QStringLiteral("facility.halls.0.cooling.kind"), QStringLiteral("immersion"));
        QCOMPARE(document.kind(QStringLiteral("facility.halls")), ScenarioDocument::NodeKind::Sequence);
        QCOMPARE(document.value(QStringLiteral("facility.halls.0.cooling.kind")), QStringLiteral("immersion"));
        document.setValue(QStringLiteral("facility.halls.0.cooling.kind"), QStringLiteral("air"));
        QCOMPARE(document.childKeys(QStringLiteral("facility.halls")), QStringList{QStringLiteral("0")});

        document.setValue(QStringLiteral("seed"), QString());
        QCOMPARE(document.kind(QStringLiteral("seed")), ScenarioDocument::NodeKind::Missing);
        // Reading a missing path must not create it.
        QVERIFY(document.value(QStringLiteral("no.such.key")).isEmpty());
        QCOMPARE(document.kind(QStringLiteral("no")), ScenarioDocument::NodeKind::Missing);
        // Setting the same value again is no change.
        document.setValue(QStringLiteral("facility.cooling"), QStringLiteral("liquid"));
        QCOMPARE(changed.count(), 4);
    }

    // Issue 12: the YAML tab (and Save) dropped the user's comments. Editing a value keeps them, and the
    // validation snapshot has the same lines; a new key re-emits the tree (yaml-cpp keeps no comments).
    void editsKeepTheFilesComments()
    {
        ScenarioDocument document;
        const QString text = QStringLiteral("# sized for 5,000 users\nname: colo  # the quote of 2026-03\n"
                                            "deployment:\n  replicas: 4   # N+1\n  model: DeepSeek-R1-Distill-Qwen-32B\n");
        QVERIFY(document.loadFromText(text, QStringLiteral("colo.yaml")));
        QCOMPARE(document.toYaml(), text);
        document.setValue(QStringLiteral("deployment.replicas"), QStringLiteral("12"));
        QCOMPARE(document.toYaml(), QString(text).replace(QStringLiteral("replicas: 4"), QStringLiteral("replicas: 12")));
        QCOMPARE(document.value(QStringLiteral("deployment.replicas")), QStringLiteral("12"));
        QTemporaryDir dir;
        QString error;
        const QString snapshot = dir.filePath(QStringLiteral("snapshot.yaml"));
        QVERIFY2(document.writeSnapshot(snapshot, &error), qPrintable(error));
        QFile written(snapshot);
        QVERIFY(written.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(written.readAll()), document.toYaml());
        document.setValue(QStringLiteral("deployment.tensor_parallel"), QStringLiteral("2"));
        QCOMPARE(document.value(QStringLiteral("deployment.tensor_parallel")), QStringLiteral("2"));
        QVERIFY(!document.toYaml().contains(u'#'));
    }

    void brokenYamlSaysWhere()
    {
        ScenarioDocument document;
        QVERIFY(document.load(m_fixture));
        const QString broken = QStringLiteral(AIDC_GUI_TEST_DATA "/broken.yaml");
        QVERIFY(!document.load(broken));
        QVERIFY2(document.errorString().startsWith(broken + u':'), qPrintable(document.errorString()));
        QVERIFY(document.errorString().contains(QStringLiteral(": error: ")));
        // A failed load leaves the open document alone.
        QCOMPARE(document.value(QStringLiteral("name")), QStringLiteral("fixture"));
    }

    void missingFileSaysSo()
    {
        ScenarioDocument document;
        QVERIFY(!document.load(QStringLiteral("/nonexistent/scenario.yaml")));
        QVERIFY(document.errorString().contains(QStringLiteral("no such file")));
    }

    void scalarTopLevelIsRejected()
    {
        ScenarioDocument document;
        QVERIFY(!document.loadFromText(QStringLiteral("just a string"), QStringLiteral("inline.yaml")));
        QVERIFY(document.errorString().contains(QStringLiteral("mapping")));
    }

    void snapshotResolvesExtendsFromAnywhere()
    {
        ScenarioDocument document;
        QVERIFY(document.load(m_fixture));
        QTemporaryDir dir;
        const QString snapshot = dir.filePath(QStringLiteral("snapshot.yaml"));
        QString error;
        QVERIFY2(document.writeSnapshot(snapshot, &error), qPrintable(error));
        ScenarioDocument copy;
        QVERIFY(copy.load(snapshot));
        QCOMPARE(copy.value(QStringLiteral("extends")), QStringLiteral(AIDC_GUI_TEST_DATA "/base.yaml"));
        // The document itself keeps its relative extends.
        QCOMPARE(document.value(QStringLiteral("extends")), QStringLiteral("base.yaml"));
    }

    void treeModelShowsAndEditsEveryKey()
    {
        ScenarioDocument document;
        QVERIFY(document.load(m_fixture));
        ScenarioTreeModel model(&document);
        const QModelIndex replicas = model.indexOfPath(QStringLiteral("deployment.replicas"), ScenarioTreeModel::ValueColumn);
        QVERIFY(replicas.isValid());
        QCOMPARE(replicas.data().toString(), QStringLiteral("8"));
        QVERIFY(model.flags(replicas) & Qt::ItemIsEditable);
        QVERIFY(!(model.flags(model.indexOfPath(QStringLiteral("deployment"), ScenarioTreeModel::ValueColumn))
                  & Qt::ItemIsEditable));
        QVERIFY(model.setData(replicas, QStringLiteral("32")));
        QCOMPARE(document.value(QStringLiteral("deployment.replicas")), QStringLiteral("32"));

        document.setValue(QStringLiteral("facility.site"), QStringLiteral("helsinki"));
        QVERIFY(model.indexOfPath(QStringLiteral("facility.site")).isValid());
        QCOMPARE(model.indexOfPath(QStringLiteral("unknown_top_level.1.second"), ScenarioTreeModel::ValueColumn).data().toString(),
                 QStringLiteral("2"));
    }
};

QTEST_GUILESS_MAIN(TestScenarioDocument)
#include "test_scenario_document.moc"
