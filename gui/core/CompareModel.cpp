#include "core/CompareModel.h"

#include "core/RunResult.h"

#include <QColor>
#include <QLocale>

#include <cmath>

void CompareModel::pin(std::shared_ptr<RunResult> result)
{
    for (const auto& run : m_runs)
        if (run->dir() == result->dir())
            return;
    beginResetModel();
    m_kpis.append(kpisOf(*result));
    m_runs.append(std::move(result));
    rebuildRows();
    endResetModel();
    emit runsChanged();
}

void CompareModel::unpin(int column)
{
    if (column < 0 || column >= m_runs.size())
        return;
    beginResetModel();
    m_runs.removeAt(column);
    m_kpis.removeAt(column);
    rebuildRows();
    endResetModel();
    emit runsChanged();
}

void CompareModel::clear()
{
    beginResetModel();
    m_runs.clear();
    m_kpis.clear();
    m_rows.clear();
    endResetModel();
    emit runsChanged();
}

void CompareModel::rebuildRows()
{
    // Display order of kpiDefinitions(), keeping those at least one run reports.
    m_rows.clear();
    for (const KpiDefinition& definition : kpiDefinitions()) {
        for (int column = 0; column < m_runs.size(); ++column) {
            if (kpiOf(definition, column)) {
                m_rows.append(definition);
                break;
            }
        }
    }
}

const Kpi* CompareModel::kpiOf(const KpiDefinition& definition, int column) const
{
    for (const Kpi& kpi : m_kpis[column])
        if (kpi.definition.summaryKey == definition.summaryKey)
            return &kpi;
    return nullptr;
}

int CompareModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_rows.size();
}

int CompareModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_runs.size();
}

QString CompareModel::deltaText(double baseline, double value)
{
    const double delta = value - baseline;
    const QString sign = delta >= 0 ? QStringLiteral("+") : QString();
    if (baseline == 0)
        return sign + QLocale::c().toString(delta, 'g', 4);
    return sign + QLocale::c().toString(100.0 * delta / std::abs(baseline), 'f', 1) + QStringLiteral(" %");
}

QVariant CompareModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const Kpi* kpi = kpiOf(m_rows[index.row()], index.column());
    if (!kpi)
        return role == Qt::DisplayRole ? QStringLiteral("–") : QVariant();
    switch (role) {
    case ValueRole:
        return kpi->value;
    case VerdictRole:
        return int(kpi->verdict);
    case Qt::ForegroundRole:
        if (kpi->verdict == Kpi::Verdict::Fail)
            return QColor(Qt::red);
        if (kpi->verdict == Kpi::Verdict::Pass)
            return QColor(Qt::darkGreen);
        return {};
    case Qt::DisplayRole: {
        const Kpi* baseline = kpiOf(m_rows[index.row()], 0);
        if (index.column() == 0 || !baseline)
            return kpi->valueText();
        return QStringLiteral("%1 (%2)").arg(kpi->valueText(), deltaText(baseline->value, kpi->value));
    }
    default:
        return {};
    }
}

QVariant CompareModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    if (orientation == Qt::Vertical)
    {
        if (section >= m_rows.size())
            return {};
        // The label as the runs show it (their SLO percentile may rename p99).
        for (int column = 0; column < m_runs.size(); ++column)
            if (const Kpi* kpi = kpiOf(m_rows[section], column))
                return kpi->label;
        return m_rows[section].label;
    }
    if (section >= m_runs.size())
        return {};
    return role == Qt::ToolTipRole ? m_runs[section]->dir() : m_runs[section]->label();
}
