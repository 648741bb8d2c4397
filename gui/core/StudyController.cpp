#include "core/StudyController.h"

#include "core/ScenarioDocument.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

StudyController::StudyController(QString aidcProgram, QString runsDir, QObject* parent)
    : QObject(parent)
    , m_aidcProgram(std::move(aidcProgram))
    , m_runsDir(std::move(runsDir))
{
}

StudyController::~StudyController() = default;

bool StudyController::startSweep(const ScenarioDocument& document, const QString& knobPath, const QStringList& values,
                                 int jobs, QString* error)
{
    return start(Kind::Sweep, document,
                 {QStringLiteral("--sweep"), knobPath + u'=' + values.join(u','), QStringLiteral("-j"),
                  QString::number(jobs)},
                 error);
}

QStringList planArguments(const PlanSettings& settings, int jobs)
{
    QStringList arguments{QStringLiteral("-j"), QString::number(jobs)};
    if (!settings.gpus.isEmpty())
        arguments << QStringLiteral("--gpus") << settings.gpus.join(u',');
    if (!settings.objective.isEmpty())
        arguments << QStringLiteral("--objective") << settings.objective;
    if (settings.budget)
        arguments << QStringLiteral("--budget") << QString::number(*settings.budget, 'g', 12);
    if (settings.rackKw)
        arguments << QStringLiteral("--rack-kw") << QString::number(*settings.rackKw, 'g', 12);
    if (settings.nPlusOne)
        arguments << QStringLiteral("--n-plus-one");
    if (settings.margin)
        arguments << QStringLiteral("--margin") << QString::number(*settings.margin, 'g', 12);
    return arguments;
}

bool StudyController::startPlan(const ScenarioDocument& document, const PlanSettings& settings, int jobs, QString* error)
{
    return start(Kind::Plan, document, planArguments(settings, jobs), error);
}

bool StudyController::start(Kind kind, const ScenarioDocument& document, const QStringList& extraArguments,
                            QString* error)
{
    if (isRunning()) {
        *error = tr("a sweep or plan is already running");
        return false;
    }
    const QString verb = kind == Kind::Sweep ? QStringLiteral("batch") : QStringLiteral("plan");
    const QString outDir = QDir(m_runsDir).filePath(
        QStringLiteral("%1-%2").arg(verb, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz"))));
    if (!QDir().mkpath(outDir)) {
        *error = tr("cannot create %1").arg(outDir);
        return false;
    }
    const QString input = QDir(outDir).filePath(QStringLiteral("input.yaml"));
    if (!document.writeSnapshot(input, error))
        return false;

    m_kind = kind;
    m_outDir = outDir;
    m_table = {};
    m_winner = {};
    m_whyNone.clear();
    m_process = std::make_unique<AidcProcess>(
        m_aidcProgram, QStringList{verb, input} + extraArguments + QStringList{QStringLiteral("--out"), outDir});
    connect(m_process.get(), &AidcProcess::finished, this, &StudyController::onFinished);
    emit started();
    m_process->start();
    return true;
}

void StudyController::cancel()
{
    if (m_process)
        m_process->cancel();
}

void StudyController::onFinished(AidcProcess::Outcome outcome, const QString& message)
{
    const QDir dir(m_outDir);
    const QString tablePath = dir.filePath(m_kind == Kind::Sweep ? QStringLiteral("batch.csv") : QStringLiteral("plan.csv"));
    // aidc batch exits non-zero when some of its runs failed but still writes the table, whose status column
    // says which: those results are worth showing.
    const bool answered = outcome == AidcProcess::Outcome::Succeeded
        || ((outcome == AidcProcess::Outcome::InvalidInput || outcome == AidcProcess::Outcome::Failed)
            && QFileInfo::exists(tablePath));
    if (!answered) {
        emit finished(false, message);
        return;
    }
    QString error;
    if (!readCsvFile(tablePath, &m_table, &error)) {
        emit finished(false, error);
        return;
    }
    if (m_kind == Kind::Plan) {
        QFile planJson(dir.filePath(QStringLiteral("plan.json")));
        if (planJson.open(QIODevice::ReadOnly)) {
            const QJsonObject plan = QJsonDocument::fromJson(planJson.readAll()).object();
            m_winner = plan.value(u"winner").toObject();
            m_whyNone = plan.value(u"why_none").toString();
        }
    }
    emit finished(true, outcome == AidcProcess::Outcome::Succeeded ? QString() : tr("some runs failed: see the table's status column"));
}
