// Tests of harmonize_times and describe_time. Expected units and values were derived by running
// cftime 1.6.6 (the project's .venv): each value is cftime.date2num(cftime.num2date(value,
// file_units, calendar), common_units, calendar), and a unit counts as exact when that number is
// whole (integer storage) or num2date gives the same date back (float storage).
#include "floe/virtual/time_harmonize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace floe::virt {
namespace {

using Values = std::vector<std::vector<double>>;

FileTimes file(std::string source, std::string units, std::string calendar,
               std::vector<double> values) {
  return FileTimes{std::move(source), std::move(units), std::move(calendar), std::move(values)};
}

HarmonizedTimes harmonize_ok(const std::vector<FileTimes>& files, bool integer_storage) {
  auto result = harmonize_times(files, integer_storage);
  EXPECT_TRUE(result.ok()) << result.error().to_string();
  return result.ok() ? *result : HarmonizedTimes{};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HarmonizeTimes, DaysSinceALaterReferenceAreExactInTheFirstFilesHours) {
  const auto result =
      harmonize_ok({file("a.nc", "hours since 1979-01-01", "standard", {0, 6, 12, 18}),
                    file("b.nc", "days since 1980-01-01", "gregorian", {0, 0.25, 0.5})},
                   /*integer_storage=*/true);
  EXPECT_EQ(result.units, "hours since 1979-01-01");
  EXPECT_EQ(result.calendar, "standard");
  EXPECT_TRUE(result.integral);
  EXPECT_EQ(result.values, (Values{{0, 6, 12, 18}, {8760, 8766, 8772}}));
}

TEST(HarmonizeTimes, MonthlyFilesWithTheirOwnReferenceDatesFormOneDailyAxis) {
  const std::vector<int> month_lengths = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::vector<FileTimes> files;
  for (int month = 1; month <= 12; ++month) {
    std::vector<double> days(static_cast<std::size_t>(month_lengths[month - 1]));
    std::iota(days.begin(), days.end(), 0.0);
    files.push_back(file(fmt::format("2001-{:02d}.nc", month),
                         fmt::format("days since 2001-{:02d}-01 00:00:00", month), "standard",
                         std::move(days)));
  }
  const auto result = harmonize_ok(files, /*integer_storage=*/true);
  EXPECT_EQ(result.units, "days since 2001-01-01 00:00:00");
  ASSERT_EQ(result.values.size(), 12U);
  // cftime: the 365 days of 2001 are 0..364 in days since 2001-01-01.
  std::vector<double> expected(365);
  std::iota(expected.begin(), expected.end(), 0.0);
  std::vector<double> combined;
  for (const auto& month : result.values)
    combined.insert(combined.end(), month.begin(), month.end());
  EXPECT_EQ(combined, expected);
}

TEST(HarmonizeTimes, MonthlyHourlyFilesKeepFractionsInFloatStorage) {
  std::vector<FileTimes> files;
  for (int month = 1; month <= 3; ++month) {
    files.push_back(file(fmt::format("m{}.nc", month),
                         fmt::format("hours since 2001-{:02d}-01", month), "proleptic_gregorian",
                         {0, 6.5}));
  }
  const auto result = harmonize_ok(files, /*integer_storage=*/false);
  EXPECT_EQ(result.units, "hours since 2001-01-01");
  EXPECT_EQ(result.calendar, "proleptic_gregorian");
  EXPECT_FALSE(result.integral);
  EXPECT_EQ(result.values, (Values{{0, 6.5}, {744, 750.5}, {1416, 1422.5}}));
}

TEST(HarmonizeTimes, NoleapFilesNeverPassThroughFebruary29) {
  const std::vector<FileTimes> noleap = {
      file("jan-feb.nc", "hours since 2000-02-28", "noleap", {0, 24}),
      file("mar.nc", "days since 2000-03-01", "365_day", {0})};
  const auto result = harmonize_ok(noleap, /*integer_storage=*/true);
  EXPECT_EQ(result.units, "hours since 2000-02-28");
  EXPECT_EQ(result.calendar, "noleap");
  // 24 hours after 2000-02-28 is March 1 in noleap (cftime), 48 in the standard calendar.
  EXPECT_EQ(result.values, (Values{{0, 24}, {24}}));
  EXPECT_EQ(*describe_time(result.units, result.calendar, 24), "2000-03-01T00:00:00");

  const auto standard =
      harmonize_ok({file("jan-feb.nc", "hours since 2000-02-28", "standard", {0, 24}),
                    file("mar.nc", "days since 2000-03-01", "standard", {0})},
                   /*integer_storage=*/true);
  EXPECT_EQ(standard.values, (Values{{0, 24}, {48}}));

  // A year of 6-hourly noleap values never names February 29 (cftime agrees).
  std::vector<double> hours;
  for (int hour = 0; hour < 365 * 24; hour += 6) hours.push_back(hour);
  const auto year = harmonize_ok({file("a.nc", "hours since 2000-01-01", "noleap", {0}),
                                  file("b.nc", "days since 2000-01-01", "noleap", {0.25}),
                                  file("c.nc", "hours since 2000-01-01 06:00", "noleap", hours)},
                                 /*integer_storage=*/true);
  for (double value : year.values[2]) {
    const auto date = describe_time(year.units, year.calendar, value);
    ASSERT_TRUE(date.ok());
    EXPECT_FALSE(contains(*date, "-02-29")) << *date;
  }
}

TEST(HarmonizeTimes, ThreeHundredSixtyDayCalendar) {
  const std::vector<FileTimes> files = {
      file("jan.nc", "days since 2000-01-01", "360_day", {0, 29}),
      file("feb.nc", "hours since 2000-02-01", "360_day", {0, 12}),
      file("mar.nc", "months since 2000-03-01", "360_day", {0})};
  const auto floats = harmonize_ok(files, /*integer_storage=*/false);
  EXPECT_EQ(floats.units, "days since 2000-01-01");
  EXPECT_EQ(floats.calendar, "360_day");
  EXPECT_FALSE(floats.integral);
  EXPECT_EQ(floats.values, (Values{{0, 29}, {30, 30.5}, {60}}));

  const auto integers = harmonize_ok(files, /*integer_storage=*/true);
  EXPECT_EQ(integers.units, "hours since 2000-01-01 00:00:00");
  EXPECT_TRUE(integers.integral);
  EXPECT_EQ(integers.values, (Values{{0, 696}, {720, 732}, {1440}}));
  EXPECT_EQ(*describe_time("days since 2000-02-30", "360_day", 1.5), "2000-03-01T12:00:00");
}

TEST(HarmonizeTimes, DifferentCalendarsAreRefusedNamingBothFilesAndCalendars) {
  auto mismatch = harmonize_times({file("era5_2000.nc", "days since 2000-01-01", "standard", {0}),
                                   file("model_2001.nc", "days since 2001-01-01", "noleap", {0})},
                                  false);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kInvalidArgument);
  const std::string message = mismatch.error().to_string();
  EXPECT_TRUE(contains(message, "era5_2000.nc")) << message;
  EXPECT_TRUE(contains(message, "model_2001.nc")) << message;
  EXPECT_TRUE(contains(message, "'standard'")) << message;
  EXPECT_TRUE(contains(message, "'noleap'")) << message;

