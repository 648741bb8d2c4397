#include "core/ScenarioDocument.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>
#include <optional>
#include <vector>

namespace {

QStringList segmentsOf(const QString& keyPath)
{
    return keyPath.split(u'.', Qt::SkipEmptyParts);
}

std::optional<std::size_t> sequenceIndex(const YAML::Node& node, const QString& segment)
{
    bool ok = false;
    const uint index = segment.toUInt(&ok);
    if (!ok || !node.IsSequence() || index >= node.size())
        return std::nullopt;
    return index;
}

// Const lookup: never inserts (yaml-cpp's non-const operator[] would add empty keys while reading).
std::optional<YAML::Node> find(const YAML::Node& node, const QStringList& segments, int depth = 0)
{
    if (depth == segments.size())
        return node;
    const QString& segment = segments[depth];
    if (node.IsMap()) {
        const YAML::Node child = node[segment.toStdString()];
        if (!child.IsDefined())
            return std::nullopt;
        return find(child, segments, depth + 1);
    }
    if (const auto index = sequenceIndex(node, segment))
        return find(node[*index], segments, depth + 1);
    return std::nullopt;
}

bool removeAt(YAML::Node node, const QStringList& segments, int depth)
{
    const std::string key = segments[depth].toStdString();
    if (!node.IsMap() || !node[key].IsDefined())
        return false;
    if (depth + 1 == segments.size())
        return node.remove(key);
    return removeAt(node[key], segments, depth + 1);
}

void assignAt(YAML::Node node, const QStringList& segments, int depth, const QString& value)
{
    const QString& segment = segments[depth];
    const bool last = depth + 1 == segments.size();
    // A numeric segment past the end of a sequence (or where nothing is yet) appends an entry, so
    // "facility.halls.0.cooling.kind" can be set on a scenario without halls.
    bool isIndex = false;
    const uint wanted = segment.toUInt(&isIndex);
    if (isIndex && !node.IsMap()) {
        if (!node.IsSequence())
            node = YAML::Node(YAML::NodeType::Sequence);
        if (wanted == node.size())
            node.push_back(YAML::Node());
    }
    if (const auto index = sequenceIndex(node, segment)) {
        if (last)
            node[*index] = value.toStdString();
        else
            assignAt(node[*index], segments, depth + 1, value);
        return;
    }
    if (!node.IsMap())
        node = YAML::Node(YAML::NodeType::Map);
    if (last)
        node[segment.toStdString()] = value.toStdString();
    else
        assignAt(node[segment.toStdString()], segments, depth + 1, value);
}

// `text` with the plain scalar that starts at `mark` replaced by `value`, or nullopt when that cannot
// be done by a one-line edit (quoted or block scalars, a node without a place in the text).
std::optional<std::string> withScalarReplaced(const std::string& text, const YAML::Mark& mark, const std::string& value)
{
    if (mark.is_null() || value.empty() || value.find('\n') != std::string::npos)
        return std::nullopt;
    std::size_t lineStart = 0;
    for (int line = 0; line < mark.line; ++line) {
        lineStart = text.find('\n', lineStart);
        if (lineStart == std::string::npos)
            return std::nullopt;
        ++lineStart;
    }
    const std::size_t start = lineStart + std::size_t(mark.column);
    const std::size_t lineEnd = std::min(text.find('\n', lineStart), text.size());
    if (start >= lineEnd || std::string("\"'|>&*!{[").find(text[start]) != std::string::npos)
        return std::nullopt;
    std::size_t end = text.find(" #", start);
    end = std::min(end, lineEnd);
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
        --end;
    return text.substr(0, start) + value + text.substr(end);
}

QString positionedError(const QString& source, const YAML::Mark& mark, const std::string& message)
{
    return QStringLiteral("%1:%2:%3: error: %4")
        .arg(source)
        .arg(mark.line + 1)
        .arg(mark.column + 1)
        .arg(QString::fromStdString(message));
}

} // namespace

