#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

// A scenario as a generic YAML tree addressed by key paths ("deployment.replicas", "a.list.0.b"), so new
// schema keys need no GUI change and keys the GUI does not know survive a save.
// Round trip: load -> save -> load yields the same tree. The file's text, comments included, is kept
// (YAML tab, Save, the validation snapshot, so messages point at the lines on disk): an edit patches it
// (a scalar in place, quoted where it must be; a removed key's lines; a new key after its mapping's last
// entry) and is kept only when the patched text parses to exactly the edited tree. What cannot be patched
// (flow-style parents like `{a: 1}`) re-emits the tree, and yaml-cpp drops comments.
class ScenarioDocument : public QObject {
    Q_OBJECT
public:
    enum class NodeKind { Missing, Scalar, Mapping, Sequence, Null };

    explicit ScenarioDocument(QObject* parent = nullptr);

    // On failure the document is unchanged and errorString() says why ("FILE:LINE:COL: error: ...").
    bool load(const QString& path);
    bool loadFromText(const QString& yaml, const QString& sourceName);
    bool save(const QString& path);
    // Writes the current tree to another file (for `aidc validate` / `aidc run`) with a relative
    // `extends:` made absolute, so the copy resolves its base scenario wherever it lives.
    bool writeSnapshot(const QString& path, QString* error) const;
    QString toYaml() const;

    QString filePath() const { return m_filePath; }
    QString displayName() const;
    bool isModified() const { return m_modified; }
    QString errorString() const { return m_error; }

    NodeKind kind(const QString& keyPath) const;
    // The scalar at keyPath, or an empty string when it is missing or not a scalar.
    QString value(const QString& keyPath) const;
    // Sets a scalar, creating missing mappings on the way; an empty value removes the key so the
    // scenario falls back to its base or the simulator default.
    void setValue(const QString& keyPath, const QString& value);
    // Child keys of a mapping (in file order) or indices of a sequence.
    QStringList childKeys(const QString& keyPath) const;

    const YAML::Node& root() const { return m_root; }
    static bool sameTree(const YAML::Node& a, const YAML::Node& b);

signals:
    void valueChanged(const QString& keyPath);
    // The whole tree was replaced (load).
    void documentReset();
    void modifiedChanged(bool modified);

private:
    bool adopt(const QString& yaml, const QString& sourceName, const QString& filePath);
    // The kept text with segments set to `written` (a YAML scalar; removed when empty), or nullopt when it
    // cannot be patched.
    std::optional<std::string> patchedText(const QStringList& segments, const std::string& written) const;
    // Adopts `text` and its tree when it parses to exactly `edited`; false (nothing changed) otherwise.
    bool keepText(const std::optional<std::string>& text, const YAML::Node& edited);
    void setModified(bool modified);

    YAML::Node m_root;
    std::string m_text;       // the file's text with in-place edits, while m_textKept
    bool m_textKept = false;
    QString m_filePath;
    QString m_error;
    bool m_modified = false;
};
