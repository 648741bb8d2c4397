#include "core/Kpi.h"

#include "core/RunResult.h"

#include <QLocale>

#include <cmath>

namespace {

KpiDefinition define(const char* key, const char* label, const char* unit, int decimals, const char* slo = "",
                     double scale = 1.0, bool lowerIsBetter = true)
{
    return {QString::fromLatin1(key), QString::fromUtf8(label), QString::fromUtf8(unit), scale, decimals,
            QString::fromLatin1(slo), lowerIsBetter};
}

// The summary reports p50/p90/p99; the SLO names its percentile (99 or 0.99). Latency tiles follow it.
QString sloPercentileKey(const RunResult& result, const QString& key)
{
    const auto percentile = result.number(QStringLiteral("slo.percentile"));
    if (!percentile || !key.endsWith(QStringLiteral(".p99")))
        return key;
    const double asPercent = *percentile <= 1.0 ? *percentile * 100.0 : *percentile;
    const QString candidate = key.chopped(3) + u'p' + QLocale::c().toString(asPercent, 'g', 4);
    return result.number(candidate) ? candidate : key;
}

} // namespace

const QVector<KpiDefinition>& kpiDefinitions()
{
    static const QVector<KpiDefinition> definitions = {
        define("latency_s.ttft.p99", "TTFT p99", "s", 3, "slo.ttft_s"),
        define("latency_s.tpot.p99", "TPOT p99", "ms", 1, "slo.tpot_s", 1000.0),
        define("latency_s.e2e.p99", "E2E p99", "s", 2, "slo.e2e_s"),
        define("slo.attainment", "SLO attainment", "%", 1, "", 100.0, false),
        define("throughput.requests_per_s", "Requests/s", "", 2, "", 1.0, false),
        define("throughput.output_tokens_per_s", "Output tokens/s", "", 0, "", 1.0, false),
        define("throughput.input_tokens_per_s", "Input tokens/s", "", 0, "", 1.0, false),
        define("gpus.count", "GPUs", "", 0),
        // What the GPUs' time bought (issue 12): "busy" reads near 100% at any load, so it is no tile.
        define("gpus.mfu", "Compute used (MFU)", "%", 1, "", 100.0, false),
        define("gpus.mbu", "Bandwidth used (MBU)", "%", 1, "", 100.0, false),
        define("gpus.batch_occupancy_mean", "Batch occupancy", "%", 1, "", 100.0, false),
        define("kv_cache.utilization_mean", "KV cache utilization", "%", 1, "", 100.0, false),
        define("kv_cache.preemptions", "Preemptions", "", 0),
        define("requests.completed", "Completed", "", 0, "", 1.0, false),
        define("requests.failed", "Failed", "", 0),
        define("requests.rejected", "Rejected", "", 0),
        define("power.it_kw_mean", "IT power", "kW", 1),
        define("power.it_kw_peak", "IT power peak", "kW", 1),
        define("power.facility_kw_mean", "Facility power", "kW", 1),
        define("pue.mean", "PUE", "", 3),
        define("pue.annualized", "PUE (annualized)", "", 3),
        define("pue.worst_hour", "PUE worst hour", "", 3),
        define("thermal.gpu_max_c", "GPU max temperature", "°C", 1),
        define("thermal.throttled_fraction", "Throttled", "%", 2, "", 100.0),
        define("availability", "Availability", "%", 3, "", 100.0, false),
        define("cost.per_million_output_tokens", "Cost per M output tokens", "$", 3),
        define("cost.capex", "Capex", "$", 0),
        define("cost.opex_per_year", "Opex per year", "$", 0),
        define("cost.tco", "TCO", "$", 0),
        define("cost.payback_months", "Payback", "months", 1),
        define("carbon.tonnes", "Carbon", "t CO₂e", 1),
        define("sim.simulated_s", "Simulated time", "s", 0),
        define("sim.wall_s", "Wall time", "s", 2),
    };
    return definitions;
}

QString formatKpiValue(const KpiDefinition& definition, double summaryValue)
{
    // English grouping (2,400,000): large money and token figures stay readable, and output is locale-stable.
    static const QLocale english(QLocale::English, QLocale::UnitedStates);
    const QString number = english.toString(summaryValue * definition.displayScale, 'f', definition.decimals);
    if (definition.unit == u"$")
        return u'$' + number;
    return definition.unit.isEmpty() ? number : number + u' ' + definition.unit;
}

QString Kpi::valueText() const
{
    return formatKpiValue(definition, value);
}

QString Kpi::limitText() const
{
    if (!limit)
        return {};
    return QStringLiteral("SLO ≤ %1").arg(formatKpiValue(definition, *limit));
}

QVector<Kpi> kpisOf(const RunResult& result)
{
    QVector<Kpi> kpis;
    for (const KpiDefinition& definition : kpiDefinitions()) {
        const QString key = sloPercentileKey(result, definition.summaryKey);
        const auto value = result.number(key);
        if (!value || !std::isfinite(*value))
            continue;
        Kpi kpi{definition, key, definition.label, *value};
        kpi.label.replace(QStringLiteral("p99"), key.section(u'.', -1));
        if (key == u"slo.attainment") {
            // slo.met is the simulator's own verdict when it is a boolean (a number would be a request count).
            const QString met = QStringLiteral("slo.met");
            if (result.isBoolean(met))
                kpi.verdict = *result.number(met) != 0 ? Kpi::Verdict::Pass : Kpi::Verdict::Fail;
        } else if (!definition.sloKey.isEmpty()) {
            const auto limit = result.number(definition.sloKey);
            if (limit && *limit > 0) {
                kpi.limit = limit;
                kpi.verdict = *value <= *limit ? Kpi::Verdict::Pass : Kpi::Verdict::Fail;
            }
        }
        kpis.append(kpi);
    }
    return kpis;
}
