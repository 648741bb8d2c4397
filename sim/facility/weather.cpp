#include "facility/weather.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

namespace aidc::facility {
namespace {

constexpr std::array<int, 12> kDaysInMonth{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
// The diurnal dry-bulb maximum in Hong Kong comes in the early afternoon.
constexpr double kDailyPeakHour = 14.0;

double days_before_month(int month) {
  double days = 0;
  for (int m = 1; m < month; ++m) days += kDaysInMonth[m - 1];
  return days;
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(trim(field));
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// Inverse of Stull's fit in RH: wet-bulb rises monotonically with RH at fixed dry-bulb.
double rh_from_wet_bulb(double dry_bulb_c, double wet_bulb_c) {
  double low = 1, high = 100;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (low + high);
    (stull_wet_bulb_c(dry_bulb_c, mid) < wet_bulb_c ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

}  // namespace

double stull_wet_bulb_c(double t, double rh) {
  return t * std::atan(0.151977 * std::sqrt(rh + 8.313659)) + std::atan(t + rh) -
         std::atan(rh - 1.676331) + 0.00391838 * std::pow(rh, 1.5) * std::atan(0.023101 * rh) -
         4.686035;
}

double saturation_vapour_pressure_hpa(double temperature_c) {
  return 6.112 * std::exp(17.67 * temperature_c / (temperature_c + 243.5));
}

WeatherSeries::WeatherSeries(std::vector<WeatherSample> samples) : samples_(std::move(samples)) {
  if (samples_.empty()) throw std::invalid_argument("weather series has no samples");
  for (std::size_t i = 1; i < samples_.size(); ++i)
    if (samples_[i].hour_of_year <= samples_[i - 1].hour_of_year)
      throw std::invalid_argument("weather samples must be in increasing hour order");
  // Hourly data from the first to the last hour of the year wraps around New Year.
  wraps_ = samples_.back().hour_of_year - samples_.front().hour_of_year >= kHoursPerYear - 1;
}

Weather WeatherSeries::at(double hour) const {
  if (samples_.empty()) throw std::logic_error("weather series is empty");
  if (wraps_) hour = std::fmod(std::fmod(hour, kHoursPerYear) + kHoursPerYear, kHoursPerYear);
  const auto after = std::upper_bound(samples_.begin(), samples_.end(), hour,
                                      [](double h, const WeatherSample& s) { return h < s.hour_of_year; });
  const WeatherSample* lo;
  const WeatherSample* hi;
  double hi_hour;
  if (after == samples_.begin() || after == samples_.end()) {
    if (!wraps_) return (after == samples_.begin() ? samples_.front() : samples_.back()).weather;
    lo = &samples_.back();  // between the last sample of the year and the first of the next
    hi = &samples_.front();
    hi_hour = hi->hour_of_year + kHoursPerYear;
    if (hour < lo->hour_of_year) hour += kHoursPerYear;
  } else {
    lo = &*(after - 1);
    hi = &*after;
    hi_hour = hi->hour_of_year;
  }
  const double w = (hour - lo->hour_of_year) / (hi_hour - lo->hour_of_year);
  const auto lerp = [w](double a, double b) { return a + w * (b - a); };
  return Weather{lerp(lo->weather.dry_bulb_c, hi->weather.dry_bulb_c),
                 lerp(lo->weather.rh_pct, hi->weather.rh_pct),
                 lerp(lo->weather.wet_bulb_c, hi->weather.wet_bulb_c)};
}

double hour_of_year(int month, int day, double hour) {
  if (month < 1 || month > 12) throw std::invalid_argument("month must be 1..12");
  if (day < 1 || day > kDaysInMonth[month - 1]) throw std::invalid_argument("day out of range for month");
  return (days_before_month(month) + day - 1) * 24 + hour;
}

const std::vector<MonthlyNormal>& hong_kong_monthly_normals() {
  static const std::vector<MonthlyNormal> normals{
      {18.6, 16.3, 14.5, 74}, {18.9, 16.8, 15.0, 80}, {21.4, 19.1, 17.2, 82}, {25.0, 22.6, 20.8, 83},
      {28.4, 25.9, 24.1, 83}, {30.2, 27.9, 26.2, 82}, {31.4, 28.8, 26.8, 81}, {31.1, 28.6, 26.6, 81},
      {30.1, 27.7, 25.8, 78}, {27.8, 25.5, 23.7, 73}, {24.1, 21.8, 19.8, 71}, {20.2, 17.9, 15.9, 69}};
  return normals;
}

WeatherSeries hong_kong_typical_year() {
  const auto& normals = hong_kong_monthly_normals();
  std::array<double, 12> mid_month_day{};
  for (int m = 0; m < 12; ++m) mid_month_day[m] = days_before_month(m + 1) + kDaysInMonth[m] / 2.0;

  std::vector<WeatherSample> samples;
  samples.reserve(static_cast<std::size_t>(kHoursPerYear));
  for (int day = 0; day < 365; ++day) {
    const double day_centre = day + 0.5;
    // The two mid-month anchors around this day, wrapping December -> January.
    int next = 0;
    while (next < 12 && mid_month_day[next] <= day_centre) ++next;
    const int prev = (next + 11) % 12;
    const int nxt = next % 12;
    double span = mid_month_day[nxt] - mid_month_day[prev];
    double into = day_centre - mid_month_day[prev];
    if (span <= 0) span += 365;
    if (into < 0) into += 365;
    const double w = into / span;
    const auto blend = [&](double MonthlyNormal::*field) {
      return normals[prev].*field + w * (normals[nxt].*field - normals[prev].*field);
    };
    const double mean_c = blend(&MonthlyNormal::mean_c);
    const double amplitude_c = 0.5 * (blend(&MonthlyNormal::mean_max_c) - blend(&MonthlyNormal::mean_min_c));
    const double vapour_hpa = blend(&MonthlyNormal::rh_pct) / 100 * saturation_vapour_pressure_hpa(mean_c);
    for (int h = 0; h < 24; ++h) {
      const double t = mean_c + amplitude_c * std::cos(2 * std::numbers::pi * (h - kDailyPeakHour) / 24);
      const double rh = std::min(100.0, 100 * vapour_hpa / saturation_vapour_pressure_hpa(t));
      samples.push_back({day * 24.0 + h, Weather{t, rh, stull_wet_bulb_c(t, rh)}});
    }
  }
  return WeatherSeries(std::move(samples));
}

WeatherFileError::WeatherFileError(std::string file, int line, std::string field, std::string message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": error: " + field + ": " + message),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)),
      message_(std::move(message)) {}

WeatherSeries load_weather_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw WeatherFileError(path, 0, "file", "cannot open for reading");

  std::string line;
  int line_no = 0;
  std::map<std::string, std::size_t> column;
  std::vector<WeatherSample> samples;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty() || trim(line).front() == '#') continue;
    const auto fields = split_csv_line(line);
    if (column.empty()) {
      for (std::size_t i = 0; i < fields.size(); ++i) column[fields[i]] = i;
      if (!column.count("hour") && !column.count("timestamp"))
        throw WeatherFileError(path, line_no, "header", "expected a column `hour` or `timestamp`");
      if (!column.count("dry_bulb_c"))
        throw WeatherFileError(path, line_no, "header", "expected a column `dry_bulb_c`");
      if (!column.count("rh_pct") && !column.count("wet_bulb_c"))
        throw WeatherFileError(path, line_no, "header", "expected a column `rh_pct` or `wet_bulb_c`");
      continue;
    }
    const auto text_of = [&](const std::string& name) -> std::string {
      const std::size_t i = column.at(name);
      if (i >= fields.size()) throw WeatherFileError(path, line_no, name, "expected a value, the row is too short");
      return fields[i];
    };
    const auto number = [&](const std::string& name, double lo, double hi) {
      const std::string text = text_of(name);
      double value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      // Written so that NaN (which from_chars reads from "nan") fails it too.
      if (ec != std::errc() || end != text.data() + text.size() || text.empty() || !(value >= lo && value <= hi)) {
        std::ostringstream expected;
        expected << "expected a number in [" << lo << ", " << hi << "], got '" << text << "'";
        throw WeatherFileError(path, line_no, name, expected.str());
      }
      return value;
    };

