#pragma once

#include <QWidget>

class CsvTableModel;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QVBoxLayout;
class ScenarioDocument;
class StudyController;

// Sweep one knob over a range (aidc batch) or let aidc plan search the design space, then show the design
// points against the SLO: the frontier, the cheapest passing point, and the full table.
class StudyView : public QWidget {
    Q_OBJECT
public:
    StudyView(StudyController* controller, ScenarioDocument* document, const QString& scenariosDir, QWidget* parent = nullptr);

private:
    void startSweep();
    void startPlan();
    void onFinished(bool succeeded, const QString& message);
    void showPoints();
    void setBusy(bool busy);

    StudyController* m_controller;
    ScenarioDocument* m_document;
    QComboBox* m_knob;
    QLineEdit* m_values;
    QSpinBox* m_jobs;
    QComboBox* m_latency;
    QComboBox* m_costAxis;
    // aidc plan's search space and limits (docs/plan.md)
    QComboBox* m_planGpus;
    QComboBox* m_objective;
    QDoubleSpinBox* m_budget;
    QDoubleSpinBox* m_rackKw;
    QDoubleSpinBox* m_margin;
    QCheckBox* m_nPlusOne;
    QPushButton* m_sweepButton;
    QPushButton* m_planButton;
    QPushButton* m_cancelButton;
    QProgressBar* m_busy;
    QLabel* m_answer;
    QVBoxLayout* m_chartSlot;
    QWidget* m_chart = nullptr;
    CsvTableModel* m_tableModel;
    QString m_note;   // from the last study: e.g. some of its runs failed
};
