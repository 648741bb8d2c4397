#include "widgets/ChartFactory.h"

#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSeries>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QLineSeries>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ChartFactory {
namespace {

QChart* newChart(const QString& title)
{
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    return chart;
}

struct Range {
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    void include(double value)
    {
        if (!std::isfinite(value))
            return;
        low = std::min(low, value);
        high = std::max(high, value);
    }
    bool valid() const { return low <= high; }
};

QValueAxis* axis(const QString& title, Range range, bool fromZero)
{
    auto* result = new QValueAxis;
    result->setTitleText(title);
    if (range.valid()) {
        const double low = fromZero ? std::min(0.0, range.low) : range.low;
        const double high = range.high > low ? range.high : low + 1.0;
        result->setRange(low, high);
        result->applyNiceNumbers();
    }
    return result;
}

void attach(QChart* chart, QAbstractSeries* series, QValueAxis* x, QValueAxis* y)
{
    chart->addSeries(series);
    series->attachAxis(x);
    series->attachAxis(y);
}

} // namespace

QChart* lineChart(const QString& title, const QVector<NamedSeries>& series, const QString& xTitle,
                  const QString& yTitle, std::optional<double> verticalMarker)
{
    QChart* chart = newChart(title);
    Range xRange, yRange;
    for (const NamedSeries& named : series)
        for (const QPointF& point : named.points) {
            xRange.include(point.x());
            yRange.include(point.y());
        }
    if (verticalMarker)
        xRange.include(*verticalMarker);
    QValueAxis* x = axis(xTitle, xRange, true);
    QValueAxis* y = axis(yTitle, yRange, true);
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (const NamedSeries& named : series) {
        auto* line = new QLineSeries;
        line->setName(named.name);
        line->replace(QList<QPointF>(named.points.begin(), named.points.end()));
        attach(chart, line, x, y);
    }
    if (verticalMarker) {
        auto* marker = new QLineSeries;
        marker->setName(QStringLiteral("SLO"));
        QPen pen(Qt::red);
        pen.setStyle(Qt::DashLine);
        pen.setWidth(2);
        marker->setPen(pen);
        marker->append(*verticalMarker, y->min());
        marker->append(*verticalMarker, y->max());
        attach(chart, marker, x, y);
    }
    return chart;
}

QChart* barChart(const QString& title, const QVector<QPair<QString, double>>& bars, const QString& yTitle)
{
    QChart* chart = newChart(title);
    auto* set = new QBarSet(yTitle);
    QStringList categories;
    Range range;
    for (const auto& [label, value] : bars) {
        categories << label;
        *set << value;
        range.include(value);
    }
    auto* series = new QBarSeries;
    series->append(set);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(categories);
    QValueAxis* y = axis(yTitle, range, true);
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    chart->legend()->hide();
    return chart;
}

QChart* frontierChart(const QString& title, const QVector<DesignPoint>& points, CostAxis costAxis,
                      const QString& latencyTitle)
{
    QChart* chart = newChart(title);
    Range xRange, yRange;
    for (const DesignPoint& point : points) {
        if (!point.ok)
            continue;
        xRange.include(costOf(point, costAxis));
        yRange.include(point.latencyS);
    }
    const QString xTitle = costAxis == CostAxis::Gpus       ? QStringLiteral("GPUs")
                         : costAxis == CostAxis::FacilityKw ? QStringLiteral("Facility kW")
                                                            : QStringLiteral("Capex");
    QValueAxis* x = axis(xTitle, xRange, false);
    QValueAxis* y = axis(latencyTitle, yRange, true);
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);

    auto scatter = [&](const QString& name, const QColor& colour, double size) {
        auto* series = new QScatterSeries;
        series->setName(name);
        series->setColor(colour);
        series->setBorderColor(colour.darker());
        series->setMarkerSize(size);
        attach(chart, series, x, y);
        return series;
    };
    auto* frontier = new QLineSeries;
    frontier->setName(QStringLiteral("Frontier"));
    frontier->setColor(Qt::gray);
    attach(chart, frontier, x, y);
    QScatterSeries* met = scatter(QStringLiteral("SLO met"), QColor(0x2d, 0xa4, 0x4e), 10);
    QScatterSeries* missed = scatter(QStringLiteral("SLO missed"), QColor(0xcf, 0x22, 0x2e), 10);
    QScatterSeries* cheapest = scatter(QStringLiteral("Cheapest passing"), QColor(0xf5, 0xc2, 0x11), 18);

    for (int index : paretoFrontier(points, costAxis))
        frontier->append(costOf(points[index], costAxis), points[index].latencyS);
    for (const DesignPoint& point : points)
        if (point.ok)
            (point.sloMet ? met : missed)->append(costOf(point, costAxis), point.latencyS);
    if (const int best = cheapestPassing(points, costAxis); best >= 0)
        cheapest->append(costOf(points[best], costAxis), points[best].latencyS);
    return chart;
}

} // namespace ChartFactory