    WeatherSample sample;
    if (column.count("hour")) {
      sample.hour_of_year = number("hour", 0, kHoursPerYear - 1e-9);
    } else {
      const std::string text = text_of("timestamp");
      int year = 0, month = 0, day = 0, hh = 0, mm = 0;
      char sep = 0;
      std::istringstream ts(text);
      ts >> year;
      const bool shaped = ts.get() == '-' && (ts >> month) && ts.get() == '-' && (ts >> day) &&
                          (sep = static_cast<char>(ts.get()), sep == ' ' || sep == 'T') && (ts >> hh) &&
                          ts.get() == ':' && (ts >> mm);
      if (!shaped || month < 1 || month > 12 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || day < 1 ||
          day > kDaysInMonth[month - 1])
        throw WeatherFileError(path, line_no, "timestamp",
                               "expected YYYY-MM-DD HH:MM in a 365-day year (no 29 February), got '" + text + "'");
      sample.hour_of_year = hour_of_year(month, day, hh + mm / 60.0);
    }
    sample.weather.dry_bulb_c = number("dry_bulb_c", -60, 60);
    const bool has_rh = column.count("rh_pct") && !text_of("rh_pct").empty();
    const bool has_wb = column.count("wet_bulb_c") && !text_of("wet_bulb_c").empty();
    if (!has_rh && !has_wb)
      throw WeatherFileError(path, line_no, column.count("rh_pct") ? "rh_pct" : "wet_bulb_c",
                             "expected a value, got an empty field");
    if (has_rh) sample.weather.rh_pct = number("rh_pct", 0, 100);
    if (has_wb) {
      sample.weather.wet_bulb_c = number("wet_bulb_c", -60, sample.weather.dry_bulb_c);
    }
    if (!has_rh) sample.weather.rh_pct = rh_from_wet_bulb(sample.weather.dry_bulb_c, sample.weather.wet_bulb_c);
    if (!has_wb) sample.weather.wet_bulb_c = stull_wet_bulb_c(sample.weather.dry_bulb_c, sample.weather.rh_pct);

    if (!samples.empty() && sample.hour_of_year <= samples.back().hour_of_year)
      throw WeatherFileError(path, line_no, column.count("hour") ? "hour" : "timestamp",
                             "expected a time after the previous row's");
    samples.push_back(sample);
  }
  if (samples.empty()) throw WeatherFileError(path, line_no, "file", "expected at least one data row");
  return WeatherSeries(std::move(samples));
}

}  // namespace aidc::facility
