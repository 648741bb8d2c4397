#include "core/ValidationController.h"

#include "core/ScenarioDocument.h"

#include <QDir>
#include <QFileInfo>

namespace {
// Typing pauses longer than this trigger a validation; shorter ones would start a process per keystroke.
constexpr int kDebounceMs = 700;
} // namespace

ValidationController::ValidationController(ScenarioDocument* document, QString aidcProgram, QObject* parent)
    : QObject(parent)
    , m_document(document)
    , m_aidcProgram(std::move(aidcProgram))
{
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(kDebounceMs);
    connect(&m_debounce, &QTimer::timeout, this, &ValidationController::validateNow);
    connect(document, &ScenarioDocument::valueChanged, &m_debounce, qOverload<>(&QTimer::start));
    connect(document, &ScenarioDocument::documentReset, &m_debounce, qOverload<>(&QTimer::start));
}

ValidationController::~ValidationController() = default;

void ValidationController::validateNow()
{
    if (m_aidcProgram.isEmpty()) {
        emit unavailable(tr("validation needs aidc (not found)"));
        return;
    }
    if (m_process && m_process->isRunning()) {
        m_rerunWhenDone = true;
        return;
    }
    // A document as saved is validated where it lies, so every message points at the line on disk.
    // Unsaved edits are validated in a snapshot, named like the document, whose lines are the YAML tab's.
    m_validatingSnapshot = m_document->filePath().isEmpty() || m_document->isModified();
    m_snapshotPath = m_snapshotDir.filePath(m_document->filePath().isEmpty() ? QStringLiteral("untitled.yaml")
                                                                             : QFileInfo(m_document->filePath()).fileName());
    QString error;
    if (m_validatingSnapshot && !m_document->writeSnapshot(m_snapshotPath, &error)) {
        emit unavailable(error);
        return;
    }
    const QString validated = m_validatingSnapshot ? m_snapshotPath : m_document->filePath();
    m_process = std::make_unique<AidcProcess>(
        m_aidcProgram, QStringList{QStringLiteral("validate"), validated, QStringLiteral("--format"), QStringLiteral("json")});
    connect(m_process.get(), &AidcProcess::finished, this, &ValidationController::onFinished);
    m_process->start();
}

void ValidationController::onFinished(AidcProcess::Outcome outcome, const QString& message)
{
    const bool answered = outcome == AidcProcess::Outcome::Succeeded || outcome == AidcProcess::Outcome::InvalidInput;
    const auto parsed = parseValidateJson(m_process->standardOutput());
    if (answered && (parsed || outcome == AidcProcess::Outcome::Succeeded)) {
        m_issues = parsed.value_or(QVector<ValidationIssue>());
        // The snapshot stands in for the unsaved document: its lines are the YAML tab's, not the file's.
        if (m_validatingSnapshot)
            for (ValidationIssue& issue : m_issues)
                if (issue.file == m_snapshotPath)
                    issue.file = tr("%1 (unsaved; lines of the YAML tab)").arg(m_document->displayName());
        emit validated(m_issues);
    } else if (answered) {
        // Invalid input with diagnostics on stderr instead of JSON (e.g. the YAML itself does not parse).
        m_issues = parseDiagnostics(m_process->diagnostics());
        emit validated(m_issues);
    } else {
        emit unavailable(message);
    }
    if (m_rerunWhenDone) {
        m_rerunWhenDone = false;
        validateNow();
    }
}