  auto unnamed = harmonize_times({file("a.nc", "days since 2000-01-01", "", {0}),
                                  file("b.nc", "days since 2000-01-01", "360_day", {0})},
                                 false);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_TRUE(contains(unnamed.error().to_string(), "none (standard)"))
      << unnamed.error().to_string();

  // Spellings of one calendar combine; the first file's spelling is kept.
  const auto same = harmonize_ok({file("a.nc", "days since 2000-01-01", "gregorian", {0}),
                                  file("b.nc", "days since 2000-02-01", "Standard", {0}),
                                  file("c.nc", "days since 2000-03-01", "", {0})},
                                 false);
  EXPECT_EQ(same.calendar, "gregorian");
  EXPECT_EQ(same.values, (Values{{0}, {31}, {60}}));
  EXPECT_TRUE(harmonize_times({file("a.nc", "days since 2000-01-01", "365_day", {0}),
                               file("b.nc", "days since 2000-02-01", "noleap", {0})},
                              false)
                  .ok());
  EXPECT_TRUE(harmonize_times({file("a.nc", "days since 2000-01-01", "all_leap", {0}),
                               file("b.nc", "days since 2000-02-01", "366_day", {0})},
                              false)
                  .ok());
}

TEST(HarmonizeTimes, ASecondsOffsetNeedsSecondsInIntegerStorage) {
  const std::vector<FileTimes> files = {
      file("a.nc", "hours since 2000-01-01", "standard", {0, 1}),
      file("b.nc", "seconds since 2000-01-01 02:00:00", "standard", {0, 90})};
  const auto integers = harmonize_ok(files, /*integer_storage=*/true);
  EXPECT_EQ(integers.units, "seconds since 2000-01-01 00:00:00");
  EXPECT_EQ(integers.values, (Values{{0, 3600}, {7200, 7290}}));
  // As doubles the first file's hours hold 2.025 hours exactly enough to decode to 02:01:30.
  const auto floats = harmonize_ok(files, /*integer_storage=*/false);
  EXPECT_EQ(floats.units, "hours since 2000-01-01");
  EXPECT_EQ(floats.values, (Values{{0, 1}, {2, 2.025}}));
  EXPECT_EQ(*describe_time(floats.units, floats.calendar, 2.025), "2000-01-01T02:01:30");
}

