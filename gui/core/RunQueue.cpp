#include "core/RunQueue.h"

#include "core/ScenarioDocument.h"

#include <QColor>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLocale>
#include <QRegularExpression>

RunQueue::RunQueue(QString aidcProgram, QString runsDir, QObject* parent)
    : QAbstractTableModel(parent)
    , m_aidcProgram(std::move(aidcProgram))
    , m_runsDir(std::move(runsDir))
{
}

RunQueue::~RunQueue() = default;

int RunQueue::enqueue(const ScenarioDocument& document, QString* error)
{
    const int id = m_nextId++;
    QString name = document.value(QStringLiteral("name"));
    if (name.isEmpty())
        name = QFileInfo(document.displayName()).completeBaseName();
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9_.-]+"));
    const QString folderName = QStringLiteral("%1-%2-%3")
                                   .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))
                                   .arg(id)
                                   .arg(QString(name).replace(unsafe, QStringLiteral("_")));
    const QString outDir = QDir(m_runsDir).filePath(folderName);
    if (!QDir().mkpath(outDir)) {
        *error = tr("cannot create the run folder %1").arg(outDir);
        return -1;
    }
    const QString input = QDir(outDir).filePath(QStringLiteral("input.yaml"));
    if (!document.writeSnapshot(input, error))
        return -1;

    auto run = std::make_unique<Run>();
    run->id = id;
    run->name = name;
    run->outDir = outDir;
    run->arguments = QStringList{QStringLiteral("run"), input, QStringLiteral("--out"), outDir,
                                 QStringLiteral("--progress"), QStringLiteral("json")};

    const int row = int(m_runs.size());
    beginInsertRows({}, row, row);
    m_runs.push_back(std::move(run));
    endInsertRows();
    startWaitingRuns();
    return row;
}

void RunQueue::cancel(int row)
{
    if (row < 0 || row >= int(m_runs.size()))
        return;
    Run& run = *m_runs[std::size_t(row)];
    if (run.state == State::Queued) {
        run.state = State::Cancelled;
        run.message = tr("cancelled before it started");
        rowChanged(row);
        emit runFinished(row);
    } else if (run.state == State::Running) {
        run.process->cancel();
    }
}

void RunQueue::setMaxParallel(int runs)
{
    m_maxParallel = qMax(1, runs);
    startWaitingRuns();
}

int RunQueue::runningCount() const
{
    return int(std::count_if(m_runs.begin(), m_runs.end(), [](const auto& run) { return run->state == State::Running; }));
}

void RunQueue::startWaitingRuns()
{
    for (int row = 0; row < int(m_runs.size()) && runningCount() < m_maxParallel; ++row) {
        Run& run = *m_runs[std::size_t(row)];
        if (run.state != State::Queued)
            continue;
        run.state = State::Running;
        rowChanged(row);
        // The process is made at start, not at enqueue, so runs queued before aidc was built use it.
        run.process = std::make_unique<AidcProcess>(m_aidcProgram, run.arguments);
        const int id = run.id;
        connect(run.process.get(), &AidcProcess::progress, this,
                [this, id](double fraction, double simulated, double) { onProgress(rowOfId(id), fraction, simulated); });
        connect(run.process.get(), &AidcProcess::finished, this,
                [this, id](AidcProcess::Outcome outcome, const QString& message) {
                    onFinished(rowOfId(id), outcome, message);
                });
        run.process->start();
    }
}

void RunQueue::onProgress(int row, double fraction, double simulatedSeconds)
{
    Run& run = *m_runs[std::size_t(row)];
    run.fraction = qBound(0.0, fraction, 1.0);
    run.simulatedSeconds = simulatedSeconds;
    rowChanged(row);
}

void RunQueue::onFinished(int row, AidcProcess::Outcome outcome, const QString& message)
{
    Run& run = *m_runs[std::size_t(row)];
    switch (outcome) {
    case AidcProcess::Outcome::Succeeded:
        run.state = State::Succeeded;
        run.fraction = 1.0;
        break;
    case AidcProcess::Outcome::Cancelled:
        run.state = State::Cancelled;
        break;
    default:
        run.state = State::Failed;
        break;
    }
    run.message = message;
    rowChanged(row);
    emit runFinished(row);
    startWaitingRuns();
}

void RunQueue::rowChanged(int row)
{
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

int RunQueue::rowOfId(int id) const
{
    for (std::size_t row = 0; row < m_runs.size(); ++row)
        if (m_runs[row]->id == id)
            return int(row);
    return -1;
}

QString RunQueue::stateName(State state)
{
    switch (state) {
    case State::Queued: return tr("queued");
    case State::Running: return tr("running");
    case State::Succeeded: return tr("done");
    case State::Failed: return tr("failed");
    case State::Cancelled: return tr("cancelled");
    }
    return {};
}

int RunQueue::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_runs.size());
}

int RunQueue::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunQueue::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const Run& run = this->run(index.row());
    if (role == FractionRole)
        return run.fraction;
    if (role == OutDirRole)
        return run.outDir;
    if (role == Qt::ToolTipRole)
        return run.message.isEmpty() ? run.outDir : run.message;
    if (role == Qt::ForegroundRole && index.column() == StateColumn) {
        if (run.state == State::Failed)
            return QColor(Qt::red);
        if (run.state == State::Succeeded)
            return QColor(Qt::darkGreen);
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case NameColumn: return QStringLiteral("#%1 %2").arg(run.id).arg(run.name);
    case StateColumn: return stateName(run.state);
    case ProgressColumn: return QStringLiteral("%1 %").arg(qRound(run.fraction * 100));
    case SimulatedColumn: return QLocale::c().toString(run.simulatedSeconds, 'f', 0);
    case MessageColumn: return run.message.section(u'\n', 0, 0);
    default: return {};
    }
}

QVariant RunQueue::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn: return tr("Run");
    case StateColumn: return tr("State");
    case ProgressColumn: return tr("Progress");
    case SimulatedColumn: return tr("Simulated s");
    case MessageColumn: return tr("Message");
    default: return {};
    }
}
