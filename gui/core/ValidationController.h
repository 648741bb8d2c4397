#pragma once

#include "core/AidcProcess.h"
#include "core/Validation.h"

#include <QObject>
#include <QTemporaryDir>
#include <QTimer>

#include <memory>

class ScenarioDocument;

// Runs `aidc validate --format json` on a snapshot of the document shortly after each edit (and on demand)
// and publishes the issues, which the editor shows at their fields.
class ValidationController : public QObject {
    Q_OBJECT
public:
    ValidationController(ScenarioDocument* document, QString aidcProgram, QObject* parent = nullptr);
    ~ValidationController() override;

    void validateNow();
    void setAidcProgram(const QString& program) { m_aidcProgram = program; }
    const QVector<ValidationIssue>& issues() const { return m_issues; }

signals:
    void validated(const QVector<ValidationIssue>& issues);
    // Validation could not run (no aidc, aidc crashed): the reason, for the status bar.
    void unavailable(const QString& reason);

private:
    void onFinished(AidcProcess::Outcome outcome, const QString& message);

    ScenarioDocument* m_document;
    QString m_aidcProgram;
    QTemporaryDir m_snapshotDir;
    QString m_snapshotPath;
    bool m_validatingSnapshot = true;   // else the file on disk itself
    QTimer m_debounce;
    std::unique_ptr<AidcProcess> m_process;
    bool m_rerunWhenDone = false;
    QVector<ValidationIssue> m_issues;
};
