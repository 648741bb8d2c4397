#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

// The knobs a planner turns, as data: the editor builds its forms from this table and the sweep view
// offers these paths, so adding a knob is one line here.
struct ScenarioField {
    enum class Kind { Integer, Number, Choice, Text };

    QString path;      // scenario key path
    QString label;
    QString section;   // form group
    Kind kind = Kind::Text;
    QStringList choices;   // Choice: fixed values
    QString catalog;       // Choice: ids from scenarios/catalog/<catalog> instead of fixed values
    QString help;
};

const QVector<ScenarioField>& scenarioFields();
// Sections in display order.
QStringList scenarioFieldSections();
