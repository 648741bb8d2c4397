#include "core/AidcTool.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace AidcTool {

QString locateCli()
{
    const QString fromEnvironment = qEnvironmentVariable("AIDC_BIN");
    if (!fromEnvironment.isEmpty())
        return QFileInfo(fromEnvironment).isExecutable() ? fromEnvironment : QString();
    const QString sibling = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("aidc"));
    if (QFileInfo(sibling).isExecutable())
        return sibling;
    return QStandardPaths::findExecutable(QStringLiteral("aidc"));
}

QString scenariosDir()
{
    const QString fromEnvironment = qEnvironmentVariable("AIDC_SCENARIOS_DIR");
    return fromEnvironment.isEmpty() ? QStringLiteral(AIDC_SCENARIOS_DIR) : fromEnvironment;
}

QString runsDir()
{
    const QString fromEnvironment = qEnvironmentVariable("AIDC_GUI_RUNS_DIR");
    if (!fromEnvironment.isEmpty())
        return fromEnvironment;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation)).filePath(QStringLiteral("runs"));
}

} // namespace AidcTool
