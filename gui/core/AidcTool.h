#pragma once

#include <QString>

// Where the GUI finds the simulator and its data.
namespace AidcTool {
// The `aidc` executable: $AIDC_BIN, else next to aidc-gui (both land in build/bin), else on PATH.
// Empty when none is found.
QString locateCli();
// The scenarios folder: $AIDC_SCENARIOS_DIR, else the source tree's scenarios/ baked in at build time.
QString scenariosDir();
// Where runs, sweeps and plans write their output: $AIDC_GUI_RUNS_DIR, else the user's data folder.
QString runsDir();
} // namespace AidcTool
