#include "core/Catalog.h"

#include <QDir>
#include <QFileInfo>

#include <yaml-cpp/yaml.h>

namespace {

QStringList idsInFile(const QString& path, const QString& kind)
{
    QStringList ids;
    try {
        const YAML::Node root = YAML::LoadFile(path.toStdString());
        const YAML::Node entries = root.IsMap() && root[kind.toStdString()] ? root[kind.toStdString()] : root;
        if (entries.IsMap()) {
            for (const auto& entry : entries)
                ids << QString::fromStdString(entry.first.Scalar());
        } else if (entries.IsSequence()) {
            for (const auto& entry : entries)
                if (entry.IsMap() && entry["id"])
                    ids << QString::fromStdString(entry["id"].Scalar());
        }
    } catch (const YAML::Exception&) {
        // A catalog being edited may be momentarily broken; `aidc validate` reports it properly.
    }
    return ids;
}

} // namespace

QStringList catalogIds(const QString& scenariosDir, const QString& kind)
{
    const QDir catalogDir(QDir(scenariosDir).filePath(QStringLiteral("catalog")));
    QStringList ids;
    const QString file = catalogDir.filePath(kind + QStringLiteral(".yaml"));
    if (QFileInfo::exists(file))
        ids << idsInFile(file, kind);
    const QDir folder(catalogDir.filePath(kind));
    for (const QFileInfo& entry : folder.entryInfoList({QStringLiteral("*.yaml"), QStringLiteral("*.yml")}, QDir::Files))
        ids << entry.completeBaseName();
    ids.removeDuplicates();
    ids.sort(Qt::CaseInsensitive);
    return ids;
}
