#pragma once

#include <QImage>
#include <QString>
#include <QVector>

class RunResult;

// A run's report as a self-contained HTML page or a PDF: KPI table with SLO verdicts, the charts as the
// window drew them, and aidc's own text report.
struct ReportChart {
    QString title;
    QImage image;
};

// Charts embedded as data: URIs, so the file stands alone.
QString reportHtml(const RunResult& result, const QVector<ReportChart>& charts);
bool writeHtmlReport(const QString& path, const RunResult& result, const QVector<ReportChart>& charts, QString* error);
bool writePdfReport(const QString& path, const RunResult& result, const QVector<ReportChart>& charts, QString* error);
