// End to end, in a real (virtual) X window with the real aidc: open scenarios/default.yaml, run it, wait for
// the results, check every KPI tile against the run's summary.json, run a what-if, compare both, and save
// screenshots of the editor, results and compare views. Started by run_end_to_end.sh under xvfb-run.
#include "core/Kpi.h"
#include "core/RunQueue.h"
#include "core/RunResult.h"
#include "core/ScenarioDocument.h"
#include "widgets/MainWindow.h"
#include "widgets/ResultsView.h"

#include <QDir>
#include <QFile>
#include <QFrame>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLocale>
#include <QStandardPaths>
#include <QTest>

namespace {

// A run of the default scenario takes seconds; the margin covers slow CI machines.
constexpr int kRunTimeoutMs = 300'000;

QJsonValue jsonAt(const QJsonObject& root, const QString& dottedKey)
{
    QJsonValue value = root;
    for (const QString& part : dottedKey.split(u'.'))
        value = value.toObject().value(part);
    return value;
}

} // namespace

class TestGuiEndToEnd : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<MainWindow> m_window;
    QString m_screenshots;

    void screenshot(MainWindow::Tab tab, const QString& name)
    {
        m_window->showTab(tab);
        QTest::qWait(300);   // let charts finish their first layout
        const QString path = QDir(m_screenshots).filePath(name);
        QVERIFY2(m_window->grab().save(path), qPrintable(path));
        qInfo() << "screenshot" << path;
    }

    // Runs the open document to completion; *row is its row in the run queue.
    void runToCompletion(int* row)
    {
        RunQueue* queue = m_window->runQueue();
        *row = queue->rowCount();
        m_window->runScenario();
        QVERIFY2(queue->rowCount() == *row + 1, qPrintable(m_window->errorText()));
        const RunQueue::Run& run = queue->run(*row);
        QTRY_VERIFY_WITH_TIMEOUT(run.state != RunQueue::State::Queued && run.state != RunQueue::State::Running,
                                 kRunTimeoutMs);
        QVERIFY2(run.state == RunQueue::State::Succeeded, qPrintable(run.message));
    }

    void checkTilesAgainstSummary(const QString& outDir)
    {
        QFile file(QDir(outDir).filePath(QStringLiteral("summary.json")));
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject summary = QJsonDocument::fromJson(file.readAll()).object();
        QVERIFY(!summary.isEmpty());

        QTRY_VERIFY(m_window->resultsView()->result() && m_window->resultsView()->result()->dir() == QDir(outDir).absolutePath());
        const QList<QFrame*> tiles = m_window->resultsView()->findChildren<QFrame*>(QStringLiteral("tile"));
        QStringList shown;
        for (QFrame* tile : tiles) {
            const QString key = tile->property("summaryKey").toString();
            const QJsonValue expected = jsonAt(summary, key);
            QVERIFY2(expected.isDouble() || expected.isBool(), qPrintable(key));
            const double expectedValue = expected.isBool() ? double(expected.toBool()) : expected.toDouble();
            QCOMPARE(tile->property("summaryValue").toDouble(), expectedValue);
            // The displayed text is that value, formatted as its KPI definition says.
            const QString definitionKey = tile->property("kpiDefinition").toString();
            const auto definition = std::find_if(kpiDefinitions().begin(), kpiDefinitions().end(),
                                                 [&](const KpiDefinition& d) { return d.summaryKey == definitionKey; });
            QVERIFY(definition != kpiDefinitions().end());
            QCOMPARE(tile->findChild<QLabel*>(QStringLiteral("value"))->text(), formatKpiValue(*definition, expectedValue));
            shown << key;
        }
        for (const char* required : {"latency_s.ttft.", "latency_s.tpot.", "latency_s.e2e.", "throughput.requests_per_s",
                                     "throughput.output_tokens_per_s", "gpus.count"}) {
            const bool present = std::any_of(shown.begin(), shown.end(),
                                             [&](const QString& key) { return key.startsWith(QLatin1String(required)); });
            QVERIFY2(present, required);
        }
    }

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        m_screenshots = qEnvironmentVariable("AIDC_GUI_SCREENSHOTS");
        QVERIFY2(!m_screenshots.isEmpty(), "AIDC_GUI_SCREENSHOTS must name the screenshot folder");
        QVERIFY(QDir().mkpath(m_screenshots));
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1600, 1000);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    }

    void opensTheDefaultScenario()
    {
        const QString scenario = QDir(qEnvironmentVariable("AIDC_SCENARIOS_DIR")).filePath(QStringLiteral("default.yaml"));
        QVERIFY2(m_window->openScenario(scenario), qPrintable(m_window->errorText()));
        QTest::qWait(1500);   // the debounced validation runs aidc validate
        screenshot(MainWindow::Tab::Scenario, QStringLiteral("gui-editor.png"));
    }

    void runsAndShowsTheSummary()
    {
        int row = -1;
        runToCompletion(&row);
        if (QTest::currentTestFailed())
            return;
        checkTilesAgainstSummary(m_window->runQueue()->run(row).outDir);
        QVERIFY(m_window->errorText().isEmpty());
        screenshot(MainWindow::Tab::Results, QStringLiteral("gui-results.png"));
        emit m_window->resultsView()->pinRequested(m_window->resultsView()->result());
    }

    void comparesAWhatIf()
    {
        // What if the load doubles? Scale whichever load knob the default scenario uses.
        ScenarioDocument* document = m_window->document();
        for (const QString& knob : {QStringLiteral("workload.users"), QStringLiteral("workload.schedule.rate_per_s")}) {
            bool isNumber = false;
            const double value = document->value(knob).toDouble(&isNumber);
            if (isNumber) {
                document->setValue(knob, QLocale::c().toString(value * 2, 'g', 12));
                break;
            }
        }
        document->setValue(QStringLiteral("name"), document->value(QStringLiteral("name")) + QStringLiteral("-double-load"));
        int row = -1;
        runToCompletion(&row);
        if (QTest::currentTestFailed())
            return;
        checkTilesAgainstSummary(m_window->runQueue()->run(row).outDir);
        emit m_window->resultsView()->pinRequested(m_window->resultsView()->result());
        screenshot(MainWindow::Tab::Compare, QStringLiteral("gui-compare.png"));
    }
};

QTEST_MAIN(TestGuiEndToEnd)
#include "test_gui_end_to_end.moc"
