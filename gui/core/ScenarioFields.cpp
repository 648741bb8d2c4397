#include "core/ScenarioFields.h"

#include "core/AidcTool.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

namespace {

// Long enough for a cold start of aidc on a busy machine; it only prints a table.
constexpr int kSchemaTimeoutMs = 20000;

ScenarioField::Kind kindOf(const QJsonObject& key)
{
    const QString type = key.value(u"type").toString();
    if (type == u"integer")
        return ScenarioField::Kind::Integer;
    if (type == u"number" || type == u"length")
        return ScenarioField::Kind::Number;
    if (type == u"choice" || !key.value(u"catalog").toString().isEmpty())
        return ScenarioField::Kind::Choice;
    return ScenarioField::Kind::Text;
}

QString defaultText(const QJsonValue& value)
{
    if (value.isDouble())
        return QString::number(value.toDouble(), 'g', 12);
    if (value.isBool())
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    return value.toString();
}

QString helpText(const QJsonObject& key, const QString& defaultValue)
{
    QString help = key.value(u"meaning").toString();
    const QString unit = key.value(u"unit").toString();
    const QString note = key.value(u"default_note").toString();
    QStringList facts;
    if (!unit.isEmpty())
        facts << QStringLiteral("unit %1").arg(unit);
    const QString defaults = defaultValue.isEmpty() || note.isEmpty() ? defaultValue + note : defaultValue + QStringLiteral("; ") + note;
    if (!defaults.isEmpty())
        facts << QStringLiteral("default %1").arg(defaults);
    const QJsonValue min = key.value(u"min"), max = key.value(u"max");
    if (min.isDouble() && max.isDouble())
        facts << QStringLiteral("range [%1, %2]").arg(min.toDouble()).arg(max.toDouble());
    else if (min.isDouble())
        facts << QStringLiteral("at least %1").arg(min.toDouble());
    const QString when = key.value(u"when").toString();
    if (!when.isEmpty())
        facts << QStringLiteral("applies to %1").arg(when);
    return facts.isEmpty() ? help : help + QStringLiteral("\n") + facts.join(u", ");
}

QVector<ScenarioField> g_fields;
QString g_error;

} // namespace

QVector<ScenarioField> parseScenarioSchema(const QByteArray& json, QString* error)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError || document.object().value(u"format").toString() != u"aidc-schema/1") {
        *error = QObject::tr("aidc schema did not print an aidc-schema/1 document: %1").arg(parseError.errorString());
        return {};
    }
    QVector<ScenarioField> fields;
    for (const QJsonValue& entry : document.object().value(u"keys").toArray()) {
        const QJsonObject key = entry.toObject();
        if (!key.value(u"knob").toBool())
            continue;
        ScenarioField field;
        // A list item's key is edited on the first item ("facility.halls[].cooling.kind" -> "facility.halls.0.cooling.kind").
        field.path = key.value(u"path").toString().replace(QStringLiteral("[]"), QStringLiteral(".0"));
        const qsizetype dot = field.path.indexOf(u'.');
        field.section = dot < 0 ? QStringLiteral("scenario") : field.path.left(dot);
        field.label = dot < 0 ? field.path : field.path.mid(dot + 1);
        field.kind = kindOf(key);
        for (const QJsonValue& choice : key.value(u"choices").toArray())
            field.choices << choice.toString();
        field.catalog = key.value(u"catalog").toString();
        field.defaultValue = defaultText(key.value(u"default"));
        field.help = helpText(key, field.defaultValue);
        field.whenKey = key.value(u"when_key").toString();
        field.whenValue = key.value(u"when").toString().section(u',', 0, 0).trimmed();
        fields << field;
    }
    if (fields.isEmpty())
        *error = QObject::tr("aidc schema lists no knobs");
    return fields;
}

const QVector<ScenarioField>& scenarioFields()
{
    if (!g_fields.isEmpty())
        return g_fields;
    const QString aidc = AidcTool::locateCli();
    if (aidc.isEmpty()) {
        g_error = QObject::tr("aidc was not found, so the form has no fields: build it (cmake --build build) or set AIDC_BIN");
        return g_fields;
    }
    QProcess process;
    process.start(aidc, {QStringLiteral("schema"), QStringLiteral("--format"), QStringLiteral("json")});
    if (!process.waitForFinished(kSchemaTimeoutMs) || process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        process.kill();
        g_error = QObject::tr("`%1 schema` failed, so the form has no fields: %2")
                      .arg(aidc, QString::fromUtf8(process.readAllStandardError()).trimmed());
        return g_fields;
    }
    g_fields = parseScenarioSchema(process.readAllStandardOutput(), &g_error);
    return g_fields;
}

QString scenarioFieldsError()
{
    return g_error;
}

QStringList scenarioFieldSections()
{
    QStringList sections;
    for (const ScenarioField& field : scenarioFields())
        if (!sections.contains(field.section))
            sections << field.section;
    return sections;
}
