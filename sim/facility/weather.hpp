#pragma once
// Outdoor weather as an hourly series: the built-in Hong Kong typical year (HKO monthly normals with
// a daily cycle) or a user CSV. Wet-bulb from dry-bulb and RH by Stull (2011).
#include <stdexcept>
#include <string>
#include <vector>

namespace aidc::facility {

inline constexpr double kHoursPerYear = 8760;

struct Weather {
  double dry_bulb_c = 0;
  double rh_pct = 0;
  double wet_bulb_c = 0;
};

// Stull, "Wet-Bulb Temperature from Relative Humidity and Air Temperature", J. Appl. Meteor. Climatol.
// 50 (2011) 2267–2269, at sea-level pressure; valid for RH 5–99% and −20..50 °C, error −1..+0.65 °C.
double stull_wet_bulb_c(double dry_bulb_c, double rh_pct);

// Saturation vapour pressure over water in hPa (Bolton 1980, Mon. Wea. Rev. 108, eq. 10).
double saturation_vapour_pressure_hpa(double temperature_c);

struct WeatherSample {
  double hour_of_year = 0;  // hours since 1 January 00:00 local time, [0, 8760)
  Weather weather;
};

// Samples ordered by hour. Between samples: linear interpolation. A series that spans a whole year
// wraps from 31 December back to 1 January; a shorter one holds its first/last value outside its span.
class WeatherSeries {
 public:
  WeatherSeries() = default;
  explicit WeatherSeries(std::vector<WeatherSample> samples);  // throws if empty or unordered
  Weather at(double hour_of_year) const;
  const std::vector<WeatherSample>& samples() const { return samples_; }

 private:
  std::vector<WeatherSample> samples_;
  bool wraps_ = false;
};

// Hour of year of a day in a non-leap year (month 1–12, day 1–31, hour 0–24).
double hour_of_year(int month, int day, double hour);

// One month of the Hong Kong Observatory normals the typical year is built from.
struct MonthlyNormal {
  double mean_max_c;
  double mean_c;
  double mean_min_c;
  double rh_pct;
};
// HKO 1981–2010 monthly normals at the Observatory headquarters, January first.
const std::vector<MonthlyNormal>& hong_kong_monthly_normals();

// 8760 hourly samples: the monthly normals interpolated between mid-month days; each day's dry-bulb
// follows a cosine between the mean minimum and maximum, peaking at 14:00; the day's vapour pressure
// is held constant so RH rises at night and falls in the afternoon, as observed.
WeatherSeries hong_kong_typical_year();

// A bad weather file: what() reads "FILE:LINE: error: FIELD: expected ..., got '...'".
class WeatherFileError : public std::runtime_error {
 public:
  WeatherFileError(std::string file, int line, std::string field, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }  // what was expected, without the place

 private:
  std::string file_;
  int line_;
  std::string field_;
  std::string message_;
};

// CSV with a header row naming its columns: `hour` (hour of year) or `timestamp`
// (YYYY-MM-DD HH:MM or YYYY-MM-DDTHH:MM, local time); `dry_bulb_c`; and `rh_pct` and/or `wet_bulb_c`
// (the missing one is derived). Extra columns are ignored; blank lines and lines starting with # are
// skipped. Rows must be in increasing time order within one year.
WeatherSeries load_weather_csv(const std::string& path);

}  // namespace aidc::facility