ScenarioDocument::ScenarioDocument(QObject* parent)
    : QObject(parent)
    , m_root(YAML::NodeType::Map)
{
}

bool ScenarioDocument::load(const QString& path)
{
    QFile file(path);
    if (!file.exists()) {
        m_error = QStringLiteral("%1: error: no such file").arg(path);
        return false;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        m_error = QStringLiteral("%1: error: %2").arg(path, file.errorString());
        return false;
    }
    return adopt(QString::fromUtf8(file.readAll()), path, QFileInfo(path).absoluteFilePath());
}

bool ScenarioDocument::loadFromText(const QString& yaml, const QString& sourceName)
{
    return adopt(yaml, sourceName, QString());
}

bool ScenarioDocument::adopt(const QString& yaml, const QString& sourceName, const QString& filePath)
{
    YAML::Node parsed;
    try {
        parsed = YAML::Load(yaml.toStdString());
    } catch (const YAML::Exception& e) {
        m_error = positionedError(sourceName, e.mark, e.msg);
        return false;
    }
    if (parsed.IsNull() || !parsed.IsDefined())
        parsed = YAML::Node(YAML::NodeType::Map);
    if (!parsed.IsMap()) {
        m_error = positionedError(sourceName, parsed.Mark(), "a scenario must be a YAML mapping of keys");
        return false;
    }
    m_root = parsed;
    m_text = yaml.toStdString();
    if (!m_text.empty() && m_text.back() != '\n')
        m_text += '\n';
    m_textKept = true;
    m_filePath = filePath;
    m_error.clear();
    setModified(false);
    emit documentReset();
    return true;
}

QString ScenarioDocument::toYaml() const
{
    if (m_textKept)
        return QString::fromStdString(m_text);
    YAML::Emitter out;
    out << m_root;
    return QString::fromStdString(out.c_str()) + u'\n';
}

bool ScenarioDocument::save(const QString& path)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(toYaml().toUtf8()) < 0 || !file.commit()) {
        m_error = QStringLiteral("%1: error: %2").arg(path, file.errorString());
        return false;
    }
    m_filePath = QFileInfo(path).absoluteFilePath();
    setModified(false);
    return true;
}

