#include "core/AidcProcess.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

namespace {
// Long enough for aidc to flush its outputs on SIGTERM, short enough that Cancel feels immediate.
constexpr int kKillDelayMs = 3000;
// How many trailing stderr lines a failure message quotes.
constexpr int kQuotedDiagnosticLines = 8;
} // namespace

AidcProcess::AidcProcess(QString program, QStringList arguments, QObject* parent)
    : QObject(parent)
    , m_program(std::move(program))
    , m_arguments(std::move(arguments))
{
    connect(&m_process, &QProcess::readyReadStandardOutput, this,
            [this] { m_stdout += m_process.readAllStandardOutput(); });
    connect(&m_process, &QProcess::readyReadStandardError, this, &AidcProcess::readStandardError);
    connect(&m_process, &QProcess::finished, this, &AidcProcess::onFinished);
    connect(&m_process, &QProcess::errorOccurred, this, &AidcProcess::onError);
}

AidcProcess::~AidcProcess()
{
    if (isRunning()) {
        m_process.kill();
        m_process.waitForFinished(kKillDelayMs);
    }
}

void AidcProcess::start()
{
    if (m_program.isEmpty()) {
        finish(Outcome::FailedToStart, tr("aidc was not found: build it (cmake --build build) or set AIDC_BIN"));
        return;
    }
    m_process.start(m_program, m_arguments);
}

void AidcProcess::cancel()
{
    if (!isRunning())
        return;
    m_cancelRequested = true;
    m_process.terminate();
    QTimer::singleShot(kKillDelayMs, this, [this] {
        if (isRunning())
            m_process.kill();
    });
}

void AidcProcess::readStandardError()
{
    m_pendingStderr += m_process.readAllStandardError();
    qsizetype newline;
    while ((newline = m_pendingStderr.indexOf('\n')) >= 0) {
        handleLine(m_pendingStderr.left(newline));
        m_pendingStderr.remove(0, newline + 1);
    }
}

void AidcProcess::handleLine(const QByteArray& rawLine)
{
    const QByteArray line = rawLine.trimmed();
    if (line.isEmpty())
        return;
    if (line.startsWith('{')) {
        const QJsonObject event = QJsonDocument::fromJson(line).object();
        const QString kind = event.value(u"event").toString();
        if (kind == u"progress") {
            emit progress(event.value(u"fraction").toDouble(), event.value(u"simulated_s").toDouble(),
                          event.value(u"wall_s").toDouble());
            return;
        }
        if (kind == u"done")
            return;   // the caller chose the output folder; the exit status says how the run ended
    }
    m_diagnostics << QString::fromUtf8(line);
}

void AidcProcess::onFinished(int exitCode, QProcess::ExitStatus status)
{
    readStandardError();
    handleLine(m_pendingStderr);
    m_pendingStderr.clear();
    m_stdout += m_process.readAllStandardOutput();

    if (m_cancelRequested)
        finish(Outcome::Cancelled, tr("cancelled"));
    else if (status == QProcess::CrashExit)
        finish(Outcome::Crashed, tr("aidc crashed").append(diagnosticTail()));
    else if (exitCode == 0)
        finish(Outcome::Succeeded, {});
    else if (exitCode == 2)
        finish(Outcome::InvalidInput, tr("the scenario is invalid").append(diagnosticTail()));
    else
        finish(Outcome::Failed, tr("aidc failed (exit code %1)").arg(exitCode).append(diagnosticTail()));
}

void AidcProcess::onError(QProcess::ProcessError error)
{
    // Crashes and exits arrive through finished(); only a start failure never does.
    if (error == QProcess::FailedToStart)
        finish(Outcome::FailedToStart, tr("cannot start %1: %2").arg(m_program, m_process.errorString()));
}

void AidcProcess::finish(Outcome outcome, const QString& message)
{
    if (m_finished)
        return;
    m_finished = true;
    emit finished(outcome, message);
}

QString AidcProcess::diagnosticTail() const
{
    // Errors go to stderr; batch and plan list their failed runs on stdout, the fallback.
    const QStringList lines = m_diagnostics.isEmpty()
        ? QString::fromUtf8(m_stdout).split(u'\n', Qt::SkipEmptyParts)
        : m_diagnostics;
    if (lines.isEmpty())
        return {};
    return QStringLiteral(":\n") + lines.mid(qMax(0, lines.size() - kQuotedDiagnosticLines)).join(u'\n');
}
