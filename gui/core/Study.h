#pragma once

#include "core/Csv.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <optional>

// Sweeps (`aidc batch --sweep`) and plans (`aidc plan`) as data: the values to try, and the design points
// they produced with the SLO frontier and the cheapest point that meets the SLO.

// "8,16,32", "8..64:8" (from..to:step), or a mix: "1,2,4..16:4". Non-numeric items ("fp8") pass through.
// Returns nullopt with *error set on a malformed range.
std::optional<QStringList> expandSweepValues(const QString& text, QString* error);

struct DesignPoint {
    QString label;            // the knob value or the plan's configuration
    double gpus = 0;
    std::optional<double> costUsd;
    std::optional<double> facilityKw;   // mean facility power of the run (IT + losses + cooling)
    double latencyS = 0;      // the latency the frontier is drawn against (p99 for sweeps, the SLO's percentile for plans)
    bool sloMet = false;
    bool ok = true;           // the run itself succeeded
};

enum class CostAxis { Gpus, CapexUsd, FacilityKw };

// From DIR/batch.csv; latencyKey is a flattened summary column ("latency_s.e2e.p99").
QVector<DesignPoint> designPointsFromBatch(const CsvTable& batch, const QString& latencyKey);
// From DIR/plan.csv; latencyColumn is one of ttft_slo_percentile_s, tpot_slo_percentile_s, e2e_slo_percentile_s (at the SLO's percentile).
QVector<DesignPoint> designPointsFromPlan(const CsvTable& plan, const QString& latencyColumn);
// The SLO's percentile those plan.csv columns are at, from its slo_percentile column: "p90"; empty when the
// table has no such column or no rows.
QString planSloPercentile(const CsvTable& plan);

double costOf(const DesignPoint& point, CostAxis axis);
// The cheapest successful point that meets the SLO (ties: lower latency), or -1.
int cheapestPassing(const QVector<DesignPoint>& points, CostAxis axis);
// Indices of the successful points no other point beats on both cost and latency, by ascending cost.
QVector<int> paretoFrontier(const QVector<DesignPoint>& points, CostAxis axis);
