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
    // validation snapshot has the same lines.
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
    }

    // Issue 12: adding and removing keys, and values that need quoting, patch the file's text too: every
    // step below is the text a person would have typed, comments included, and reads back as the tree
    // written out independently by hand.
    void addingAndRemovingKeysKeepsTheFilesComments()
    {
        ScenarioDocument document;
        QVERIFY(document.loadFromText(QStringLiteral("# sized for 5,000 users\n"
                                                     "name: colo  # the quote of 2026-03\n"
                                                     "deployment:\n"
                                                     "  replicas: 4   # N+1\n"
                                                     "  # how requests are batched\n"
                                                     "  scheduler:\n"
                                                     "      policy: fcfs\n"
                                                     "      chunk: 512\n"
                                                     "\n"
                                                     "# what we sell\n"
                                                     "slo:\n"
                                                     "  ttft_s: 2\n"),
                                      QStringLiteral("colo.yaml")));
        const auto expect = [&](const char* text, const char* tree) {
            QCOMPARE(document.toYaml(), QString::fromUtf8(text));
            QVERIFY2(ScenarioDocument::sameTree(YAML::Load(document.toYaml().toStdString()), YAML::Load(tree)),
                     qPrintable(document.toYaml()));
            QVERIFY(ScenarioDocument::sameTree(document.root(), YAML::Load(tree)));
        };

        // A new key under an existing mapping: after its last entry's block, at its entries' indentation.
        // A key whose parents do not exist: new mappings at the end of the document.
        document.setValue(QStringLiteral("deployment.tensor_parallel"), QStringLiteral("2"));
        document.setValue(QStringLiteral("deployment.scheduler.preempt"), QStringLiteral("true"));
        document.setValue(QStringLiteral("facility.weather.city"), QStringLiteral("hong_kong"));
        expect("# sized for 5,000 users\nname: colo  # the quote of 2026-03\ndeployment:\n  replicas: 4   # N+1\n"
               "  # how requests are batched\n  scheduler:\n      policy: fcfs\n      chunk: 512\n      preempt: true\n"
               "  tensor_parallel: 2\n\n# what we sell\nslo:\n  ttft_s: 2\nfacility:\n  weather:\n    city: hong_kong\n",
               "{name: colo, deployment: {replicas: 4, scheduler: {policy: fcfs, chunk: 512, preempt: 'true'},"
               " tensor_parallel: 2}, slo: {ttft_s: 2}, facility: {weather: {city: hong_kong}}}");

        // Removing a scalar key takes its line; removing a mapping takes its block.
        document.setValue(QStringLiteral("name"), QString());
        document.setValue(QStringLiteral("deployment.scheduler"), QString());
        expect("# sized for 5,000 users\ndeployment:\n  replicas: 4   # N+1\n  # how requests are batched\n"
               "  tensor_parallel: 2\n\n# what we sell\nslo:\n  ttft_s: 2\nfacility:\n  weather:\n    city: hong_kong\n",
               "{deployment: {replicas: 4, tensor_parallel: 2}, slo: {ttft_s: 2}, facility: {weather: {city: hong_kong}}}");

        // Values that would read as a mapping or a comment are written double-quoted, escapes and all.
        document.setValue(QStringLiteral("deployment.replicas"), QStringLiteral("site: \"HK\\1\" # primary"));
        document.setValue(QStringLiteral("facility.weather.city"), QStringLiteral("#hk"));
        expect("# sized for 5,000 users\ndeployment:\n  replicas: \"site: \\\"HK\\\\1\\\" # primary\"   # N+1\n"
               "  # how requests are batched\n  tensor_parallel: 2\n\n# what we sell\nslo:\n  ttft_s: 2\n"
               "facility:\n  weather:\n    city: \"#hk\"\n",
               "{deployment: {replicas: 'site: \"HK\\1\" # primary', tensor_parallel: 2}, slo: {ttft_s: 2},"
               " facility: {weather: {city: '#hk'}}}");
        // And back to plain, in place of the quoted scalar; a word YAML reads as null is quoted.
        document.setValue(QStringLiteral("deployment.replicas"), QStringLiteral("6"));
        QVERIFY(document.toYaml().contains(QStringLiteral("  replicas: 6   # N+1\n")));
        document.setValue(QStringLiteral("deployment.tensor_parallel"), QStringLiteral("null"));
        QVERIFY(document.toYaml().contains(QStringLiteral("# how requests are batched\n  tensor_parallel: \"null\"\n")));
        QCOMPARE(document.value(QStringLiteral("deployment.tensor_parallel")), QStringLiteral("null"));

        // A mapping's last key: the mapping stays, empty, as `{}`; a key added to it goes below it again.
        document.setValue(QStringLiteral("slo.ttft_s"), QString());
        QVERIFY(document.toYaml().endsWith(QStringLiteral("# what we sell\nslo: {}\nfacility:\n  weather:\n    city: \"#hk\"\n")));
        QCOMPARE(document.kind(QStringLiteral("slo")), ScenarioDocument::NodeKind::Mapping);
        document.setValue(QStringLiteral("slo.e2e_s"), QStringLiteral("30"));
        QVERIFY(document.toYaml().contains(QStringLiteral("# what we sell\nslo:\n  e2e_s: 30\nfacility:")));
        QVERIFY(document.toYaml().startsWith(QStringLiteral("# sized for 5,000 users\n")));
    }

    // A key written with no value (null) gets its value on its own line.
    void valueForAnEmptyKeyGoesOnItsLine()
    {
        ScenarioDocument document;
        QVERIFY(document.loadFromText(QStringLiteral("facility:   # later\n# end\n"), QStringLiteral("empty.yaml")));
        document.setValue(QStringLiteral("facility"), QStringLiteral("hk-colo"));
        QCOMPARE(document.toYaml(), QStringLiteral("facility: hk-colo   # later\n# end\n"));
        QVERIFY(ScenarioDocument::sameTree(document.root(), YAML::Load("{facility: hk-colo}")));
    }

    // A key under a flow-style mapping cannot be added by a line of its own: the tree is re-emitted (the
    // comments go) and still holds every value.
    void flowParentsFallBackToTheTree()
    {
        ScenarioDocument document;
        QVERIFY(document.loadFromText(QStringLiteral("# limits\nlimits: {a: 1}\nname: x\n"), QStringLiteral("flow.yaml")));
        document.setValue(QStringLiteral("limits.b"), QStringLiteral("2"));
        QVERIFY(ScenarioDocument::sameTree(YAML::Load(document.toYaml().toStdString()),
                                           YAML::Load("{limits: {a: 1, b: 2}, name: x}")));
        QVERIFY(ScenarioDocument::sameTree(document.root(), YAML::Load("{limits: {a: 1, b: 2}, name: x}")));
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
