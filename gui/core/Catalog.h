#pragma once

#include <QString>
#include <QStringList>

// Ids from the simulator's catalogs (scenarios/catalog), the one source of truth for the GPU, server and
// model combo boxes. A catalog is either <kind>.yaml holding a mapping `<kind>:` keyed by id, or a folder
// <kind>/ with one <id>.yaml per entry. A missing catalog gives no ids (the combo box stays free text).
QStringList catalogIds(const QString& scenariosDir, const QString& kind);
