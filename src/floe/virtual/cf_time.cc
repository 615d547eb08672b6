// CF time units, calendars and date arithmetic with cftime's semantics (see cf_time.h).
#include "floe/virtual/cf_time.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

namespace floe::virt {
namespace {

constexpr std::int64_t kMicrosecondsPerSecond = 1'000'000;
constexpr std::int64_t kMicrosecondsPerDay = 86'400 * kMicrosecondsPerSecond;
constexpr std::int64_t kNanosecondsPerMicrosecond = 1'000;
// Keeps every date's microsecond count (and differences of two) inside int64.
constexpr int kMaxAbsYear = 100'000;

constexpr std::array<int, 13> kCumulativeDays = {0,   31,  59,  90,  120, 151, 181,
                                                 212, 243, 273, 304, 334, 365};
constexpr std::array<int, 13> kCumulativeDaysLeap = {0,   31,  60,  91,  121, 152, 182,
                                                     213, 244, 274, 305, 335, 366};
constexpr std::array<const char*, 12> kMonthNames = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t quotient = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// Standard and julian number years historically (no year 0); the day arithmetic is astronomical.
bool has_year_zero(Calendar calendar) {
  return calendar != Calendar::kStandard && calendar != Calendar::kJulian;
}
std::int64_t astronomical_year(std::int64_t year, Calendar calendar) {
  return (!has_year_zero(calendar) && year < 0) ? year + 1 : year;
}
std::int64_t labelled_year(std::int64_t astronomical, Calendar calendar) {
  return (!has_year_zero(calendar) && astronomical <= 0) ? astronomical - 1 : astronomical;
}

constexpr bool gregorian_leap(std::int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}
constexpr bool julian_leap(std::int64_t year) { return year % 4 == 0; }

// Days since 1970-01-01 of the proleptic Gregorian calendar (H. Hinnant's days_from_civil),
// astronomical years.
constexpr std::int64_t gregorian_days(std::int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(year, 400);
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
  std::int64_t year;  // astronomical
  int month;
  int day;
};

CivilDate gregorian_date(std::int64_t days) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const std::int64_t day_of_era = days - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const int month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// Julian 0000-03-01 is Gregorian 0000-02-28, two days before Gregorian 0000-03-01 (day -719468).
constexpr std::int64_t kJulianEraOffset = 719470;

// Days since Gregorian 1970-01-01 of a Julian calendar date (astronomical years): one day line with
// gregorian_days, so Julian 1582-10-04 is the day before Gregorian 1582-10-15.
std::int64_t julian_days(std::int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(year, 4);
  const std::int64_t year_of_era = year - era * 4;
  const std::int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  return era * 1461 + year_of_era * 365 + day_of_year - kJulianEraOffset;
}

CivilDate julian_date(std::int64_t days) {
  days += kJulianEraOffset;
  const std::int64_t era = floor_div(days, 1461);
  const std::int64_t day_of_era = days - era * 1461;
  const std::int64_t year_of_era = (day_of_era - day_of_era / 1460) / 365;
  const std::int64_t day_of_year = day_of_era - 365 * year_of_era;
  const std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const int month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  return {year_of_era + era * 4 + (month <= 2 ? 1 : 0), month, day};
}

constexpr std::int64_t kFirstGregorianDay = gregorian_days(1582, 10, 15);

bool before_gregorian_switch(std::int64_t year, int month, int day) {
  return year < 1582 || (year == 1582 && (month < 10 || (month == 10 && day < 15)));
}

// Days in a fixed-length year calendar: noleap, all_leap, 360_day.
int fixed_year_length(Calendar calendar) {
  return calendar == Calendar::kNoLeap ? 365 : calendar == Calendar::kAllLeap ? 366 : 360;
}

std::int64_t fixed_calendar_days_since_year_zero(Calendar calendar, std::int64_t year, int month,
                                                 int day) {
  const std::int64_t start_of_year = year * fixed_year_length(calendar);
  if (calendar == Calendar::k360Day) return start_of_year + (month - 1) * 30 + day - 1;
  const auto& cumulative = calendar == Calendar::kAllLeap ? kCumulativeDaysLeap : kCumulativeDays;
  return start_of_year + cumulative[month - 1] + day - 1;
}

// Days since 1970-01-01 of the calendar for a date already checked to exist.
std::int64_t day_number(Calendar calendar, std::int64_t year, int month, int day) {
  switch (calendar) {
    case Calendar::kProlepticGregorian:
      return gregorian_days(year, month, day);
    case Calendar::kJulian:
      return julian_days(astronomical_year(year, calendar), month, day);
    case Calendar::kStandard:
      return before_gregorian_switch(year, month, day)
                 ? julian_days(astronomical_year(year, calendar), month, day)
                 : gregorian_days(year, month, day);
    case Calendar::kNoLeap:
    case Calendar::kAllLeap:
    case Calendar::k360Day:
      return fixed_calendar_days_since_year_zero(calendar, year, month, day) -
             fixed_calendar_days_since_year_zero(calendar, 1970, 1, 1);
  }
  return 0;
}

CivilDate date_of_day(Calendar calendar, std::int64_t days) {
  switch (calendar) {
    case Calendar::kProlepticGregorian:
      return gregorian_date(days);
    case Calendar::kJulian: {
      CivilDate date = julian_date(days);
      date.year = labelled_year(date.year, calendar);
      return date;
    }
    case Calendar::kStandard: {
      if (days >= kFirstGregorianDay) return gregorian_date(days);
      CivilDate date = julian_date(days);
      date.year = labelled_year(date.year, calendar);
      return date;
    }
    case Calendar::kNoLeap:
    case Calendar::kAllLeap:
    case Calendar::k360Day: {
      const int length = fixed_year_length(calendar);
      const std::int64_t since_year_zero =
          days + fixed_calendar_days_since_year_zero(calendar, 1970, 1, 1);
      const std::int64_t year = floor_div(since_year_zero, length);
      const int day_of_year = static_cast<int>(since_year_zero - year * length);
      if (calendar == Calendar::k360Day) return {year, day_of_year / 30 + 1, day_of_year % 30 + 1};
      const auto& cumulative =
          calendar == Calendar::kAllLeap ? kCumulativeDaysLeap : kCumulativeDays;
      int month = 1;
      while (cumulative[month] <= day_of_year) ++month;
      return {year, month, day_of_year - cumulative[month - 1] + 1};
    }
  }
  return {1970, 1, 1};
}

int days_in_month(Calendar calendar, std::int64_t year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (calendar == Calendar::k360Day) return 30;
  if (month != 2) return kDays[month - 1];
  switch (calendar) {
    case Calendar::kNoLeap:
      return 28;
    case Calendar::kAllLeap:
      return 29;
    case Calendar::kProlepticGregorian:
      return gregorian_leap(year) ? 29 : 28;
    case Calendar::kJulian:
      return julian_leap(astronomical_year(year, calendar)) ? 29 : 28;
    case Calendar::kStandard:
      if (year <= 1582) return julian_leap(astronomical_year(year, calendar)) ? 29 : 28;
      return gregorian_leap(year) ? 29 : 28;
    case Calendar::k360Day:
      break;
  }
  return 30;
}

std::int64_t time_of_day_microseconds(const DateTime& date) {
  return ((std::int64_t{date.hour} * 60 + date.minute) * 60 + date.second) *
             kMicrosecondsPerSecond +
         date.microsecond;
}

// --- text ---------------------------------------------------------------------------------------

// A cursor over date text; every read either consumes what it matched or nothing.
class DateScanner {
 public:
  explicit DateScanner(std::string_view text) : text_(text) {}

