#pragma once

#include <QMainWindow>

#include <map>
#include <memory>

class CompareModel;
class CompareView;
class QLabel;
class QMenu;
class QSettings;
class QTabWidget;
class ResultsView;
class RunQueue;
class RunQueueView;
class RunResult;
class ScenarioDocument;
class ScenarioEditor;
class StudyController;
class StudyView;
class TwinView;
class ValidationController;

// The dashboard: scenario editor, results, compare, sweep & plan and (later) the live twin as tabs, the run
// queue as a dock. It wires models and controllers to views; the logic lives in core/.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Tab { Scenario, Results, Compare, Study, LiveTwin };

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Both report problems in the window's error banner rather than a dialog, so nothing blocks.
    bool openScenario(const QString& path);
    void runScenario();

    void showTab(Tab tab);
    QWidget* tabWidget(Tab tab) const;
    // The error banner's text; empty while no error is shown.
    QString errorText() const;

    ScenarioDocument* document() const { return m_document; }
    RunQueue* runQueue() const { return m_runQueue; }
    CompareModel* compareModel() const { return m_compareModel; }
    ResultsView* resultsView() const { return m_resultsView; }
    ScenarioEditor* scenarioEditor() const { return m_editor; }

protected:
    void closeEvent(QCloseEvent* event) override;
    // A click on the error banner dismisses it.
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildMenus();
    void openWithDialog();
    bool save();
    bool saveAs();
    // Asks about unsaved edits; false when the user cancels.
    bool confirmDiscard();
    void showRunResults(int row);
    void onRunFinished(int row);
    void showError(const QString& message);
    void clearError();
    void refreshRecentMenu();
    void refreshAidcStatus();
    void updateTitle();

    std::unique_ptr<QSettings> m_settings;
    QString m_scenariosDir;
    ScenarioDocument* m_document;
    ValidationController* m_validation;
    RunQueue* m_runQueue;
    CompareModel* m_compareModel;
    StudyController* m_study;

    QTabWidget* m_tabs;
    ScenarioEditor* m_editor;
    ResultsView* m_resultsView;
    CompareView* m_compareView;
    StudyView* m_studyView;
    RunQueueView* m_runQueueView;
    TwinView* m_twinView;
    QLabel* m_errorBanner;
    QLabel* m_aidcStatus;
    QMenu* m_recentMenu = nullptr;
    std::map<int, std::shared_ptr<RunResult>> m_resultsByRow;
};
