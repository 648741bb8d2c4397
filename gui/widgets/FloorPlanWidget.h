#pragma once

#include "core/ResultFigures.h"

#include <QWidget>

// Racks as cells, hall by hall, coloured from blue (coolest/lowest) to red (hottest/highest), labelled with
// their value; the floor plan of a run's per-rack temperature or power.
class FloorPlanWidget : public QWidget {
    Q_OBJECT
public:
    explicit FloorPlanWidget(const FloorPlan& plan, QWidget* parent = nullptr);
    QSize sizeHint() const override { return {480, 300}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    FloorPlan m_plan;
};
