#include "widgets/CompareView.h"

#include "core/CompareModel.h"
#include "core/RunResult.h"
#include "widgets/ChartFactory.h"
#include "widgets/ChartPanel.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

CompareView::CompareView(CompareModel* model, QWidget* parent)
    : QWidget(parent)
    , m_model(model)
    , m_table(new QTableView)
    , m_charts(new QGridLayout)
{
    m_table->setObjectName(QStringLiteral("compareTable"));
    m_table->setModel(model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectColumns);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto* unpin = new QPushButton(tr("&Unpin selected"));
    auto* clear = new QPushButton(tr("Unpin &all"));
    connect(unpin, &QPushButton::clicked, this, [this] {
        const QModelIndexList columns = m_table->selectionModel()->selectedColumns();
        if (!columns.isEmpty())
            m_model->unpin(columns.first().column());
    });
    connect(clear, &QPushButton::clicked, model, &CompareModel::clear);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(new QLabel(tr("Pin runs from the Results tab; deltas are relative to the first pinned run.")), 1);
    buttons->addWidget(unpin);
    buttons->addWidget(clear);

    auto* tablePane = new QWidget;
    auto* tableLayout = new QVBoxLayout(tablePane);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addLayout(buttons);
    tableLayout->addWidget(m_table);
    auto* chartPane = new QWidget;
    chartPane->setLayout(m_charts);
    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(tablePane);
    splitter->addWidget(chartPane);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    connect(model, &CompareModel::runsChanged, this, &CompareView::rebuildCharts);
}

void CompareView::rebuildCharts()
{
    qDeleteAll(m_chartWidgets);
    m_chartWidgets.clear();
    const auto& runs = m_model->runs();
    if (runs.isEmpty())
        return;
    auto overlay = [&](const QString& title, const QString& xTitle, const QString& yTitle, auto pointsOf) {
        QVector<ChartFactory::NamedSeries> series;
        for (const auto& run : runs)
            series.append({run->label(), pointsOf(*run)});
        m_chartWidgets.append(new ChartPanel(ChartFactory::lineChart(title, series, xTitle, yTitle)));
    };
    overlay(tr("TTFT distribution"), tr("seconds"), tr("fraction"),
            [](const RunResult& run) { return run.latencyCdf(RunResult::Latency::Ttft); });
    overlay(tr("End-to-end latency distribution"), tr("seconds"), tr("fraction"),
            [](const RunResult& run) { return run.latencyCdf(RunResult::Latency::E2e); });
    overlay(tr("Output tokens/s"), tr("simulated time (s)"), tr("tokens/s"),
            [](const RunResult& run) { return run.series(QStringLiteral("output_tokens_per_s")); });
    for (int i = 0; i < m_chartWidgets.size(); ++i)
        m_charts->addWidget(m_chartWidgets[i], 0, i);
}
