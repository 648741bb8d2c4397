#pragma once

#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include <optional>

// One problem `aidc` found in a scenario.
struct ValidationIssue {
    QString file;
    int line = 0;
    int column = 0;
    QString path;      // scenario key path, empty when the problem is not tied to one key
    QString message;

    QString toString() const;
    bool operator==(const ValidationIssue&) const = default;
};

// `aidc validate --format json`: an array of {file, line, column, path, message}.
// Returns nullopt when the output is not such an array.
std::optional<QVector<ValidationIssue>> parseValidateJson(const QByteArray& json);
// A diagnostic line `FILE:LINE:COL: error: key.path: message` (the path part is optional).
std::optional<ValidationIssue> parseDiagnosticLine(const QString& line);
QVector<ValidationIssue> parseDiagnostics(const QStringList& lines);

// Issues grouped by the form field they belong to: the field with the same path, else the field whose path
// is the longest prefix of the issue's path (a problem inside deployment.model.x shows at deployment.model).
struct FieldIssues {
    QMap<QString, QStringList> messagesByField;
    QVector<ValidationIssue> unmatched;
};
FieldIssues mapIssuesToFields(const QVector<ValidationIssue>& issues, const QStringList& fieldPaths);
