#pragma once

#include "core/ScenarioFields.h"
#include "core/Validation.h"

#include <QMap>
#include <QWidget>

class QLabel;
class QListWidget;
class QPlainTextEdit;
class QTabWidget;
class ScenarioDocument;
class ScenarioTreeModel;

// Edits a scenario: forms for the knobs in scenarioFields(), every key in a tree, and the YAML as it will be
// saved. Validation issues appear under their field (and all of them in a list below).
class ScenarioEditor : public QWidget {
    Q_OBJECT
public:
    ScenarioEditor(ScenarioDocument* document, const QString& scenariosDir, QWidget* parent = nullptr);

    void setIssues(const QVector<ValidationIssue>& issues);
    // The message shown under a field ("" when none); for tests and accessibility.
    QString fieldError(const QString& keyPath) const;
    QWidget* fieldEditor(const QString& keyPath) const;

private:
    struct FieldRow {
        ScenarioField field;
        QWidget* editor = nullptr;
        QLabel* error = nullptr;
    };

    QWidget* buildForm(const QString& scenariosDir);
    QWidget* makeEditor(const ScenarioField& field, const QString& scenariosDir);
    void refreshField(FieldRow& row);
    void refreshAll();
    void showFieldError(FieldRow& row, const QStringList& messages);

    ScenarioDocument* m_document;
    ScenarioTreeModel* m_treeModel;
    QTabWidget* m_tabs;
    QPlainTextEdit* m_yaml;
    QListWidget* m_issueList;
    QMap<QString, FieldRow> m_rows;
};
