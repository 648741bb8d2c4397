#pragma once
// The Live twin tab: follows a running `aidc twin` (its URL) or replays a saved twin.csv; measured vs
// mirrored p99 TTFT with the forecast band, replicas up on the floor plan, alerts, and a what-if
// panel that runs a forecast from the live state. The data lives in TwinFeed; this only shows it.
#include <QWidget>

class QChart;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QStringListModel;
class QVBoxLayout;
class QValueAxis;
class TwinFeed;

class TwinView : public QWidget {
    Q_OBJECT
public:
    explicit TwinView(TwinFeed* feed, QWidget* parent = nullptr);
    void follow(const QString& url);
    bool replay(const QString& twinCsv);
    TwinFeed* feed() const { return m_feed; }

private:
    void refresh();
    void rescale();
    TwinFeed* m_feed;
    QLineEdit* m_url;
    QLabel* m_status;
    QChart* m_chart;
    QValueAxis* m_x;
    QValueAxis* m_y;
    QVBoxLayout* m_floorBox;
    QWidget* m_floor = nullptr;
    QStringListModel* m_alerts;
    QDoubleSpinBox* m_rate;
    QComboBox* m_down;
    QLabel* m_whatIf;
};
