#pragma once

#include <QAbstractItemModel>

#include <memory>
#include <vector>

class ScenarioDocument;

// Every key of a scenario as a tree (column 0 key, column 1 value; scalars editable), so keys that have
// no form field yet are still visible and editable.
class ScenarioTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { KeyColumn, ValueColumn, ColumnCount };
    enum Role { KeyPathRole = Qt::UserRole + 1 };

    explicit ScenarioTreeModel(ScenarioDocument* document, QObject* parent = nullptr);
    ~ScenarioTreeModel() override;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    QModelIndex indexOfPath(const QString& keyPath, int column = KeyColumn) const;

private:
    struct Item {
        QString key;
        QString path;
        Item* parent = nullptr;
        std::vector<std::unique_ptr<Item>> children;
        int row() const;
    };

    void rebuild();
    void addChildren(Item* item);
    void onValueChanged(const QString& keyPath);
    Item* itemAt(const QModelIndex& index) const;
    Item* findItem(const QString& keyPath) const;

    ScenarioDocument* m_document;
    std::unique_ptr<Item> m_root;
};
