#include "widgets/MainWindow.h"

#include "core/AidcTool.h"
#include "core/CompareModel.h"
#include "core/RecentFiles.h"
#include "core/RunQueue.h"
#include "core/RunResult.h"
#include "core/ScenarioDocument.h"
#include "core/StudyController.h"
#include "core/ValidationController.h"
#include "widgets/CompareView.h"
#include "widgets/ResultsView.h"
#include "widgets/RunQueueView.h"
#include "widgets/ScenarioEditor.h"
#include "widgets/StudyView.h"
#include "widgets/TwinView.h"
#include "core/TwinFeed.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_settings(std::make_unique<QSettings>())
    , m_scenariosDir(AidcTool::scenariosDir())
    , m_document(new ScenarioDocument(this))
    , m_validation(new ValidationController(m_document, AidcTool::locateCli(), this))
    , m_runQueue(new RunQueue(AidcTool::locateCli(), AidcTool::runsDir(), this))
    , m_compareModel(new CompareModel(this))
    , m_study(new StudyController(AidcTool::locateCli(), AidcTool::runsDir(), this))
    , m_tabs(new QTabWidget)
    , m_editor(new ScenarioEditor(m_document, m_scenariosDir))
    , m_resultsView(new ResultsView)
    , m_compareView(new CompareView(m_compareModel))
    , m_studyView(new StudyView(m_study, m_document, m_scenariosDir))
    , m_runQueueView(new RunQueueView(m_runQueue))
    , m_twinView(new TwinView(new TwinFeed(this)))
    , m_errorBanner(new QLabel)
    , m_aidcStatus(new QLabel)
{
    setObjectName(QStringLiteral("mainWindow"));
    m_tabs->setObjectName(QStringLiteral("mainTabs"));
    m_tabs->addTab(m_editor, tr("Scenario"));
    m_tabs->addTab(m_resultsView, tr("Results"));
    m_tabs->addTab(m_compareView, tr("Compare"));
    m_tabs->addTab(m_studyView, tr("Sweep && plan"));
    m_tabs->addTab(m_twinView, tr("Live twin"));

    m_errorBanner->setObjectName(QStringLiteral("errorBanner"));
    m_errorBanner->setWordWrap(true);
    m_errorBanner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorBanner->setStyleSheet(QStringLiteral("background:#ffebe9;color:#82071e;border:1px solid #cf222e;padding:6px"));
    m_errorBanner->setToolTip(tr("Click to dismiss"));
    m_errorBanner->hide();
    m_errorBanner->installEventFilter(this);
    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->addWidget(m_errorBanner);
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);

    auto* dock = new QDockWidget(tr("Runs"));
    dock->setObjectName(QStringLiteral("runsDock"));
    dock->setWidget(m_runQueueView);
    addDockWidget(Qt::BottomDockWidgetArea, dock);
    resizeDocks({dock}, {160}, Qt::Vertical);

    statusBar()->addPermanentWidget(m_aidcStatus);
    buildMenus();
    refreshAidcStatus();

    connect(m_validation, &ValidationController::validated, m_editor, &ScenarioEditor::setIssues);
    connect(m_validation, &ValidationController::unavailable, this,
            [this](const QString& reason) { statusBar()->showMessage(reason.section(u'\n', 0, 0), 8000); });
    connect(m_runQueue, &RunQueue::runFinished, this, &MainWindow::onRunFinished);
    connect(m_runQueueView, &RunQueueView::showResultsRequested, this, &MainWindow::showRunResults);
    connect(m_resultsView, &ResultsView::pinRequested, this, [this](std::shared_ptr<RunResult> result) {
        m_compareModel->pin(std::move(result));
        statusBar()->showMessage(tr("Pinned: %1 run(s) in Compare").arg(m_compareModel->runs().size()), 4000);
    });
    connect(m_document, &ScenarioDocument::modifiedChanged, this, &MainWindow::updateTitle);
    connect(m_document, &ScenarioDocument::documentReset, this, &MainWindow::updateTitle);

    resize(1400, 900);
    restoreGeometry(m_settings->value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(m_settings->value(QStringLiteral("window/state")).toByteArray());
    m_tabs->setCurrentIndex(m_settings->value(QStringLiteral("window/tab"), 0).toInt());
    updateTitle();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open scenario…"), QKeySequence::Open, this, &MainWindow::openWithDialog);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    file->addAction(tr("Open &default scenario"), this, [this] {
        if (confirmDiscard())
            openScenario(QDir(m_scenariosDir).filePath(QStringLiteral("default.yaml")));
    });
    file->addSeparator();
    file->addAction(tr("&Save"), QKeySequence::Save, this, &MainWindow::save);
    file->addAction(tr("Save &as / export YAML…"), QKeySequence::SaveAs, this, &MainWindow::saveAs);
    file->addAction(tr("Export &report (HTML/PDF)…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, [this] {
        if (!m_resultsView->result()) {
            showError(tr("No results to export yet: run the scenario first."));
            return;
        }
        const QString path = QFileDialog::getSaveFileName(this, tr("Export report"),
                                                          QDir(m_resultsView->result()->dir()).filePath(QStringLiteral("report.html")),
                                                          tr("HTML page (*.html);;PDF document (*.pdf)"));
        QString error;
        if (!path.isEmpty() && !m_resultsView->exportReport(path, &error))
            showError(error);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    refreshRecentMenu();

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(tr("&Run scenario"), QKeySequence(Qt::CTRL | Qt::Key_R), this, &MainWindow::runScenario);
    run->addAction(tr("&Validate"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V), this, [this] {
        m_validation->setAidcProgram(AidcTool::locateCli());
        m_validation->validateNow();
    });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    const QStringList names = {tr("&Scenario"), tr("&Results"), tr("&Compare"), tr("S&weep and plan"), tr("&Live twin")};
    for (int i = 0; i < names.size(); ++i)
        view->addAction(names[i], QKeySequence(Qt::CTRL | (Qt::Key_1 + i)), this, [this, i] { m_tabs->setCurrentIndex(i); });
    view->addSeparator();
    view->addAction(findChild<QDockWidget*>(QStringLiteral("runsDock"))->toggleViewAction());
}

bool MainWindow::openScenario(const QString& path)
{
    if (!m_document->load(path)) {
        showError(tr("Cannot open the scenario: %1").arg(m_document->errorString()));
        RecentFiles(m_settings.get()).remove(path);
        refreshRecentMenu();
        return false;
    }
    clearError();
    RecentFiles(m_settings.get()).add(path);
    refreshRecentMenu();
    m_settings->setValue(QStringLiteral("lastDirectory"), QFileInfo(path).absolutePath());
    statusBar()->showMessage(tr("Opened %1").arg(path), 4000);
    return true;
}

void MainWindow::openWithDialog()
{
    if (!confirmDiscard())
        return;
    const QString path = QFileDialog::getOpenFileName(this, tr("Open scenario"),
                                                      m_settings->value(QStringLiteral("lastDirectory"), m_scenariosDir).toString(),
                                                      tr("Scenarios (*.yaml *.yml);;All files (*)"));
    if (!path.isEmpty())
        openScenario(path);
}

bool MainWindow::save()
{
    if (m_document->filePath().isEmpty())
        return saveAs();
    if (!m_document->save(m_document->filePath())) {
        showError(m_document->errorString());
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(m_document->filePath()), 4000);
    return true;
}

bool MainWindow::saveAs()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Save scenario as"),
                                                      m_document->filePath().isEmpty() ? m_scenariosDir : m_document->filePath(),
                                                      tr("Scenarios (*.yaml *.yml)"));
    if (path.isEmpty())
        return false;
    if (!m_document->save(path)) {
        showError(m_document->errorString());
        return false;
    }
    RecentFiles(m_settings.get()).add(path);
    refreshRecentMenu();
    updateTitle();
    return true;
}

