#pragma once

#include "core/Study.h"

#include <QPointF>
#include <QString>
#include <QVector>

#include <optional>

class QChart;

// Builds the Qt Charts the results, compare and study views show, so every chart looks alike.
namespace ChartFactory {

struct NamedSeries {
    QString name;
    QVector<QPointF> points;
};

// Lines on value axes; a vertical dashed line marks an SLO limit when given.
QChart* lineChart(const QString& title, const QVector<NamedSeries>& series, const QString& xTitle,
                  const QString& yTitle, std::optional<double> verticalMarker = {});
QChart* barChart(const QString& title, const QVector<QPair<QString, double>>& bars, const QString& yTitle);
// Design points (SLO met / missed / failed), the Pareto frontier as a line, and the cheapest passing point.
QChart* frontierChart(const QString& title, const QVector<DesignPoint>& points, CostAxis axis, const QString& latencyTitle);

} // namespace ChartFactory
