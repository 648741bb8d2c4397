#pragma once

#include "core/Csv.h"

#include <QMap>
#include <QPointF>
#include <QSet>
#include <QString>
#include <QVector>

#include <memory>
#include <optional>

// One finished run's output folder (summary.json, requests.csv, timeseries.csv, report.txt, scenario.yaml),
// parsed into what the result, compare and report views show.
class RunResult {
public:
    enum class Latency { Ttft, Tpot, E2e };

    // Fails (with a message naming the file) only when summary.json is missing or broken; the CSVs and the
    // report are optional so a partial output still shows its KPIs.
    static std::shared_ptr<RunResult> load(const QString& dir, QString* error);

    QString dir() const { return m_dir; }
    QString label() const { return m_label; }
    void setLabel(const QString& label) { m_label = label; }

    // summary.json flattened to dotted keys ("latency_s.ttft.p99"); booleans become 0/1.
    const QMap<QString, double>& summary() const { return m_summary; }
    std::optional<double> number(const QString& key) const;
    bool isBoolean(const QString& key) const { return m_booleanKeys.contains(key); }
    // Keys under a prefix ("cost." -> "capex", ...), sorted.
    QStringList keysUnder(const QString& prefix) const;

    // Empirical CDF of a latency over the completed requests, as (seconds, fraction) points, thinned to at
    // most maxPoints so charts of a million requests stay fast.
    QVector<QPointF> latencyCdf(Latency latency, int maxPoints = 400) const;
    int requestCount() const { return m_requests.rows.size(); }

    const CsvTable& timeseries() const { return m_timeseries; }
    // (t_s, column) points; empty when the column is absent.
    QVector<QPointF> series(const QString& column) const;
    bool hasSeries(const QString& column) const { return m_timeseries.column(column) >= 0; }

    QString report() const { return m_report; }
    // A key of the resolved scenario.yaml the run wrote (e.g. datacenter.halls), empty when absent.
    QString scenarioValue(const QString& keyPath) const;

private:
    QString m_dir;
    QString m_label;
    QMap<QString, double> m_summary;
    QStringList m_summaryOrder;
    QSet<QString> m_booleanKeys;
    CsvTable m_requests;
    CsvTable m_timeseries;
    QString m_report;
    QMap<QString, QString> m_scenario;
};