bool MainWindow::confirmDiscard()
{
    if (!m_document->isModified())
        return true;
    const auto answer = QMessageBox::question(this, tr("Unsaved changes"),
                                              tr("%1 has unsaved changes. Save them?").arg(m_document->displayName()),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Save)
        return save();
    return answer == QMessageBox::Discard;
}

void MainWindow::runScenario()
{
    // Looked up on every run: aidc may have been built since the window opened.
    const QString aidc = AidcTool::locateCli();
    refreshAidcStatus();
    if (aidc.isEmpty()) {
        showError(tr("Cannot run: aidc was not found. Build it (cmake --build build) or set AIDC_BIN."));
        return;
    }
    m_runQueue->setAidcProgram(aidc);
    m_study->setAidcProgram(aidc);
    m_validation->setAidcProgram(aidc);
    QString error;
    if (m_runQueue->enqueue(*m_document, &error) < 0)
        showError(tr("Cannot start the run: %1").arg(error));
    else
        clearError();
}

void MainWindow::onRunFinished(int row)
{
    const RunQueue::Run& run = m_runQueue->run(row);
    if (run.state == RunQueue::State::Failed) {
        showError(tr("Run #%1 (%2) failed: %3").arg(run.id).arg(run.name, run.message));
        return;
    }
    if (run.state == RunQueue::State::Succeeded)
        showRunResults(row);
}