bool ScenarioDocument::writeSnapshot(const QString& path, QString* error) const
{
    YAML::Node copy = YAML::Clone(m_root);
    const QDir sourceDir = QFileInfo(m_filePath).absoluteDir();
    auto absolutise = [&](YAML::Node scalar) {
        const QString base = QString::fromStdString(scalar.as<std::string>());
        if (!m_filePath.isEmpty() && QFileInfo(base).isRelative() && sourceDir.exists(base))
            scalar = sourceDir.absoluteFilePath(base).toStdString();
    };
    if (YAML::Node extends = copy["extends"]; extends.IsScalar()) {
        absolutise(extends);
    } else if (extends.IsSequence()) {
        for (YAML::Node base : extends)
            if (base.IsScalar())
                absolutise(base);
    }
    // The kept text with the same paths made absolute, so the snapshot's lines are the YAML tab's.
    std::optional<std::string> text;
    if (m_textKept) {
        text = m_text;
        std::vector<std::pair<YAML::Mark, std::string>> edits;  // last in the text first: earlier places stay valid
        const auto collect = [&](const YAML::Node& original, const YAML::Node& absolute) {
            if (original.Scalar() != absolute.Scalar())
                edits.emplace_back(original.Mark(), absolute.Scalar());
        };
        if (const auto extends = find(m_root, {QStringLiteral("extends")}); extends && extends->IsScalar())
            collect(*extends, copy["extends"]);
        else if (extends && extends->IsSequence())
            for (std::size_t i = 0; i < extends->size(); ++i)
                collect((*extends)[i], copy["extends"][i]);
        std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) {
            return a.first.line != b.first.line ? a.first.line > b.first.line : a.first.column > b.first.column;
        });
        for (const auto& [mark, value] : edits)
            if (text)
                text = withScalarReplaced(*text, mark, value);
    }
    YAML::Emitter out;
    out << copy;
    const std::string content = text ? *text : std::string(out.c_str()) + "\n";
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content.data(), qint64(content.size())) < 0 || !file.commit()) {
        if (error)
            *error = QStringLiteral("%1: error: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

QString ScenarioDocument::displayName() const
{
    return m_filePath.isEmpty() ? tr("untitled") : QFileInfo(m_filePath).fileName();
}

ScenarioDocument::NodeKind ScenarioDocument::kind(const QString& keyPath) const
{
    const auto node = find(m_root, segmentsOf(keyPath));
    if (!node)
        return NodeKind::Missing;
    switch (node->Type()) {
    case YAML::NodeType::Scalar: return NodeKind::Scalar;
    case YAML::NodeType::Map: return NodeKind::Mapping;
    case YAML::NodeType::Sequence: return NodeKind::Sequence;
    default: return NodeKind::Null;
    }
}

QString ScenarioDocument::value(const QString& keyPath) const
{
    const auto node = find(m_root, segmentsOf(keyPath));
    if (!node || !node->IsScalar())
        return {};
    return QString::fromStdString(node->Scalar());
}

void ScenarioDocument::setValue(const QString& keyPath, const QString& value)
{
    const QStringList segments = segmentsOf(keyPath);
    if (segments.isEmpty() || (kind(keyPath) == NodeKind::Scalar && this->value(keyPath) == value))
        return;
    const std::optional<YAML::Node> before = find(m_root, segments);
    const std::optional<YAML::Mark> place = before && before->IsScalar() ? std::optional(before->Mark()) : std::nullopt;
    if (value.isEmpty()) {
        if (!removeAt(m_root, segments, 0))
            return;
    } else {
        assignAt(m_root, segments, 0, value);
    }
    m_textKept = m_textKept && place && keepText(*place, value.toStdString());
    setModified(true);
    emit valueChanged(keyPath);
}

bool ScenarioDocument::keepText(const YAML::Mark& place, const std::string& value)
{
    const auto text = withScalarReplaced(m_text, place, value);
    if (!text)
        return false;
    try {
        const YAML::Node reparsed = YAML::Load(*text);
        if (!sameTree(reparsed, m_root))
            return false;   // the value reads differently in place (a number, a flow value): re-emit instead
        m_text = *text;
        m_root = reparsed;  // its places are the new text's
        return true;
    } catch (const YAML::Exception&) {
        return false;
    }
}

QStringList ScenarioDocument::childKeys(const QString& keyPath) const
{
    const auto node = find(m_root, segmentsOf(keyPath));
    QStringList keys;
    if (!node)
        return keys;
    if (node->IsMap()) {
        for (const auto& entry : *node)
            keys << QString::fromStdString(entry.first.Scalar());
    } else if (node->IsSequence()) {
        for (std::size_t i = 0; i < node->size(); ++i)
            keys << QString::number(i);
    }
    return keys;
}

bool ScenarioDocument::sameTree(const YAML::Node& a, const YAML::Node& b)
{
    if (a.Type() != b.Type())
        return false;
    switch (a.Type()) {
    case YAML::NodeType::Scalar:
        return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!sameTree(a[i], b[i]))
                return false;
        return true;
    case YAML::NodeType::Map:
        if (a.size() != b.size())
            return false;
        for (const auto& entry : a) {
            const YAML::Node other = b[entry.first.Scalar()];
            if (!other.IsDefined() || !sameTree(entry.second, other))
                return false;
        }
        return true;
    default:
        return true;
    }
}

void ScenarioDocument::setModified(bool modified)
{
    if (m_modified == modified)
        return;
    m_modified = modified;
    emit modifiedChanged(modified);
}