  bool at_end() const { return position_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[position_]; }
  std::string_view rest() const { return text_.substr(position_); }
  std::size_t position() const { return position_; }

  bool consume(char c) {
    if (peek() != c) return false;
    ++position_;
    return true;
  }
  bool consume_any_of(std::string_view chars) {
    if (at_end() || chars.find(peek()) == std::string_view::npos) return false;
    ++position_;
    return true;
  }
  // Between min_digits and max_digits decimal digits.
  std::optional<std::int64_t> digits(std::size_t min_digits, std::size_t max_digits) {
    std::size_t end = position_;
    std::int64_t value = 0;
    while (end < text_.size() && end - position_ < max_digits &&
           std::isdigit(static_cast<unsigned char>(text_[end]))) {
      value = value * 10 + (text_[end] - '0');
      ++end;
    }
    if (end - position_ < min_digits) return std::nullopt;
    position_ = end;
    return value;
  }
  // cftime's fraction: int(float("0." + digits) * 1e6), i.e. truncated after a double multiply.
  std::optional<int> fraction_microseconds() {
    std::size_t end = position_;
    while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
    if (end == position_) return std::nullopt;
    const std::string decimal = "0." + std::string(text_.substr(position_, end - position_));
    position_ = end;
    return static_cast<int>(std::strtod(decimal.c_str(), nullptr) * 1e6);
  }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
};

constexpr std::size_t kMaxYearDigits = 6;

Error bad_date(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument,
                    "cannot read date '{}': {} (expected YYYY-MM-DD, optionally followed by "
                    "THH, THH:MM or THH:MM:SS[.ffffff], e.g. 2020-01-31T06:00)",
                    text, why);
}

Status check_time_of_day(const DateTime& date, std::string_view text) {
  if (date.hour > 23) return bad_date(text, fmt::format("hour {} is not 0..23", date.hour));
  if (date.minute > 59) return bad_date(text, fmt::format("minute {} is not 0..59", date.minute));
  if (date.second > 59) return bad_date(text, fmt::format("second {} is not 0..59", date.second));
  return ok_status();
}

// The part of a date after the day: [sep]HH[:MM[:SS[.ffffff]]], recording the resolution reached.
void scan_time_of_day(DateScanner& scanner, DateTime& date, DateResolution& resolution,
                      std::string_view separators) {
  DateScanner attempt = scanner;
  if (!attempt.consume_any_of(separators)) return;
  const auto hour = attempt.digits(1, 2);
  if (!hour) return;
  date.hour = static_cast<int>(*hour);
  resolution = DateResolution::kHour;
  scanner = attempt;
  if (!attempt.consume(':')) return;
  const auto minute = attempt.digits(1, 2);
  if (!minute) return;
  date.minute = static_cast<int>(*minute);
  resolution = DateResolution::kMinute;
  scanner = attempt;
  if (!attempt.consume(':')) return;
  const auto second = attempt.digits(1, 2);
  if (!second) return;
  date.second = static_cast<int>(*second);
  resolution = DateResolution::kSecond;
  scanner = attempt;
  if (!attempt.consume('.')) return;
  const auto fraction = attempt.fraction_microseconds();
  if (!fraction) return;
  date.microsecond = *fraction;
  resolution = DateResolution::kMicrosecond;
  scanner = attempt;
}

std::optional<std::int64_t> scan_year(DateScanner& scanner) {
  const bool negative = scanner.consume('-');
  if (!negative) (void)scanner.consume('+');
  const auto year = scanner.digits(1, kMaxYearDigits);
  if (!year) return std::nullopt;
  return negative ? -*year : *year;
}

struct ReferenceDate {
  DateTime date;
  int utc_offset_minutes = 0;
};

// The date after "since", as cftime's ISO8601_REGEX reads it: YYYY-M[M]-D[D], then optionally a
// separator and H[H][:M[M][:S[S][.f...]]], then optionally a zone "Z", "+HH", "+HHMM" or "+HH:MM".
// Unlike cftime, text left over after that is an error (except a "UTC" or "GMT" label), so an
// unreadable offset is not silently taken as UTC.
Result<ReferenceDate> parse_reference_date(std::string_view text) {
  DateScanner scanner(text);
  ReferenceDate reference;
  DateResolution resolution = DateResolution::kDay;
  const auto year = scan_year(scanner);
  if (!year || !scanner.consume('-')) return bad_date(text, "no year-month-day");
  const auto month = scanner.digits(1, 2);
  if (!month || !scanner.consume('-')) return bad_date(text, "no month");
  const auto day = scanner.digits(1, 2);
  if (!day) return bad_date(text, "no day");
  reference.date.year = static_cast<int>(*year);
  reference.date.month = static_cast<int>(*month);
  reference.date.day = static_cast<int>(*day);
  scan_time_of_day(scanner, reference.date, resolution, " Tt");
  FLOE_RETURN_IF_ERROR(check_time_of_day(reference.date, text));

  DateScanner zone = scanner;
  (void)zone.consume(' ');
  if (zone.consume('Z') || zone.consume('z')) {
    scanner = zone;
  } else if (zone.peek() == '+' || zone.peek() == '-') {
    const bool negative = zone.peek() == '-';
    (void)zone.consume_any_of("+-");
    const auto hours = zone.digits(2, 2);
    if (hours) {
      std::int64_t minutes = 0;
      DateScanner with_colon = zone;
      if (with_colon.consume(':')) {
        if (const auto m = with_colon.digits(2, 2)) {
          minutes = *m;
          zone = with_colon;
        }
      } else if (const auto m = zone.digits(2, 2)) {
        minutes = *m;
      }
      reference.utc_offset_minutes =
          static_cast<int>((negative ? -1 : 1) * (*hours * 60 + minutes));
      scanner = zone;
    }
  }
  const std::string left = lower(trim(scanner.rest()));
  if (!left.empty() && left != "utc" && left != "gmt") {
    return bad_date(text,
                    fmt::format("unrecognized text '{}' after the date", trim(scanner.rest())));
  }
  return reference;
}

struct UnitName {
  std::string_view name;
  std::int64_t nanoseconds;
};

constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;
constexpr std::int64_t kNanosecondsPerDay = 86'400 * kNanosecondsPerSecond;

// cftime's unit names (UNIT_CONVERSION_FACTORS) plus nanoseconds.
constexpr UnitName kUnitNames[] = {
    {"nanoseconds", 1},
    {"nanosecond", 1},
    {"nanosec", 1},
    {"nanosecs", 1},
    {"ns", 1},
    {"microseconds", 1'000},
    {"microsecond", 1'000},
    {"microsec", 1'000},
    {"microsecs", 1'000},
    {"milliseconds", 1'000'000},
    {"millisecond", 1'000'000},
    {"millisec", 1'000'000},
    {"millisecs", 1'000'000},
    {"msec", 1'000'000},
    {"msecs", 1'000'000},
    {"ms", 1'000'000},
    {"seconds", kNanosecondsPerSecond},
    {"second", kNanosecondsPerSecond},
    {"sec", kNanosecondsPerSecond},
    {"secs", kNanosecondsPerSecond},
    {"s", kNanosecondsPerSecond},
    {"minutes", 60 * kNanosecondsPerSecond},
    {"minute", 60 * kNanosecondsPerSecond},
    {"min", 60 * kNanosecondsPerSecond},
    {"mins", 60 * kNanosecondsPerSecond},
    {"hours", 3600 * kNanosecondsPerSecond},
    {"hour", 3600 * kNanosecondsPerSecond},
    {"hr", 3600 * kNanosecondsPerSecond},
    {"hrs", 3600 * kNanosecondsPerSecond},
    {"h", 3600 * kNanosecondsPerSecond},
    {"days", kNanosecondsPerDay},
    {"day", kNanosecondsPerDay},
    {"d", kNanosecondsPerDay},
};

Result<std::int64_t> unit_nanoseconds(std::string_view unit, Calendar calendar,
                                      std::string_view units_text) {
  for (const auto& known : kUnitNames) {
    if (known.name == unit) return known.nanoseconds;
  }
  if (unit == "months" || unit == "month") {
    if (calendar == Calendar::k360Day) return 30 * kNanosecondsPerDay;
    return make_error(ErrorCode::kUnsupported,
                      "time units '{}': a month has no fixed length in the {} calendar; 'months "
                      "since' is only defined for the 360_day calendar (30 days), as in cftime",
                      units_text, calendar_name(calendar));
  }
  if (unit == "common_years" || unit == "common_year") {
    if (calendar == Calendar::kNoLeap) return 365 * kNanosecondsPerDay;
    return make_error(
        ErrorCode::kUnsupported,
        "time units '{}': 'common_years since' is only defined for the noleap/365_day "
        "calendar, as in cftime",
        units_text);
  }
  if (unit == "years" || unit == "year") {
    return make_error(ErrorCode::kUnsupported,
                      "time units '{}': a year has no fixed length ('years since' counts udunits "
                      "years of 365.242198781 days); cftime refuses it too. Use days, or 'months "
                      "since' with the 360_day calendar or 'common_years since' with noleap",
                      units_text);
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "time units '{}': unknown unit '{}' (expected nanoseconds, microseconds, "
                    "milliseconds, seconds, minutes, hours or days)",
                    units_text, unit);
}

// np.rint of a long double (ties to even under the default rounding mode).
std::int64_t round_to_integer(long double value) { return std::llrint(value); }

}  // namespace

Result<Calendar> parse_calendar(std::string_view name) {
  const std::string key = lower(trim(name));
  if (key.empty() || key == "standard" || key == "gregorian") return Calendar::kStandard;
  if (key == "proleptic_gregorian") return Calendar::kProlepticGregorian;
  if (key == "julian") return Calendar::kJulian;
  if (key == "noleap" || key == "365_day") return Calendar::kNoLeap;
  if (key == "all_leap" || key == "366_day") return Calendar::kAllLeap;
  if (key == "360_day") return Calendar::k360Day;
  return make_error(ErrorCode::kUnsupported,
                    "calendar '{}' is not supported (supported: standard, gregorian, "
                    "proleptic_gregorian, julian, noleap, 365_day, all_leap, 366_day, 360_day)",
                    name);
}

std::string_view calendar_name(Calendar calendar) {
  switch (calendar) {
    case Calendar::kStandard:
      return "standard";
    case Calendar::kProlepticGregorian:
      return "proleptic_gregorian";
    case Calendar::kJulian:
      return "julian";
    case Calendar::kNoLeap:
      return "noleap";
    case Calendar::kAllLeap:
      return "all_leap";
    case Calendar::k360Day:
      return "360_day";
  }
  return "standard";
}

Status check_date(const DateTime& date, Calendar calendar) {
  const std::string text = format_datetime(date);
  if (date.year > kMaxAbsYear || date.year < -kMaxAbsYear) {
    return make_error(ErrorCode::kInvalidArgument, "date {}: years beyond +-{} are not supported",
                      text, kMaxAbsYear);
  }
  if (date.year == 0 && !has_year_zero(calendar)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "date {} does not exist in the {} calendar: it has no year 0 (year -1 "
                      "precedes year 1)",
                      text, calendar_name(calendar));
  }
  if (date.month < 1 || date.month > 12) {
    return make_error(ErrorCode::kInvalidArgument, "date {}: month {} is not 1..12", text,
                      date.month);
  }
  const int length = days_in_month(calendar, date.year, date.month);
  if (date.day < 1 || date.day > length) {
    return make_error(ErrorCode::kInvalidArgument,
                      "date {} does not exist in the {} calendar ({} {} has {} days)", text,
                      calendar_name(calendar), kMonthNames[date.month - 1], date.year, length);
  }
  if (calendar == Calendar::kStandard && date.year == 1582 && date.month == 10 && date.day > 4 &&
      date.day < 15) {
    return make_error(ErrorCode::kInvalidArgument,
                      "date {} does not exist in the standard calendar: 1582-10-04 (Julian) is "
                      "followed by 1582-10-15 (Gregorian); use proleptic_gregorian or julian for "
                      "either calendar alone",
                      text);
  }
  if (date.hour < 0 || date.hour > 23 || date.minute < 0 || date.minute > 59 || date.second < 0 ||
      date.second > 59 || date.microsecond < 0 || date.microsecond > 999'999) {
    return make_error(ErrorCode::kInvalidArgument, "date {}: time of day out of range", text);
  }
  return ok_status();
}

Result<std::int64_t> to_microseconds(const DateTime& date, Calendar calendar) {
  FLOE_RETURN_IF_ERROR(check_date(date, calendar));
  return day_number(calendar, date.year, date.month, date.day) * kMicrosecondsPerDay +
         time_of_day_microseconds(date);
}

DateTime from_microseconds(std::int64_t microseconds, Calendar calendar) {
  const std::int64_t days = floor_div(microseconds, kMicrosecondsPerDay);
  std::int64_t rest = microseconds - days * kMicrosecondsPerDay;
  const CivilDate civil = date_of_day(calendar, days);
  DateTime date;
  date.year = static_cast<int>(civil.year);
  date.month = civil.month;
  date.day = civil.day;
  date.microsecond = static_cast<int>(rest % kMicrosecondsPerSecond);
  rest /= kMicrosecondsPerSecond;
  date.second = static_cast<int>(rest % 60);
  rest /= 60;
  date.minute = static_cast<int>(rest % 60);
  date.hour = static_cast<int>(rest / 60);
  return date;
}

Result<CfTimeUnits> parse_time_units(std::string_view units, std::string_view calendar_text) {
  auto fail = [&](Error error) {
    return std::move(error).add_context(
        fmt::format("reading time units '{}' (calendar '{}')", units, calendar_text));
  };
  auto calendar = parse_calendar(calendar_text);
  if (!calendar.ok()) return fail(std::move(calendar).error());

  // "UNIT since DATE", split on whitespace like cftime's _datesplit.
  std::string_view rest = trim(units);
  const std::size_t unit_end = rest.find_first_of(" \t");
  if (unit_end == std::string_view::npos) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "expected 'UNIT since DATE', e.g. 'days since 1900-01-01'"));
  }
  const std::string unit = lower(rest.substr(0, unit_end));
  rest = trim(rest.substr(unit_end));
  const std::size_t since_end = rest.find_first_of(" \t");
  if (since_end == std::string_view::npos || lower(rest.substr(0, since_end)) != "since") {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "expected 'UNIT since DATE', e.g. 'days since 1900-01-01'"));
  }
  rest = trim(rest.substr(since_end));

  CfTimeUnits parsed;
  parsed.calendar = *calendar;
  auto nanoseconds = unit_nanoseconds(unit, parsed.calendar, units);
  if (!nanoseconds.ok()) return fail(std::move(nanoseconds).error());
  parsed.nanoseconds_per_unit = *nanoseconds;

  auto reference = parse_reference_date(rest);
  if (!reference.ok()) return fail(std::move(reference).error());
  auto microseconds = to_microseconds(reference->date, parsed.calendar);
  if (!microseconds.ok()) return fail(std::move(microseconds).error());
  parsed.reference_microseconds =
      *microseconds - std::int64_t{reference->utc_offset_minutes} * 60 * kMicrosecondsPerSecond;
  parsed.reference = from_microseconds(parsed.reference_microseconds, parsed.calendar);
  return parsed;
}

