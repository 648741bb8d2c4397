#include "core/ScenarioDocument.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <optional>

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
    m_filePath = filePath;
    m_error.clear();
    setModified(false);
    emit documentReset();
    return true;
}

QString ScenarioDocument::toYaml() const
{
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
    YAML::Emitter out;
    out << copy;
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(out.c_str()) < 0 || file.write("\n") < 0 || !file.commit()) {
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
    if (value.isEmpty()) {
        if (!removeAt(m_root, segments, 0))
            return;
    } else {
        assignAt(m_root, segments, 0, value);
    }
    setModified(true);
    emit valueChanged(keyPath);
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
