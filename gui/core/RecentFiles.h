#pragma once

#include <QStringList>

class QSettings;

// Most recently opened scenarios, newest first, kept in QSettings; files that vanished are dropped.
class RecentFiles {
public:
    static constexpr int kMaxFiles = 10;

    explicit RecentFiles(QSettings* settings);

    QStringList files() const;
    void add(const QString& path);
    void remove(const QString& path);

private:
    void store(const QStringList& files);

    QSettings* m_settings;
};
