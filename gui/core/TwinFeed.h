#pragma once
// The Live twin tab's data: the ticks of a running `aidc twin` (polled from its /state once a second,
// asynchronously, so the window never waits) or of a saved twin.csv (replay), as a table model the
// charts map their series from; the latest replica states, alerts and what-if answer.
#include "core/ResultFigures.h"

#include <QAbstractTableModel>
#include <QJsonObject>
#include <QtNumeric>
#include <QTimer>
#include <QUrl>
#include <QVector>

class QNetworkAccessManager;

struct TwinTick {
    double t_s = 0;
    double rate = qQNaN();
    double measuredTtftP99 = qQNaN(), mirroredTtftP99 = qQNaN();
    double forecastTtftP99 = qQNaN(), forecastLow = qQNaN(), forecastHigh = qQNaN();  // trend; band over the variants
    double measuredItl = qQNaN(), mirroredItl = qQNaN();
};

// One row per tick; columns as Column, times in seconds since the twin started.
class TwinTicksModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Time, Rate, MeasuredTtft, MirroredTtft, ForecastTtft, ForecastLow, ForecastHigh, MeasuredItl, MirroredItl, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    int rowCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : int(m_ticks.size()); }
    int columnCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : ColumnCount; }
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    void append(const TwinTick& tick);
    void reset(const QVector<TwinTick>& ticks);
    const QVector<TwinTick>& ticks() const { return m_ticks; }

private:
    QVector<TwinTick> m_ticks;
};

// A tick from the twin's /state JSON.
TwinTick tickFromState(const QJsonObject& state);
// The live rows of a twin.csv; false with a message naming the file when it cannot be read or is not one.
bool ticksFromCsv(const QString& path, QVector<TwinTick>* ticks, QString* error);

class TwinFeed : public QObject {
    Q_OBJECT
public:
    explicit TwinFeed(QObject* parent = nullptr);
    TwinTicksModel* ticks() { return &m_ticks; }
    // Polls `twin`/state every `intervalMs`; a failed poll is reported and polling goes on.
    void follow(const QUrl& twin, int intervalMs = 1000);
    bool replay(const QString& twinCsv, QString* error);
    void stop();
    bool following() const { return m_timer.isActive(); }
    // POST /whatif; the answer arrives as whatIfAnswered once the twin has run it.
    void runWhatIf(double rateMultiplier, int downReplica);

    const QJsonObject& state() const { return m_state; }
    // Replicas up per rack of the deployment, on the scenario's floor (from the latest state).
    FloorPlan replicaFloor() const;
    // One line per alert rule and per thing the twin lacks.
    QStringList alertLines() const;

signals:
    void updated();
    void whatIfAnswered(const QString& text);
    void problem(const QString& message);

private:
    void poll();
    QNetworkAccessManager* m_network;
    QTimer m_timer;
    QUrl m_twin;
    TwinTicksModel m_ticks;
    QJsonObject m_state;
    bool m_inFlight = false;
    int m_whatIfAsked = -1;  // id of the last what-if answer seen when one was asked; -1: none pending
    int m_lastWhatIf = 0;
};
