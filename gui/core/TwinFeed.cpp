#include "core/TwinFeed.h"

#include "core/Csv.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QUrlQuery>

#include <algorithm>

namespace {

// JSON numbers; null (the twin's NaN) and absent are NaN.
double number(const QJsonValue& v) { return v.isDouble() ? v.toDouble() : qQNaN(); }

} // namespace

QVariant TwinTicksModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || (role != Qt::DisplayRole && role != Qt::EditRole))
        return {};
    const TwinTick& t = m_ticks[index.row()];
    const double values[ColumnCount] = {t.t_s, t.rate, t.measuredTtftP99, t.mirroredTtftP99, t.forecastTtftP99,
                                        t.forecastLow, t.forecastHigh, t.measuredItl, t.mirroredItl};
    return values[index.column()];
}

QVariant TwinTicksModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[ColumnCount] = {"t (s)", "req/s", "measured p99 TTFT (s)", "mirrored p99 TTFT (s)",
                                             "forecast p99 TTFT (s)", "forecast low (s)", "forecast high (s)",
                                             "measured ITL (s)", "mirrored ITL (s)"};
    return tr(names[section]);
}

void TwinTicksModel::append(const TwinTick& tick)
{
    beginInsertRows({}, int(m_ticks.size()), int(m_ticks.size()));
    m_ticks.push_back(tick);
    endInsertRows();
}

void TwinTicksModel::reset(const QVector<TwinTick>& ticks)
{
    beginResetModel();
    m_ticks = ticks;
    endResetModel();
}

TwinTick tickFromState(const QJsonObject& state)
{
    TwinTick t;
    t.t_s = state.value(QStringLiteral("t_s")).toDouble();
    const QJsonObject measured = state.value(QStringLiteral("measured")).toObject();
    const QJsonObject mirrored = state.value(QStringLiteral("mirrored")).toObject();
    t.rate = number(measured.value(QStringLiteral("rate_per_s")));
    t.measuredTtftP99 = number(measured.value(QStringLiteral("ttft_p99_s")));
    t.measuredItl = number(measured.value(QStringLiteral("itl_mean_s")));
    t.mirroredTtftP99 = number(mirrored.value(QStringLiteral("ttft_p99_s")));
    t.mirroredItl = number(mirrored.value(QStringLiteral("itl_mean_s")));
    for (const QJsonValue& f : state.value(QStringLiteral("forecasts")).toArray()) {
        const QJsonObject forecast = f.toObject();
        if (!forecast.value(QStringLiteral("ok")).toBool())
            continue;
        const double p99 = number(forecast.value(QStringLiteral("ttft_p99_s")));
        if (forecast.value(QStringLiteral("variant")).toString() == QLatin1String("trend"))
            t.forecastTtftP99 = p99;
        t.forecastLow = qIsNaN(t.forecastLow) ? p99 : std::min(t.forecastLow, p99);
        t.forecastHigh = qIsNaN(t.forecastHigh) ? p99 : std::max(t.forecastHigh, p99);
    }
    return t;
}

