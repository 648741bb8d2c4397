// The Live twin tab against the demo stack (scripts/twin-demo.sh, started by run_twin_live.sh under
// Xvfb): the window follows the running twin, its curves move, a what-if runs from the live state,
// and the screenshot lands in the build tree (scripts/refresh-screenshots.sh copies it to docs/images).
#include "core/TwinFeed.h"
#include "widgets/MainWindow.h"
#include "widgets/TwinView.h"

#include <QDir>
#include <QLabel>
#include <QPushButton>
#include <QTest>

class TestTwinLive : public QObject {
    Q_OBJECT
private slots:
    void followsTheTwinAndRunsAWhatIf()
    {
        const QString url = qEnvironmentVariable("AIDC_TWIN_URL");
        QVERIFY2(!url.isEmpty(), "AIDC_TWIN_URL is not set (run_twin_live.sh sets it)");
        MainWindow window;
        window.show();
        window.showTab(MainWindow::Tab::LiveTwin);
        auto* view = qobject_cast<TwinView*>(window.tabWidget(MainWindow::Tab::LiveTwin));
        QVERIFY(view);
        TwinFeed* feed = view->feed();
        QVERIFY(feed);
        view->follow(url);
        // At one tick a second the curves grow, and the event loop keeps turning meanwhile (no freeze).
        QTRY_VERIFY_WITH_TIMEOUT(feed->ticks()->rowCount() >= 3, 15000);
        const int before = feed->ticks()->rowCount();
        const double firstT = feed->ticks()->ticks().front().t_s;
        QTest::qWait(5000);
        QVERIFY2(feed->ticks()->rowCount() >= before + 3, "fewer than 3 ticks in 5 s");
        QVERIFY(feed->ticks()->ticks().back().t_s >= firstT + 5);

        auto* whatIf = view->findChild<QPushButton*>(QStringLiteral("twinWhatIf"));
        auto* result = view->findChild<QLabel*>(QStringLiteral("twinWhatIfResult"));
        QTest::mouseClick(whatIf, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(result->text().contains(QStringLiteral("p99 TTFT")), 60000);
        // The periodic forecasts (once the twin has measured a whole window) reach the curves too.
        const auto forecastShown = [&] {
            for (const TwinTick& t : feed->ticks()->ticks())
                if (!qIsNaN(t.forecastTtftP99))
                    return true;
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(forecastShown(), 60000);
        const QString dir = qEnvironmentVariable("AIDC_GUI_SCREENSHOTS");
        if (!dir.isEmpty()) {
            QDir().mkpath(dir);
            const QString path = QDir(dir).filePath(QStringLiteral("gui-twin.png"));
            QVERIFY2(window.grab().save(path), qPrintable(path));
        }
    }
};

QTEST_MAIN(TestTwinLive)
#include "test_twin_live.moc"
