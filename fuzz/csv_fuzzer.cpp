// The CSV readers (request traces, empirical lengths, weather) on arbitrary bytes: each either
// accepts the file with every value in its range or refuses it with file:line (InputErrors,
// WeatherFileError); anything else is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/input_error.hpp"
#include "facility/weather.hpp"
#include "fuzz_input.hpp"
#include "workload/csv_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = aidc::fuzz::as_file(data, size, ".csv");
  try {
    for (const aidc::TraceRow& row : aidc::load_trace(path))
      if (!std::isfinite(row.arrival_s) || row.prompt_tokens < 1 || row.output_tokens < 1) std::abort();
  } catch (const aidc::InputErrors&) {
  }
  try {
    std::vector<double> tokens, weights;
    aidc::load_empirical_lengths(path, tokens, weights);
    double total = 0;
    for (double w : weights) total += w;
    if (!(total > 0) || !std::isfinite(total)) std::abort();
  } catch (const aidc::InputErrors&) {
  }
  try {
    const aidc::facility::WeatherSeries series = aidc::facility::load_weather_csv(path);
    for (double hour : {0.0, 1234.5, 8759.9})
      if (!std::isfinite(series.at(hour).dry_bulb_c) || !std::isfinite(series.at(hour).wet_bulb_c)) std::abort();
  } catch (const aidc::facility::WeatherFileError&) {
  }
  return 0;
}
