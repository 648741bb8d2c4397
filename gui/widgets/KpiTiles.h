#pragma once

#include "core/Kpi.h"

#include <QWidget>

class QGridLayout;

// KPI tiles: value, label and, for SLO-bound figures, a green (pass) or red (fail) background.
// Each tile is named "kpi:<summary key>" and carries the unscaled value in its "summaryValue" property,
// which is how the end-to-end test checks the tiles against summary.json.
class KpiTiles : public QWidget {
    Q_OBJECT
public:
    explicit KpiTiles(QWidget* parent = nullptr);
    void setKpis(const QVector<Kpi>& kpis);

private:
    QGridLayout* m_grid;
};
