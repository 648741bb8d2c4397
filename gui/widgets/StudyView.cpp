#include "widgets/StudyView.h"

#include "core/CsvTableModel.h"
#include "core/ScenarioFields.h"
#include "core/Study.h"
#include "core/StudyController.h"
#include "widgets/ChartFactory.h"
#include "widgets/ChartPanel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QThread>
#include <QVBoxLayout>

namespace {

// The latency a frontier is drawn against: its flattened summary key (batch.csv) and its plan.csv column.
struct LatencyChoice {
    const char* label;
    const char* batchKey;
    const char* planColumn;
};
// TTFT first: it is the SLO that binds in most scenarios, and the one aidc plan's frontier is drawn against.
constexpr LatencyChoice kLatencies[] = {
    {"TTFT p99", "latency_s.ttft.p99", "ttft_p99_s"},
    {"TPOT p99", "latency_s.tpot.p99", "tpot_p99_s"},
    {"E2E p99", "latency_s.e2e.p99", "e2e_p99_s"},
};

} // namespace

StudyView::StudyView(StudyController* controller, ScenarioDocument* document, QWidget* parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_document(document)
    , m_knob(new QComboBox)
    , m_values(new QLineEdit(QStringLiteral("8..64:8")))
    , m_jobs(new QSpinBox)
    , m_latency(new QComboBox)
    , m_costAxis(new QComboBox)
    , m_sweepButton(new QPushButton(tr("Run &sweep")))
    , m_planButton(new QPushButton(tr("Run p&lan")))
    , m_cancelButton(new QPushButton(tr("Cancel")))
    , m_busy(new QProgressBar)
    , m_answer(new QLabel)
    , m_chartSlot(new QVBoxLayout)
    , m_tableModel(new CsvTableModel(this))
{
    m_knob->setObjectName(QStringLiteral("sweepKnob"));
    m_knob->setEditable(true);
    for (const ScenarioField& field : scenarioFields())
        if (field.kind != ScenarioField::Kind::Text)
            m_knob->addItem(field.path);
    m_knob->setCurrentText(QStringLiteral("deployment.replicas"));
    m_values->setObjectName(QStringLiteral("sweepValues"));
    m_values->setToolTip(tr("Comma-separated values and ranges: 8,16,32 or 8..64:8 (from..to:step)"));
    m_jobs->setRange(1, 256);
    m_jobs->setValue(qMax(1, QThread::idealThreadCount() / 2));
    m_jobs->setToolTip(tr("aidc processes at the same time (-j)"));
    for (const LatencyChoice& choice : kLatencies)
        m_latency->addItem(tr(choice.label));
    m_costAxis->addItem(tr("GPUs"));
    m_costAxis->addItem(tr("Capex (USD)"));
    m_busy->setRange(0, 0);   // aidc batch/plan report no progress: an activity indicator only
    m_busy->hide();
    m_cancelButton->setEnabled(false);
    m_answer->setObjectName(QStringLiteral("studyAnswer"));
    m_answer->setWordWrap(true);
    m_answer->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_answer->setText(tr("Sweep a knob of the open scenario, or let aidc plan find the cheapest design that meets its SLO."));

    auto* form = new QFormLayout;
    form->addRow(tr("&Knob"), m_knob);
    form->addRow(tr("&Values"), m_values);
    form->addRow(tr("Parallel &jobs"), m_jobs);
    form->addRow(tr("L&atency"), m_latency);
    form->addRow(tr("C&ost axis"), m_costAxis);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_sweepButton);
    buttons->addWidget(m_planButton);
    buttons->addWidget(m_cancelButton);
    auto* controls = new QVBoxLayout;
    controls->addLayout(form);
    controls->addLayout(buttons);
    controls->addWidget(m_busy);
    controls->addWidget(m_answer);
    controls->addStretch();
    auto* controlPane = new QWidget;
    controlPane->setLayout(controls);
    controlPane->setMaximumWidth(420);

    auto* chartPane = new QWidget;
    chartPane->setLayout(m_chartSlot);
    auto* top = new QSplitter;
    top->addWidget(controlPane);
    top->addWidget(chartPane);
    top->setStretchFactor(1, 1);

    auto* sorted = new QSortFilterProxyModel(this);
    sorted->setSourceModel(m_tableModel);
    sorted->setSortRole(Qt::UserRole);
    auto* table = new QTableView;
    table->setObjectName(QStringLiteral("studyTable"));
    table->setModel(sorted);
    table->setSortingEnabled(true);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(top);
    splitter->addWidget(table);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    connect(m_sweepButton, &QPushButton::clicked, this, &StudyView::startSweep);
    connect(m_planButton, &QPushButton::clicked, this, &StudyView::startPlan);
    connect(m_cancelButton, &QPushButton::clicked, controller, &StudyController::cancel);
    connect(controller, &StudyController::finished, this, &StudyView::onFinished);
    connect(m_latency, &QComboBox::currentIndexChanged, this, &StudyView::showPoints);
    connect(m_costAxis, &QComboBox::currentIndexChanged, this, &StudyView::showPoints);
}