TEST(HarmonizeTimes, IntegerStorageForcesAFinerUnitThanTheFirstFiles) {
  const std::vector<FileTimes> files = {file("a.nc", "days since 2000-01-01", "standard", {0, 1}),
                                        file("b.nc", "hours since 2000-01-03", "standard", {0, 6})};
  const auto integers = harmonize_ok(files, /*integer_storage=*/true);
  EXPECT_EQ(integers.units, "hours since 2000-01-01 00:00:00");
  EXPECT_TRUE(integers.integral);
  EXPECT_EQ(integers.values, (Values{{0, 24}, {48, 54}}));
  const auto floats = harmonize_ok(files, /*integer_storage=*/false);
  EXPECT_EQ(floats.units, "days since 2000-01-01");
  EXPECT_FALSE(floats.integral);
  EXPECT_EQ(floats.values, (Values{{0, 1}, {2, 2.25}}));
}

TEST(HarmonizeTimes, TheReferenceIsTheEarliestFilesAndMicrosecondsAreTheLastResort) {
  // b.nc starts before a.nc, so its reference date (at midnight) anchors the finer unit.
  const auto earliest = harmonize_ok({file("a.nc", "days since 2000-01-10", "standard", {0}),
                                      file("b.nc", "hours since 1999-12-31", "standard", {6, 30})},
                                     /*integer_storage=*/true);
  EXPECT_EQ(earliest.units, "hours since 1999-12-31 00:00:00");
  EXPECT_EQ(earliest.values, (Values{{240}, {6, 30}}));

  // One microsecond past a whole second: cftime's decoding of seconds (and of days and hours here)
  // snaps it back to the second, but minutes keep it.
  const std::vector<FileTimes> micro = {
      file("a.nc", "seconds since 2000-01-01", "standard", {0}),
      file("b.nc", "microseconds since 2000-01-01 00:00:01", "standard", {1})};
  const auto floats = harmonize_ok(micro, /*integer_storage=*/false);
  EXPECT_EQ(floats.units, "minutes since 2000-01-01 00:00:00");
  EXPECT_EQ(floats.values, (Values{{0}, {0.016666683333333335}}));
  const auto integers = harmonize_ok(micro, /*integer_storage=*/true);
  EXPECT_EQ(integers.units, "microseconds since 2000-01-01 00:00:00");
  EXPECT_EQ(integers.values, (Values{{0}, {1000001}}));

  // 300 years in microseconds is beyond 2^53: no unit holds b.nc's value as a whole number.
  auto too_far = harmonize_times({file("a.nc", "days since 1700-01-01", "standard", {0}),
                                  file("b.nc", "microseconds since 2000-01-01", "standard", {1})},
                                 /*integer_storage=*/true);
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.error().code(), ErrorCode::kUnsupported);
  EXPECT_TRUE(contains(too_far.error().to_string(), "b.nc")) << too_far.error().to_string();
  EXPECT_TRUE(contains(too_far.error().to_string(), "2000-01-01T00:00:00.000001"))
      << too_far.error().to_string();
}

