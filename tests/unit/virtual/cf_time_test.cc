// Tests of CF time units, calendars and date conversion against cftime (vectors generated at test
// time by make_cf_time_vectors.py) and of the date strings floe accepts.
#include "floe/virtual/cf_time.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

namespace floe::virt {
namespace {

// Runs make_cf_time_vectors.py OUTPUT with the .venv's python and parses OUTPUT; null (and the
// script's log on stderr) on failure.
nlohmann::json run_cftime_oracle() {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("floe_cf_time_{}", ::getpid());
  std::filesystem::create_directories(dir);
  const auto output = dir / "expected.json";
  const auto log = dir / "log.txt";
  const std::string command = fmt::format(
      "{} {} {} > {} 2>&1", FLOE_PYTHON, FLOE_CF_TIME_VECTOR_SCRIPT, output.string(), log.string());
  nlohmann::json expected = nullptr;
  if (std::system(command.c_str()) == 0) {
    std::ifstream in(output);
    expected = nlohmann::json::parse(in, nullptr, false);
    if (expected.is_discarded()) expected = nullptr;
  } else {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) fmt::print(stderr, "{}\n", line);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return expected;
}

const nlohmann::json& cftime_vectors() {
  static const nlohmann::json vectors = run_cftime_oracle();
  return vectors;
}

DateTime from_fields(const nlohmann::json& fields) {
  return DateTime{fields[0].get<int>(), fields[1].get<int>(), fields[2].get<int>(),
                  fields[3].get<int>(), fields[4].get<int>(), fields[5].get<int>(),
                  fields[6].get<int>()};
}

TEST(CfTime, MatchesCftimeForEveryCalendarUnitAndDate) {
  const auto& vectors = cftime_vectors();
  ASSERT_TRUE(vectors.is_array()) << "make_cf_time_vectors.py failed (is cftime in .venv?)";
  int compared_values = 0;
  for (const auto& c : vectors) {
    const std::string units_text = c["units"];
    const std::string calendar = c["calendar"];
    SCOPED_TRACE(units_text + " / " + calendar);
    auto units = parse_time_units(units_text, calendar);
    if (!c["ok"].get<bool>()) {
      EXPECT_FALSE(units.ok()) << "cftime refuses: " << c["error"].get<std::string>();
      continue;
    }
    ASSERT_TRUE(units.ok()) << units.error().to_string();
    EXPECT_EQ(format_datetime(units->reference), format_datetime(from_fields(c["reference"])));
    for (const auto& entry : c["encode"]) {
      const DateTime date = from_fields(entry["date"]);
      SCOPED_TRACE("encode " + format_datetime(date));
      auto value = encode_time(*units, date);
      if (entry.contains("error")) {
        EXPECT_FALSE(value.ok()) << "cftime refuses: " << entry["error"].get<std::string>();
        continue;
      }
      ASSERT_TRUE(value.ok()) << value.error().to_string();
      EXPECT_EQ(*value, entry["value"].get<double>());
      auto decoded = decode_time(*units, *value);
      ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
      EXPECT_EQ(format_datetime(*decoded), format_datetime(from_fields(entry["decoded"])));
      ++compared_values;
    }
    for (const auto& entry : c["decode"]) {
      const double value = entry["value"];
      SCOPED_TRACE(fmt::format("decode {}", value));
      auto decoded = decode_time(*units, value);
      ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
      EXPECT_EQ(*decoded, from_fields(entry["date"]));
      EXPECT_EQ(format_datetime(*decoded), entry["iso"].get<std::string>());
      ++compared_values;
    }
  }
  EXPECT_GT(compared_values, 3000);
}

TEST(CfTime, StandardCalendarSwitchesFromJulianToGregorian) {
  auto units = parse_time_units("days since 1582-10-04", "standard");
  ASSERT_TRUE(units.ok());
  EXPECT_EQ(*encode_time(*units, DateTime{1582, 10, 15}), 1.0);
  EXPECT_EQ(*decode_time(*units, 1.0), (DateTime{1582, 10, 15}));
  auto proleptic = parse_time_units("days since 1582-10-04", "proleptic_gregorian");
  ASSERT_TRUE(proleptic.ok());
  EXPECT_EQ(*encode_time(*proleptic, DateTime{1582, 10, 15}), 11.0);
  // 1500 is a leap year for Julian rules only.
  EXPECT_TRUE(check_date(DateTime{1500, 2, 29}, Calendar::kStandard).ok());
  EXPECT_FALSE(check_date(DateTime{1500, 2, 29}, Calendar::kProlepticGregorian).ok());
}

TEST(CfTime, DatesMissingFromTheCalendarAreErrorsNamingIt) {
  const auto feb30 = check_date(DateTime{2021, 2, 30}, Calendar::kStandard);
  ASSERT_FALSE(feb30.ok());
  EXPECT_NE(feb30.error().message().find("standard calendar"), std::string::npos);
  EXPECT_NE(feb30.error().message().find("2021-02-30"), std::string::npos);
  const auto leap = check_date(DateTime{2020, 2, 29}, Calendar::kNoLeap);
  ASSERT_FALSE(leap.ok());
  EXPECT_NE(leap.error().message().find("noleap"), std::string::npos);
  EXPECT_TRUE(check_date(DateTime{2021, 2, 30}, Calendar::k360Day).ok());
  EXPECT_FALSE(check_date(DateTime{2021, 1, 31}, Calendar::k360Day).ok());
  const auto gap = check_date(DateTime{1582, 10, 10}, Calendar::kStandard);
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.error().message().find("1582-10-15"), std::string::npos);
  EXPECT_FALSE(check_date(DateTime{0, 6, 1}, Calendar::kJulian).ok());
  EXPECT_TRUE(check_date(DateTime{0, 6, 1}, Calendar::kProlepticGregorian).ok());
}

TEST(CfTime, UnitsWithoutFixedLengthAreRefusedClearly) {
  const auto years = parse_time_units("years since 2000-01-01", "standard");
  ASSERT_FALSE(years.ok());
  EXPECT_EQ(years.error().code(), ErrorCode::kUnsupported);
  const auto months = parse_time_units("months since 2000-01-01", "noleap");
  ASSERT_FALSE(months.ok());
  EXPECT_NE(months.error().to_string().find("360_day"), std::string::npos);
  auto months_360 = parse_time_units("months since 2000-01-01", "360_day");
  ASSERT_TRUE(months_360.ok());
  EXPECT_EQ(*decode_time(*months_360, 13.0), (DateTime{2001, 2, 1}));
  EXPECT_FALSE(parse_time_units("fortnights since 2000-01-01", "").ok());
  EXPECT_FALSE(parse_time_units("days after 2000-01-01", "").ok());
  EXPECT_FALSE(parse_time_units("days since", "").ok());
  EXPECT_FALSE(parse_time_units("days since 2000-01-01 +1:00", "").ok());
  EXPECT_FALSE(parse_time_units("days since 2000-01-01", "tai").ok());
  EXPECT_FALSE(parse_time_units("days since 2000-13-01", "").ok());
}

TEST(CfTime, NanosecondsAsXarrayWritesThem) {
  auto units = parse_time_units("nanoseconds since 1970-01-01", "proleptic_gregorian");
  ASSERT_TRUE(units.ok());
  EXPECT_EQ(*encode_time(*units, DateTime{1970, 1, 1, 0, 0, 1}), 1e9);
  EXPECT_EQ(*decode_time(*units, 1.5e9), (DateTime{1970, 1, 1, 0, 0, 1, 500000}));
}

TEST(CfTime, DecodeRefusesNonFiniteAndFarValues) {
  auto units = parse_time_units("days since 2000-01-01", "standard");
  ASSERT_TRUE(units.ok());
  EXPECT_FALSE(decode_time(*units, std::nan("")).ok());
  EXPECT_FALSE(decode_time(*units, INFINITY).ok());
  EXPECT_FALSE(decode_time(*units, 1e12).ok());
}

TEST(DateText, AcceptsPartialDatesAndRecordsTheirResolution) {
  struct Case {
    const char* text;
    DateTime date;
    DateResolution resolution;
  };
  const std::vector<Case> cases = {
      {"2020", {2020, 1, 1}, DateResolution::kYear},
      {"2020-01", {2020, 1, 1}, DateResolution::kMonth},
      {"2020-01-31", {2020, 1, 31}, DateResolution::kDay},
      {"2020-01-31T06", {2020, 1, 31, 6}, DateResolution::kHour},
      {"2020-01-31T06:30", {2020, 1, 31, 6, 30}, DateResolution::kMinute},
      {"2020-01-31 06:30:00", {2020, 1, 31, 6, 30, 0}, DateResolution::kSecond},
      {"2020-01-31T06:30:05.25Z", {2020, 1, 31, 6, 30, 5, 250000}, DateResolution::kMicrosecond},
      {" 1-2-3 ", {1, 2, 3}, DateResolution::kDay},
      {"-0001-12-31", {-1, 12, 31}, DateResolution::kDay},
  };
  for (const auto& c : cases) {
    auto parsed = parse_datetime_with_resolution(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.error().to_string();
    EXPECT_EQ(parsed->value, c.date) << c.text;
    EXPECT_EQ(parsed->resolution, c.resolution) << c.text;
  }
  for (const char* bad : {"", "2020-13", "2020-01-32", "2020-01-31T24", "2020-01-31T06:60",
                          "2020/01/31", "2020-01-31T06:30:00+01:00", "yesterday", "2020-"}) {
    EXPECT_FALSE(parse_datetime(bad).ok()) << bad;
  }
}

TEST(DateText, FormatsLikeCftimeIsoformat) {
  EXPECT_EQ(format_datetime(DateTime{2020, 1, 31, 6}), "2020-01-31T06:00:00");
  EXPECT_EQ(format_datetime(DateTime{12, 1, 1, 5, 6, 7, 12}), "0012-01-01T05:06:07.000012");
  EXPECT_EQ(format_datetime(DateTime{-1, 12, 31}), "-0001-12-31T00:00:00");
}

TEST(DateText, NextPeriodStartFollowsTheCalendar) {
  auto next = [](const char* text, Calendar calendar) {
    auto parsed = parse_datetime_with_resolution(text);
    EXPECT_TRUE(parsed.ok());
    auto result = next_period_start(*parsed, calendar);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().to_string());
    return result.ok() ? format_datetime(*result) : std::string();
  };
  EXPECT_EQ(next("2020-01", Calendar::kStandard), "2020-02-01T00:00:00");
  EXPECT_EQ(next("2020-12", Calendar::kStandard), "2021-01-01T00:00:00");
  EXPECT_EQ(next("2020", Calendar::kNoLeap), "2021-01-01T00:00:00");
  EXPECT_EQ(next("-1", Calendar::kJulian), "0001-01-01T00:00:00");
  EXPECT_EQ(next("2020-02-28", Calendar::kNoLeap), "2020-03-01T00:00:00");
  EXPECT_EQ(next("2020-02-28", Calendar::kStandard), "2020-02-29T00:00:00");
  EXPECT_EQ(next("2020-02-30", Calendar::k360Day), "2020-03-01T00:00:00");
  EXPECT_EQ(next("1582-10-04", Calendar::kStandard), "1582-10-15T00:00:00");
  EXPECT_EQ(next("2020-01-31T23", Calendar::kStandard), "2020-02-01T00:00:00");
  EXPECT_EQ(next("2020-01-31T06:59", Calendar::kStandard), "2020-01-31T07:00:00");
}

}  // namespace
}  // namespace floe::virt
