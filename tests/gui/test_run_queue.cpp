// Run queue and validation controller against a test double of aidc: progress, success, invalid input,
// crash, cancel, parallelism, aidc missing.
#include "core/RunQueue.h"
#include "core/ScenarioDocument.h"
#include "core/ValidationController.h"

#include <QDir>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestRunQueue : public QObject {
    Q_OBJECT
private:
    const QString m_fakeAidc = QStringLiteral(AIDC_GUI_TEST_DATA "/fake_aidc.sh");
    QTemporaryDir m_runs;
    ScenarioDocument m_document;

    int enqueue(RunQueue& queue, const char* mode)
    {
        qputenv("FAKE_AIDC_MODE", mode);
        QString error;
        const int row = queue.enqueue(m_document, &error);
        if (row < 0)
            qWarning() << error;
        return row;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_document.load(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
    }

    void successfulRunReportsProgressAndOutputs()
    {
        RunQueue queue(m_fakeAidc, m_runs.path());
        QSignalSpy finished(&queue, &RunQueue::runFinished);
        QSignalSpy changed(&queue, &QAbstractItemModel::dataChanged);
        const int row = enqueue(queue, "ok");
        QCOMPARE(row, 0);
        QTRY_COMPARE(queue.run(row).state, RunQueue::State::Succeeded);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(queue.run(row).fraction, 1.0);
        QCOMPARE(queue.run(row).simulatedSeconds, 150.0);
        QVERIFY(changed.count() >= 4);   // running, three progress events, done
        const QDir out(queue.run(row).outDir);
        QVERIFY(out.exists(QStringLiteral("summary.json")));
        QVERIFY(out.exists(QStringLiteral("input.yaml")));
        QCOMPARE(queue.index(row, RunQueue::StateColumn).data().toString(), QStringLiteral("done"));
    }

    void invalidInputShowsTheDiagnostic()
    {
        RunQueue queue(m_fakeAidc, m_runs.path());
        const int row = enqueue(queue, "invalid");
        QTRY_COMPARE(queue.run(row).state, RunQueue::State::Failed);
        QVERIFY2(queue.run(row).message.contains(QStringLiteral("deployment.replicas: must be at least 1")),
                 qPrintable(queue.run(row).message));
    }

    void crashedChildIsAFailedRun()
    {
        RunQueue queue(m_fakeAidc, m_runs.path());
        const int row = enqueue(queue, "crash");
        QTRY_COMPARE(queue.run(row).state, RunQueue::State::Failed);
        QVERIFY2(queue.run(row).message.contains(QStringLiteral("crashed")), qPrintable(queue.run(row).message));
    }

    void cancelStopsARunAndStartsTheNext()
    {
        RunQueue queue(m_fakeAidc, m_runs.path());
        queue.setMaxParallel(1);
        const int first = enqueue(queue, "hang");
        const int second = enqueue(queue, "hang");
        QTRY_COMPARE(queue.run(first).fraction, 0.1);
        QCOMPARE(queue.run(second).state, RunQueue::State::Queued);
        queue.cancel(first);
        QTRY_COMPARE(queue.run(first).state, RunQueue::State::Cancelled);
        QTRY_COMPARE(queue.run(second).state, RunQueue::State::Running);
        queue.cancel(second);
        QTRY_COMPARE(queue.run(second).state, RunQueue::State::Cancelled);
    }

    void runsInParallel()
    {
        RunQueue queue(m_fakeAidc, m_runs.path());
        queue.setMaxParallel(2);
        const int first = enqueue(queue, "hang");
        const int second = enqueue(queue, "hang");
        const int third = enqueue(queue, "hang");
        QCOMPARE(queue.runningCount(), 2);
        QCOMPARE(queue.run(third).state, RunQueue::State::Queued);
        queue.cancel(third);   // cancelled while queued: never starts
        QCOMPARE(queue.run(third).state, RunQueue::State::Cancelled);
        queue.cancel(first);
        queue.cancel(second);
        QTRY_COMPARE(queue.runningCount(), 0);
        QCOMPARE(queue.run(third).state, RunQueue::State::Cancelled);
    }

    void missingAidcIsAFailedRun()
    {
        RunQueue queue(QString(), m_runs.path());
        const int row = enqueue(queue, "ok");
        QCOMPARE(queue.run(row).state, RunQueue::State::Failed);
        QVERIFY(queue.run(row).message.contains(QStringLiteral("not found")));
        RunQueue broken(QStringLiteral("/nonexistent/aidc"), m_runs.path());
        const int other = enqueue(broken, "ok");
        QTRY_COMPARE(broken.run(other).state, RunQueue::State::Failed);
        QVERIFY(broken.run(other).message.contains(QStringLiteral("cannot start")));
    }

    void validationPublishesIssuesForTheDocument()
    {
        ValidationController validation(&m_document, m_fakeAidc);
        QSignalSpy validated(&validation, &ValidationController::validated);
        qputenv("FAKE_AIDC_MODE", "invalid");
        validation.validateNow();
        QTRY_COMPARE(validated.count(), 1);
        const QVector<ValidationIssue> onDisk = validation.issues();
        QCOMPARE(onDisk.size(), 3);
        QCOMPARE(onDisk.first().path, QStringLiteral("deployment.replicas"));
        QCOMPARE(onDisk.first().file, m_document.filePath());

        // Issue 12: messages pointed at lines of a re-emitted snapshot while naming the file on disk. A
        // saved document is validated in place (above: its own path and lines); unsaved edits are named
        // as such, with the YAML tab's lines.
        m_document.setValue(QStringLiteral("deployment.replicas"), QStringLiteral("0"));
        validation.validateNow();
        QTRY_COMPARE(validated.count(), 2);
        const QVector<ValidationIssue> unsaved = validation.issues();
        QVERIFY(!unsaved.isEmpty());
        QVERIFY2(unsaved.first().file.contains(QStringLiteral("unsaved; lines of the YAML tab")), qPrintable(unsaved.first().file));
        QVERIFY(m_document.load(m_document.filePath()));

        qputenv("FAKE_AIDC_MODE", "ok");
        validation.validateNow();
        QTRY_COMPARE(validated.count(), 3);
        QVERIFY(validation.issues().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestRunQueue)
#include "test_run_queue.moc"
