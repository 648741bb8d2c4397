#pragma once

#include "core/AidcProcess.h"
#include "core/Csv.h"

#include <QJsonObject>
#include <QObject>

#include <memory>
#include <optional>

class ScenarioDocument;

// What `aidc plan` searches and under which limits (docs/plan.md); empty/unset fields keep aidc's defaults.
struct PlanSettings {
    QStringList gpus;           // GPU types to consider; empty: every GPU in the catalog
    QString objective;          // capex | tco | cost_per_mtok | kw
    std::optional<double> budget;   // most capex, in the scenario's currency
    std::optional<double> rackKw;   // most nameplate kW per rack
    bool nPlusOne = false;
    std::optional<double> margin;   // share of each SLO bound held in reserve
};
// The `aidc plan` options for these settings (before --out).
QStringList planArguments(const PlanSettings& settings, int jobs);

// Drives one `aidc batch --sweep` or `aidc plan` at a time and loads the table it writes.
class StudyController : public QObject {
    Q_OBJECT
public:
    enum class Kind { Sweep, Plan };

    StudyController(QString aidcProgram, QString runsDir, QObject* parent = nullptr);
    ~StudyController() override;

    // Both return false with *error set when the study cannot start (already running, unwritable folder).
    bool startSweep(const ScenarioDocument& document, const QString& knobPath, const QStringList& values, int jobs,
                    QString* error);
    bool startPlan(const ScenarioDocument& document, const PlanSettings& settings, int jobs, QString* error);
    void cancel();
    bool isRunning() const { return m_process && m_process->isRunning(); }
    void setAidcProgram(const QString& program) { m_aidcProgram = program; }

    Kind kind() const { return m_kind; }
    QString outDir() const { return m_outDir; }
    // batch.csv or plan.csv of the last study that finished (written even when some of its runs failed).
    const CsvTable& table() const { return m_table; }
    // plan.json's "winner" (empty for sweeps or when the plan found none).
    QJsonObject planWinner() const { return m_winner; }
    // plan.json's "why_none": the limit that binds when no deployment meets the SLOs.
    QString planWhyNone() const { return m_whyNone; }

signals:
    void started();
    // succeeded: table() holds the results; message: why not, or a note such as "some runs failed".
    void finished(bool succeeded, const QString& message);

private:
    bool start(Kind kind, const ScenarioDocument& document, const QStringList& extraArguments, QString* error);
    void onFinished(AidcProcess::Outcome outcome, const QString& message);

    QString m_aidcProgram;
    QString m_runsDir;
    Kind m_kind = Kind::Sweep;
    QString m_outDir;
    CsvTable m_table;
    QJsonObject m_winner;
    QString m_whyNone;
    std::unique_ptr<AidcProcess> m_process;
};
