#include "core/CsvTableModel.h"

#include <QFont>

void CsvTableModel::setTable(const CsvTable& table)
{
    beginResetModel();
    m_table = table;
    m_highlightedRow = -1;
    endResetModel();
}

void CsvTableModel::setHighlightedRow(int row)
{
    m_highlightedRow = row;
    if (rowCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
}

int CsvTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_table.rows.size();
}

int CsvTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_table.header.size();
}

QVariant CsvTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const QString text = m_table.cell(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
    case Qt::ToolTipRole:
        return text;
    case Qt::UserRole: {
        // Sort key: numbers compare as numbers.
        bool isNumber = false;
        const double value = text.toDouble(&isNumber);
        return isNumber ? QVariant(value) : QVariant(text);
    }
    case Qt::FontRole:
        if (index.row() == m_highlightedRow) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    default:
        return {};
    }
}

QVariant CsvTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Vertical)
        return section + 1;
    return m_table.header.value(section);
}
