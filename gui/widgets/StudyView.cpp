#include "widgets/StudyView.h"

#include "core/Catalog.h"
#include "core/CsvTableModel.h"
#include "core/ScenarioDocument.h"
#include "core/ScenarioFields.h"
#include "core/Study.h"
#include "core/StudyController.h"
#include "widgets/ChartFactory.h"
#include "widgets/ChartPanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
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

// The latency a frontier is drawn against: its flattened summary key (batch.csv, at p99) and its plan.csv
// column (at the SLO's percentile, which plan.csv names).
struct LatencyChoice {
    const char* metric;
    const char* batchKey;
    const char* planColumn;
};
// TTFT first: it is the SLO that binds in most scenarios, and the one aidc plan's frontier is drawn against.
constexpr LatencyChoice kLatencies[] = {
    {"TTFT", "latency_s.ttft.p99", "ttft_slo_percentile_s"},
    {"TPOT", "latency_s.tpot.p99", "tpot_slo_percentile_s"},
    {"E2E", "latency_s.e2e.p99", "e2e_slo_percentile_s"},
};

// The GPU filter's first two entries; then the catalog's GPUs one by one.
const char* const kScenarioGpu = "The scenario's GPU";
const char* const kAllGpus = "All GPUs in the catalog";

// aidc plan --objective values with their labels, the default (TCO) first.
struct ObjectiveChoice {
    const char* label;
    const char* option;
};
constexpr ObjectiveChoice kObjectives[] = {
    {"TCO over the cost horizon", "tco"},
    {"Capex", "capex"},
    {"Cost per million output tokens", "cost_per_mtok"},
    {"Facility kW", "kw"},
};

} // namespace

