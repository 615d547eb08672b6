// CF time: "UNIT since DATE" units, the CF calendars, and dates <-> numbers with cftime's
// semantics.
//
// Follows cftime 1.6 (num2date/date2num), the reference implementation of CF §4.4:
//  - units: microseconds, milliseconds, seconds, minutes, hours, days (and cftime's abbreviations);
//    "months" only with 360_day (30 days), "common_years" only with noleap/365_day (365 days);
//    "years" and months in real-world calendars have no fixed length and are refused. "nanoseconds"
//    (written by xarray for datetime64[ns] data) is accepted too.
//  - calendars: standard/gregorian (Julian before 1582-10-15, Gregorian from then on;
//    1582-10-05..14 do not exist), proleptic_gregorian, julian, noleap/365_day, all_leap/366_day,
//    360_day. No calendar attribute means standard.
//  - years: standard and julian have no year 0 (year -1 precedes year 1), the others count
//    astronomically (year 0 exists), as cftime's has_year_zero defaults.
//  - decoding rounds to whole microseconds like cftime (np.rint of value x factor in long double,
//    with its fix-up of values 1 microsecond off a whole second for units of a second or longer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "floe/core/result.h"

namespace floe::virt {

enum class Calendar { kStandard, kProlepticGregorian, kJulian, kNoLeap, kAllLeap, k360Day };

// A date and time of day as the calendar labels it (no time zone: UTC).
struct DateTime {
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int microsecond = 0;

  friend bool operator==(const DateTime&, const DateTime&) = default;
  friend auto operator<=>(const DateTime&, const DateTime&) = default;
};

// The last field a date string spelled out: "2020-01" is a month, "2020-01-31T06" an hour.
enum class DateResolution { kYear, kMonth, kDay, kHour, kMinute, kSecond, kMicrosecond };

struct ParsedDateTime {
  DateTime value;  // the start of the period the string names
  DateResolution resolution = DateResolution::kSecond;
};

struct CfTimeUnits {
  std::int64_t nanoseconds_per_unit = 86'400'000'000'000;  // one day
  DateTime reference;                                      // "since" date, shifted to UTC
  Calendar calendar = Calendar::kStandard;
  std::int64_t reference_microseconds =
      0;  // the reference as microseconds since 1970-01-01 (calendar's)

  double seconds_per_unit() const { return static_cast<double>(nanoseconds_per_unit) * 1e-9; }
};

// "standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap",
// "366_day", "360_day" (any case); empty means standard.
Result<Calendar> parse_calendar(std::string_view name);
// The CF name: "standard", "proleptic_gregorian", "julian", "noleap", "all_leap", "360_day".
std::string_view calendar_name(Calendar calendar);

// "days since 1900-01-01", "hours since 1979-01-01 00:00:00", "seconds since 1970-01-01T00:00:00Z",
// "minutes since 2000-01-01 12:00:00.5 +06:00" (the offset is subtracted, as cftime does).
Result<CfTimeUnits> parse_time_units(std::string_view units, std::string_view calendar);

// The date as a value in `units` (date2num): exact when the interval is a whole number of units,
// otherwise the correctly rounded quotient. Errors name dates that do not exist in the calendar.
Result<double> encode_time(const CfTimeUnits& units, const DateTime& date);
// The value as a date (num2date). Errors for NaN, infinities and dates beyond year +-100000.
Result<DateTime> decode_time(const CfTimeUnits& units, double value);
// The same two conversions on microseconds since 1970-01-01T00:00:00 of the units' calendar (see
// to_microseconds), without building a DateTime: encode_time_microseconds cannot fail.
double encode_time_microseconds(const CfTimeUnits& units, std::int64_t microseconds);
Result<std::int64_t> decode_time_microseconds(const CfTimeUnits& units, double value);

// "2020", "2020-01", "2020-01-31", "2020-01-31T06", "2020-01-31T06:30", "2020-01-31 06:30:00",
// "2020-01-31T06:30:00.25" and a trailing "Z". Months and days may have one digit; years may be
// negative. Checks field ranges only: whether the day exists depends on the calendar (check_date).
Result<DateTime> parse_datetime(std::string_view text);
Result<ParsedDateTime> parse_datetime_with_resolution(std::string_view text);

// ISO 8601 as cftime's isoformat() prints it: "2020-01-31T06:00:00", "0001-01-01T00:00:00.500000",
// "-0001-12-31T00:00:00".
std::string format_datetime(const DateTime& date);

// An error naming the date and the calendar when the date does not exist in it (Feb 30 in standard,
// Feb 29 in noleap, 1582-10-10 in standard, year 0 in julian).
Status check_date(const DateTime& date, Calendar calendar);
// Microseconds since 1970-01-01T00:00:00 of the calendar, and back.
Result<std::int64_t> to_microseconds(const DateTime& date, Calendar calendar);
DateTime from_microseconds(std::int64_t microseconds, Calendar calendar);
// The first instant after the period that `parsed` names: 2020-02-01 for "2020-01", 2020-01-31T07
// for "2020-01-31T06" (pandas' partial-string bounds).
Result<DateTime> next_period_start(const ParsedDateTime& parsed, Calendar calendar);

}  // namespace floe::virt
