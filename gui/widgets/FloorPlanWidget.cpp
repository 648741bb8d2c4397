#include "widgets/FloorPlanWidget.h"

#include <QLocale>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

FloorPlanWidget::FloorPlanWidget(const FloorPlan& plan, QWidget* parent)
    : QWidget(parent)
    , m_plan(plan)
{
    setMinimumSize(320, 240);
    setObjectName(QStringLiteral("chart:") + plan.title);
}

void FloorPlanWidget::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());
    const int titleHeight = fontMetrics().height() + 8;
    painter.drawText(QRect(0, 0, width(), titleHeight), Qt::AlignCenter, m_plan.title);

    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (double value : m_plan.rackValues)
        if (std::isfinite(value)) {
            low = std::min(low, value);
            high = std::max(high, value);
        }
    const int columns = std::max(1, m_plan.racksPerHall);
    const int rows = std::max(1, m_plan.halls);   // one row of racks per hall
    const int hallGap = 8;
    const QRectF area(8, titleHeight, width() - 16, height() - titleHeight - 8 - hallGap * (rows - 1));
    const double cellWidth = area.width() / columns;
    const double cellHeight = std::min(area.height() / rows, cellWidth * 2.0);
    for (int rack = 0; rack < m_plan.rackValues.size(); ++rack) {
        const int row = rack / columns, column = rack % columns;
        const QRectF cell(area.left() + column * cellWidth, area.top() + row * (cellHeight + hallGap),
                          cellWidth - 3, cellHeight);
        const double value = m_plan.rackValues[rack];
        QColor colour = palette().window().color();
        if (std::isfinite(value)) {
            const double share = high > low ? (value - low) / (high - low) : 0.5;
            // Hue 240 (blue) for the lowest to 0 (red) for the highest rack.
            colour = QColor::fromHsvF((1.0 - share) * 240.0 / 360.0, 0.55, 0.95);
        }
        painter.setPen(palette().mid().color());
        painter.setBrush(colour);
        painter.drawRoundedRect(cell, 3, 3);
        painter.setPen(Qt::black);
        const QString text = std::isfinite(value) ? QLocale::c().toString(value, 'f', 1) : QStringLiteral("–");
        painter.drawText(cell, Qt::AlignCenter, QStringLiteral("R%1\n%2 %3").arg(rack).arg(text, m_plan.unit));
    }
}
