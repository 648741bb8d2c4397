#pragma once

#include <QWidget>

class QPlainTextEdit;
class QTableView;
class RunQueue;

// The run queue: state and progress of every run, cancel, parallelism, and the full message of the
// selected run (a failure's diagnostics).
class RunQueueView : public QWidget {
    Q_OBJECT
public:
    explicit RunQueueView(RunQueue* queue, QWidget* parent = nullptr);
    // Short by default: the dock should leave the tabs most of the window.
    QSize sizeHint() const override { return {900, 150}; }

signals:
    void showResultsRequested(int row);

private:
    int selectedRow() const;
    void showDetails();

    RunQueue* m_queue;
    QTableView* m_table;
    QPlainTextEdit* m_details;
};
