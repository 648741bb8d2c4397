// The editor's fields come from the real `aidc schema --format json` (AIDC_BIN), and each one, written by
// ScenarioDocument at its default as the form would write it, is a key the real `aidc validate` accepts.
#include "core/AidcTool.h"
#include "core/ScenarioDocument.h"
#include "core/ScenarioFields.h"
#include "core/Validation.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

class TestScenarioFields : public QObject {
    Q_OBJECT
private slots:
    void fieldsComeFromTheSchema()
    {
        const QVector<ScenarioField>& fields = scenarioFields();
        QVERIFY2(!fields.isEmpty(), qPrintable(scenarioFieldsError()));
        QStringList paths;
        for (const ScenarioField& field : fields)
            paths << field.path;
        QVERIFY(paths.contains(QStringLiteral("workload.schedule.rate_per_s")));
        QVERIFY(!paths.contains(QStringLiteral("workload.rate_per_s")));   // the key the old hand-made list offered
        QVERIFY(paths.contains(QStringLiteral("facility.halls.0.cooling.kind")));
        QVERIFY(scenarioFieldSections().contains(QStringLiteral("deployment")));
    }

    void badSchemaOutputSaysWhy()
    {
        QString error;
        QVERIFY(parseScenarioSchema("not json", &error).isEmpty());
        QVERIFY(error.contains(QStringLiteral("aidc-schema/1")));
    }

    void everyFieldAtItsDefaultValidates()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QStringList files;
        QHash<QString, const ScenarioField*> fieldOfFile;
        for (const ScenarioField& field : scenarioFields()) {
            if (field.defaultValue.isEmpty())
                continue;
            ScenarioDocument document;
            QVERIFY(document.loadFromText(QStringLiteral("{}"), QStringLiteral("field.yaml")));
            if (!field.whenKey.isEmpty())
                document.setValue(field.whenKey, field.whenValue);
            document.setValue(field.path, field.defaultValue);
            const QString file = dir.filePath(QStringLiteral("field-%1.yaml").arg(files.size()));
            QString error;
            QVERIFY2(document.writeSnapshot(file, &error), qPrintable(error));
            files << file;
            fieldOfFile.insert(file, &field);
        }
        QVERIFY(files.size() > 30);
        QProcess aidc;
        aidc.start(AidcTool::locateCli(), QStringList{QStringLiteral("validate"), QStringLiteral("--format"), QStringLiteral("json")} + files);
        QVERIFY(aidc.waitForFinished(60000));
        const auto issues = parseValidateJson(aidc.readAllStandardOutput());
        QVERIFY(issues);
        // Only issues about the field itself count: a default may still break a check across keys (a
        // lognormal prompt's default max plus the output exceeds deepseek-llm-7b's context).
        for (const ValidationIssue& issue : *issues) {
            const ScenarioField* field = fieldOfFile.value(issue.file);
            QVERIFY2(field, qPrintable(issue.toString()));
            const QString schemaPath = QString(field->path).replace(QStringLiteral(".0."), QStringLiteral("[0]."));
            QVERIFY2(issue.path != schemaPath && issue.path != field->whenKey && !issue.message.contains(QStringLiteral("unknown key")),
                     qPrintable(field->path + QStringLiteral(": ") + issue.toString()));
        }
    }
};

QTEST_GUILESS_MAIN(TestScenarioFields)
#include "test_scenario_fields.moc"
