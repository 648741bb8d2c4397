#pragma once

#include <QtCharts/QChartView>

class QChart;

// A chart with "Save as PNG/SVG" on its context menu.
class ChartPanel : public QChartView {
    Q_OBJECT
public:
    explicit ChartPanel(QChart* chart, QWidget* parent = nullptr);

protected:
    void contextMenuEvent(QContextMenuEvent* event) override;
};

// Saves any widget as it looks: .svg as vector graphics, anything else as an image by extension.
bool exportWidget(QWidget* widget, const QString& path, QString* error);
