#include "core/Study.h"

#include <QLocale>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {

// Beyond this a typo ("1..100000") would start a hundred thousand simulations.
constexpr int kMaxSweepValues = 1000;

bool truthy(const QString& text)
{
    const QString value = text.trimmed().toLower();
    return value == u"true" || value == u"1" || value == u"yes" || value == u"pass";
}

bool succeeded(const QString& status)
{
    const QString value = status.trimmed().toLower();
    return value.isEmpty() || value == u"ok" || value == u"done" || value == u"succeeded" || value == u"success";
}

std::optional<double> optionalNumber(const CsvTable& table, int row, int column)
{
    const double value = table.number(row, column);
    return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

} // namespace

std::optional<QStringList> expandSweepValues(const QString& text, QString* error)
{
    static const QRegularExpression range(
        QStringLiteral(R"(^\s*(-?[0-9.]+)\s*\.\.\s*(-?[0-9.]+)\s*(?::\s*([0-9.]+))?\s*$)"));
    QStringList values;
    for (const QString& item : text.split(u',', Qt::SkipEmptyParts)) {
        const QRegularExpressionMatch match = range.match(item);
        if (!match.hasMatch()) {
            values << item.trimmed();
            continue;
        }
        const double from = match.captured(1).toDouble();
        const double to = match.captured(2).toDouble();
        const double step = match.captured(3).isEmpty() ? 1.0 : match.captured(3).toDouble();
        if (step <= 0 || to < from || (to - from) / step >= kMaxSweepValues) {
            *error = QStringLiteral("bad range \"%1\": write from..to:step with from <= to, step > 0, at most %2 values")
                         .arg(item.trimmed())
                         .arg(kMaxSweepValues);
            return std::nullopt;
        }
        // Counting steps (not adding step repeatedly) keeps 0.1-steps from drifting past `to`.
        const int count = int(std::floor((to - from) / step + 1e-9)) + 1;
        for (int i = 0; i < count; ++i)
            values << QLocale::c().toString(from + i * step, 'g', 12);
    }
    values.removeAll(QString());
    if (values.isEmpty()) {
        *error = QStringLiteral("no values to sweep");
        return std::nullopt;
    }
    return values;
}

QVector<DesignPoint> designPointsFromBatch(const CsvTable& batch, const QString& latencyKey)
{
    const int overrides = batch.column(QStringLiteral("overrides"));
    const int run = batch.column(QStringLiteral("run"));
    const int status = batch.column(QStringLiteral("status"));
    const int gpus = batch.column(QStringLiteral("gpus.count"));
    const int capex = batch.column(QStringLiteral("cost.capex"));
    const int kw = batch.column(QStringLiteral("power.facility_kw_mean"));
    const int latency = batch.column(latencyKey);
    const int met = batch.column(QStringLiteral("slo.met"));
    QVector<DesignPoint> points;
    for (int row = 0; row < batch.rows.size(); ++row) {
        DesignPoint point;
        point.label = batch.cell(row, overrides).isEmpty() ? batch.cell(row, run) : batch.cell(row, overrides);
        point.gpus = batch.number(row, gpus);
        point.costUsd = optionalNumber(batch, row, capex);
        point.facilityKw = optionalNumber(batch, row, kw);
        point.latencyS = batch.number(row, latency);
        point.sloMet = truthy(batch.cell(row, met));
        point.ok = succeeded(batch.cell(row, status)) && std::isfinite(point.latencyS) && std::isfinite(point.gpus);
        points.append(point);
    }
    return points;
}

QVector<DesignPoint> designPointsFromPlan(const CsvTable& plan, const QString& latencyColumn)
{
    auto column = [&](const char* name) { return plan.column(QString::fromLatin1(name)); };
    QVector<DesignPoint> points;
    for (int row = 0; row < plan.rows.size(); ++row) {
        DesignPoint point;
        point.label = QStringLiteral("%1 ×%2 servers %3 TP%4 batch %5")
                          .arg(plan.cell(row, column("gpu")), plan.cell(row, column("servers")),
                               plan.cell(row, column("precision")), plan.cell(row, column("tensor_parallel")),
                               plan.cell(row, column("max_batch_sequences")));
        point.gpus = plan.number(row, column("gpus"));
        point.costUsd = optionalNumber(plan, row, column("capex"));
        point.facilityKw = optionalNumber(plan, row, column("facility_kw_mean"));
        point.latencyS = plan.number(row, plan.column(latencyColumn));
        point.sloMet = plan.cell(row, column("verdict")) == u"meets SLO";
        point.ok = succeeded(plan.cell(row, column("status"))) && std::isfinite(point.latencyS);
        points.append(point);
    }
    return points;
}

QString planSloPercentile(const CsvTable& plan)
{
    const int column = plan.column(QStringLiteral("slo_percentile"));
    if (column < 0 || plan.rows.isEmpty() || plan.cell(0, column).isEmpty())
        return {};
    return u'p' + plan.cell(0, column);
}

double costOf(const DesignPoint& point, CostAxis axis)
{
    if (axis == CostAxis::CapexUsd)
        return point.costUsd.value_or(std::numeric_limits<double>::quiet_NaN());
    if (axis == CostAxis::FacilityKw)
        return point.facilityKw.value_or(std::numeric_limits<double>::quiet_NaN());
    return point.gpus;
}

int cheapestPassing(const QVector<DesignPoint>& points, CostAxis axis)
{
    int best = -1;
    for (int i = 0; i < points.size(); ++i) {
        const DesignPoint& point = points[i];
        if (!point.ok || !point.sloMet || !std::isfinite(costOf(point, axis)))
            continue;
        if (best < 0 || costOf(point, axis) < costOf(points[best], axis)
            || (costOf(point, axis) == costOf(points[best], axis) && point.latencyS < points[best].latencyS))
            best = i;
    }
    return best;
}

QVector<int> paretoFrontier(const QVector<DesignPoint>& points, CostAxis axis)
{
    QVector<int> candidates;
    for (int i = 0; i < points.size(); ++i)
        if (points[i].ok && std::isfinite(costOf(points[i], axis)))
            candidates.append(i);
    std::sort(candidates.begin(), candidates.end(), [&](int a, int b) {
        const double costA = costOf(points[a], axis), costB = costOf(points[b], axis);
        return costA != costB ? costA < costB : points[a].latencyS < points[b].latencyS;
    });
    // Walking by ascending cost, a point is on the frontier when it is faster than everything cheaper.
    QVector<int> frontier;
    double bestLatency = std::numeric_limits<double>::infinity();
    for (int index : candidates) {
        if (points[index].latencyS < bestLatency) {
            frontier.append(index);
            bestLatency = points[index].latencyS;
        }
    }
    return frontier;
}
