#pragma once

#include "core/ReportBuilder.h"

#include <QWidget>

#include <memory>

class KpiTiles;
class QGridLayout;
class QLabel;
class QPushButton;
class RunResult;

// One run's results: KPI tiles against the SLO, latency CDFs, time series, and — when the run has them —
// the rack floor plan and the cost breakdown. Pins runs for comparison and exports charts and reports.
class ResultsView : public QWidget {
    Q_OBJECT
public:
    explicit ResultsView(QWidget* parent = nullptr);

    void setResult(std::shared_ptr<RunResult> result);
    std::shared_ptr<RunResult> result() const { return m_result; }

    // Both return false with *error set; the extension of path picks HTML or PDF.
    bool exportReport(const QString& path, QString* error) const;
    // Every chart as <title>.png and <title>.svg into dir.
    bool exportCharts(const QString& dir, QString* error) const;

signals:
    void pinRequested(std::shared_ptr<RunResult> result);

private:
    void rebuild();
    QVector<ReportChart> chartImages() const;
    void chooseReportFile();
    void chooseChartFolder();

    std::shared_ptr<RunResult> m_result;
    QLabel* m_heading;
    QPushButton* m_pinButton;
    QPushButton* m_reportButton;
    QPushButton* m_chartsButton;
    KpiTiles* m_tiles;
    QGridLayout* m_charts;
    QList<QWidget*> m_chartWidgets;
};
