#include "core/RunResult.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

namespace {

QString readText(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

void flattenYaml(const YAML::Node& node, const QString& prefix, QMap<QString, QString>* values)
{
    if (node.IsScalar()) {
        values->insert(prefix, QString::fromStdString(node.Scalar()));
    } else if (node.IsMap()) {
        for (const auto& entry : node) {
            const QString key = QString::fromStdString(entry.first.Scalar());
            flattenYaml(entry.second, prefix.isEmpty() ? key : prefix + u'.' + key, values);
        }
    }
}

bool failedStatus(const QString& status)
{
    return status == u"failed" || status == u"rejected" || status == u"error" || status == u"dropped";
}


// Dotted keys in QJsonObject order (sorted by key): stable, which is all the views need.
void flattenJson(const QJsonObject& object, const QString& prefix, QMap<QString, double>* values, QStringList* order,
                 QSet<QString>* booleans)
{
    for (auto it = object.begin(); it != object.end(); ++it) {
        const QString key = prefix.isEmpty() ? it.key() : prefix + u'.' + it.key();
        if (it.value().isObject()) {
            flattenJson(it.value().toObject(), key, values, order, booleans);
        } else if (it.value().isDouble() || it.value().isBool()) {
            values->insert(key, it.value().isBool() ? double(it.value().toBool()) : it.value().toDouble());
            order->append(key);
            if (it.value().isBool())
                booleans->insert(key);
        }
    }
}

} // namespace

std::shared_ptr<RunResult> RunResult::load(const QString& dir, QString* error)
{
    const QDir folder(dir);
    const QString summaryPath = folder.filePath(QStringLiteral("summary.json"));
    QFile summaryFile(summaryPath);
    if (!summaryFile.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(summaryPath, summaryFile.errorString());
        return nullptr;
    }
    QJsonParseError parseError;
    const QJsonDocument summary = QJsonDocument::fromJson(summaryFile.readAll(), &parseError);
    if (parseError.error != QJsonParseError::NoError || !summary.isObject()) {
        if (error)
            *error = QStringLiteral("%1: not a JSON object (%2)").arg(summaryPath, parseError.errorString());
        return nullptr;
    }

    auto result = std::make_shared<RunResult>();
    result->m_dir = QFileInfo(dir).absoluteFilePath();
    result->m_label = QFileInfo(dir).fileName();
    flattenJson(summary.object(), {}, &result->m_summary, &result->m_summaryOrder, &result->m_booleanKeys);
    // Optional outputs: a run without them still shows its KPIs.
    readCsvFile(folder.filePath(QStringLiteral("requests.csv")), &result->m_requests, nullptr);
    readCsvFile(folder.filePath(QStringLiteral("timeseries.csv")), &result->m_timeseries, nullptr);
    result->m_report = readText(folder.filePath(QStringLiteral("report.txt")));
    try {
        const QString scenarioPath = folder.filePath(QStringLiteral("scenario.yaml"));
        if (QFileInfo::exists(scenarioPath))
            flattenYaml(YAML::LoadFile(scenarioPath.toStdString()), {}, &result->m_scenario);
    } catch (const YAML::Exception&) {
        // The resolved scenario only refines the floor plan layout; without it a square grid is used.
    }
    const QString name = result->scenarioValue(QStringLiteral("name"));
    if (!name.isEmpty())
        result->m_label = QStringLiteral("%1 (%2)").arg(name, result->m_label);
    return result;
}

std::optional<double> RunResult::number(const QString& key) const
{
    const auto it = m_summary.constFind(key);
    if (it == m_summary.constEnd())
        return std::nullopt;
    return *it;
}

QStringList RunResult::keysUnder(const QString& prefix) const
{
    QStringList keys;
    for (const QString& key : m_summaryOrder)
        if (key.startsWith(prefix))
            keys << key.mid(prefix.size());
    return keys;
}

QVector<QPointF> RunResult::latencyCdf(Latency latency, int maxPoints) const
{
    const int arrival = m_requests.column(QStringLiteral("arrival_s"));
    const int firstToken = m_requests.column(QStringLiteral("first_token_s"));
    const int finish = m_requests.column(QStringLiteral("finish_s"));
    const int outputTokens = m_requests.column(QStringLiteral("output_tokens"));
    const int status = m_requests.column(QStringLiteral("status"));

    std::vector<double> samples;
    samples.reserve(m_requests.rows.size());
    for (int row = 0; row < m_requests.rows.size(); ++row) {
        if (failedStatus(m_requests.cell(row, status)))
            continue;
        double sample = NAN;
        switch (latency) {
        case Latency::Ttft:
            sample = m_requests.number(row, firstToken) - m_requests.number(row, arrival);
            break;
        case Latency::E2e:
            sample = m_requests.number(row, finish) - m_requests.number(row, arrival);
            break;
        case Latency::Tpot: {
            // TPOT is the decode pace after the first token; a one-token answer has none.
            const double tokens = m_requests.number(row, outputTokens);
            if (tokens > 1)
                sample = (m_requests.number(row, finish) - m_requests.number(row, firstToken)) / (tokens - 1);
            break;
        }
        }
        if (std::isfinite(sample))
            samples.push_back(sample);
    }
    std::sort(samples.begin(), samples.end());

    QVector<QPointF> cdf;
    const std::size_t count = samples.size();
    if (count == 0)
        return cdf;
    const std::size_t budget = std::size_t(std::max(1, maxPoints));
    const std::size_t stride = (count + budget - 1) / budget;
    for (std::size_t i = 0; i < count; i += stride)
        cdf.append({samples[i], double(i + 1) / double(count)});
    if (cdf.last().y() < 1.0)
        cdf.append({samples.back(), 1.0});
    return cdf;
}

QVector<QPointF> RunResult::series(const QString& column) const
{
    const int time = m_timeseries.column(QStringLiteral("t_s"));
    const int values = m_timeseries.column(column);
    QVector<QPointF> points;
    if (time < 0 || values < 0)
        return points;
    points.reserve(m_timeseries.rows.size());
    for (int row = 0; row < m_timeseries.rows.size(); ++row) {
        const double t = m_timeseries.number(row, time);
        const double v = m_timeseries.number(row, values);
        if (std::isfinite(t) && std::isfinite(v))
            points.append({t, v});
    }
    return points;
}

QString RunResult::scenarioValue(const QString& keyPath) const
{
    return m_scenario.value(keyPath);
}
