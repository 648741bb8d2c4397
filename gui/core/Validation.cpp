#include "core/Validation.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

QString ValidationIssue::toString() const
{
    QString where = file;
    if (line > 0)
        where += QStringLiteral(":%1:%2").arg(line).arg(column);
    const QString subject = path.isEmpty() ? message : path + QStringLiteral(": ") + message;
    return where.isEmpty() ? subject : where + QStringLiteral(": ") + subject;
}

std::optional<QVector<ValidationIssue>> parseValidateJson(const QByteArray& json)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isArray())
        return std::nullopt;
    QVector<ValidationIssue> issues;
    for (const QJsonValue& entry : document.array()) {
        const QJsonObject object = entry.toObject();
        issues.append({object.value(u"file").toString(), object.value(u"line").toInt(),
                       object.value(u"column").toInt(), object.value(u"path").toString(),
                       object.value(u"message").toString()});
    }
    return issues;
}

std::optional<ValidationIssue> parseDiagnosticLine(const QString& line)
{
    static const QRegularExpression pattern(
        QStringLiteral(R"(^(.+?):(\d+):(\d+): error: (?:([A-Za-z0-9_\-\[\]]+(?:\.[A-Za-z0-9_\-\[\]]+)*): )?(.*)$)"));
    const QRegularExpressionMatch match = pattern.match(line.trimmed());
    if (!match.hasMatch())
        return std::nullopt;
    return ValidationIssue{match.captured(1), match.captured(2).toInt(), match.captured(3).toInt(),
                           match.captured(4), match.captured(5)};
}

QVector<ValidationIssue> parseDiagnostics(const QStringList& lines)
{
    QVector<ValidationIssue> issues;
    for (const QString& line : lines)
        if (const auto issue = parseDiagnosticLine(line))
            issues.append(*issue);
    return issues;
}

FieldIssues mapIssuesToFields(const QVector<ValidationIssue>& issues, const QStringList& fieldPaths)
{
    FieldIssues result;
    for (const ValidationIssue& issue : issues) {
        QString owner;
        for (const QString& field : fieldPaths) {
            const bool owns = issue.path == field || issue.path.startsWith(field + u'.');
            if (owns && field.size() > owner.size())
                owner = field;
        }
        if (owner.isEmpty())
            result.unmatched.append(issue);
        else
            result.messagesByField[owner].append(issue.message);
    }
    return result;
}