bool ticksFromCsv(const QString& path, QVector<TwinTick>* ticks, QString* error)
{
    CsvTable csv;
    if (!readCsvFile(path, &csv, error))
        return false;
    const QStringList needed = {QStringLiteral("source"), QStringLiteral("t_s"), QStringLiteral("measured_rate_per_s"),
                                QStringLiteral("measured_ttft_p99_s"), QStringLiteral("mirrored_ttft_p99_s"),
                                QStringLiteral("forecast_ttft_p99_s"), QStringLiteral("measured_itl_mean_s"),
                                QStringLiteral("mirrored_itl_mean_s")};
    for (const QString& name : needed)
        if (csv.column(name) < 0) {
            *error = QObject::tr("%1: not a twin.csv (no column %2)").arg(path, name);
            return false;
        }
    ticks->clear();
    for (int r = 0; r < csv.rows.size(); ++r) {
        if (csv.cell(r, csv.column(QStringLiteral("source"))) != QLatin1String("live"))
            continue;
        TwinTick t;
        t.t_s = csv.number(r, csv.column(QStringLiteral("t_s")));
        t.rate = csv.number(r, csv.column(QStringLiteral("measured_rate_per_s")));
        t.measuredTtftP99 = csv.number(r, csv.column(QStringLiteral("measured_ttft_p99_s")));
        t.mirroredTtftP99 = csv.number(r, csv.column(QStringLiteral("mirrored_ttft_p99_s")));
        t.forecastTtftP99 = t.forecastLow = t.forecastHigh = csv.number(r, csv.column(QStringLiteral("forecast_ttft_p99_s")));
        t.measuredItl = csv.number(r, csv.column(QStringLiteral("measured_itl_mean_s")));
        t.mirroredItl = csv.number(r, csv.column(QStringLiteral("mirrored_itl_mean_s")));
        ticks->push_back(t);
    }
    return true;
}

TwinFeed::TwinFeed(QObject* parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this))
    , m_ticks(this)
{
    connect(&m_timer, &QTimer::timeout, this, &TwinFeed::poll);
}

void TwinFeed::follow(const QUrl& twin, int intervalMs)
{
    m_twin = twin;
    m_ticks.reset({});
    m_state = {};
    m_timer.start(intervalMs);
    poll();
}

bool TwinFeed::replay(const QString& twinCsv, QString* error)
{
    QVector<TwinTick> ticks;
    if (!ticksFromCsv(twinCsv, &ticks, error))
        return false;
    stop();
    m_state = {};
    m_ticks.reset(ticks);
    emit updated();
    return true;
}

void TwinFeed::stop() { m_timer.stop(); }

void TwinFeed::poll()
{
    if (m_inFlight)
        return;  // the twin is slow: skip a beat rather than pile requests up
    m_inFlight = true;
    QNetworkRequest request(m_twin.resolved(QUrl(QStringLiteral("/state"))));
    request.setTransferTimeout(3000);
    QNetworkReply* reply = m_network->get(request);
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        m_inFlight = false;
        if (reply->error() != QNetworkReply::NoError) {
            emit problem(tr("Twin at %1: %2").arg(m_twin.toString(), reply->errorString()));
            return;
        }
        const QJsonObject state = QJsonDocument::fromJson(reply->readAll()).object();
        if (state.isEmpty() || !state.contains(QStringLiteral("t_s")))
            return;  // no tick yet
        const bool newTick = m_ticks.ticks().isEmpty() || state.value(QStringLiteral("t_s")).toDouble() > m_ticks.ticks().back().t_s;
        m_state = state;
        if (newTick)
            m_ticks.append(tickFromState(state));
        const QJsonObject whatIf = state.value(QStringLiteral("what_if")).toObject();
        const int id = whatIf.value(QStringLiteral("id")).toInt();
        if (m_whatIfAsked >= 0 && id > m_whatIfAsked) {
            m_whatIfAsked = -1;
            QStringList lines;
            for (const QJsonValue& v : whatIf.value(QStringLiteral("results")).toArray()) {
                const QJsonObject r = v.toObject();
                const double breach = r.value(QStringLiteral("slo_breach_s")).toDouble();
                lines << (r.value(QStringLiteral("ok")).toBool()
                              ? tr("%1: p99 TTFT %2 ms, p99 TPOT %3 ms, SLO %4, add %5 replica(s), %6 kW, PUE %7")
                                    .arg(r.value(QStringLiteral("variant")).toString())
                                    .arg(1000 * r.value(QStringLiteral("ttft_p99_s")).toDouble(), 0, 'f', 1)
                                    .arg(1000 * r.value(QStringLiteral("tpot_p99_s")).toDouble(), 0, 'f', 2)
                                    .arg(breach < 0 ? tr("holds") : tr("breaks in %1 s").arg(breach, 0, 'f', 0))
                                    .arg(r.value(QStringLiteral("replicas_to_add")).toInt())
                                    .arg(r.value(QStringLiteral("facility_kw")).toDouble(), 0, 'f', 1)
                                    .arg(r.value(QStringLiteral("pue")).toDouble(), 0, 'f', 2)
                              : tr("%1 failed: %2").arg(r.value(QStringLiteral("variant")).toString(),
                                                       r.value(QStringLiteral("error")).toString()));
            }
            emit whatIfAnswered(lines.join(u'\n'));
        }
        m_lastWhatIf = id;
        emit updated();
    });
}

