// Result parsing: summary, KPIs and SLO verdicts, CDFs, which charts exist, compare deltas, reports.
#include "core/CompareModel.h"
#include "core/Kpi.h"
#include "core/ReportBuilder.h"
#include "core/ResultFigures.h"
#include "core/RunResult.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

namespace {

const Kpi* findKpi(const QVector<Kpi>& kpis, const QString& key)
{
    for (const Kpi& kpi : kpis)
        if (kpi.summaryKey == key)
            return &kpi;
    return nullptr;
}

// A copy of the fixture run whose summary.json is replaced by `summary`.
QString runWithSummary(const QTemporaryDir& dir, const QByteArray& summary)
{
    QFile file(dir.filePath(QStringLiteral("summary.json")));
    file.open(QIODevice::WriteOnly);
    file.write(summary);
    return dir.path();
}

} // namespace

class TestRunResult : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<RunResult> m_result;

private slots:
    void initTestCase()
    {
        QString error;
        m_result = RunResult::load(QStringLiteral(AIDC_GUI_TEST_DATA "/run"), &error);
        QVERIFY2(m_result, qPrintable(error));
    }

    void flattensSummary()
    {
        QCOMPARE(m_result->number(QStringLiteral("latency_s.ttft.p99")), 1.6);
        QCOMPARE(m_result->number(QStringLiteral("requests.completed")), 1180.0);
        QCOMPARE(m_result->number(QStringLiteral("slo.met")), 0.0);
        QVERIFY(m_result->isBoolean(QStringLiteral("slo.met")));
        QVERIFY(!m_result->number(QStringLiteral("latency_s")));
        QCOMPARE(m_result->label(), QStringLiteral("fixture (run)"));
    }

    void kpisCarryValuesAndVerdicts()
    {
        const QVector<Kpi> kpis = kpisOf(*m_result);
        const Kpi* ttft = findKpi(kpis, QStringLiteral("latency_s.ttft.p99"));
        QVERIFY(ttft);
        QCOMPARE(ttft->value, 1.6);
        QCOMPARE(ttft->verdict, Kpi::Verdict::Pass);
        QCOMPARE(ttft->valueText(), QStringLiteral("1.600 s"));
        const Kpi* e2e = findKpi(kpis, QStringLiteral("latency_s.e2e.p99"));
        QCOMPARE(e2e->verdict, Kpi::Verdict::Fail);   // 34.2 s > 30 s
        QCOMPARE(findKpi(kpis, QStringLiteral("latency_s.tpot.p99"))->valueText(), QStringLiteral("62.0 ms"));
        QCOMPARE(findKpi(kpis, QStringLiteral("slo.attainment"))->verdict, Kpi::Verdict::Fail);   // slo.met false
        // The headline is what the GPUs' time bought, not "busy" (71% here, near 100% at any load).
        QVERIFY(!findKpi(kpis, QStringLiteral("gpus.utilization_mean")));
        QCOMPARE(findKpi(kpis, QStringLiteral("gpus.mfu"))->valueText(), QStringLiteral("5.2 %"));
        QCOMPARE(findKpi(kpis, QStringLiteral("gpus.mbu"))->valueText(), QStringLiteral("61.0 %"));
        QCOMPARE(findKpi(kpis, QStringLiteral("gpus.batch_occupancy_mean"))->valueText(), QStringLiteral("34.0 %"));
        QCOMPARE(findKpi(kpis, QStringLiteral("cost.per_million_output_tokens"))->valueText(), QStringLiteral("$2.750"));
        QVERIFY(findKpi(kpis, QStringLiteral("pue.mean")));
        // Keys the summary does not have produce no tile.
        QVERIFY(!findKpi(kpis, QStringLiteral("carbon.tonnes")));
        QVERIFY(!findKpi(kpis, QStringLiteral("thermal.gpu_max_c")));
    }

    void latencyTilesFollowTheSloPercentile()
    {
        QTemporaryDir dir;
        QString error;
        const auto result = RunResult::load(runWithSummary(dir, R"({"latency_s":{"ttft":{"p90":0.9,"p99":3.0}},
            "slo":{"percentile":90,"ttft_s":1.0}})"), &error);
        QVERIFY(result);
        const QVector<Kpi> kpis = kpisOf(*result);
        const Kpi* ttft = findKpi(kpis, QStringLiteral("latency_s.ttft.p90"));
        QVERIFY(ttft);
        QCOMPARE(ttft->label, QStringLiteral("TTFT p90"));
        QCOMPARE(ttft->verdict, Kpi::Verdict::Pass);
    }

    void brokenSummaryIsAnError()
    {
        QTemporaryDir dir;
        QString error;
        QVERIFY(!RunResult::load(runWithSummary(dir, "{ not json"), &error));
        QVERIFY(error.contains(QStringLiteral("summary.json")));
        QVERIFY(!RunResult::load(QStringLiteral("/nonexistent"), &error));
    }

    void latencyCdfsSkipFailedRequests()
    {
        const QVector<QPointF> ttft = m_result->latencyCdf(RunResult::Latency::Ttft);
        QVERIFY(!ttft.isEmpty());
        QCOMPARE(ttft.last().y(), 1.0);
        QVERIFY(ttft.first().x() >= 0.2 - 1e-9);
        QVERIFY(ttft.last().x() <= 0.69 + 1e-6);
        for (int i = 1; i < ttft.size(); ++i)
            QVERIFY(ttft[i].x() >= ttft[i - 1].x() && ttft[i].y() >= ttft[i - 1].y());
        const QVector<QPointF> thinned = m_result->latencyCdf(RunResult::Latency::E2e, 20);
        QVERIFY(thinned.size() <= 22);
        QVERIFY(!m_result->latencyCdf(RunResult::Latency::Tpot).isEmpty());
    }

    void figuresFollowTheColumns()
    {
        QStringList titles;
        for (const TimeSeriesChart& chart : timeSeriesCharts(*m_result))
            titles << chart.title;
        QVERIFY(titles.contains(QStringLiteral("Throughput")));
        QVERIFY(titles.contains(QStringLiteral("Power")));
        QVERIFY(titles.contains(QStringLiteral("PUE")));
        QVERIFY(titles.contains(QStringLiteral("Utilization per replica")));

        const FloorPlan plan = floorPlanOf(*m_result);
        QCOMPARE(plan.metric, QStringLiteral("gpu_max_c"));   // temperature preferred over power
        QCOMPARE(plan.rackValues.size(), 4);
        QCOMPARE(plan.rackValues[3], 77.0);                  // 60 + 5*3 + peak of t%3
        QCOMPARE(plan.halls, 2);                             // from the run's scenario.yaml
        QCOMPARE(plan.rowsPerHall, 1);
        QCOMPARE(plan.racksPerRow, 2);

        const auto bars = costBreakdown(*m_result);
        QStringList labels;
        for (const auto& bar : bars)
            labels << bar.first;
        QCOMPARE(labels, (QStringList{QStringLiteral("capex"), QStringLiteral("opex_per_year"), QStringLiteral("tco")}));
    }

    void compareShowsDeltasToTheFirstRun()
    {
        QTemporaryDir dir;
        QString error;
        const auto faster = RunResult::load(runWithSummary(dir, R"({"latency_s":{"ttft":{"p99":0.8}},"slo":{"ttft_s":2.0},
            "gpus":{"count":96}})"), &error);
        QVERIFY(faster);
        CompareModel model;
        model.pin(m_result);
        model.pin(faster);
        model.pin(m_result);   // already pinned
        QCOMPARE(model.columnCount(), 2);
        int ttftRow = -1;
        for (int row = 0; row < model.rowCount(); ++row)
            if (model.headerData(row, Qt::Vertical).toString() == u"TTFT p99")
                ttftRow = row;
        QVERIFY(ttftRow >= 0);
        QCOMPARE(model.index(ttftRow, 0).data().toString(), QStringLiteral("1.600 s"));
        QCOMPARE(model.index(ttftRow, 1).data().toString(), QStringLiteral("0.800 s (-50.0 %)"));
        QCOMPARE(model.index(ttftRow, 1).data(CompareModel::VerdictRole).toInt(), int(Kpi::Verdict::Pass));
        model.unpin(0);
        QCOMPARE(model.columnCount(), 1);
        QCOMPARE(CompareModel::deltaText(0, 3), QStringLiteral("+3"));
    }

    void reportsContainTheKpis()
    {
        QImage chart(200, 100, QImage::Format_RGB32);
        chart.fill(Qt::blue);
        const QString html = reportHtml(*m_result, {{QStringLiteral("Throughput"), chart}});
        QVERIFY(html.contains(QStringLiteral("TTFT p99")));
        QVERIFY(html.contains(QStringLiteral("1.600 s")));
        QVERIFY(html.contains(QStringLiteral("data:image/png;base64,")));
        QVERIFY(html.contains(QStringLiteral("TTFT p99 1.600 s (SLO 2.000 s) pass")));   // report.txt

        QTemporaryDir dir;
        QString error;
        const QString pdf = dir.filePath(QStringLiteral("report.pdf"));
        QVERIFY2(writePdfReport(pdf, *m_result, {{QStringLiteral("Throughput"), chart}}, &error), qPrintable(error));
        QFile file(pdf);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.read(5) == "%PDF-");
    }
};

QTEST_MAIN(TestRunResult)
#include "test_run_result.moc"
