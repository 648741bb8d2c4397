#pragma once

#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>

class RunResult;

// Which figures a run's outputs support, decided from the data so columns added by later simulator
// issues (power, PUE, rack temperatures) show up without GUI changes.

struct TimeSeriesChart {
    QString title;
    QString yTitle;
    QStringList columns;   // present in the run's timeseries.csv
};
QVector<TimeSeriesChart> timeSeriesCharts(const RunResult& result);

// Racks coloured by one per-rack timeseries column family (rack<i>_<metric>): temperature when present,
// else power. Racks are numbered hall by hall, row by row, as datacenter.{halls, rows_per_hall,
// racks_per_row} of the run's resolved scenario say (a square grid when it does not).
struct FloorPlan {
    QString metric;          // column suffix, e.g. gpu_max_c
    QString title;
    QString unit;
    QVector<double> rackValues;   // by rack index: the peak over the run
    int halls = 1;
    int rowsPerHall = 1;
    int racksPerRow = 1;

    bool isEmpty() const { return rackValues.isEmpty(); }
};
FloorPlan floorPlanOf(const RunResult& result);

// The cost.* money figures to chart as bars (label, USD); per-token and payback figures are KPIs instead.
QVector<QPair<QString, double>> costBreakdown(const RunResult& result);
