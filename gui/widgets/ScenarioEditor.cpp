#include "widgets/ScenarioEditor.h"

#include "core/Catalog.h"
#include "core/ScenarioDocument.h"
#include "core/ScenarioTreeModel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTreeView>
#include <QVBoxLayout>

namespace {

// What an empty field means: the base scenario's value, else the schema's default.
QString placeholder(const ScenarioField& field)
{
    return field.defaultValue.isEmpty()
        ? ScenarioEditor::tr("not set: inherited or default")
        : ScenarioEditor::tr("not set: inherited or %1").arg(field.defaultValue);
}
const QString kErrorStyle = QStringLiteral("border:1px solid #cf222e; background:#fff5f5");

QString editorText(QWidget* editor)
{
    if (auto* combo = qobject_cast<QComboBox*>(editor))
        return combo->currentText();
    return static_cast<QLineEdit*>(editor)->text();
}

void setEditorText(QWidget* editor, const QString& text)
{
    if (editorText(editor) == text)
        return;   // keeps the cursor where the user is typing
    const QSignalBlocker blocker(editor);
    if (auto* combo = qobject_cast<QComboBox*>(editor))
        combo->setCurrentText(text);
    else
        static_cast<QLineEdit*>(editor)->setText(text);
}

} // namespace

ScenarioEditor::ScenarioEditor(ScenarioDocument* document, const QString& scenariosDir, QWidget* parent)
    : QWidget(parent)
    , m_document(document)
    , m_treeModel(new ScenarioTreeModel(document, this))
    , m_tabs(new QTabWidget)
    , m_yaml(new QPlainTextEdit)
    , m_issueList(new QListWidget)
{
    auto* tree = new QTreeView;
    tree->setObjectName(QStringLiteral("scenarioTree"));
    tree->setModel(m_treeModel);
    tree->setAlternatingRowColors(true);
    tree->header()->setSectionResizeMode(ScenarioTreeModel::KeyColumn, QHeaderView::ResizeToContents);
    connect(m_treeModel, &QAbstractItemModel::modelReset, tree, &QTreeView::expandAll);
    tree->expandAll();

    m_yaml->setObjectName(QStringLiteral("scenarioYaml"));
    m_yaml->setReadOnly(true);
    m_yaml->setFont(QFont(QStringLiteral("monospace")));

    m_tabs->addTab(buildForm(scenariosDir), tr("&Form"));
    m_tabs->addTab(tree, tr("All &keys"));
    m_tabs->addTab(m_yaml, tr("&YAML"));

    m_issueList->setObjectName(QStringLiteral("issueList"));
    m_issueList->setMaximumHeight(80);
    m_issueList->setToolTip(tr("Problems aidc validate found; activate one to go to its field"));
    connect(m_issueList, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const QString path = item->data(Qt::UserRole).toString();
        if (QWidget* editor = fieldEditor(path)) {
            m_tabs->setCurrentIndex(0);
            editor->setFocus();
        } else if (const QModelIndex index = m_treeModel->indexOfPath(path); index.isValid()) {
            m_tabs->setCurrentIndex(1);
            static_cast<QTreeView*>(m_tabs->widget(1))->setCurrentIndex(index);
        }
    });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_tabs, 1);
    layout->addWidget(new QLabel(tr("Validation")));
    layout->addWidget(m_issueList);

    connect(document, &ScenarioDocument::documentReset, this, [this] {
        refreshAll();
        setIssues({});
    });
    connect(document, &ScenarioDocument::valueChanged, this, [this](const QString& path) {
        // Setting a key can replace a scalar parent by a mapping, so refresh every field under or above it.
        for (FieldRow& row : m_rows)
            if (row.field.path.startsWith(path) || path.startsWith(row.field.path))
                refreshField(row);
        m_yaml->setPlainText(m_document->toYaml());
    });
    refreshAll();
}