StudyView::StudyView(StudyController* controller, ScenarioDocument* document, const QString& scenariosDir, QWidget* parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_document(document)
    , m_knob(new QComboBox)
    , m_values(new QLineEdit(QStringLiteral("8..64:8")))
    , m_jobs(new QSpinBox)
    , m_latency(new QComboBox)
    , m_costAxis(new QComboBox)
    , m_planGpus(new QComboBox)
    , m_objective(new QComboBox)
    , m_budget(new QDoubleSpinBox)
    , m_rackKw(new QDoubleSpinBox)
    , m_margin(new QDoubleSpinBox)
    , m_nPlusOne(new QCheckBox(tr("N+1: SLOs hold with one server down")))
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
        m_latency->addItem(tr(choice.metric));
    m_costAxis->addItem(tr("GPUs"));
    m_costAxis->addItem(tr("Capex"));
    m_costAxis->addItem(tr("Facility kW"));
    m_planGpus->setObjectName(QStringLiteral("planGpus"));
    m_planGpus->setEditable(true);   // also a comma-separated list: H100-SXM,H200-SXM
    m_planGpus->addItem(tr(kScenarioGpu));
    m_planGpus->addItem(tr(kAllGpus));
    m_planGpus->addItems(catalogIds(scenariosDir, QStringLiteral("gpus")));
    m_planGpus->setToolTip(tr("GPU types aidc plan considers (--gpus)"));
    m_objective->setObjectName(QStringLiteral("planObjective"));
    for (const ObjectiveChoice& choice : kObjectives)
        m_objective->addItem(tr(choice.label), QString::fromLatin1(choice.option));
    m_budget->setObjectName(QStringLiteral("planBudget"));
    m_budget->setRange(0, 1e12);
    m_budget->setDecimals(0);
    m_budget->setSpecialValueText(tr("no limit"));
    m_budget->setToolTip(tr("Most capex, in the scenario's cost currency (--budget)"));
    m_rackKw->setObjectName(QStringLiteral("planRackKw"));
    m_rackKw->setRange(0, 500);
    m_rackKw->setDecimals(1);
    m_rackKw->setSpecialValueText(tr("by cooling kind"));
    m_rackKw->setToolTip(tr("Most nameplate kW per rack (--rack-kw); Hong Kong colocation racks often allow 8-15 kW"));
    m_margin->setObjectName(QStringLiteral("planMargin"));
    m_margin->setRange(0, 0.9);
    m_margin->setSingleStep(0.05);
    m_margin->setValue(0.10);
    m_margin->setToolTip(tr("Share of every SLO bound held in reserve for model error (--margin)"));
    m_nPlusOne->setObjectName(QStringLiteral("planNPlusOne"));
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
    form->addRow(tr("Plan: &GPUs"), m_planGpus);
    form->addRow(tr("Plan: o&bjective"), m_objective);
    form->addRow(tr("Plan: b&udget"), m_budget);
    form->addRow(tr("Plan: &rack kW"), m_rackKw);
    form->addRow(tr("Plan: SLO &margin"), m_margin);
    form->addRow(QString(), m_nPlusOne);
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
    PlanSettings settings;
    const QString gpus = m_planGpus->currentText().trimmed();
    if (gpus == tr(kScenarioGpu))
        settings.gpus = QStringList{m_document->value(QStringLiteral("datacenter.gpu"))};
    else if (gpus != tr(kAllGpus))
        settings.gpus = gpus.split(u',', Qt::SkipEmptyParts);
    settings.gpus.removeAll(QString());   // a scenario without datacenter.gpu: aidc's default applies
    settings.objective = m_objective->currentData().toString();
    if (m_budget->value() > 0)
        settings.budget = m_budget->value();
    if (m_rackKw->value() > 0)
        settings.rackKw = m_rackKw->value();
    settings.margin = m_margin->value();
    settings.nPlusOne = m_nPlusOne->isChecked();
    if (!m_controller->startPlan(*m_document, settings, m_jobs->value(), &error)) {
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
    const CostAxis axis = m_costAxis->currentIndex() == 1 ? CostAxis::CapexUsd
        : m_costAxis->currentIndex() == 2                 ? CostAxis::FacilityKw
                                                          : CostAxis::Gpus;
    const bool plan = m_controller->kind() == StudyController::Kind::Plan;
    const QVector<DesignPoint> points = plan
        ? designPointsFromPlan(m_controller->table(), QString::fromLatin1(latency.planColumn))
        : designPointsFromBatch(m_controller->table(), QString::fromLatin1(latency.batchKey));
    const QString percentile = plan ? planSloPercentile(m_controller->table())
                                    : QString::fromLatin1(latency.batchKey).section(u'.', -1);
    const QString latencyLabel = percentile.isEmpty() ? tr("%1 at the SLO's percentile").arg(tr(latency.metric))
                                                      : QStringLiteral("%1 %2").arg(tr(latency.metric), percentile);

    delete m_chart;
    m_chart = new ChartPanel(ChartFactory::frontierChart(plan ? tr("Plan: design points") : tr("Sweep: SLO frontier"),
                                                         points, axis, tr("%1 (s)").arg(latencyLabel)));
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
                     .arg(latencyLabel)
                     .arg(points[best].latencyS, 0, 'f', 3);
    if (plan && !m_controller->planWinner().isEmpty()) {
        const QJsonObject winner = m_controller->planWinner();
        const auto number = [&](const char* key, int decimals) {
            const QJsonValue value = winner.value(QLatin1String(key));
            return value.isDouble() ? QString::number(value.toDouble(), 'f', decimals) : tr("n/a");
        };
        answer += tr("<br>aidc plan's answer: <b>%1 × %2 in %3 %4 servers, %5 racks</b> (%6, TP %7, batch %8)")
                      .arg(winner.value(u"gpus").toVariant().toString(), winner.value(u"gpu").toString(),
                           winner.value(u"servers").toVariant().toString(), winner.value(u"server_type").toString(),
                           winner.value(u"racks").toVariant().toString(), winner.value(u"precision").toString(),
                           winner.value(u"tensor_parallel").toVariant().toString(),
                           winner.value(u"max_batch_sequences").toVariant().toString());
        answer += tr("<br>IT %1 kW peak, facility %2 kW, PUE %3; capex %4 %5, TCO %6; %7 per million output tokens; "
                     "payback %8 months against cloud rent, %9 against the API price")
                      .arg(number("it_kw_peak", 1), number("facility_kw_mean", 1), number("pue_annualized", 2),
                           number("capex", 0), winner.value(u"currency").toString(), number("tco", 0),
                           number("per_million_output_tokens", 3), number("payback_months_vs_cloud", 1),
                           number("payback_months_vs_api", 1));
    } else if (plan && !m_controller->planWhyNone().isEmpty()) {
        answer += tr("<br>aidc plan: %1").arg(m_controller->planWhyNone().toHtmlEscaped());
    }
    if (!m_note.isEmpty())
        answer += QStringLiteral("<br><span style=\"color:#cf222e\">%1</span>").arg(m_note.toHtmlEscaped());
    m_answer->setText(answer + tr("<br>Results in %1").arg(m_controller->outDir().toHtmlEscaped()));
}
