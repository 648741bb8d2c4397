#include "widgets/RunQueueView.h"

#include "core/RunQueue.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

namespace {

// Draws the progress column as a progress bar.
class ProgressDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override
    {
        QStyleOptionProgressBar bar;
        bar.rect = option.rect.adjusted(2, 2, -2, -2);
        bar.minimum = 0;
        bar.maximum = 100;
        bar.progress = qRound(index.data(RunQueue::FractionRole).toDouble() * 100);
        bar.text = index.data().toString();
        bar.textVisible = true;
        bar.state = option.state | QStyle::State_Horizontal;
        QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, painter);
    }
};

} // namespace

RunQueueView::RunQueueView(RunQueue* queue, QWidget* parent)
    : QWidget(parent)
    , m_queue(queue)
    , m_table(new QTableView)
    , m_details(new QPlainTextEdit)
{
    m_table->setObjectName(QStringLiteral("runTable"));
    m_table->setModel(queue);
    m_table->setItemDelegateForColumn(RunQueue::ProgressColumn, new ProgressDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_details->setObjectName(QStringLiteral("runDetails"));
    m_details->setReadOnly(true);
    m_details->setPlaceholderText(tr("Select a run to see its output folder or its error."));

    auto* cancel = new QPushButton(tr("&Cancel run"));
    auto* show = new QPushButton(tr("Show &results"));
    auto* parallel = new QSpinBox;
    parallel->setRange(1, 64);
    parallel->setValue(queue->maxParallel());
    parallel->setToolTip(tr("Runs executed at the same time; each is its own aidc process"));
    connect(parallel, &QSpinBox::valueChanged, queue, &RunQueue::setMaxParallel);
    connect(cancel, &QPushButton::clicked, this, [this] { m_queue->cancel(selectedRow()); });
    connect(show, &QPushButton::clicked, this, [this] {
        if (selectedRow() >= 0)
            emit showResultsRequested(selectedRow());
    });
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        emit showResultsRequested(index.row());
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &RunQueueView::showDetails);
    connect(queue, &QAbstractItemModel::dataChanged, this, &RunQueueView::showDetails);
    connect(queue, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex&, int, int last) { m_table->selectRow(last); });

    auto* buttons = new QVBoxLayout;
    buttons->addWidget(cancel);
    buttons->addWidget(show);
    buttons->addWidget(new QLabel(tr("In parallel:")));
    buttons->addWidget(parallel);
    buttons->addStretch();

    auto* splitter = new QSplitter;
    splitter->addWidget(m_table);
    splitter->addWidget(m_details);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter, 1);
    layout->addLayout(buttons);
}

int RunQueueView::selectedRow() const
{
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

void RunQueueView::showDetails()
{
    const int row = selectedRow();
    if (row < 0) {
        m_details->clear();
        return;
    }
    const RunQueue::Run& run = m_queue->run(row);
    const QString text = QStringLiteral("%1 — %2\n%3\n\n%4")
                             .arg(run.name, RunQueue::stateName(run.state), run.outDir, run.message);
    if (m_details->toPlainText() != text)
        m_details->setPlainText(text);
}