void StudyView::startSweep()
{
    QString error;
    const auto values = expandSweepValues(m_values->text(), &error);
    if (!values || !m_controller->startSweep(*m_document, m_knob->currentText().trimmed(), *values, m_jobs->value(), &error)) {
        m_answer->setText(tr("<span style=\"color:#cf222e\">%1</span>").arg(error.toHtmlEscaped()));
        return;
    }
    m_answer->setText(tr("Sweeping %1 over %2 values…").arg(m_knob->currentText()).arg(values->size()));
    setBusy(true);
}

void StudyView::startPlan()
{
    QString error;
    if (!m_controller->startPlan(*m_document, m_jobs->value(), &error)) {
        m_answer->setText(tr("<span style=\"color:#cf222e\">%1</span>").arg(error.toHtmlEscaped()));
        return;
    }
    m_answer->setText(tr("Planning…"));
    setBusy(true);
}

void StudyView::setBusy(bool busy)
{
    m_busy->setVisible(busy);
    m_cancelButton->setEnabled(busy);
    m_sweepButton->setEnabled(!busy);
    m_planButton->setEnabled(!busy);
}

void StudyView::onFinished(bool succeeded, const QString& message)
{
    setBusy(false);
    if (!succeeded) {
        m_answer->setText(tr("<span style=\"color:#cf222e\">%1</span>").arg(message.toHtmlEscaped().replace(u'\n', QStringLiteral("<br>"))));
        return;
    }
    m_tableModel->setTable(m_controller->table());
    m_note = message;
    showPoints();
}

void StudyView::showPoints()
{
    if (m_controller->table().header.isEmpty())
        return;
    const LatencyChoice& latency = kLatencies[qMax(0, m_latency->currentIndex())];
    const CostAxis axis = m_costAxis->currentIndex() == 1 ? CostAxis::CapexUsd : CostAxis::Gpus;
    const bool plan = m_controller->kind() == StudyController::Kind::Plan;
    const QVector<DesignPoint> points = plan
        ? designPointsFromPlan(m_controller->table(), QString::fromLatin1(latency.planColumn))
        : designPointsFromBatch(m_controller->table(), QString::fromLatin1(latency.batchKey));

    delete m_chart;
    m_chart = new ChartPanel(ChartFactory::frontierChart(plan ? tr("Plan: design points") : tr("Sweep: SLO frontier"),
                                                         points, axis, tr("%1 (s)").arg(tr(latency.label))));
    m_chartSlot->addWidget(m_chart);

    const int best = cheapestPassing(points, axis);
    m_tableModel->setHighlightedRow(best);
    QString answer;
    if (best < 0)
        answer = tr("No point meets the SLO.");
    else
        answer = tr("Cheapest point meeting the SLO: <b>%1</b> — %2 GPUs, %3 %4 s")
                     .arg(points[best].label.toHtmlEscaped())
                     .arg(points[best].gpus)
                     .arg(tr(latency.label))
                     .arg(points[best].latencyS, 0, 'f', 3);
    if (plan && !m_controller->planWinner().isEmpty()) {
        const QJsonObject winner = m_controller->planWinner();
        answer += tr("<br>aidc plan's answer: <b>%1 × %2 replicas, TP %3, batch %4</b> (%5 GPUs)")
                      .arg(winner.value(u"gpu").toString())
                      .arg(winner.value(u"replicas").toVariant().toString(),
                           winner.value(u"tensor_parallel").toVariant().toString(),
                           winner.value(u"max_batch_sequences").toVariant().toString(),
                           winner.value(u"gpus").toVariant().toString());
    }
    if (!m_note.isEmpty())
        answer += QStringLiteral("<br><span style=\"color:#cf222e\">%1</span>").arg(m_note.toHtmlEscaped());
    m_answer->setText(answer + tr("<br>Results in %1").arg(m_controller->outDir().toHtmlEscaped()));
}
