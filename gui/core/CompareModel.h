#pragma once

#include "core/Kpi.h"

#include <QAbstractTableModel>

#include <memory>

class RunResult;

// Pinned runs side by side: one row per KPI any of them has, one column per run; cells other than the first
// run's show the delta to it, so "what changed" reads across a row.
class CompareModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role { VerdictRole = Qt::UserRole + 1, ValueRole };

    using QAbstractTableModel::QAbstractTableModel;

    // Pinning the same output folder twice keeps one column.
    void pin(std::shared_ptr<RunResult> result);
    void unpin(int column);
    void clear();
    const QVector<std::shared_ptr<RunResult>>& runs() const { return m_runs; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "+12.5 %" (relative) or "+3" when the baseline is zero; empty for the baseline itself.
    static QString deltaText(double baseline, double value);

signals:
    void runsChanged();

private:
    void rebuildRows();
    const Kpi* kpiOf(const KpiDefinition& definition, int column) const;

    QVector<std::shared_ptr<RunResult>> m_runs;
    QVector<QVector<Kpi>> m_kpis;   // per run
    QVector<KpiDefinition> m_rows;
};
