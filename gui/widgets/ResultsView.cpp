#include "widgets/ResultsView.h"

#include "core/Kpi.h"
#include "core/ResultFigures.h"
#include "core/RunResult.h"
#include "widgets/ChartFactory.h"
#include "widgets/ChartPanel.h"
#include "widgets/FloorPlanWidget.h"
#include "widgets/KpiTiles.h"

#include <QDir>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QVBoxLayout>

namespace {

constexpr int kChartsPerRow = 2;

QString fileNameFor(const QString& title)
{
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9_-]+"));
    return QString(title).replace(unsafe, QStringLiteral("_"));
}

} // namespace

ResultsView::ResultsView(QWidget* parent)
    : QWidget(parent)
    , m_heading(new QLabel(tr("No results yet: open a scenario and run it (Ctrl+R).")))
    , m_pinButton(new QPushButton(tr("&Pin for compare")))
    , m_reportButton(new QPushButton(tr("Export &report…")))
    , m_chartsButton(new QPushButton(tr("Export c&harts…")))
    , m_tiles(new KpiTiles)
    , m_charts(new QGridLayout)
{
    auto* toolbar = new QHBoxLayout;
    m_heading->setObjectName(QStringLiteral("resultsHeading"));
    m_heading->setTextInteractionFlags(Qt::TextSelectableByMouse);
    toolbar->addWidget(m_heading, 1);
    for (QPushButton* button : {m_pinButton, m_reportButton, m_chartsButton}) {
        button->setEnabled(false);
        toolbar->addWidget(button);
    }
    connect(m_pinButton, &QPushButton::clicked, this, [this] { emit pinRequested(m_result); });
    connect(m_reportButton, &QPushButton::clicked, this, &ResultsView::chooseReportFile);
    connect(m_chartsButton, &QPushButton::clicked, this, &ResultsView::chooseChartFolder);

    auto* content = new QWidget;
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->addWidget(m_tiles);
    contentLayout->addLayout(m_charts);
    contentLayout->addStretch();
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(content);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(toolbar);
    layout->addWidget(scroll, 1);
}

void ResultsView::setResult(std::shared_ptr<RunResult> result)
{
    m_result = std::move(result);
    rebuild();
}

void ResultsView::rebuild()
{
    qDeleteAll(m_chartWidgets);
    m_chartWidgets.clear();
    for (QPushButton* button : {m_pinButton, m_reportButton, m_chartsButton})
        button->setEnabled(bool(m_result));
    if (!m_result) {
        m_tiles->setKpis({});
        return;
    }
    const RunResult& result = *m_result;
    m_heading->setText(tr("<b>%1</b> — %2 requests").arg(result.label().toHtmlEscaped()).arg(result.requestCount()));
    m_heading->setToolTip(result.dir());
    m_tiles->setKpis(kpisOf(result));

    auto add = [this](QWidget* chart) { m_chartWidgets.append(chart); };
    const struct {
        RunResult::Latency latency;
        const char* title;
        const char* sloKey;
    } cdfs[] = {{RunResult::Latency::Ttft, "TTFT distribution", "slo.ttft_s"},
                {RunResult::Latency::Tpot, "TPOT distribution", "slo.tpot_s"},
                {RunResult::Latency::E2e, "End-to-end latency distribution", "slo.e2e_s"}};
    for (const auto& cdf : cdfs) {
        const QVector<QPointF> points = result.latencyCdf(cdf.latency);
        if (!points.isEmpty())
            add(new ChartPanel(ChartFactory::lineChart(tr(cdf.title), {{tr("CDF"), points}}, tr("seconds"),
                                                       tr("fraction"), result.number(cdf.sloKey))));
    }
    for (const TimeSeriesChart& chart : timeSeriesCharts(result)) {
        QVector<ChartFactory::NamedSeries> series;
        for (const QString& column : chart.columns)
            series.append({column, result.series(column)});
        add(new ChartPanel(ChartFactory::lineChart(chart.title, series, tr("simulated time (s)"), chart.yTitle)));
    }
    if (const FloorPlan plan = floorPlanOf(result); !plan.isEmpty())
        add(new FloorPlanWidget(plan));
    if (const auto bars = costBreakdown(result); !bars.isEmpty())
        add(new ChartPanel(ChartFactory::barChart(tr("Cost breakdown"), bars, tr("USD"))));

    for (int i = 0; i < m_chartWidgets.size(); ++i)
        m_charts->addWidget(m_chartWidgets[i], i / kChartsPerRow, i % kChartsPerRow);
}

QVector<ReportChart> ResultsView::chartImages() const
{
    QVector<ReportChart> images;
    for (QWidget* chart : m_chartWidgets) {
        // Render at a fixed size so reports look the same whatever the window size.
        const QSize previous = chart->size();
        chart->resize(800, 450);
        images.append({chart->objectName().section(u':', 1), chart->grab().toImage()});
        chart->resize(previous);
    }
    return images;
}

bool ResultsView::exportReport(const QString& path, QString* error) const
{
    if (!m_result) {
        *error = tr("no results to export");
        return false;
    }
    if (path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive))
        return writePdfReport(path, *m_result, chartImages(), error);
    return writeHtmlReport(path, *m_result, chartImages(), error);
}

bool ResultsView::exportCharts(const QString& dir, QString* error) const
{
    for (QWidget* chart : m_chartWidgets) {
        const QString base = QDir(dir).filePath(fileNameFor(chart->objectName().section(u':', 1)));
        if (!exportWidget(chart, base + QStringLiteral(".png"), error)
            || !exportWidget(chart, base + QStringLiteral(".svg"), error))
            return false;
    }
    return true;
}

void ResultsView::chooseReportFile()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export report"), QDir(m_result->dir()).filePath(QStringLiteral("report.html")),
        tr("HTML page (*.html);;PDF document (*.pdf)"));
    QString error;
    if (!path.isEmpty() && !exportReport(path, &error))
        QMessageBox::warning(this, tr("Export report"), error);
}

void ResultsView::chooseChartFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export charts into"), m_result->dir());
    QString error;
    if (!dir.isEmpty() && !exportCharts(dir, &error))
        QMessageBox::warning(this, tr("Export charts"), error);
}
