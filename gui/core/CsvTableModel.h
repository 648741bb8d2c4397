#pragma once

#include "core/Csv.h"

#include <QAbstractTableModel>

// A CSV table (batch.csv, plan.csv) for a QTableView; numeric cells sort as numbers.
class CsvTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;

    void setTable(const CsvTable& table);
    // Rows to emphasise (the plan's winner, the sweep's cheapest passing point).
    void setHighlightedRow(int row);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    CsvTable m_table;
    int m_highlightedRow = -1;
};
