#pragma once

#include <QString>
#include <QVector>

#include <optional>

class RunResult;

// A headline figure of a run. Definitions are data so the tiles, the compare table and the report agree.
struct KpiDefinition {
    QString summaryKey;   // in summary.json ("latency_s.ttft.p99")
    QString label;
    QString unit;
    double displayScale = 1.0;   // shown value = summary value * scale (fractions shown as %)
    int decimals = 2;
    QString sloKey;       // limit in summary.json this KPI must stay under; empty when none
    bool lowerIsBetter = true;
};

struct Kpi {
    enum class Verdict { None, Pass, Fail };

    KpiDefinition definition;   // as in kpiDefinitions(); identifies the KPI across runs
    QString summaryKey;         // the key read: the SLO's percentile may replace p99 (e.g. p90)
    QString label;
    double value = 0;           // as in summary.json, unscaled
    Verdict verdict = Verdict::None;
    std::optional<double> limit;   // the SLO limit, unscaled

    QString valueText() const;   // scaled, with unit
    QString limitText() const;   // "SLO ≤ 0.50 s", empty when there is no limit
};

// Every KPI the run's summary has, in display order: latency percentiles against the SLO first, then
// throughput, GPUs and utilization, then facility, cost and carbon figures when the summary carries them.
QVector<Kpi> kpisOf(const RunResult& result);
const QVector<KpiDefinition>& kpiDefinitions();
QString formatKpiValue(const KpiDefinition& definition, double summaryValue);