TEST(HarmonizeTimes, UtcOffsetsInReferenceDatesAreApplied) {
  // cftime: 2000-01-01 00:00 UTC is 6 hours after 2000-01-01 00:00 +06:00.
  const auto result =
      harmonize_ok({file("a.nc", "hours since 2000-01-01 00:00:00 +06:00", "", {0, 6}),
                    file("b.nc", "hours since 2000-01-01", "", {0})},
                   /*integer_storage=*/true);
  EXPECT_EQ(result.units, "hours since 2000-01-01 00:00:00 +06:00");
  EXPECT_EQ(result.calendar, "");
  EXPECT_EQ(result.values, (Values{{0, 6}, {6}}));
}

TEST(HarmonizeTimes, SharedUnitsAreReturnedUntouchedWithoutDecoding) {
  // Values no decoding accepts (NaN, a date beyond year 100000) come back as they are, so nothing
  // was decoded; a second calendar spelling does not leave the fast path.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto result = harmonize_times({file("a.nc", "days since 2000-01-01", "standard", {0, 1e300}),
                                 file("b.nc", "days since 2000-01-01", "gregorian", {nan, 2.5})},
                                /*integer_storage=*/false);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->units, "days since 2000-01-01");
  EXPECT_FALSE(result->integral);
  ASSERT_EQ(result->values.size(), 2U);
  EXPECT_EQ(result->values[0], (std::vector<double>{0, 1e300}));
  EXPECT_TRUE(std::isnan(result->values[1][0]));
  EXPECT_EQ(result->values[1][1], 2.5);

  const auto whole = harmonize_ok({file("a.nc", "days since 2000-01-01", "", {0, 1}),
                                   file("b.nc", "days since 2000-01-01", "", {1e15})},
                                  /*integer_storage=*/true);
  EXPECT_EQ(whole.values, (Values{{0, 1}, {1e15}}));
  EXPECT_TRUE(whole.integral);

  // Shared units still have to parse.
  auto bad = harmonize_times({file("a.nc", "fortnights since 2000-01-01", "", {0}),
                              file("b.nc", "fortnights since 2000-01-01", "", {1})},
                             false);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error().to_string(), "a.nc")) << bad.error().to_string();
}

TEST(HarmonizeTimes, ErrorsNameTheFile) {
  auto units = harmonize_times({file("a.nc", "days since 2000-01-01", "", {0}),
                                file("b.nc", "days after 2000-01-01", "", {0})},
                               false);
  ASSERT_FALSE(units.ok());
  EXPECT_TRUE(contains(units.error().to_string(), "b.nc")) << units.error().to_string();
  EXPECT_TRUE(contains(units.error().to_string(), "'days after 2000-01-01'"))
      << units.error().to_string();

  auto calendar = harmonize_times({file("a.nc", "days since 2000-01-01", "", {0}),
                                   file("b.nc", "days since 2000-01-01", "tai", {0})},
                                  false);
  ASSERT_FALSE(calendar.ok());
  EXPECT_TRUE(contains(calendar.error().to_string(), "b.nc")) << calendar.error().to_string();

  auto not_a_date = harmonize_times(
      {file("a.nc", "days since 2000-01-01", "", {0}),
       file("b.nc", "hours since 2000-02-01", "", {0, std::numeric_limits<double>::quiet_NaN()})},
      false);
  ASSERT_FALSE(not_a_date.ok());
  EXPECT_TRUE(contains(not_a_date.error().to_string(), "b.nc")) << not_a_date.error().to_string();
  EXPECT_TRUE(contains(not_a_date.error().to_string(), "index 1"))
      << not_a_date.error().to_string();

  EXPECT_FALSE(harmonize_times({}, false).ok());
}

TEST(DescribeTime, GivesIsoDatesForMessages) {
  EXPECT_EQ(*describe_time("days since 2000-01-01", "standard", 60), "2000-03-01T00:00:00");
  EXPECT_EQ(*describe_time("days since 2000-01-01", "noleap", 59), "2000-03-01T00:00:00");
  EXPECT_FALSE(describe_time("days since 2000-01-01", "standard", std::nan("")).ok());
  EXPECT_FALSE(describe_time("years since 2000-01-01", "standard", 1).ok());
}

}  // namespace
}  // namespace floe::virt