Result<double> encode_time(const CfTimeUnits& units, const DateTime& date) {
  FLOE_ASSIGN_OR_RETURN(const std::int64_t microseconds, to_microseconds(date, units.calendar));
  return encode_time_microseconds(units, microseconds);
}

double encode_time_microseconds(const CfTimeUnits& units, std::int64_t microseconds) {
  const std::int64_t delta = microseconds - units.reference_microseconds;
  if (units.nanoseconds_per_unit % kNanosecondsPerMicrosecond != 0) {
    // Sub-microsecond units: the microsecond count scaled up (dates carry whole microseconds).
    const long double scale = static_cast<long double>(kNanosecondsPerMicrosecond) /
                              static_cast<long double>(units.nanoseconds_per_unit);
    return static_cast<double>(static_cast<long double>(delta) * scale);
  }
  const std::int64_t microseconds_per_unit =
      units.nanoseconds_per_unit / kNanosecondsPerMicrosecond;
  if (delta % microseconds_per_unit == 0) return static_cast<double>(delta / microseconds_per_unit);
  // Python's timedelta / timedelta: the quotient of two integers, rounded once when both fit a
  // double's mantissa; long double (64-bit mantissa) otherwise.
  constexpr std::int64_t kExactInDouble = std::int64_t{1} << 53;
  if (delta < kExactInDouble && delta > -kExactInDouble) {
    return static_cast<double>(delta) / static_cast<double>(microseconds_per_unit);
  }
  return static_cast<double>(static_cast<long double>(delta) /
                             static_cast<long double>(microseconds_per_unit));
}