QWidget* ScenarioEditor::buildForm(const QString& scenariosDir)
{
    auto* form = new QWidget;
    auto* columns = new QHBoxLayout(form);
    QList<QVBoxLayout*> columnLayouts;
    const QStringList sections = scenarioFieldSections();
    // Three columns of about equal height, so the whole form fits a laptop screen: a section starts a new
    // column once the fields before it fill a third.
    constexpr int kColumns = 3;
    const int perColumn = (int(scenarioFields().size()) + kColumns - 1) / kColumns;
    int placed = 0;
    for (int s = 0; s < sections.size(); ++s) {
        if (columnLayouts.isEmpty() || (placed >= perColumn * columnLayouts.size() && columnLayouts.size() < kColumns)) {
            columnLayouts.append(new QVBoxLayout);
            columns->addLayout(columnLayouts.last(), 1);
        }
        auto* group = new QGroupBox(sections[s]);
        auto* groupLayout = new QFormLayout(group);
        for (const ScenarioField& field : scenarioFields()) {
            if (field.section != sections[s])
                continue;
            FieldRow row{field, makeEditor(field, scenariosDir), new QLabel};
            row.error->setObjectName(QStringLiteral("error:") + field.path);
            row.error->setStyleSheet(QStringLiteral("color:#cf222e"));
            row.error->setWordWrap(true);
            row.error->hide();
            auto* cell = new QWidget;
            auto* cellLayout = new QVBoxLayout(cell);
            cellLayout->setContentsMargins(0, 0, 0, 0);
            cellLayout->setSpacing(1);
            cellLayout->addWidget(row.editor);
            cellLayout->addWidget(row.error);
            auto* label = new QLabel(field.label);
            label->setBuddy(row.editor);
            label->setToolTip(field.path);
            groupLayout->addRow(label, cell);
            m_rows.insert(field.path, row);
            ++placed;
        }
        columnLayouts.last()->addWidget(group);
    }
    if (sections.isEmpty()) {
        auto* message = new QLabel(scenarioFieldsError());
        message->setObjectName(QStringLiteral("formError"));
        message->setWordWrap(true);
        columns->addWidget(message);
    }
    for (QVBoxLayout* layout : columnLayouts)
        layout->addStretch();
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(form);
    return scroll;
}

QWidget* ScenarioEditor::makeEditor(const ScenarioField& field, const QString& scenariosDir)
{
    const QString path = field.path;
    QWidget* editor = nullptr;
    if (field.kind == ScenarioField::Kind::Choice) {
        auto* combo = new QComboBox;
        // Editable: a value the catalog does not have yet is still typed in, and aidc validate judges it.
        combo->setEditable(true);
        combo->addItem(QString());
        combo->addItems(field.catalog.isEmpty() ? field.choices : catalogIds(scenariosDir, field.catalog));
        combo->lineEdit()->setPlaceholderText(placeholder(field));
        connect(combo, &QComboBox::currentTextChanged, this, [this, path](const QString& text) {
            m_document->setValue(path, text.trimmed());
        });
        editor = combo;
    } else {
        auto* line = new QLineEdit;
        line->setPlaceholderText(placeholder(field));
        if (field.kind == ScenarioField::Kind::Integer)
            line->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("-?\\d*")), line));
        else if (field.kind == ScenarioField::Kind::Number)
            line->setValidator(new QRegularExpressionValidator(
                QRegularExpression(QStringLiteral("-?\\d*\\.?\\d*([eE][-+]?\\d*)?")), line));
        connect(line, &QLineEdit::textEdited, this, [this, path](const QString& text) {
            m_document->setValue(path, text.trimmed());
        });
        editor = line;
    }
    editor->setObjectName(QStringLiteral("field:") + path);
    return editor;
}

void ScenarioEditor::refreshField(FieldRow& row)
{
    const ScenarioDocument::NodeKind kind = m_document->kind(row.field.path);
    const bool structured = kind == ScenarioDocument::NodeKind::Mapping || kind == ScenarioDocument::NodeKind::Sequence;
    // A key the schema made a mapping (e.g. a detailed tariff) is edited in the All keys tree instead.
    row.editor->setEnabled(!structured);
    row.editor->setToolTip(structured ? tr("%1 holds several keys: edit it in the All keys tab").arg(row.field.path)
                                      : QStringLiteral("%1\n%2").arg(row.field.help, row.field.path).trimmed());
    setEditorText(row.editor, structured ? QString() : m_document->value(row.field.path));
}

void ScenarioEditor::refreshAll()
{
    for (FieldRow& row : m_rows)
        refreshField(row);
    m_yaml->setPlainText(m_document->toYaml());
}

void ScenarioEditor::setIssues(const QVector<ValidationIssue>& issues)
{
    const FieldIssues mapped = mapIssuesToFields(issues, m_rows.keys());
    for (FieldRow& row : m_rows)
        showFieldError(row, mapped.messagesByField.value(row.field.path));
    m_issueList->clear();
    if (issues.isEmpty()) {
        m_issueList->addItem(tr("No problems found."));
        return;
    }
    for (const ValidationIssue& issue : issues) {
        auto* item = new QListWidgetItem(issue.toString(), m_issueList);
        item->setData(Qt::UserRole, issue.path);
        item->setForeground(QColor(0xcf, 0x22, 0x2e));
    }
}

void ScenarioEditor::showFieldError(FieldRow& row, const QStringList& messages)
{
    row.error->setText(messages.join(u'\n'));
    row.error->setVisible(!messages.isEmpty());
    row.editor->setStyleSheet(messages.isEmpty() ? QString() : kErrorStyle);
}

QString ScenarioEditor::fieldError(const QString& keyPath) const
{
    const auto it = m_rows.constFind(keyPath);
    return it == m_rows.constEnd() || it->error->isHidden() ? QString() : it->error->text();
}

QWidget* ScenarioEditor::fieldEditor(const QString& keyPath) const
{
    const auto it = m_rows.constFind(keyPath);
    return it == m_rows.constEnd() ? nullptr : it->editor;
}
