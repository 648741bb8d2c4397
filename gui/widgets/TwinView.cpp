#include "widgets/TwinView.h"

#include "core/TwinFeed.h"
#include "widgets/FloorPlanWidget.h"

#include <QAreaSeries>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListView>
#include <QPushButton>
#include <QStringListModel>
#include <QVBoxLayout>
#include <QVXYModelMapper>
#include <QValueAxis>

#include <cmath>

namespace {

QLineSeries* mapped(TwinTicksModel* model, int column, const QString& name, QObject* parent)
{
    auto* series = new QLineSeries(parent);
    series->setName(name);
    auto* mapper = new QVXYModelMapper(series);
    mapper->setXColumn(TwinTicksModel::Time);
    mapper->setYColumn(column);
    mapper->setModel(model);
    mapper->setSeries(series);
    return series;
}

} // namespace

TwinView::TwinView(TwinFeed* feed, QWidget* parent)
    : QWidget(parent)
    , m_feed(feed)
    , m_url(new QLineEdit(QStringLiteral("http://127.0.0.1:9700")))
    , m_status(new QLabel(tr("Follow a running `aidc twin --listen HOST:PORT`, or replay a saved twin.csv.")))
    , m_chart(new QChart)
    , m_x(new QValueAxis)
    , m_y(new QValueAxis)
    , m_floorBox(new QVBoxLayout)
    , m_alerts(new QStringListModel(this))
    , m_rate(new QDoubleSpinBox)
    , m_down(new QComboBox)
    , m_whatIf(new QLabel)
{
    setObjectName(QStringLiteral("twinView"));
    m_url->setObjectName(QStringLiteral("twinUrl"));
    m_status->setObjectName(QStringLiteral("twinStatus"));
    auto* followButton = new QPushButton(tr("Follow"));
    followButton->setObjectName(QStringLiteral("twinFollow"));
    auto* replayButton = new QPushButton(tr("Replay twin.csv…"));
    replayButton->setObjectName(QStringLiteral("twinReplay"));
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Twin")));
    top->addWidget(m_url, 1);
    top->addWidget(followButton);
    top->addWidget(replayButton);

    TwinTicksModel* ticks = m_feed->ticks();
    auto* low = mapped(ticks, TwinTicksModel::ForecastLow, tr("forecast low"), m_chart);
    auto* high = mapped(ticks, TwinTicksModel::ForecastHigh, tr("forecast high"), m_chart);
    auto* band = new QAreaSeries(high, low);
    band->setName(tr("forecast band (what-ifs)"));
    band->setOpacity(0.25);
    m_chart->addSeries(band);
    for (auto [column, name] : {std::pair{int(TwinTicksModel::MeasuredTtft), tr("measured p99 TTFT")},
                                std::pair{int(TwinTicksModel::MirroredTtft), tr("mirrored p99 TTFT")},
                                std::pair{int(TwinTicksModel::ForecastTtft), tr("forecast p99 TTFT (trend)")}})
        m_chart->addSeries(mapped(ticks, column, name, m_chart));
    m_chart->setTitle(tr("p99 time to first token: measured, mirrored, forecast"));
    m_x->setTitleText(tr("seconds since the twin started"));
    m_y->setTitleText(tr("seconds"));
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_y, Qt::AlignLeft);
    for (auto* s : m_chart->series()) {
        s->attachAxis(m_x);
        s->attachAxis(m_y);
    }
    auto* chartView = new QChartView(m_chart);
    chartView->setObjectName(QStringLiteral("twinChart"));
    chartView->setRenderHint(QPainter::Antialiasing);

    auto* alertsView = new QListView;
    alertsView->setObjectName(QStringLiteral("twinAlerts"));
    alertsView->setModel(m_alerts);
    auto* alertsBox = new QGroupBox(tr("Alerts"));
    (new QVBoxLayout(alertsBox))->addWidget(alertsView);

    auto* floorBox = new QGroupBox(tr("Replicas on the floor"));
    floorBox->setLayout(m_floorBox);

    m_rate->setObjectName(QStringLiteral("twinRate"));
    m_rate->setRange(0.1, 20);
    m_rate->setSingleStep(0.5);
    m_rate->setValue(2);
    m_rate->setSuffix(QStringLiteral(" ×"));
    m_down->setObjectName(QStringLiteral("twinDown"));
    m_down->addItem(tr("none"), -1);
    m_whatIf->setObjectName(QStringLiteral("twinWhatIfResult"));
    m_whatIf->setWordWrap(true);
    m_whatIf->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* runWhatIf = new QPushButton(tr("Forecast from the live state"));
    runWhatIf->setObjectName(QStringLiteral("twinWhatIf"));
    auto* whatIfBox = new QGroupBox(tr("What if"));
    auto* form = new QFormLayout(whatIfBox);
    form->addRow(tr("Arrival rate"), m_rate);
    form->addRow(tr("Replica down"), m_down);
    form->addRow(runWhatIf);
    form->addRow(m_whatIf);

    auto* side = new QVBoxLayout;
    side->addWidget(floorBox, 2);
    side->addWidget(alertsBox, 2);
    side->addWidget(whatIfBox, 1);
    auto* body = new QHBoxLayout;
    body->addWidget(chartView, 3);
    body->addLayout(side, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_status);
    layout->addLayout(body, 1);

    connect(followButton, &QPushButton::clicked, this, [this] { follow(m_url->text()); });
    connect(replayButton, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Replay a twin.csv"), {}, tr("Twin CSV (twin.csv *.csv)"));
        if (!file.isEmpty())
            replay(file);
    });
    connect(runWhatIf, &QPushButton::clicked, this, [this] {
        m_whatIf->setText(tr("Running…"));
        m_feed->runWhatIf(m_rate->value(), m_down->currentData().toInt());
    });
    connect(m_feed, &TwinFeed::updated, this, &TwinView::refresh);
    connect(m_feed, &TwinFeed::whatIfAnswered, m_whatIf, &QLabel::setText);
    connect(m_feed, &TwinFeed::problem, m_status, &QLabel::setText);
    connect(ticks, &QAbstractItemModel::rowsInserted, this, &TwinView::rescale);
    connect(ticks, &QAbstractItemModel::modelReset, this, &TwinView::rescale);
}

