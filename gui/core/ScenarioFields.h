#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QVector>

// The knobs a planner turns, as the simulator's scenario schema gives them (`aidc schema --format json`,
// sim/scenario/schema.cpp): the editor builds its forms from them and the sweep view offers their paths,
// so the GUI never offers a key the loader rejects. Adding a knob is a line in that table.
struct ScenarioField {
    enum class Kind { Integer, Number, Choice, Text };

    QString path;      // scenario key path as ScenarioDocument addresses it (list items as ".0")
    QString label;
    QString section;   // form group: the key's top-level mapping
    Kind kind = Kind::Text;
    QStringList choices;   // Choice: fixed values
    QString catalog;       // Choice: ids from scenarios/catalog/<catalog> instead of fixed values
    QString help;
    QString defaultValue;  // as written in YAML; empty when the key has none (or it is computed)
    QString whenKey;       // the choice key selecting the variant this key belongs to, if any
    QString whenValue;     // the first of those variants
};

// The form fields of a schema document; `error` says why there are none.
QVector<ScenarioField> parseScenarioSchema(const QByteArray& json, QString* error);
// The fields of the aidc this GUI runs (AidcTool::locateCli()), read once; empty, with
// scenarioFieldsError() saying why, when aidc cannot say (then the next call asks again).
const QVector<ScenarioField>& scenarioFields();
QString scenarioFieldsError();
// Sections in display order.
QStringList scenarioFieldSections();
