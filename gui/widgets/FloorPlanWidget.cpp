#include "widgets/FloorPlanWidget.h"

#include <QLocale>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {
constexpr double kHallGap = 14;   // px between halls, so hall boundaries read at a glance
constexpr double kRackGap = 3;
} // namespace

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
    const int racksPerRow = std::max(1, m_plan.racksPerRow);
    const int rowsPerHall = std::max(1, m_plan.rowsPerHall);
    const int rows = std::max(1, m_plan.halls) * rowsPerHall;
    const QRectF area(8, titleHeight, width() - 16, height() - titleHeight - 8 - kHallGap * (m_plan.halls - 1));
    const double cellWidth = area.width() / racksPerRow;
    const double cellHeight = std::min(area.height() / rows, cellWidth * 2.0);
    for (int rack = 0; rack < m_plan.rackValues.size(); ++rack) {
        const int row = rack / racksPerRow, column = rack % racksPerRow, hall = row / rowsPerHall;
        const QRectF cell(area.left() + column * cellWidth, area.top() + row * cellHeight + hall * kHallGap,
                          cellWidth - kRackGap, cellHeight - kRackGap);
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
