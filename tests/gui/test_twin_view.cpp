// The Live twin tab's data (offscreen, no twin needed): a saved twin.csv replays into the model the
// charts map from, a twin's /state becomes a tick with the forecast band over its what-ifs, replicas
// up land on their racks, and a file that is not a twin.csv is refused naming the file.
#include "core/TwinFeed.h"
#include "widgets/TwinView.h"

#include <QChart>
#include <QChartView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineSeries>
#include <QTest>

class TestTwinView : public QObject {
    Q_OBJECT
private slots:
    void replaysASavedTwinCsv()
    {
        const QString csv = QStringLiteral(AIDC_GUI_TEST_DATA "/twin.csv");
        QVector<TwinTick> ticks;
        QString error;
        QVERIFY2(ticksFromCsv(csv, &ticks, &error), qPrintable(error));
        // Only the live rows (the file also holds back-filled ones), in time order.
        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const int live = int(file.readAll().count(",live,"));
        QCOMPARE(ticks.size(), live);
        for (int i = 1; i < ticks.size(); ++i)
            QVERIFY(ticks[i].t_s > ticks[i - 1].t_s);

        TwinFeed feed;
        TwinView view(&feed);
        QVERIFY(view.replay(csv));
        QCOMPARE(feed.ticks()->rowCount(), live);
        // The measured curve holds a point per tick that measured one (QVXYModelMapper over the model;
        // Qt Charts leaves NaN out, so a tick without requests is a gap, not a zero).
        int measuredTicks = 0;
        for (const TwinTick& t : ticks)
            measuredTicks += qIsNaN(t.measuredTtftP99) ? 0 : 1;
        QVERIFY(measuredTicks > live / 2);
        auto* chart = view.findChild<QChartView*>(QStringLiteral("twinChart"))->chart();
        QLineSeries* measured = nullptr;
        for (auto* s : chart->series())
            if (s->name().startsWith(QStringLiteral("measured")))
                measured = qobject_cast<QLineSeries*>(s);
        QVERIFY(measured);
        QCOMPARE(measured->count(), measuredTicks);
    }

    void refusesAFileThatIsNotATwinCsv()
    {
        TwinFeed feed;
        TwinView view(&feed);
        const QString other = QStringLiteral(AIDC_GUI_TEST_DATA "/plan.csv");
        QVERIFY(!view.replay(other));
        QVERIFY(view.findChild<QLabel*>(QStringLiteral("twinStatus"))->text().contains(QStringLiteral("plan.csv")));
    }

    void aStateIsATickWithTheForecastBand()
    {
        const auto state = QJsonDocument::fromJson(R"({"t_s": 12.5,
            "measured": {"rate_per_s": 4.5, "ttft_p99_s": 0.02, "itl_mean_s": 0.0003},
            "mirrored": {"ttft_p99_s": 0.012, "itl_mean_s": null},
            "forecasts": [{"variant": "trend", "ok": true, "ttft_p99_s": 0.015},
                          {"variant": "rate_x2", "ok": true, "ttft_p99_s": 0.031},
                          {"variant": "down_r1", "ok": false, "ttft_p99_s": 0},
                          {"variant": "schedule", "ok": true, "ttft_p99_s": 0.011}],
            "floor": {"halls": 1, "rows_per_hall": 1, "racks_per_row": 2},
            "replicas": [{"rack": 0, "up": true}, {"rack": 0, "up": false}, {"rack": 1, "up": true}]})").object();
        const TwinTick t = tickFromState(state);
        QCOMPARE(t.t_s, 12.5);
        QCOMPARE(t.rate, 4.5);
        QCOMPARE(t.mirroredTtftP99, 0.012);
        QVERIFY(qIsNaN(t.mirroredItl));  // the twin writes NaN as null
        QCOMPARE(t.forecastTtftP99, 0.015);
        QCOMPARE(t.forecastLow, 0.011);   // failed variants do not count
        QCOMPARE(t.forecastHigh, 0.031);
    }
};

QTEST_MAIN(TestTwinView)
#include "test_twin_view.moc"
