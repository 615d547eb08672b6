// Choosing one CF time encoding for many files' time coordinates (see time_harmonize.h).
#include "floe/virtual/time_harmonize.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "floe/virtual/cf_time.h"

namespace floe::virt {
namespace {

constexpr std::int64_t kNanosecondsPerMicrosecond = 1'000;
// Whole numbers up to 2^53 are exact in a double.
constexpr std::int64_t kLargestExactInteger = std::int64_t{1} << 53;

// Coarsest first: the first that makes every value exact is the common unit.
constexpr std::array<std::string_view, 6> kCandidateUnits = {
    "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"};

bool is_whole(double value) { return std::isfinite(value) && std::trunc(value) == value; }

bool all_whole(const std::vector<double>& values) {
  for (double value : values) {
    if (!is_whole(value)) return false;
  }
  return true;
}

// "'noleap'", "'365_day' (noleap)", "none (standard)".
std::string calendar_label(const std::string& text, Calendar calendar) {
  if (text.empty()) return fmt::format("none ({})", calendar_name(calendar));
  if (text == calendar_name(calendar)) return fmt::format("'{}'", text);
  return fmt::format("'{}' ({})", text, calendar_name(calendar));
}

// The date after "since" as xarray writes it: "2000-01-01 00:00:00".
std::string reference_text(const DateTime& reference) {
  std::string text = format_datetime(reference);
  const std::size_t separator = text.find('T');
  if (separator != std::string::npos) text[separator] = ' ';
  return text;
}

// `microseconds` (since 1970 of the calendar) in `units`, when that value is exact: a whole number
// within 2^53 for integer storage; for float storage, a double that decodes to the same
// microsecond under cftime's rounding.
std::optional<double> exact_value(const CfTimeUnits& units, std::int64_t microseconds,
                                  bool integer_storage) {
  if (integer_storage) {
    // Both ends lie within +-100000 years of 1970, so the difference fits an int64.
    const std::int64_t delta = microseconds - units.reference_microseconds;
    const std::int64_t nanoseconds_per_unit = units.nanoseconds_per_unit;
    if (nanoseconds_per_unit % kNanosecondsPerMicrosecond == 0) {
      const std::int64_t microseconds_per_unit = nanoseconds_per_unit / kNanosecondsPerMicrosecond;
      if (delta % microseconds_per_unit != 0) return std::nullopt;
      const std::int64_t value = delta / microseconds_per_unit;
      if (value > kLargestExactInteger || value < -kLargestExactInteger) return std::nullopt;
      return static_cast<double>(value);
    }
    if (kNanosecondsPerMicrosecond % nanoseconds_per_unit != 0) return std::nullopt;
    const std::int64_t units_per_microsecond = kNanosecondsPerMicrosecond / nanoseconds_per_unit;
    if (delta > kLargestExactInteger / units_per_microsecond ||
        delta < -kLargestExactInteger / units_per_microsecond) {
      return std::nullopt;
    }
    return static_cast<double>(delta * units_per_microsecond);
  }
  const double value = encode_time_microseconds(units, microseconds);
  auto decoded = decode_time_microseconds(units, value);
  if (!decoded.ok() || *decoded != microseconds) return std::nullopt;
  return value;
}

// Every file's values as microseconds since 1970 of the calendar, decoded with its own units.
Result<std::vector<std::vector<std::int64_t>>> decode_all(
    const std::vector<FileTimes>& files, const std::vector<CfTimeUnits>& file_units) {
  std::vector<std::vector<std::int64_t>> decoded(files.size());
  for (std::size_t file = 0; file < files.size(); ++file) {
    decoded[file].reserve(files[file].values.size());
    for (std::size_t index = 0; index < files[file].values.size(); ++index) {
      const double value = files[file].values[index];
      auto microseconds = decode_time_microseconds(file_units[file], value);
      if (!microseconds.ok()) {
        return std::move(microseconds)
            .error()
            .add_context(fmt::format("time coordinate of {} (units '{}'), index {}",
                                     files[file].source, files[file].units, index));
      }
      decoded[file].push_back(*microseconds);
    }
  }
  return decoded;
}

// The first file whose values are not all exact in `units`, or none (and `out` holds the values).
struct Attempt {
  std::optional<std::size_t> failed_file;
  std::size_t failed_index = 0;
};

Attempt encode_all(const std::vector<FileTimes>& files,
                   const std::vector<std::vector<std::int64_t>>& decoded,
                   const std::string& units_text, const CfTimeUnits& units, bool integer_storage,
                   std::vector<std::vector<double>>& out) {
  out.assign(files.size(), {});
  for (std::size_t file = 0; file < files.size(); ++file) {
    const std::vector<double>& values = files[file].values;
    // A file already in these units keeps its values: they decode to these dates by definition.
    if (files[file].units == units_text && (!integer_storage || all_whole(values))) {
      out[file] = values;
      continue;
    }
    out[file].reserve(decoded[file].size());
    for (std::size_t index = 0; index < decoded[file].size(); ++index) {
      const auto value = exact_value(units, decoded[file][index], integer_storage);
      if (!value) return Attempt{file, index};
      out[file].push_back(*value);
    }
  }
  return Attempt{};
}

// The file holding the earliest date (the first such file on ties); the first file when all are
// empty.
std::size_t earliest_file(const std::vector<std::vector<std::int64_t>>& decoded) {
  std::size_t earliest = 0;
  std::optional<std::int64_t> earliest_value;
  for (std::size_t file = 0; file < decoded.size(); ++file) {
    for (std::int64_t microseconds : decoded[file]) {
      if (!earliest_value || microseconds < *earliest_value) {
        earliest_value = microseconds;
        earliest = file;
      }
    }
  }
  return earliest;
}

bool every_value_whole(const std::vector<std::vector<double>>& values) {
  for (const auto& file_values : values) {
    if (!all_whole(file_values)) return false;
  }
  return true;
}

}  // namespace

Result<HarmonizedTimes> harmonize_times(const std::vector<FileTimes>& files, bool integer_storage) {
  if (files.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no time coordinates to harmonize: the list of files is empty");
  }
  const FileTimes& first = files.front();
  auto first_calendar = parse_calendar(first.calendar);
  if (!first_calendar.ok()) {
    return std::move(first_calendar)
        .error()
        .add_context(fmt::format("time coordinate of {}", first.source));
  }
  bool same_units = true;
  for (const FileTimes& file : files) {
    same_units = same_units && file.units == first.units;
    if (file.calendar == first.calendar) continue;
    auto calendar = parse_calendar(file.calendar);
    if (!calendar.ok()) {
      return std::move(calendar).error().add_context(
          fmt::format("time coordinate of {}", file.source));
    }
    if (*calendar != *first_calendar) {
      return make_error(ErrorCode::kInvalidArgument,
                        "time coordinates in different calendars cannot be combined: {} has "
                        "calendar {} but {} has calendar {}; the same numbers name different "
                        "dates in them. Combine the files of each calendar separately",
                        file.source, calendar_label(file.calendar, *calendar), first.source,
                        calendar_label(first.calendar, *first_calendar));
    }
  }

  HarmonizedTimes result;
  result.calendar = first.calendar;
  if (same_units) {
    auto units = parse_time_units(first.units, first.calendar);
    if (!units.ok()) {
      return std::move(units).error().add_context(
          fmt::format("time coordinate of {}", first.source));
    }
    bool whole = true;
    for (const FileTimes& file : files) whole = whole && all_whole(file.values);
    if (whole || !integer_storage) {
      result.units = first.units;
      result.integral = whole;
      result.values.reserve(files.size());
      for (const FileTimes& file : files) result.values.push_back(file.values);
      return result;
    }
  }

  std::vector<CfTimeUnits> file_units;
  file_units.reserve(files.size());
  for (const FileTimes& file : files) {
    auto units = parse_time_units(file.units, file.calendar);
    if (!units.ok()) {
      return std::move(units).error().add_context(
          fmt::format("time coordinate of {}", file.source));
    }
    file_units.push_back(*std::move(units));
  }
  FLOE_ASSIGN_OR_RETURN(const auto decoded, decode_all(files, file_units));

  Attempt attempt =
      encode_all(files, decoded, first.units, file_units.front(), integer_storage, result.values);
  if (!attempt.failed_file) {
    result.units = first.units;
    result.integral = every_value_whole(result.values);
    return result;
  }
  const CfTimeUnits& reference_units = file_units[earliest_file(decoded)];
  const std::string since = reference_text(reference_units.reference);
  for (std::string_view unit : kCandidateUnits) {
    const std::string units_text = fmt::format("{} since {}", unit, since);
    auto units = parse_time_units(units_text, first.calendar);
    if (!units.ok()) {
      return std::move(units).error().add_context("writing the combined time units (a floe bug)");
    }
    attempt = encode_all(files, decoded, units_text, *units, integer_storage, result.values);
    if (!attempt.failed_file) {
      result.units = units_text;
      result.integral = every_value_whole(result.values);
      return result;
    }
  }
  const FileTimes& failed = files[*attempt.failed_file];
  const double value = failed.values[attempt.failed_index];
  auto date = decode_time(file_units[*attempt.failed_file], value);
  return make_error(ErrorCode::kUnsupported,
                    "the combined time coordinate cannot hold {}'s time value {} ({}, index {}) "
                    "exactly: even in 'microseconds since {}' it is more than 2^53 microseconds "
                    "from the reference, beyond what a double holds exactly. Combine files closer "
                    "in time, or split the archive",
                    failed.source, value, date.ok() ? format_datetime(*date) : "not a date",
                    attempt.failed_index, since);
}

Result<std::string> describe_time(const std::string& units, const std::string& calendar,
                                  double value) {
  FLOE_ASSIGN_OR_RETURN(const CfTimeUnits parsed, parse_time_units(units, calendar));
  FLOE_ASSIGN_OR_RETURN(const DateTime date, decode_time(parsed, value));
  return format_datetime(date);
}

}  // namespace floe::virt
