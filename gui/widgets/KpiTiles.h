#pragma once

#include "core/Kpi.h"

#include <QWidget>

class QGridLayout;

// KPI tiles: value, label and, for SLO-bound figures, a green (pass) or red (fail) background.
// Each tile carries its summary key ("summaryKey"), the unscaled value ("summaryValue") and the KPI
// definition it shows ("kpiDefinition"): how the end-to-end test checks the tiles against summary.json.
class KpiTiles : public QWidget {
    Q_OBJECT
public:
    explicit KpiTiles(QWidget* parent = nullptr);
    void setKpis(const QVector<Kpi>& kpis);

private:
    QGridLayout* m_grid;
};
