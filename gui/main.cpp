#include "core/AidcTool.h"
#include "core/RecentFiles.h"
#include "widgets/MainWindow.h"
#include "widgets/TwinView.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QSettings>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("aidc"));
    QApplication::setApplicationName(QStringLiteral("aidc-gui"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("What-if capacity planning dashboard for the aidc simulator"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario YAML to open"));
    const QCommandLineOption twin(QStringLiteral("twin"), QStringLiteral("Follow a running aidc twin (its --listen URL) in the Live twin tab"),
                                  QStringLiteral("url"));
    parser.addOption(twin);
    parser.process(app);

    MainWindow window;
    // Opens what was asked for, else the last scenario, else the project's default one.
    QString scenario = parser.positionalArguments().value(0);
    if (scenario.isEmpty()) {
        QSettings settings;
        scenario = RecentFiles(&settings).files().value(0);
    }
    if (scenario.isEmpty())
        scenario = QDir(AidcTool::scenariosDir()).filePath(QStringLiteral("default.yaml"));
    if (QFileInfo::exists(scenario) || !parser.positionalArguments().isEmpty())
        window.openScenario(scenario);
    window.show();
    if (parser.isSet(twin)) {
        window.showTab(MainWindow::Tab::LiveTwin);
        qobject_cast<TwinView*>(window.tabWidget(MainWindow::Tab::LiveTwin))->follow(parser.value(twin));
    }
    return app.exec();
}
