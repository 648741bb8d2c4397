// Validation: aidc's JSON and diagnostic lines, and which form field each issue belongs to.
#include "core/Validation.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "core/ScenarioDocument.h"
#include "core/ValidationController.h"

class TestValidation : public QObject {
    Q_OBJECT
private slots:
    void parsesValidateJson()
    {
        QFile file(QStringLiteral(AIDC_GUI_TEST_DATA "/validate.json"));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const auto issues = parseValidateJson(file.readAll());
        QVERIFY(issues);
        QCOMPARE(issues->size(), 3);
        QCOMPARE(issues->first(), (ValidationIssue{QStringLiteral("scenario.yaml"), 14, 13,
                                                   QStringLiteral("deployment.replicas"), QStringLiteral("must be at least 1")}));
        QVERIFY(parseValidateJson("[]")->isEmpty());
        QVERIFY(!parseValidateJson("not json"));
    }

    void parsesDiagnosticLines()
    {
        const auto issue = parseDiagnosticLine(QStringLiteral("scenarios/default.yaml:12:5: error: deployment.tensor_parallel: must divide the GPUs per server"));
        QVERIFY(issue);
        QCOMPARE(issue->file, QStringLiteral("scenarios/default.yaml"));
        QCOMPARE(issue->line, 12);
        QCOMPARE(issue->column, 5);
        QCOMPARE(issue->path, QStringLiteral("deployment.tensor_parallel"));
        QCOMPARE(issue->message, QStringLiteral("must divide the GPUs per server"));

        const auto withoutPath = parseDiagnosticLine(QStringLiteral("a.yaml:3:1: error: mapping values are not allowed here"));
        QVERIFY(withoutPath);
        QVERIFY(withoutPath->path.isEmpty());
        QCOMPARE(withoutPath->message, QStringLiteral("mapping values are not allowed here"));

        QVERIFY(!parseDiagnosticLine(QStringLiteral("{\"event\":\"progress\"}")));
        QCOMPARE(parseDiagnostics({QStringLiteral("noise"), QStringLiteral("f.yaml:1:2: error: seed: not a number")}).size(), 1);
    }

    void mapsIssuesToTheirFields()
    {
        const QStringList fields = {QStringLiteral("deployment.replicas"), QStringLiteral("datacenter.gpu"),
                                    QStringLiteral("datacenter")};
        const QVector<ValidationIssue> issues = {
            {{}, 1, 1, QStringLiteral("deployment.replicas"), QStringLiteral("must be at least 1")},
            // Longest prefix wins: datacenter.gpu, not datacenter.
            {{}, 2, 1, QStringLiteral("datacenter.gpu.memory"), QStringLiteral("unknown GPU")},
            {{}, 3, 1, QStringLiteral("unknown_top_level"), QStringLiteral("unknown key")},
            // A prefix of the name is not a prefix of the path.
            {{}, 4, 1, QStringLiteral("deployment.replicas_max"), QStringLiteral("unknown key")},
        };
        const FieldIssues mapped = mapIssuesToFields(issues, fields);
        QCOMPARE(mapped.messagesByField.value(QStringLiteral("deployment.replicas")), QStringList{QStringLiteral("must be at least 1")});
        QCOMPARE(mapped.messagesByField.value(QStringLiteral("datacenter.gpu")), QStringList{QStringLiteral("unknown GPU")});
        QVERIFY(!mapped.messagesByField.contains(QStringLiteral("datacenter")));
        QCOMPARE(mapped.unmatched.size(), 2);
    }

    // Issue 17: the editor said "No problems found." for an empty file that `aidc validate` rejects. The
    // real aidc (AIDC_BIN, set by ctest) must give the editor the CLI's own answer.
    void anEmptyFileIsRejectedAsTheCliRejectsIt()
    {
        const QByteArray aidc = qgetenv("AIDC_BIN");
        if (aidc.isEmpty())
            QSKIP("AIDC_BIN is not set (ctest sets it to the built aidc)");
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("empty.yaml"));
        QFile empty(path);
        QVERIFY(empty.open(QIODevice::WriteOnly));
        empty.close();
        ScenarioDocument document;
        QVERIFY(document.load(path));
        ValidationController validation(&document, QString::fromLocal8Bit(aidc));
        QSignalSpy validated(&validation, &ValidationController::validated);
        validation.validateNow();
        QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 1, 30000);
        QCOMPARE(validation.issues().size(), 1);
        QVERIFY2(validation.issues().first().message.contains(QStringLiteral("expected a mapping")),
                 qPrintable(validation.issues().first().message));
        QCOMPARE(validation.issues().first().line, 1);
    }
};

QTEST_GUILESS_MAIN(TestValidation)
#include "test_validation.moc"