void TwinView::follow(const QString& url)
{
    m_url->setText(url);
    m_status->setText(tr("Following %1").arg(url));
    m_feed->follow(QUrl(url));
}

bool TwinView::replay(const QString& twinCsv)
{
    QString error;
    if (!m_feed->replay(twinCsv, &error)) {
        m_status->setText(error);
        return false;
    }
    m_status->setText(tr("Replaying %1 (%2 ticks)").arg(twinCsv).arg(m_feed->ticks()->rowCount()));
    return true;
}

void TwinView::rescale()
{
    double xMax = 1, yMax = 0;
    for (const TwinTick& t : m_feed->ticks()->ticks()) {
        xMax = std::max(xMax, t.t_s);
        for (double v : {t.measuredTtftP99, t.mirroredTtftP99, t.forecastHigh})
            if (std::isfinite(v))
                yMax = std::max(yMax, v);
    }
    const double xMin = m_feed->ticks()->ticks().isEmpty() ? 0 : m_feed->ticks()->ticks().front().t_s;
    m_x->setRange(xMin, xMax);
    m_y->setRange(0, yMax > 0 ? yMax * 1.1 : 1);
}

void TwinView::refresh()
{
    if (!m_feed->following())
        return;
    const QJsonObject& state = m_feed->state();
    m_status->setText(tr("Following %1: t = %2 s, Prometheus %3, step scale %4, %5 recalibration(s)")
                          .arg(m_url->text())
                          .arg(state.value(QStringLiteral("t_s")).toDouble(), 0, 'f', 0)
                          .arg(state.value(QStringLiteral("prometheus_up")).toBool() ? tr("up") : tr("unreachable"))
                          .arg(state.value(QStringLiteral("step_scale")).toDouble(), 0, 'g', 4)
                          .arg(state.value(QStringLiteral("recalibrations")).toInt()));
    m_alerts->setStringList(m_feed->alertLines());
    const int replicas = int(state.value(QStringLiteral("replicas")).toArray().size());
    while (m_down->count() - 1 < replicas)
        m_down->addItem(tr("replica %1").arg(m_down->count() - 1), m_down->count() - 1);
    const FloorPlan plan = m_feed->replicaFloor();
    if (!plan.isEmpty()) {
        delete m_floor;
        m_floor = new FloorPlanWidget(plan);
        m_floor->setObjectName(QStringLiteral("twinFloor"));
        m_floorBox->addWidget(m_floor);
    }
}
