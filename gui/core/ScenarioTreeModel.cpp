#include "core/ScenarioTreeModel.h"

#include "core/ScenarioDocument.h"

int ScenarioTreeModel::Item::row() const
{
    if (!parent)
        return 0;
    for (std::size_t i = 0; i < parent->children.size(); ++i)
        if (parent->children[i].get() == this)
            return int(i);
    return 0;
}

ScenarioTreeModel::ScenarioTreeModel(ScenarioDocument* document, QObject* parent)
    : QAbstractItemModel(parent)
    , m_document(document)
{
    rebuild();
    connect(document, &ScenarioDocument::documentReset, this, [this] {
        beginResetModel();
        rebuild();
        endResetModel();
    });
    connect(document, &ScenarioDocument::valueChanged, this, &ScenarioTreeModel::onValueChanged);
}

ScenarioTreeModel::~ScenarioTreeModel() = default;

void ScenarioTreeModel::rebuild()
{
    m_root = std::make_unique<Item>();
    addChildren(m_root.get());
}

void ScenarioTreeModel::addChildren(Item* item)
{
    for (const QString& key : m_document->childKeys(item->path)) {
        auto child = std::make_unique<Item>();
        child->key = key;
        child->path = item->path.isEmpty() ? key : item->path + u'.' + key;
        child->parent = item;
        addChildren(child.get());
        item->children.push_back(std::move(child));
    }
}

void ScenarioTreeModel::onValueChanged(const QString& keyPath)
{
    // A value edit keeps the tree's shape; adding or removing a key changes it, and a reset is simplest then.
    if (findItem(keyPath) && m_document->kind(keyPath) == ScenarioDocument::NodeKind::Scalar) {
        const QModelIndex changed = indexOfPath(keyPath, ValueColumn);
        emit dataChanged(changed, changed);
        return;
    }
    beginResetModel();
    rebuild();
    endResetModel();
}

ScenarioTreeModel::Item* ScenarioTreeModel::itemAt(const QModelIndex& index) const
{
    return index.isValid() ? static_cast<Item*>(index.internalPointer()) : m_root.get();
}

ScenarioTreeModel::Item* ScenarioTreeModel::findItem(const QString& keyPath) const
{
    Item* item = m_root.get();
    for (const QString& segment : keyPath.split(u'.', Qt::SkipEmptyParts)) {
        Item* next = nullptr;
        for (const auto& child : item->children)
            if (child->key == segment)
                next = child.get();
        if (!next)
            return nullptr;
        item = next;
    }
    return item;
}

QModelIndex ScenarioTreeModel::indexOfPath(const QString& keyPath, int column) const
{
    Item* item = findItem(keyPath);
    if (!item || item == m_root.get())
        return {};
    return createIndex(item->row(), column, item);
}

QModelIndex ScenarioTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    Item* parentItem = itemAt(parent);
    if (row < 0 || row >= int(parentItem->children.size()) || column < 0 || column >= ColumnCount)
        return {};
    return createIndex(row, column, parentItem->children[row].get());
}

QModelIndex ScenarioTreeModel::parent(const QModelIndex& child) const
{
    Item* parentItem = itemAt(child)->parent;
    if (!child.isValid() || !parentItem || parentItem == m_root.get())
        return {};
    return createIndex(parentItem->row(), 0, parentItem);
}

int ScenarioTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.column() > 0)
        return 0;
    return int(itemAt(parent)->children.size());
}

int ScenarioTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QVariant ScenarioTreeModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const Item* item = itemAt(index);
    if (role == KeyPathRole)
        return item->path;
    if (role != Qt::DisplayRole && role != Qt::EditRole && role != Qt::ToolTipRole)
        return {};
    if (role == Qt::ToolTipRole)
        return item->path;
    return index.column() == KeyColumn ? item->key : m_document->value(item->path);
}

bool ScenarioTreeModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || index.column() != ValueColumn || role != Qt::EditRole)
        return false;
    m_document->setValue(itemAt(index)->path, value.toString());
    return true;
}

Qt::ItemFlags ScenarioTreeModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags result = QAbstractItemModel::flags(index);
    if (index.isValid() && index.column() == ValueColumn
        && m_document->kind(itemAt(index)->path) == ScenarioDocument::NodeKind::Scalar)
        result |= Qt::ItemIsEditable;
    return result;
}

QVariant ScenarioTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    return section == KeyColumn ? tr("Key") : tr("Value");
}
