#pragma once

#include "core/AidcProcess.h"

#include <QAbstractTableModel>

#include <memory>
#include <vector>

class ScenarioDocument;

// The runs of this session: each is an `aidc run` child; at most maxParallel() run at once, the rest wait.
// A table model so a view shows state and progress, and a controller (enqueue, cancel).
class RunQueue : public QAbstractTableModel {
    Q_OBJECT
public:
    enum class State { Queued, Running, Succeeded, Failed, Cancelled };
    enum Column { NameColumn, StateColumn, ProgressColumn, SimulatedColumn, MessageColumn, ColumnCount };
    enum Role { FractionRole = Qt::UserRole + 1, OutDirRole };

    struct Run {
        int id = 0;
        QString name;
        QString outDir;
        State state = State::Queued;
        double fraction = 0;
        double simulatedSeconds = 0;
        QString message;
        QStringList arguments;
        std::unique_ptr<AidcProcess> process;   // made when the run starts
    };

    RunQueue(QString aidcProgram, QString runsDir, QObject* parent = nullptr);
    ~RunQueue() override;

    // Snapshots the document into a fresh output folder and queues `aidc run` on it. Returns the run's row,
    // or -1 with *error set when the folder or the snapshot cannot be written.
    int enqueue(const ScenarioDocument& document, QString* error);
    void cancel(int row);
    void setMaxParallel(int runs);
    int maxParallel() const { return m_maxParallel; }
    void setAidcProgram(const QString& program) { m_aidcProgram = program; }

    const Run& run(int row) const { return *m_runs[std::size_t(row)]; }
    int runningCount() const;
    static QString stateName(State state);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    // A run ended (any state but Queued/Running); its outDir holds the outputs when it succeeded.
    void runFinished(int row);

private:
    void startWaitingRuns();
    void onProgress(int row, double fraction, double simulatedSeconds);
    void onFinished(int row, AidcProcess::Outcome outcome, const QString& message);
    void rowChanged(int row);
    int rowOfId(int id) const;

    QString m_aidcProgram;
    QString m_runsDir;
    int m_maxParallel = 2;
    int m_nextId = 1;
    std::vector<std::unique_ptr<Run>> m_runs;
};