Result<std::int64_t> decode_time_microseconds(const CfTimeUnits& units, double value) {
  if (!std::isfinite(value)) {
    return make_error(ErrorCode::kInvalidArgument, "time value {} is not a date", value);
  }
  // cftime: scaled = longdouble(value) * factor (microseconds); np.rint; then, for units of a
  // second or longer, values 1 microsecond past or short of a whole second snap to it (cftime issue
  // #187).
  const std::int64_t nanoseconds_per_unit = units.nanoseconds_per_unit;
  long double scaled = static_cast<long double>(value);
  if (nanoseconds_per_unit % kNanosecondsPerMicrosecond == 0) {
    scaled *= static_cast<long double>(nanoseconds_per_unit / kNanosecondsPerMicrosecond);
  } else {
    scaled = scaled * static_cast<long double>(nanoseconds_per_unit) /
             static_cast<long double>(kNanosecondsPerMicrosecond);
  }
  constexpr long double kLimit = 9.0e18L;
  if (!(std::fabs(scaled) < kLimit)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "time value {} is outside the range of dates (64-bit microseconds)", value);
  }
  std::int64_t offset = round_to_integer(scaled);
  if (nanoseconds_per_unit >= kNanosecondsPerSecond) {
    const std::int64_t within_second = floor_mod(offset, kMicrosecondsPerSecond);
    if (within_second == 1) offset = static_cast<std::int64_t>(std::floor(scaled));
    if (within_second == kMicrosecondsPerSecond - 1) {
      offset = static_cast<std::int64_t>(std::ceil(scaled));
    }
  }
  const std::int64_t limit = static_cast<std::int64_t>(kMaxAbsYear) * 366 * kMicrosecondsPerDay;
  const bool beyond_limit = offset > 2 * limit || offset < -2 * limit ||
                            units.reference_microseconds + offset > limit ||
                            units.reference_microseconds + offset < -limit;
  if (beyond_limit) {
    return make_error(ErrorCode::kInvalidArgument,
                      "time value {} is a date beyond year +-{}, which floe does not represent",
                      value, kMaxAbsYear);
  }
  const std::int64_t microseconds = units.reference_microseconds + offset;
  // Within this many days of 1970 every calendar (the shortest year has 360 days) is inside
  // +-kMaxAbsYear, so only dates further out need their year looked at.
  constexpr std::int64_t kSurelyInRange = std::int64_t{97'000} * 360 * kMicrosecondsPerDay;
  if (microseconds > kSurelyInRange || microseconds < -kSurelyInRange) {
    const DateTime date = from_microseconds(microseconds, units.calendar);
    if (date.year > kMaxAbsYear || date.year < -kMaxAbsYear) {
      return make_error(ErrorCode::kInvalidArgument,
                        "time value {} is a date beyond year +-{}, which floe does not represent",
                        value, kMaxAbsYear);
    }
  }
  return microseconds;
}

