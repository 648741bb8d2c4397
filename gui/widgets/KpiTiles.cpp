#include "widgets/KpiTiles.h"

#include <QFrame>
#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace {

constexpr int kTilesPerRow = 6;

QString tileStyle(Kpi::Verdict verdict)
{
    switch (verdict) {
    case Kpi::Verdict::Pass: return QStringLiteral("QFrame#tile{background:#dafbe1;border:1px solid #2da44e;border-radius:6px}");
    case Kpi::Verdict::Fail: return QStringLiteral("QFrame#tile{background:#ffebe9;border:1px solid #cf222e;border-radius:6px}");
    case Kpi::Verdict::None: break;
    }
    return QStringLiteral("QFrame#tile{background:palette(base);border:1px solid palette(mid);border-radius:6px}");
}

QFrame* makeTile(const Kpi& kpi)
{
    auto* tile = new QFrame;
    tile->setObjectName(QStringLiteral("tile"));
    tile->setProperty("summaryKey", kpi.summaryKey);
    tile->setProperty("kpiDefinition", kpi.definition.summaryKey);
    tile->setProperty("summaryValue", kpi.value);
    tile->setStyleSheet(tileStyle(kpi.verdict));
    tile->setAccessibleName(QStringLiteral("kpi:") + kpi.summaryKey);
    auto* layout = new QVBoxLayout(tile);
    layout->setContentsMargins(10, 6, 10, 6);
    auto* value = new QLabel(kpi.valueText());
    value->setObjectName(QStringLiteral("value"));
    QFont big = value->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    value->setFont(big);
    auto* label = new QLabel(kpi.label);
    layout->addWidget(value);
    layout->addWidget(label);
    if (kpi.limit) {
        const QString verdict = kpi.verdict == Kpi::Verdict::Pass ? QObject::tr("pass") : QObject::tr("fail");
        layout->addWidget(new QLabel(QStringLiteral("%1 · %2").arg(kpi.limitText(), verdict)));
    }
    tile->setToolTip(kpi.summaryKey);
    return tile;
}

} // namespace

KpiTiles::KpiTiles(QWidget* parent)
    : QWidget(parent)
    , m_grid(new QGridLayout(this))
{
    m_grid->setContentsMargins(0, 0, 0, 0);
}

void KpiTiles::setKpis(const QVector<Kpi>& kpis)
{
    while (QLayoutItem* item = m_grid->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    for (int i = 0; i < kpis.size(); ++i)
        m_grid->addWidget(makeTile(kpis[i]), i / kTilesPerRow, i % kTilesPerRow);
}
