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

// Offset of the first character of line `line` (0-based), or npos when the text is shorter.
std::size_t lineOffset(const std::string& text, int line)
{
    std::size_t offset = 0;
    for (int i = 0; i < line && offset != std::string::npos; ++i) {
        offset = text.find('\n', offset);
        if (offset != std::string::npos)
            ++offset;
    }
    return offset;
}

// Whether `value` reads back as itself written plain on a `key: value` line. Conservative: anything that
// could be an indicator, a comment, a flow value or another line is quoted instead.
bool plainIsSafe(const std::string& value)
{
    if (value.empty() || value.front() == ' ' || value.back() == ' ' || value.back() == ':')
        return false;
    const bool indicatorFirst = std::string(",[]{}#&*!|>'\"%@`").find(value.front()) != std::string::npos
        || (std::string("-?:").find(value.front()) != std::string::npos && (value.size() == 1 || value[1] == ' '));
    if (indicatorFirst || value.find(": ") != std::string::npos || value.find(" #") != std::string::npos)
        return false;
    return std::none_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// `value` as a YAML double-quoted scalar, with escapes.
std::string doubleQuoted(const std::string& value)
{
    std::string quoted = "\"";
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': quoted += "\\\""; break;
        case '\\': quoted += "\\\\"; break;
        case '\n': quoted += "\\n"; break;
        case '\t': quoted += "\\t"; break;
        case '\r': quoted += "\\r"; break;
        default:
            if (byte < 0x20 || byte == 0x7f) {
                static const char hex[] = "0123456789abcdef";
                quoted += "\\x";
                quoted += hex[byte >> 4];
                quoted += hex[byte & 0xf];
            } else {
                quoted += c;
            }
        }
    }
    return quoted + '"';
}

// `value` as a YAML scalar: plain where that reads back as itself, else double-quoted.
std::string scalarText(const std::string& value)
{
    return plainIsSafe(value) ? value : doubleQuoted(value);
}

// `text` with the scalar that starts at `mark` (plain, or quoted on one line) replaced by `written` (YAML
// text), or nullopt when that cannot be done by a one-line edit (block scalars, a node without a place).
std::optional<std::string> withScalarReplaced(const std::string& text, const YAML::Mark& mark, const std::string& written)
{
    if (mark.is_null())
        return std::nullopt;
    const std::size_t lineStart = lineOffset(text, mark.line);
    if (lineStart == std::string::npos)
        return std::nullopt;
    const std::size_t start = lineStart + std::size_t(mark.column);
    const std::size_t lineEnd = std::min(text.find('\n', lineStart), text.size());
    if (start >= lineEnd || std::string("|>&*!{[").find(text[start]) != std::string::npos)
        return std::nullopt;
    std::size_t end = start;
    if (text[start] == '"' || text[start] == '\'') {
        const char quote = text[start];
        for (end = start + 1; end < lineEnd; ++end) {
            if (quote == '"' && text[end] == '\\')
                ++end;   // the escaped character
            else if (text[end] == quote && quote == '\'' && end + 1 < lineEnd && text[end + 1] == '\'')
                ++end;   // '' is a quote inside a single-quoted scalar
            else if (text[end] == quote)
                break;
        }
        if (end >= lineEnd)
            return std::nullopt;   // the quoted scalar goes on to another line
        ++end;
    } else {
        end = std::min(text.find(" #", start), lineEnd);
        while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
            --end;
    }
    return text.substr(0, start) + written + text.substr(end);
}

// Where the block entry whose key starts at (line, column) ends: the start of the first later line that
// is indented no deeper and is not a comment or blank, less the comment and blank lines just before it
// that are not indented deeper (they introduce what follows). A `- ` line at the key's own column is the
// key's block sequence, not a sibling.
std::size_t entryEnd(const std::string& text, int line, int column)
{
    std::size_t lineStart = lineOffset(text, line + 1);
    std::size_t trailing = std::string::npos;   // start of the run of comment and blank lines at the end
    while (lineStart != std::string::npos && lineStart < text.size()) {
        const std::size_t lineEnd = std::min(text.find('\n', lineStart), text.size());
        const std::size_t first = text.find_first_not_of(" \r", lineStart);
        const bool blank = first == std::string::npos || first >= lineEnd;
        const int indent = blank ? 0 : int(first - lineStart);
        const bool comment = !blank && text[first] == '#';
        const bool sequenceEntry = !blank && text[first] == '-' && (first + 1 == lineEnd || text[first + 1] == ' ');
        if (!blank && !comment && (indent < column || (indent == column && !sequenceEntry)))
            return trailing != std::string::npos ? trailing : lineStart;
        if (blank || (comment && indent <= column)) {
            if (trailing == std::string::npos)
                trailing = lineStart;
        } else {
            trailing = std::string::npos;
        }
        lineStart = lineEnd < text.size() ? lineEnd + 1 : std::string::npos;
    }
    return trailing != std::string::npos ? trailing : text.size();
}

