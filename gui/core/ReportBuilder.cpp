#include "core/ReportBuilder.h"

#include "core/Kpi.h"
#include "core/RunResult.h"

#include <QBuffer>
#include <QFileInfo>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextDocument>
#include <QUrl>

#include <functional>

namespace {

// How the page refers to chart i: a data: URI for HTML files, a document resource name for the PDF
// (QTextDocument does not decode data: URIs).
using ImageSource = std::function<QString(int index, const ReportChart& chart)>;

QString verdictText(Kpi::Verdict verdict)
{
    switch (verdict) {
    case Kpi::Verdict::Pass: return QStringLiteral("<span style=\"color:#1a7f37\">pass</span>");
    case Kpi::Verdict::Fail: return QStringLiteral("<span style=\"color:#cf222e\">fail</span>");
    case Kpi::Verdict::None: return {};
    }
    return {};
}

QString buildHtml(const RunResult& result, const QVector<ReportChart>& charts, const ImageSource& source)
{
    QString html;
    html += QStringLiteral("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%1</title>"
                           "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse}"
                           "td,th{border:1px solid #ccc;padding:4px 10px;text-align:left} pre{background:#f6f8fa;"
                           "padding:1em}</style></head><body>")
                .arg(result.label().toHtmlEscaped());
    html += QStringLiteral("<h1>aidc run: %1</h1><p>Output folder: <code>%2</code></p>")
                .arg(result.label().toHtmlEscaped(), result.dir().toHtmlEscaped());
    html += QStringLiteral("<h2>Key figures</h2><table><tr><th>KPI</th><th>Value</th><th>SLO</th><th></th></tr>");
    for (const Kpi& kpi : kpisOf(result))
        html += QStringLiteral("<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td></tr>")
                    .arg(kpi.label.toHtmlEscaped(), kpi.valueText().toHtmlEscaped(), kpi.limitText().toHtmlEscaped(),
                         verdictText(kpi.verdict));
    html += QStringLiteral("</table>");
    if (!charts.isEmpty())
        html += QStringLiteral("<h2>Charts</h2>");
    for (int i = 0; i < charts.size(); ++i)
        html += QStringLiteral("<h3>%1</h3><p><img src=\"%2\" width=\"%3\"></p>")
                    .arg(charts[i].title.toHtmlEscaped(), source(i, charts[i]))
                    .arg(qMin(charts[i].image.width(), 900));
    if (!result.report().isEmpty())
        html += QStringLiteral("<h2>Simulator report</h2><pre>%1</pre>").arg(result.report().toHtmlEscaped());
    html += QStringLiteral("</body></html>\n");
    return html;
}

QString dataUri(const QImage& image)
{
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return QStringLiteral("data:image/png;base64,") + QString::fromLatin1(png.toBase64());
}

} // namespace

QString reportHtml(const RunResult& result, const QVector<ReportChart>& charts)
{
    return buildHtml(result, charts, [](int, const ReportChart& chart) { return dataUri(chart.image); });
}

bool writeHtmlReport(const QString& path, const RunResult& result, const QVector<ReportChart>& charts, QString* error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(reportHtml(result, charts).toUtf8()) < 0 || !file.commit()) {
        *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool writePdfReport(const QString& path, const RunResult& result, const QVector<ReportChart>& charts, QString* error)
{
    QTextDocument document;
    for (int i = 0; i < charts.size(); ++i)
        document.addResource(QTextDocument::ImageResource, QUrl(QStringLiteral("chart%1.png").arg(i)), charts[i].image);
    document.setHtml(buildHtml(result, charts, [](int index, const ReportChart&) {
        return QStringLiteral("chart%1.png").arg(index);
    }));
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setTitle(result.label());
    writer.setCreator(QStringLiteral("aidc-gui"));
    document.print(&writer);
    if (!QFileInfo(path).exists() || QFileInfo(path).size() == 0) {
        *error = QStringLiteral("%1: could not write the PDF").arg(path);
        return false;
    }
    return true;
}
