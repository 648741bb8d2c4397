#include "core/ResultFigures.h"

#include "core/RunResult.h"

#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace {

// Per-replica lines beyond this turn a chart into noise; the mean utilization chart covers larger runs.
constexpr int kMaxReplicaLines = 16;

QStringList presentColumns(const RunResult& result, const QStringList& wanted)
{
    QStringList present;
    for (const QString& column : wanted)
        if (result.hasSeries(column))
            present << column;
    return present;
}

QStringList columnsMatching(const RunResult& result, const QRegularExpression& pattern)
{
    QStringList matching;
    for (const QString& column : result.timeseries().header)
        if (pattern.match(column).hasMatch())
            matching << column;
    return matching;
}

} // namespace

QVector<TimeSeriesChart> timeSeriesCharts(const RunResult& result)
{
    const QVector<TimeSeriesChart> candidates = {
        {QStringLiteral("Throughput"), QStringLiteral("tokens/s"),
         {QStringLiteral("input_tokens_per_s"), QStringLiteral("output_tokens_per_s")}},
        {QStringLiteral("Requests in the system"), QStringLiteral("requests"),
         {QStringLiteral("in_flight"), QStringLiteral("queued"), QStringLiteral("arrivals")}},
        {QStringLiteral("GPU and KV-cache utilization"), QStringLiteral("fraction"),
         {QStringLiteral("gpu_utilization_mean"), QStringLiteral("kv_utilization_mean")}},
        {QStringLiteral("Power"), QStringLiteral("kW"), {QStringLiteral("it_kw"), QStringLiteral("facility_kw")}},
        {QStringLiteral("PUE"), QStringLiteral("PUE"), {QStringLiteral("pue")}},
        {QStringLiteral("Ambient temperature"), QStringLiteral("°C"), {QStringLiteral("ambient_c")}},
    };
    QVector<TimeSeriesChart> charts;
    for (TimeSeriesChart chart : candidates) {
        chart.columns = presentColumns(result, chart.columns);
        if (!chart.columns.isEmpty())
            charts.append(chart);
    }
    static const QRegularExpression replicaUtilization(QStringLiteral("^r\\d+_util$"));
    const QStringList replicas = columnsMatching(result, replicaUtilization);
    if (!replicas.isEmpty() && replicas.size() <= kMaxReplicaLines)
        charts.append({QStringLiteral("Utilization per replica"), QStringLiteral("fraction"), replicas});
    return charts;
}

FloorPlan floorPlanOf(const RunResult& result)
{
    static const QRegularExpression rackColumn(QStringLiteral("^rack(\\d+)_(.+)$"));
    std::map<QString, std::map<int, QString>> columnsByMetric;   // metric -> rack -> column
    for (const QString& column : result.timeseries().header) {
        const QRegularExpressionMatch match = rackColumn.match(column);
        if (match.hasMatch())
            columnsByMetric[match.captured(2)][match.captured(1).toInt()] = column;
    }
    if (columnsByMetric.empty())
        return {};

    // Temperature first (the floor plan's main question is hot spots), then power, then whatever exists.
    QString metric = columnsByMetric.begin()->first;
    for (const QString& preferred : {QStringLiteral("gpu_max_c"), QStringLiteral("inlet_c"), QStringLiteral("it_kw"),
                                     QStringLiteral("kw")}) {
        if (columnsByMetric.count(preferred)) {
            metric = preferred;
            break;
        }
    }
    FloorPlan plan;
    plan.metric = metric;
    const bool temperature = metric.endsWith(QStringLiteral("_c"));
    plan.unit = temperature ? QStringLiteral("°C") : metric.endsWith(QStringLiteral("kw")) ? QStringLiteral("kW") : QString();
    plan.title = QStringLiteral("Rack floor plan: peak %1").arg(metric);
    const auto& racks = columnsByMetric[metric];
    const int rackCount = racks.rbegin()->first + 1;
    plan.rackValues.fill(std::numeric_limits<double>::quiet_NaN(), rackCount);
    for (const auto& [rack, column] : racks) {
        double peak = -std::numeric_limits<double>::infinity();
        for (const QPointF& point : result.series(column))
            peak = std::max(peak, point.y());
        if (std::isfinite(peak))
            plan.rackValues[rack] = peak;
    }
    const auto layoutKey = [&](const char* key) {
        return result.scenarioValue(QStringLiteral("datacenter.") + QLatin1String(key)).toInt();
    };
    const int halls = layoutKey("halls"), rowsPerHall = layoutKey("rows_per_hall"), racksPerRow = layoutKey("racks_per_row");
    if (halls > 0 && rowsPerHall > 0 && racksPerRow > 0 && halls * rowsPerHall * racksPerRow >= rackCount) {
        plan.halls = halls;
        plan.rowsPerHall = rowsPerHall;
        plan.racksPerRow = racksPerRow;
    } else {
        plan.racksPerRow = int(std::ceil(std::sqrt(double(rackCount))));
        plan.rowsPerHall = (rackCount + plan.racksPerRow - 1) / plan.racksPerRow;
    }
    return plan;
}

QVector<QPair<QString, double>> costBreakdown(const RunResult& result)
{
    static const QStringList notMoney = {QStringLiteral("per_million_output_tokens"), QStringLiteral("payback_months")};
    const QStringList keys = result.keysUnder(QStringLiteral("cost."));
    // A nested breakdown (cost.capex_breakdown.gpus ...) is more telling than the totals when the simulator has one.
    QStringList parts;
    for (const QString& key : keys)
        if (key.contains(u'.'))
            parts << key;
    if (parts.isEmpty())
        for (const QString& key : keys)
            if (!notMoney.contains(key))
                parts << key;
    QVector<QPair<QString, double>> bars;
    for (const QString& key : parts)
        bars.append({key, *result.number(QStringLiteral("cost.") + key)});
    return bars;
}