// The key node of `mapping`'s entry `key`, with its place in the text.
std::optional<YAML::Node> keyNode(const YAML::Node& mapping, const std::string& key)
{
    for (const auto& entry : mapping)
        if (entry.first.Scalar() == key)
            return entry.first;
    return std::nullopt;
}

bool isBlockMapping(const YAML::Node& node)
{
    return node.IsMap() && node.Style() != YAML::EmitterStyle::Flow;
}

// Where the key `segments.last()` of a block mapping starts in the text, or nullopt.
std::optional<YAML::Mark> keyPlace(const YAML::Node& root, const QStringList& segments)
{
    const auto parent = find(root, segments.mid(0, segments.size() - 1));
    const auto key = parent && isBlockMapping(*parent) ? keyNode(*parent, segments.last().toStdString()) : std::nullopt;
    if (!key || key->Mark().is_null())
        return std::nullopt;
    return key->Mark();
}

// Offset just past the colon of the plain key `segments.last()` of a block mapping, or nullopt.
std::optional<std::size_t> afterKeyColon(const std::string& text, const YAML::Node& root, const QStringList& segments)
{
    const auto place = keyPlace(root, segments);
    const std::size_t start = place ? lineOffset(text, place->line) : std::string::npos;
    if (start == std::string::npos)
        return std::nullopt;
    const std::string name = segments.last().toStdString();
    const std::size_t colon = start + std::size_t(place->column) + name.size();
    if (text.compare(colon - name.size(), name.size(), name) != 0 || colon >= text.size() || text[colon] != ':')
        return std::nullopt;
    return colon + 1;
}

// `text` without the entry at `segments` (its line and the block under it), or nullopt when it is not a
// line of its own in a block mapping. A mapping left without entries is written `key: {}`, as the tree has
// it (an empty `key:` would read as null).
std::optional<std::string> withEntryRemoved(const std::string& text, const YAML::Node& root, const QStringList& segments)
{
    const auto place = keyPlace(root, segments);
    const std::size_t lineStart = place ? lineOffset(text, place->line) : std::string::npos;
    if (lineStart == std::string::npos || text.find_first_not_of(' ', lineStart) != lineStart + std::size_t(place->column))
        return std::nullopt;   // not the first thing on its line (`- key: value`)
    std::string removed = text.substr(0, lineStart) + text.substr(entryEnd(text, place->line, place->column));
    const QStringList parentSegments = segments.mid(0, segments.size() - 1);
    if (parentSegments.isEmpty() || find(root, parentSegments)->size() > 1)
        return removed;
    const auto colon = afterKeyColon(text, root, parentSegments);   // on an earlier line: still in place
    if (!colon)
        return std::nullopt;
    return removed.insert(*colon, " {}");
}

// The lines that write `segments[from..]: written` at `indent`: missing mappings as `key:` lines, a numeric
// segment after the first as the first entry of a new block sequence; nullopt for any other index.
std::optional<std::string> newEntryLines(const QStringList& segments, int from, int indent, const std::string& written)
{
    std::string lines;
    std::string prefix(std::size_t(indent), ' ');   // what the next line starts with
    for (int depth = from; depth < segments.size(); ++depth) {
        const bool last = depth + 1 == segments.size();
        bool isIndex = false;
        segments[depth].toUInt(&isIndex);
        if (isIndex && depth > from) {
            if (segments[depth] != u"0")
                return std::nullopt;   // assignAt appends only the first entry of a new sequence
            if (last)
                return lines + prefix + "- " + written + "\n";
            prefix += "- ";
            indent += 2;
            continue;
        }
        lines += prefix + scalarText(segments[depth].toStdString()) + ":";
        if (last)
            return lines + " " + written + "\n";
        lines += "\n";
        indent += 2;
        prefix = std::string(std::size_t(indent), ' ');
    }
    return std::nullopt;
}

