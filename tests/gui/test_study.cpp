// Sweeps and plans: value ranges, design points from batch.csv/plan.csv, frontier, cheapest passing point,
// and the controller driving a test double of aidc.
#include "core/ScenarioDocument.h"
#include "core/Study.h"
#include "core/StudyController.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

namespace {
CsvTable fixtureTable(const char* name)
{
    CsvTable table;
    QString error;
    readCsvFile(QStringLiteral(AIDC_GUI_TEST_DATA "/") + QString::fromLatin1(name), &table, &error);
    return table;
}
} // namespace

class TestStudy : public QObject {
    Q_OBJECT
private slots:
    void expandsSweepValues()
    {
        QString error;
        QCOMPARE(*expandSweepValues(QStringLiteral("8..32:8"), &error),
                 (QStringList{QStringLiteral("8"), QStringLiteral("16"), QStringLiteral("24"), QStringLiteral("32")}));
        QCOMPARE(*expandSweepValues(QStringLiteral("1, 2, 4..6"), &error),
                 (QStringList{QStringLiteral("1"), QStringLiteral("2"), QStringLiteral("4"), QStringLiteral("5"), QStringLiteral("6")}));
        QCOMPARE(*expandSweepValues(QStringLiteral("0.1..0.3:0.1"), &error),
                 (QStringList{QStringLiteral("0.1"), QStringLiteral("0.2"), QStringLiteral("0.3")}));
        QCOMPARE(*expandSweepValues(QStringLiteral("fp8,int4"), &error), (QStringList{QStringLiteral("fp8"), QStringLiteral("int4")}));
        QVERIFY(!expandSweepValues(QStringLiteral("64..8"), &error));
        QVERIFY(!expandSweepValues(QStringLiteral("1..1000000"), &error));
        QVERIFY(!expandSweepValues(QStringLiteral(" , "), &error));
    }

    void readsBatchPoints()
    {
        const CsvTable batch = fixtureTable("batch.csv");
        const QVector<DesignPoint> points = designPointsFromBatch(batch, QStringLiteral("latency_s.e2e.p99"));
        QCOMPARE(points.size(), 6);
        QCOMPARE(points[2].label, QStringLiteral("deployment.replicas=6"));
        QCOMPARE(points[2].gpus, 48.0);
        QCOMPARE(points[2].costUsd, 1800000.0);
        QVERIFY(points[2].sloMet);
        QVERIFY(!points[4].ok);   // the failed run
        QCOMPARE(cheapestPassing(points, CostAxis::Gpus), 2);
        QCOMPARE(cheapestPassing(points, CostAxis::CapexUsd), 2);
        // 16 GPUs/80.5 s, 32/31, 48/22, 64/21.5 each beat everything cheaper; 96/23 does not.
        QCOMPARE(paretoFrontier(points, CostAxis::Gpus), (QVector<int>{0, 1, 2, 3}));
    }

    void readsPlanPoints()
    {
        const QVector<DesignPoint> points = designPointsFromPlan(fixtureTable("plan.csv"), QStringLiteral("e2e_slo_percentile_s"));
        QCOMPARE(points.size(), 3);
        QCOMPARE(points[2].label, QStringLiteral("H200-SXM ×4 servers bf16 TP8 batch 128"));
        QCOMPARE(points[2].costUsd, 1500000.0);
        QCOMPARE(points[2].facilityKw, 50.3);
        QVERIFY(!points[0].sloMet && points[1].sloMet);
        // Equal GPU counts: the faster passing point wins; by capex the cheaper H100 configuration fails the SLO.
        QCOMPARE(cheapestPassing(points, CostAxis::Gpus), 2);
        QCOMPARE(cheapestPassing(points, CostAxis::CapexUsd), 2);
        QCOMPARE(paretoFrontier(points, CostAxis::Gpus), (QVector<int>{2}));
        QCOMPARE(cheapestPassing(points, CostAxis::FacilityKw), 2);
    }

    // Plan latencies are at the SLO's percentile (p90 in the fixture), not p99: the labels say which.
    void planNamesItsSloPercentile()
    {
        QCOMPARE(planSloPercentile(fixtureTable("plan.csv")), QStringLiteral("p90"));
        QVERIFY(planSloPercentile(fixtureTable("batch.csv")).isEmpty());
    }

    // Issue 12: planning an H100 scenario from the GUI searched every GPU and answered MI300X × 9. The
    // tab's filter, objective and limits reach aidc plan as its options.
    void planSettingsBecomePlanOptions()
    {
        PlanSettings settings;
        settings.gpus = {QStringLiteral("H100-SXM")};
        settings.objective = QStringLiteral("cost_per_mtok");
        settings.budget = 2e6;
        settings.rackKw = 15;
        settings.nPlusOne = true;
        settings.margin = 0.2;
        QCOMPARE(planArguments(settings, 3),
                 (QStringList{QStringLiteral("-j"), QStringLiteral("3"), QStringLiteral("--gpus"), QStringLiteral("H100-SXM"),
                              QStringLiteral("--objective"), QStringLiteral("cost_per_mtok"), QStringLiteral("--budget"),
                              QStringLiteral("2000000"), QStringLiteral("--rack-kw"), QStringLiteral("15"),
                              QStringLiteral("--n-plus-one"), QStringLiteral("--margin"), QStringLiteral("0.2")}));
        QCOMPARE(planArguments(PlanSettings{}, 1), (QStringList{QStringLiteral("-j"), QStringLiteral("1")}));
    }

    void controllerRunsSweepAndPlan()
    {
        ScenarioDocument document;
        QVERIFY(document.load(QStringLiteral(AIDC_GUI_TEST_DATA "/scenario.yaml")));
        QTemporaryDir runs;
        StudyController controller(QStringLiteral(AIDC_GUI_TEST_DATA "/fake_aidc.sh"), runs.path());
        QSignalSpy finished(&controller, &StudyController::finished);
        qputenv("FAKE_AIDC_MODE", "ok");
        QString error;
        QVERIFY2(controller.startSweep(document, QStringLiteral("deployment.replicas"), {QStringLiteral("2"), QStringLiteral("4")}, 2, &error),
                 qPrintable(error));
        QVERIFY(!controller.startPlan(document, PlanSettings{}, 2, &error));   // one study at a time
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(finished.first().at(0).toBool());
        QCOMPARE(controller.table().rows.size(), 6);

        QVERIFY(controller.startPlan(document, PlanSettings{}, 2, &error));
        QTRY_COMPARE(finished.count(), 2);
        QCOMPARE(controller.kind(), StudyController::Kind::Plan);
        QCOMPARE(controller.planWinner().value(u"gpu").toString(), QStringLiteral("H200-SXM"));

        // Some runs of a batch failed: aidc exits 2 but its table is still the answer.
        qputenv("FAKE_AIDC_MODE", "partial");
        QVERIFY(controller.startSweep(document, QStringLiteral("deployment.replicas"), {QStringLiteral("2")}, 1, &error));
        QTRY_COMPARE(finished.count(), 3);
        QVERIFY(finished.last().at(0).toBool());
        QVERIFY(!finished.last().at(1).toString().isEmpty());
        QCOMPARE(controller.table().rows.size(), 6);

        qputenv("FAKE_AIDC_MODE", "invalid");
        QVERIFY(controller.startPlan(document, PlanSettings{}, 2, &error));
        QTRY_COMPARE(finished.count(), 4);
        QVERIFY(!finished.last().at(0).toBool());
        QVERIFY(finished.last().at(1).toString().contains(QStringLiteral("must be at least 1")));
    }
};

QTEST_GUILESS_MAIN(TestStudy)
#include "test_study.moc"