Result<DateTime> decode_time(const CfTimeUnits& units, double value) {
  FLOE_ASSIGN_OR_RETURN(const std::int64_t microseconds, decode_time_microseconds(units, value));
  return from_microseconds(microseconds, units.calendar);
}

Result<ParsedDateTime> parse_datetime_with_resolution(std::string_view input) {
  const std::string_view text = trim(input);
  DateScanner scanner(text);
  ParsedDateTime parsed;
  const auto year = scan_year(scanner);
  if (!year) return bad_date(text, "no year");
  if (*year > kMaxAbsYear || *year < -kMaxAbsYear) {
    return bad_date(text, fmt::format("years beyond +-{} are not supported", kMaxAbsYear));
  }
  parsed.value.year = static_cast<int>(*year);
  parsed.resolution = DateResolution::kYear;
  if (scanner.consume('-')) {
    const auto month = scanner.digits(1, 2);
    if (!month) return bad_date(text, "no month after the year");
    parsed.value.month = static_cast<int>(*month);
    parsed.resolution = DateResolution::kMonth;
    if (scanner.consume('-')) {
      const auto day = scanner.digits(1, 2);
      if (!day) return bad_date(text, "no day after the month");
      parsed.value.day = static_cast<int>(*day);
      parsed.resolution = DateResolution::kDay;
      scan_time_of_day(scanner, parsed.value, parsed.resolution, " Tt");
    }
  }
  (void)(scanner.consume('Z') || scanner.consume('z'));
  if (!scanner.at_end()) {
    return bad_date(text, fmt::format("unexpected '{}'", scanner.rest()));
  }
  if (parsed.value.month < 1 || parsed.value.month > 12) {
    return bad_date(text, fmt::format("month {} is not 1..12", parsed.value.month));
  }
  if (parsed.value.day < 1 || parsed.value.day > 31) {
    return bad_date(text, fmt::format("day {} is not 1..31", parsed.value.day));
  }
  FLOE_RETURN_IF_ERROR(check_time_of_day(parsed.value, text));
  return parsed;
}

