#pragma once

#include <QObject>
#include <QProcess>
#include <QStringList>

// One `aidc` child process (SimGrid allows one engine per process, so every run is its own process).
// Turns its `--progress json` lines on stderr into signals and its ending into one outcome with a message
// a person can act on; nothing the child does can block or crash the GUI.
class AidcProcess : public QObject {
    Q_OBJECT
public:
    enum class Outcome { Succeeded, InvalidInput, Failed, Crashed, Cancelled, FailedToStart };
    Q_ENUM(Outcome)

    AidcProcess(QString program, QStringList arguments, QObject* parent = nullptr);
    ~AidcProcess() override;

    void start();
    // Asks the child to stop (SIGTERM), and kills it if it has not stopped shortly after.
    void cancel();
    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }

    QByteArray standardOutput() const { return m_stdout; }
    // stderr lines that are not progress events: the diagnostics.
    QStringList diagnostics() const { return m_diagnostics; }

signals:
    void progress(double fraction, double simulatedSeconds, double wallSeconds);
    void finished(AidcProcess::Outcome outcome, const QString& message);

private:
    void readStandardError();
    void handleLine(const QByteArray& line);
    void onFinished(int exitCode, QProcess::ExitStatus status);
    void onError(QProcess::ProcessError error);
    void finish(Outcome outcome, const QString& message);
    QString diagnosticTail() const;

    QString m_program;
    QStringList m_arguments;
    QProcess m_process;
    QByteArray m_stdout;
    QByteArray m_pendingStderr;
    QStringList m_diagnostics;
    bool m_cancelRequested = false;
    bool m_finished = false;
};
