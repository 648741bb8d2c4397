#pragma once

#include <QWidget>

class CompareModel;
class QGridLayout;
class QTableView;

// Pinned runs side by side: the KPI table with deltas and overlaid latency and throughput charts.
class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(CompareModel* model, QWidget* parent = nullptr);

private:
    void rebuildCharts();

    CompareModel* m_model;
    QTableView* m_table;
    QGridLayout* m_charts;
    QList<QWidget*> m_chartWidgets;
};