Result<DateTime> parse_datetime(std::string_view text) {
  FLOE_ASSIGN_OR_RETURN(ParsedDateTime parsed, parse_datetime_with_resolution(text));
  return parsed.value;
}

std::string format_datetime(const DateTime& date) {
  std::string text = date.year < 0 ? fmt::format("-{:04d}", -std::int64_t{date.year})
                                   : fmt::format("{:04d}", date.year);
  text += fmt::format("-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", date.month, date.day, date.hour,
                      date.minute, date.second);
  if (date.microsecond != 0) text += fmt::format(".{:06d}", date.microsecond);
  return text;
}

Result<DateTime> next_period_start(const ParsedDateTime& parsed, Calendar calendar) {
  FLOE_ASSIGN_OR_RETURN(const std::int64_t start, to_microseconds(parsed.value, calendar));
  DateTime next = parsed.value;
  switch (parsed.resolution) {
    case DateResolution::kYear:
      next = DateTime{.year = parsed.value.year + 1};
      if (next.year == 0 && !has_year_zero(calendar)) next.year = 1;
      FLOE_RETURN_IF_ERROR(check_date(next, calendar));
      return next;
    case DateResolution::kMonth:
      next = DateTime{.year = parsed.value.year, .month = parsed.value.month + 1};
      if (next.month > 12) {
        next.month = 1;
        next.year += 1;
        if (next.year == 0 && !has_year_zero(calendar)) next.year = 1;
      }
      FLOE_RETURN_IF_ERROR(check_date(next, calendar));
      return next;
    case DateResolution::kDay:
      return from_microseconds(start - time_of_day_microseconds(parsed.value) + kMicrosecondsPerDay,
                               calendar);
    case DateResolution::kHour:
      return from_microseconds(start + 3600 * kMicrosecondsPerSecond, calendar);
    case DateResolution::kMinute:
      return from_microseconds(start + 60 * kMicrosecondsPerSecond, calendar);
    case DateResolution::kSecond:
      return from_microseconds(start + kMicrosecondsPerSecond, calendar);
    case DateResolution::kMicrosecond:
      return from_microseconds(start + 1, calendar);
  }
  return next;
}

}  // namespace floe::virt
