#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "facility/weather.hpp"

using namespace aidc::facility;

namespace {

std::string write_temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace

TEST(Psychrometrics, StullReproducesHisWorkedExample) {
  // Stull (2011): T = 20 °C, RH = 50% -> Tw = 13.7 °C.
  EXPECT_NEAR(stull_wet_bulb_c(20, 50), 13.7, 0.05);
}

TEST(Psychrometrics, StullAgreesWithHkoWetBulbNormals) {
  // HKO 1981–2010 5-day normals (air temperature, RH -> wet-bulb), within Stull's stated error (−1..+0.65 °C).
  struct Point { double t, rh, wet_bulb; };
  for (const Point p : {Point{17.1, 72, 14.3}, Point{24.1, 83, 22.0}, Point{16.3, 75, 13.5}}) {
    const double error = stull_wet_bulb_c(p.t, p.rh) - p.wet_bulb;
    EXPECT_GE(error, -1.0);
    EXPECT_LE(error, 0.65);
  }
}

TEST(TypicalYear, MonthlyMeansMatchTheHkoNormals) {
  const WeatherSeries year = hong_kong_typical_year();
  ASSERT_EQ(year.samples().size(), 8760u);
  const auto& normals = hong_kong_monthly_normals();
  const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::size_t i = 0;
  for (int m = 0; m < 12; ++m) {
    double sum = 0, max_sum = 0;
    for (int d = 0; d < days[m]; ++d) {
      double day_max = -100;
      for (int h = 0; h < 24; ++h, ++i) {
        sum += year.samples()[i].weather.dry_bulb_c;
        day_max = std::max(day_max, year.samples()[i].weather.dry_bulb_c);
      }
      max_sum += day_max;
    }
    // Interpolating between mid-month values smooths each month towards its neighbours a little.
    EXPECT_NEAR(sum / (days[m] * 24), normals[m].mean_c, 0.4) << "month " << m + 1;
    EXPECT_NEAR(max_sum / days[m], normals[m].mean_c + 0.5 * (normals[m].mean_max_c - normals[m].mean_min_c), 0.4);
  }
}

TEST(TypicalYear, SummerWetBulbIsInTheDerivedRange) {
  // Reference: Jun–Sep wet-bulb 24.6–26.1 °C; July mean derived 26.1 °C.
  const WeatherSeries year = hong_kong_typical_year();
  double sum = 0;
  for (int d = 1; d <= 31; ++d)
    for (int h = 0; h < 24; ++h) sum += year.at(hour_of_year(7, d, h)).wet_bulb_c;
  EXPECT_NEAR(sum / (31 * 24), 26.1, 0.6);
}

TEST(WeatherSeries, InterpolatesAndWrapsAroundNewYear) {
  const WeatherSeries year = hong_kong_typical_year();
  const Weather last = year.samples().back().weather;
  const Weather first = year.samples().front().weather;
  EXPECT_NEAR(year.at(8759.5).dry_bulb_c, 0.5 * (last.dry_bulb_c + first.dry_bulb_c), 1e-9);
  EXPECT_NEAR(year.at(8760 + 3).dry_bulb_c, year.at(3).dry_bulb_c, 1e-9);
}

TEST(WeatherCsv, ReadsHoursAndDerivesTheMissingHumidityColumn) {
  const std::string path = write_temp_file("aidc_weather_ok.csv",
                                           "# a comment\n"
                                           "hour,dry_bulb_c,rh_pct\n"
                                           "0,20,50\n"
                                           "2,22,60\n");
  const WeatherSeries series = load_weather_csv(path);
  EXPECT_NEAR(series.at(0).wet_bulb_c, 13.7, 0.05);
  EXPECT_NEAR(series.at(1).dry_bulb_c, 21, 1e-12);
  EXPECT_NEAR(series.at(100).dry_bulb_c, 22, 1e-12);  // past the end: holds the last value

  const std::string wb_path = write_temp_file("aidc_weather_wb.csv",
                                              "timestamp,dry_bulb_c,wet_bulb_c\n"
                                              "2024-07-15 14:00,31,26.5\n");
  const WeatherSeries wb = load_weather_csv(wb_path);
  EXPECT_DOUBLE_EQ(wb.samples()[0].hour_of_year, hour_of_year(7, 15, 14));
  EXPECT_NEAR(stull_wet_bulb_c(31, wb.samples()[0].weather.rh_pct), 26.5, 1e-6);
}

TEST(WeatherCsv, BadRowNamesFileLineAndField) {
  const std::string path = write_temp_file("aidc_weather_bad.csv",
                                           "hour,dry_bulb_c,rh_pct\n"
                                           "0,20,50\n"
                                           "1,warm,50\n");
  try {
    load_weather_csv(path);
    FAIL() << "expected WeatherFileError";
  } catch (const WeatherFileError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.field(), "dry_bulb_c");
    const std::string what = e.what();
    EXPECT_NE(what.find(path + ":3:"), std::string::npos) << what;
    EXPECT_NE(what.find("dry_bulb_c"), std::string::npos) << what;
    EXPECT_NE(what.find("expected a number"), std::string::npos) << what;
  }
}

TEST(WeatherCsv, OtherMistakesAreNamedToo) {
  const auto line_and_field = [](const std::string& name, const std::string& text) {
    try {
      load_weather_csv(write_temp_file(name, text));
    } catch (const WeatherFileError& e) {
      return std::to_string(e.line()) + ":" + e.field();
    }
    return std::string("no error");
  };
  EXPECT_EQ(line_and_field("aidc_w1.csv", "time,dry_bulb_c,rh_pct\n0,20,50\n"), "1:header");
  EXPECT_EQ(line_and_field("aidc_w2.csv", "hour,dry_bulb_c,rh_pct\n5,20,50\n4,20,50\n"), "3:hour");
  EXPECT_EQ(line_and_field("aidc_w3.csv", "hour,dry_bulb_c,rh_pct\n0,20,150\n"), "2:rh_pct");
  EXPECT_EQ(line_and_field("aidc_w4.csv", "timestamp,dry_bulb_c,rh_pct\n2024-02-29 10:00,20,50\n"), "2:timestamp");
  EXPECT_EQ(line_and_field("aidc_w5.csv", "hour,dry_bulb_c,wet_bulb_c\n0,20,25\n"), "2:wet_bulb_c");
}