void MainWindow::showRunResults(int row)
{
    auto cached = m_resultsByRow.find(row);
    if (cached == m_resultsByRow.end()) {
        const RunQueue::Run& run = m_runQueue->run(row);
        if (run.state != RunQueue::State::Succeeded) {
            showError(tr("Run #%1 has no results: it is %2.").arg(run.id).arg(RunQueue::stateName(run.state)));
            return;
        }
        QString error;
        auto result = RunResult::load(run.outDir, &error);
        if (!result) {
            showError(tr("Run #%1 finished but its results cannot be read: %2").arg(run.id).arg(error));
            return;
        }
        result->setLabel(QStringLiteral("#%1 %2").arg(run.id).arg(run.name));
        cached = m_resultsByRow.emplace(row, std::move(result)).first;
    }
    m_resultsView->setResult(cached->second);
    showTab(Tab::Results);
}

void MainWindow::showTab(Tab tab)
{
    m_tabs->setCurrentIndex(int(tab));
}

QWidget* MainWindow::tabWidget(Tab tab) const
{
    return m_tabs->widget(int(tab));
}

QString MainWindow::errorText() const
{
    return m_errorBanner->isHidden() ? QString() : m_errorBanner->text();
}

void MainWindow::showError(const QString& message)
{
    m_errorBanner->setText(message);
    m_errorBanner->show();
}

void MainWindow::clearError()
{
    m_errorBanner->clear();
    m_errorBanner->hide();
}

void MainWindow::refreshRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = RecentFiles(m_settings.get()).files();
    for (const QString& path : files)
        m_recentMenu->addAction(QFileInfo(path).fileName(), this, [this, path] {
            if (confirmDiscard())
                openScenario(path);
        })->setToolTip(path);
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::refreshAidcStatus()
{
    const QString aidc = AidcTool::locateCli();
    m_aidcStatus->setText(aidc.isEmpty() ? tr("aidc: not found") : tr("aidc: %1").arg(aidc));
}

void MainWindow::updateTitle()
{
    setWindowTitle(QStringLiteral("%1%2 — aidc-gui").arg(m_document->displayName(), m_document->isModified() ? QStringLiteral("*") : QString()));
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (!confirmDiscard()) {
        event->ignore();
        return;
    }
    m_settings->setValue(QStringLiteral("window/geometry"), saveGeometry());
    m_settings->setValue(QStringLiteral("window/state"), saveState());
    m_settings->setValue(QStringLiteral("window/tab"), m_tabs->currentIndex());
    event->accept();
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_errorBanner && event->type() == QEvent::MouseButtonPress)
        clearError();
    return QMainWindow::eventFilter(watched, event);
}