void TwinFeed::runWhatIf(double rateMultiplier, int downReplica)
{
    QUrl url = m_twin.resolved(QUrl(QStringLiteral("/whatif")));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("rate"), QString::number(rateMultiplier));
    if (downReplica >= 0)
        query.addQueryItem(QStringLiteral("down"), QString::number(downReplica));
    url.setQuery(query);
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("text/plain"));
    QNetworkReply* reply = m_network->post(request, QByteArray());
    m_whatIfAsked = m_lastWhatIf;
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() != 202) {
            m_whatIfAsked = -1;
            emit problem(tr("What-if refused: %1").arg(QString::fromUtf8(reply->readAll()).trimmed()));
        }
    });
}

FloorPlan TwinFeed::replicaFloor() const
{
    FloorPlan plan;
    plan.metric = QStringLiteral("replicas_up");
    plan.title = tr("Replicas up per rack (HAProxy's view)");
    const QJsonObject floor = m_state.value(QStringLiteral("floor")).toObject();
    plan.halls = std::max(1, floor.value(QStringLiteral("halls")).toInt());
    plan.rowsPerHall = std::max(1, floor.value(QStringLiteral("rows_per_hall")).toInt());
    plan.racksPerRow = std::max(1, floor.value(QStringLiteral("racks_per_row")).toInt());
    const QJsonArray replicas = m_state.value(QStringLiteral("replicas")).toArray();
    if (replicas.isEmpty())
        return plan;
    plan.rackValues = QVector<double>(plan.halls * plan.rowsPerHall * plan.racksPerRow, 0.0);
    for (const QJsonValue& v : replicas) {
        const QJsonObject r = v.toObject();
        const int rack = r.value(QStringLiteral("rack")).toInt();
        if (rack >= 0 && rack < plan.rackValues.size() && r.value(QStringLiteral("up")).toBool())
            plan.rackValues[rack] += 1;
    }
    return plan;
}

QStringList TwinFeed::alertLines() const
{
    QStringList lines;
    for (const QJsonValue& v : m_state.value(QStringLiteral("alerts")).toArray()) {
        const QJsonObject a = v.toObject();
        lines << tr("%1: %2 (%3 = %4)")
                     .arg(a.value(QStringLiteral("name")).toString(), a.value(QStringLiteral("state")).toString(),
                          a.value(QStringLiteral("metric")).toString(),
                          a.value(QStringLiteral("value")).isDouble() ? QString::number(a.value(QStringLiteral("value")).toDouble()) : tr("none"));
    }
    for (const QJsonValue& f : m_state.value(QStringLiteral("forecasts")).toArray()) {
        const QJsonObject forecast = f.toObject();
        if (forecast.value(QStringLiteral("ok")).toBool() && forecast.value(QStringLiteral("slo_breach_s")).toDouble() >= 0)
            lines << tr("Forecast %1: SLO breaks in %2 s; add %3 replica(s)")
                         .arg(forecast.value(QStringLiteral("variant")).toString())
                         .arg(forecast.value(QStringLiteral("slo_breach_s")).toDouble(), 0, 'f', 0)
                         .arg(forecast.value(QStringLiteral("replicas_to_add")).toInt());
    }
    for (const QJsonValue& l : m_state.value(QStringLiteral("lacking")).toArray())
        lines << tr("Lacking: %1").arg(l.toString());
    return lines;
}
