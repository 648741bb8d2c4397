// The window with the offscreen platform: bad input shows a clear message in the window (never a dialog or
// a crash), forms edit the document, validation issues appear at their field, results fill the tiles.
#include "core/CompareModel.h"
#include "core/RunQueue.h"
#include "core/RunResult.h"
#include "core/ScenarioDocument.h"
#include "widgets/MainWindow.h"
#include "widgets/ResultsView.h"
#include "widgets/ScenarioEditor.h"

#include <QComboBox>
#include <QFrame>
#include <QLabel>
#include <QLineEdit>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

class TestMainWindow : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_runs;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);   // keeps QSettings (recent files, layout) out of the user's
        qputenv("AIDC_GUI_RUNS_DIR", m_runs.path().toUtf8());
        qputenv("AIDC_SCENARIOS_DIR", AIDC_GUI_TEST_DATA);
    }

    void brokenYamlShowsWhereInTheWindow()
    {
        MainWindow window;
        QVERIFY(!window.openScenario(QStringLiteral(AIDC_GUI_TEST_DATA "/broken.yaml")));
        QVERIFY2(window.errorText().contains(QStringLiteral("broken.yaml:")), qPrintable(window.errorText()));
        QVERIFY(window.errorText().contains(QStringLiteral("error")));
        QVERIFY(window.openScenario(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
        QVERIFY(window.errorText().isEmpty());
    }

    void missingFileShowsAMessage()
    {
        MainWindow window;
        QVERIFY(!window.openScenario(QStringLiteral("/nonexistent/missing.yaml")));
        QVERIFY(window.errorText().contains(QStringLiteral("no such file")));
    }

    void crashedChildShowsAMessage()
    {
        qputenv("AIDC_BIN", AIDC_GUI_TEST_DATA "/fake_aidc.sh");
        qputenv("FAKE_AIDC_MODE", "crash");
        MainWindow window;
        QVERIFY(window.openScenario(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
        window.runScenario();
        QTRY_VERIFY(window.errorText().contains(QStringLiteral("crashed")));
        QCOMPARE(window.runQueue()->run(0).state, RunQueue::State::Failed);
        qunsetenv("AIDC_BIN");
    }

    void missingAidcShowsAMessage()
    {
        qputenv("AIDC_BIN", "/nonexistent/aidc");
        MainWindow window;
        window.runScenario();
        QVERIFY(window.errorText().contains(QStringLiteral("aidc was not found")));
        qunsetenv("AIDC_BIN");
    }

    void formsEditTheDocument()
    {
        MainWindow window;
        QVERIFY(window.openScenario(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
        auto* replicas = qobject_cast<QLineEdit*>(window.scenarioEditor()->fieldEditor(QStringLiteral("deployment.replicas")));
        QVERIFY(replicas);
        QCOMPARE(replicas->text(), QStringLiteral("8"));
        replicas->selectAll();
        QTest::keyClicks(replicas, QStringLiteral("24"));
        QCOMPARE(window.document()->value(QStringLiteral("deployment.replicas")), QStringLiteral("24"));
        QVERIFY(window.document()->isModified());
        QVERIFY(window.windowTitle().contains(u'*'));

        auto* policy = qobject_cast<QComboBox*>(window.scenarioEditor()->fieldEditor(QStringLiteral("load_balancer.policy")));
        policy->setCurrentText(QStringLiteral("least_outstanding"));
        QCOMPARE(window.document()->value(QStringLiteral("load_balancer.policy")), QStringLiteral("least_outstanding"));

        // The GPU choices come from the catalog in the scenarios folder (here the test data, which has none).
        auto* gpu = qobject_cast<QComboBox*>(window.scenarioEditor()->fieldEditor(QStringLiteral("datacenter.gpu")));
        QCOMPARE(gpu->currentText(), QStringLiteral("H100-SXM"));

        // Editing the document elsewhere (the All keys tree) updates the form.
        window.document()->setValue(QStringLiteral("workload.users"), QStringLiteral("500"));
        auto* users = qobject_cast<QLineEdit*>(window.scenarioEditor()->fieldEditor(QStringLiteral("workload.users")));
        QCOMPARE(users->text(), QStringLiteral("500"));
    }

    void validationIssuesAppearAtTheirField()
    {
        MainWindow window;
        QVERIFY(window.openScenario(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
        ScenarioEditor* editor = window.scenarioEditor();
        editor->setIssues({{QStringLiteral("scenario.yaml"), 14, 13, QStringLiteral("deployment.replicas"), QStringLiteral("must be at least 1")}});
        QCOMPARE(editor->fieldError(QStringLiteral("deployment.replicas")), QStringLiteral("must be at least 1"));
        QVERIFY(editor->fieldError(QStringLiteral("deployment.model")).isEmpty());
        editor->setIssues({});
        QVERIFY(editor->fieldError(QStringLiteral("deployment.replicas")).isEmpty());
    }

    void resultsFillTheTiles()
    {
        MainWindow window;
        QString error;
        auto result = RunResult::load(QStringLiteral(AIDC_GUI_TEST_DATA "/run"), &error);
        QVERIFY(result);
        window.resultsView()->setResult(result);
        QFrame* ttft = nullptr;
        for (QFrame* tile : window.resultsView()->findChildren<QFrame*>(QStringLiteral("tile")))
            if (tile->property("summaryKey").toString() == u"latency_s.ttft.p99")
                ttft = tile;
        QVERIFY(ttft);
        QCOMPARE(ttft->property("summaryValue").toDouble(), 1.6);
        QCOMPARE(ttft->findChild<QLabel*>(QStringLiteral("value"))->text(), QStringLiteral("1.600 s"));

        QTemporaryDir exports;
        QVERIFY2(window.resultsView()->exportCharts(exports.path(), &error), qPrintable(error));
        QVERIFY(QFileInfo::exists(exports.filePath(QStringLiteral("Throughput.png"))));
        QVERIFY(QFileInfo::exists(exports.filePath(QStringLiteral("Throughput.svg"))));
        QVERIFY(window.resultsView()->exportReport(exports.filePath(QStringLiteral("report.html")), &error));

        emit window.resultsView()->pinRequested(result);
        QCOMPARE(window.compareModel()->runs().size(), 1);
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
