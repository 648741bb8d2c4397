#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

// A CSV file as text cells (RFC 4180: quoted fields may hold commas, quotes and newlines).
struct CsvTable {
    QStringList header;
    QVector<QStringList> rows;

    // Index of a header column, or -1 when the file has no such column.
    int column(const QString& name) const { return header.indexOf(name); }
    QString cell(int row, int column) const;
    // The cell parsed as a number; NaN when empty or not a number, so gaps stay visible as gaps.
    double number(int row, int column) const;
};

CsvTable parseCsv(const QByteArray& text);
// Reads and parses a file; returns false with a message naming the file when it cannot be read.
bool readCsvFile(const QString& path, CsvTable* table, QString* error);