// `text` with the empty mapping `key: {}` at segments[..depth) given its first entry `segments[depth..]: written`
// on the lines below it.
std::optional<std::string> withFirstEntry(const std::string& text, const YAML::Node& root, const QStringList& segments,
                                          int depth, const std::string& written)
{
    const auto colon = afterKeyColon(text, root, segments.mid(0, depth));
    if (!colon)
        return std::nullopt;
    const std::size_t braces = text.find_first_not_of(' ', *colon);
    if (braces == std::string::npos || text.compare(braces, 2, "{}") != 0)
        return std::nullopt;
    const std::size_t previousNewline = text.rfind('\n', *colon);
    const std::size_t lineStart = previousNewline == std::string::npos ? 0 : previousNewline + 1;
    const int keyColumn = int(*colon - 1 - segments[depth - 1].toStdString().size() - lineStart);
    const auto lines = newEntryLines(segments, depth, keyColumn + 2, written);
    const std::size_t nextLine = text.find('\n', braces);
    if (!lines || nextLine == std::string::npos)
        return std::nullopt;
    return text.substr(0, *colon) + text.substr(braces + 2, nextLine + 1 - (braces + 2)) + *lines + text.substr(nextLine + 1);
}

// `text` with `segments: written` added under its deepest existing block mapping, after that mapping's last
// entry at its entries' indentation (at the end of the document for the top level without keys).
std::optional<std::string> withEntryAdded(const std::string& text, const YAML::Node& root, const QStringList& segments,
                                          const std::string& written)
{
    int depth = 0;
    while (depth < segments.size() && find(root, segments.mid(0, depth + 1)))
        ++depth;
    const auto parent = find(root, segments.mid(0, depth));
    if (depth == segments.size() || !parent || !parent->IsMap())
        return std::nullopt;
    if (parent->size() == 0 && depth > 0)
        return withFirstEntry(text, root, segments, depth, written);
    if (!isBlockMapping(*parent))
        return std::nullopt;
    std::optional<YAML::Mark> lastKey;
    for (const auto& entry : *parent)
        if (!lastKey || entry.first.Mark().line > lastKey->line)
            lastKey = entry.first.Mark();
    if (lastKey && lastKey->is_null())
        return std::nullopt;
    const int indent = lastKey ? lastKey->column : 0;
    const std::size_t at = lastKey ? entryEnd(text, lastKey->line, lastKey->column) : text.size();
    const auto lines = newEntryLines(segments, depth, indent, written);
    if (!lines)
        return std::nullopt;
    return text.substr(0, at) + *lines + text.substr(at);
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
                text = withScalarReplaced(*text, mark, scalarText(value));
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
    YAML::Node edited = YAML::Clone(m_root);
    if (value.isEmpty()) {
        if (!removeAt(edited, segments, 0))
            return;
    } else {
        assignAt(edited, segments, 0, value);
    }
    // A value is written plain where it reads back as itself, else quoted (a plain `null` reads as null).
    const std::string scalar = value.toStdString();
    m_textKept = m_textKept
        && (scalar.empty() ? keepText(patchedText(segments, {}), edited)
                           : keepText(patchedText(segments, scalarText(scalar)), edited)
                || keepText(patchedText(segments, doubleQuoted(scalar)), edited));
    if (!m_textKept)
        m_root = edited;
    setModified(true);
    emit valueChanged(keyPath);
}

std::optional<std::string> ScenarioDocument::patchedText(const QStringList& segments, const std::string& written) const
{
    if (written.empty())
        return withEntryRemoved(m_text, m_root, segments);
    const std::optional<YAML::Node> before = find(m_root, segments);
    if (!before)
        return withEntryAdded(m_text, m_root, segments, written);
    if (before->IsScalar())
        return withScalarReplaced(m_text, before->Mark(), written);
    const auto colon = before->IsNull() ? afterKeyColon(m_text, m_root, segments) : std::nullopt;
    if (colon)   // `key:` with nothing after it (`key: ~` gets the value after the ~ and reads differently)
        return std::string(m_text).insert(*colon, " " + written);
    return std::nullopt;   // a mapping or sequence becomes a scalar: re-emit
}

bool ScenarioDocument::keepText(const std::optional<std::string>& text, const YAML::Node& edited)
{
    if (!text)
        return false;
    try {
        const YAML::Node reparsed = YAML::Load(*text);
        if (!sameTree(reparsed, edited))
            return false;   // the patch reads differently (a flow value, a `key: ~` given a value): re-emit
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
