// NOAA wgrib2 `.idx` and ECMWF `.index` parsing: line grammar, byte ranges, and the wgrib2 text
// fields (dates, forecast times, levels, ensemble annotations) turned into values.
#include "floe/formats/grib2/idx.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace floe::formats::grib2 {

namespace {

constexpr int64_t kSecondsPerDay = 86400;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text) {
  Integer value{};
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil).
int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct CivilDate {
  int64_t year;
  int64_t month;
  int64_t day;
};

CivilDate civil_from_days(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

bool is_leap_year(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int64_t days_in_month(int64_t year, int64_t month) {
  static constexpr std::array<int64_t, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[static_cast<size_t>(month - 1)];
}

// A decimal number at the start of `text` ("500", "-2e-06", "0.5"): its value and length; nullopt
// when there is none.
std::optional<std::pair<double, size_t>> leading_number(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
    size_t exponent_digits = 0;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j, ++exponent_digits;
    if (exponent_digits > 0) i = j;
  }
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + i, value);
  if (error != std::errc() || end != text.data() + i) {
    // from_chars rejects a leading '+'.
    if (text[0] != '+') return std::nullopt;
    auto [end2, error2] = std::from_chars(text.data() + 1, text.data() + i, value);
    if (error2 != std::errc() || end2 != text.data() + i) return std::nullopt;
  }
  return std::make_pair(value, i);
}

// "N rest" where N is a whole number: N and rest; nullopt otherwise.
struct NumberAndRest {
  double value;
  std::string_view rest;
};
std::optional<NumberAndRest> number_then_words(std::string_view text) {
  auto number = leading_number(text);
  if (!number || number->second >= text.size() || text[number->second] != ' ') return std::nullopt;
  std::string_view rest = trim(text.substr(number->second + 1));
  if (rest.empty()) return std::nullopt;
  return NumberAndRest{number->first, rest};
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      pieces.push_back(text.substr(start));
      return pieces;
    }
    pieces.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::optional<int64_t> seconds_per_unit(std::string_view unit) {
  if (unit == "sec") return 1;
  if (unit == "min") return 60;
  if (unit == "hour") return 3600;
  if (unit == "day") return kSecondsPerDay;
  return std::nullopt;  // month, year, decade, ...: no fixed length
}

std::optional<int64_t> times(int64_t value, int64_t unit) {
  int64_t out = 0;
  if (__builtin_mul_overflow(value, unit, &out)) return std::nullopt;
  return out;
}

// "A-B" with integers that may be negative ("-2147483647--2147483624"): A and B.
std::optional<std::pair<int64_t, int64_t>> integer_range(std::string_view text) {
  size_t separator = text.find('-', 1);  // a leading '-' is A's sign
  if (separator == std::string_view::npos) return std::nullopt;
  auto first = parse_integer<int64_t>(text.substr(0, separator));
  auto second = parse_integer<int64_t>(text.substr(separator + 1));
  if (!first || !second) return std::nullopt;
  return std::make_pair(*first, *second);
}

bool is_derived_forecast_name(std::string_view text) {
  static constexpr std::array<std::string_view, 20> kNames = {
      "ens mean",
      "wt ens mean",
      "ens std dev",
      "cluster std dev",
      "normalized ens std dev",
      "normalized cluster std dev",
      "ens spread",
      "ens large anom index",
      "unwt ens mean",
      "unwt cluster mean",
      "25%-75% range",
      "min all members",
      "max all members",
      "unwt mode all members",
      "stat. weight for each members",
      "percentile from climate distribution",
      "deviation of ens mean from daily climo",
      "extreme forecast index",
      "equally weighted mean",
      "unknown derived fcst"};
  if (std::find(kNames.begin(), kNames.end(), text) != kNames.end()) return true;
  // NCEP's percentiles of the members: "10% all members".
  size_t percent = text.find('%');
  return percent != std::string_view::npos && all_digits(text.substr(0, percent)) &&
         text.substr(percent) == "% all members";
}

Error corrupt_line(std::string_view url, size_t line_number, std::string_view line,
                   std::string_view message) {
  return make_error(ErrorCode::kCorrupt, "{}: line {}: {} (line: \"{}\")", url, line_number,
                    message, line.substr(0, 200));
}

}  // namespace

std::optional<UnixSeconds> parse_compact_date(std::string_view digits) {
  if (!all_digits(digits) || digits.size() < 8 || digits.size() > 14 || digits.size() % 2 != 0) {
    return std::nullopt;
  }
  auto field = [&](size_t start, size_t length) -> int64_t {
    if (start + length > digits.size()) return 0;
    return *parse_integer<int64_t>(digits.substr(start, length));
  };
  const int64_t year = field(0, 4);
  const int64_t month = field(4, 2);
  const int64_t day = field(6, 2);
  const int64_t hour = field(8, 2);
  const int64_t minute = field(10, 2);
  const int64_t second = field(12, 2);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 + second;
}

std::string format_iso8601(UnixSeconds seconds) {
  int64_t days = seconds / kSecondsPerDay;
  int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) rest += kSecondsPerDay, --days;
  CivilDate date = civil_from_days(days);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", date.year, date.month, date.day,
                     rest / 3600, rest / 60 % 60, rest % 60);
}

ForecastTime parse_wgrib2_forecast_time(std::string_view text) {
  ForecastTime forecast;
  forecast.text = std::string(text);
  text = trim(text);
  if (text == "anl") {
    forecast.kind = ForecastTime::Kind::kAnalysis;
    return forecast;
  }
  // "N unit fcst" or "A-B unit <statistic...> fcst".
  std::vector<std::string_view> words = split(text, ' ');
  if (words.size() < 3 || words.back() != "fcst") return forecast;
  auto unit = seconds_per_unit(words[1]);
  if (!unit) return forecast;
  if (words.size() == 3) {
    auto value = parse_integer<int64_t>(words[0]);
    auto seconds = value ? times(*value, *unit) : std::nullopt;
    if (!seconds) return forecast;
    forecast.kind = ForecastTime::Kind::kForecast;
    forecast.start_seconds = forecast.end_seconds = *seconds;
    return forecast;
  }
  auto range = integer_range(words[0]);
  if (!range) return forecast;
  auto start = times(range->first, *unit);
  auto end = times(range->second, *unit);
  if (!start || !end) return forecast;
  // The statistic is everything between the unit and "fcst" ("acc", "ave", "ave@1 hour").
  size_t statistic_start = words[0].size() + 1 + words[1].size() + 1;
  size_t statistic_end = text.size() - std::string_view(" fcst").size();
  if (statistic_end <= statistic_start) return forecast;
  forecast.kind = ForecastTime::Kind::kInterval;
  forecast.start_seconds = *start;
  forecast.end_seconds = *end;
  forecast.statistic = std::string(text.substr(statistic_start, statistic_end - statistic_start));
  return forecast;
}

Level parse_wgrib2_level(std::string_view text) {
  Level level;
  level.text = std::string(text);
  text = trim(text);
  level.type = std::string(text);
  // "261 K level - 256 K level": two levels of the same kind.
  if (size_t dash = text.find(" - "); dash != std::string_view::npos) {
    auto first = number_then_words(text.substr(0, dash));
    auto second = number_then_words(text.substr(dash + 3));
    if (first && second && first->rest == second->rest) {
      level.type = std::string(first->rest);
      level.value = first->value;
      level.value2 = second->value;
    }
    return level;
  }
  // "PV=-2e-06 (Km^2/kg/s) surface": a named value.
  if (size_t equals = text.find('='); equals != std::string_view::npos && equals > 0) {
    std::string_view name = text.substr(0, equals);
    bool letters = std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    });
    auto value = letters ? number_then_words(text.substr(equals + 1)) : std::nullopt;
    if (value) {
      level.type = fmt::format("{} {}", name, value->rest);
      level.value = value->value;
    }
    return level;
  }
  auto first = leading_number(text);
  if (!first) return level;
  // "0.5-0.8 sigma layer", "180-0 mb above ground": a layer.
  if (first->second < text.size() && text[first->second] == '-') {
    auto second = number_then_words(text.substr(first->second + 1));
    if (second) {
      level.type = std::string(second->rest);
      level.value = first->first;
      level.value2 = second->value;
    }
    return level;
  }
  if (auto single = number_then_words(text)) {
    level.type = std::string(single->rest);
    level.value = single->value;
  }
  return level;
}

std::optional<int32_t> Ensemble::member() const {
  if (!derived.empty()) return std::nullopt;
  switch (kind) {
    case Kind::kHighResolutionControl:
    case Kind::kLowResolutionControl:
      return 0;
    case Kind::kNegativePerturbation:
      return -perturbation;
    case Kind::kPositivePerturbation:
    case Kind::kMultiModel:
    case Kind::kNumbered:
      return perturbation;
    case Kind::kDerivedOnly:
    case Kind::kUnknown:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Ensemble> parse_wgrib2_ensemble(std::string_view field) {
  Ensemble ensemble;
  ensemble.text = std::string(field);
  field = trim(field);
  if (is_derived_forecast_name(field)) {
    ensemble.kind = Ensemble::Kind::kDerivedOnly;
    ensemble.derived = std::string(field);
    return ensemble;
  }
  std::string_view annotation;
  bool multi_model = false;
  if (field.starts_with("ENS=")) {
    annotation = field.substr(4);
  } else if (field.starts_with("MM-ENS=")) {
    annotation = field.substr(7);
    multi_model = true;
  } else {
    return std::nullopt;
  }
  if (annotation.starts_with("? ")) {  // "ENS=? table4.6=7 pert=2": a code wgrib2 does not know
    ensemble.kind = Ensemble::Kind::kUnknown;
    return ensemble;
  }
  std::string_view rest;
  if (annotation.starts_with("hi-res ctl")) {
    ensemble.kind = Ensemble::Kind::kHighResolutionControl;
    rest = annotation.substr(10);
  } else if (annotation.starts_with("low-res ctl")) {
    ensemble.kind = Ensemble::Kind::kLowResolutionControl;
    rest = annotation.substr(11);
  } else {
    size_t end = annotation.find(' ');
    std::string_view number = annotation.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : annotation.substr(end);
    if (multi_model) {
      ensemble.kind = Ensemble::Kind::kMultiModel;
    } else if (number.starts_with('+')) {
      ensemble.kind = Ensemble::Kind::kPositivePerturbation;
      number.remove_prefix(1);
    } else if (number.starts_with('-')) {
      ensemble.kind = Ensemble::Kind::kNegativePerturbation;
      number.remove_prefix(1);
    } else {
      ensemble.kind = Ensemble::Kind::kNumbered;
    }
    if (!all_digits(number)) return std::nullopt;
    auto value = parse_integer<int32_t>(number);
    if (!value) return std::nullopt;
    ensemble.perturbation = *value;
  }
  rest = trim(rest);
  if (!rest.empty()) {
    if (!is_derived_forecast_name(rest)) return std::nullopt;
    ensemble.derived = std::string(rest);
  }
  return ensemble;
}

std::optional<UnknownParameter> parse_wgrib2_unknown_parameter(std::string_view variable) {
  if (!variable.starts_with("var ")) return std::nullopt;
  UnknownParameter parameter;
  for (std::string_view word : split(trim(variable.substr(4)), ' ')) {
    if (word.empty()) continue;
    size_t equals = word.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    auto value = parse_integer<int32_t>(word.substr(equals + 1));
    if (!value) return std::nullopt;
    std::string_view name = word.substr(0, equals);
    if (name == "discipline") {
      parameter.discipline = *value;
    } else if (name == "parmcat") {
      parameter.category = *value;
    } else if (name == "parm") {
      parameter.number = *value;
    } else if (name == "center") {
      parameter.center = *value;
    } else if (name == "local_table") {
      parameter.local_table = *value;
    } else if (name == "master_table") {
      parameter.master_table = *value;
    }
  }
  if (parameter.discipline < 0 || parameter.category < 0 || parameter.number < 0)
    return std::nullopt;
  return parameter;
}

Result<std::vector<NoaaIdxEntry>> parse_noaa_idx(std::string_view text, std::string_view idx_url,
                                                 std::optional<uint64_t> grib_size) {
  std::vector<NoaaIdxEntry> entries;
  std::vector<size_t> line_numbers;
  std::unordered_map<std::string, uint32_t> key_counts;
  size_t line_number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    std::vector<std::string_view> fields = split(line, ':');
    if (fields.size() < 4) {
      return corrupt_line(
          idx_url, line_number, line,
          "expected MSG:OFFSET:d=DATE:VAR[:LEVEL:FTIME[:...]] (wgrib2 -s inventory)");
    }
    NoaaIdxEntry entry;
    entry.raw_line = std::string(line);
    std::string_view number = fields[0];
    size_t dot = number.find('.');
    auto message = all_digits(number.substr(0, dot))
                       ? parse_integer<uint32_t>(number.substr(0, dot))
                       : std::nullopt;
    if (!message || *message == 0) {
      return corrupt_line(idx_url, line_number, line,
                          fmt::format("message number \"{}\" is not N or N.M with N >= 1", number));
    }
    entry.message = *message;
    if (dot != std::string_view::npos) {
      auto submessage = all_digits(number.substr(dot + 1))
                            ? parse_integer<uint32_t>(number.substr(dot + 1))
                            : std::nullopt;
      if (!submessage || *submessage == 0) {
        return corrupt_line(
            idx_url, line_number, line,
            fmt::format("message number \"{}\" is not N or N.M with M >= 1", number));
      }
      entry.submessage = *submessage;
    }
    auto offset = all_digits(fields[1]) ? parse_integer<uint64_t>(fields[1]) : std::nullopt;
    if (!offset) {
      return corrupt_line(
          idx_url, line_number, line,
          fmt::format("byte offset \"{}\" is not a non-negative integer", fields[1]));
    }
    entry.offset = *offset;
    std::string_view date = fields[2];
    std::optional<UnixSeconds> reference_time;
    if (date.starts_with("d=") || date.starts_with("D=")) {
      entry.date = std::string(date.substr(2));
      reference_time = parse_compact_date(date.substr(2));
    }
    if (!reference_time) {
      return corrupt_line(idx_url, line_number, line,
                          fmt::format("date \"{}\" is not d=YYYYMMDDHH or D=YYYYMMDDHHmmss", date));
    }
    entry.reference_time = *reference_time;
    entry.variable = std::string(fields[3]);
    entry.level = parse_wgrib2_level(fields.size() > 4 ? fields[4] : std::string_view());
    entry.forecast = parse_wgrib2_forecast_time(fields.size() > 5 ? fields[5] : std::string_view());
    for (size_t i = 6; i < fields.size(); ++i) {
      if (trim(fields[i]).empty()) continue;
      entry.extra.emplace_back(fields[i]);
      if (!entry.ensemble) entry.ensemble = parse_wgrib2_ensemble(fields[i]);
    }
    // The key is the tail after the date field, whatever its trailing colons.
    size_t tail_start = fields[0].size() + fields[1].size() + fields[2].size() + 3;
    std::string_view tail = line.substr(tail_start);
    while (!tail.empty() && tail.back() == ':') tail.remove_suffix(1);
    entry.key = std::string(tail);
    entry.key_occurrence = key_counts[entry.key]++;
    entries.push_back(std::move(entry));
    line_numbers.push_back(line_number);
  }

  // Order: offsets never go back, and only the submessages of one message share an offset.
  for (size_t i = 1; i < entries.size(); ++i) {
    const NoaaIdxEntry& previous = entries[i - 1];
    const NoaaIdxEntry& current = entries[i];
    const std::string_view line = current.raw_line;
    if (current.message == previous.message) {
      if (current.offset != previous.offset) {
        return corrupt_line(idx_url, line_numbers[i], line,
                            fmt::format("message {} is listed at offsets {} and {}",
                                        current.message, previous.offset, current.offset));
      }
      if (current.submessage <= previous.submessage) {
        return corrupt_line(
            idx_url, line_numbers[i], line,
            fmt::format("field {}.{} follows {}.{}: submessages must increase", current.message,
                        current.submessage, previous.message, previous.submessage));
      }
      continue;
    }
    if (current.message < previous.message) {
      return corrupt_line(
          idx_url, line_numbers[i], line,
          fmt::format("message {} follows message {}: message numbers must increase",
                      current.message, previous.message));
    }
    if (current.offset <= previous.offset) {
      return corrupt_line(
          idx_url, line_numbers[i], line,
          fmt::format("message {} starts at offset {}, not after message {} at offset {}",
                      current.message, current.offset, previous.message, previous.offset));
    }
  }
  // Lengths: up to the next message when it is the next number; the last message runs to the end of
  // the file.
  size_t next = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    next = std::max(next, i + 1);
    while (next < entries.size() && entries[next].message == entries[i].message) ++next;
    if (next == entries.size()) {
      entries[i].extends_to_end_of_file = true;
    } else if (entries[next].message == entries[i].message + 1) {
      entries[i].length = entries[next].offset - entries[i].offset;
    }
  }
  if (grib_size) FLOE_RETURN_IF_ERROR(resolve_noaa_idx_lengths(entries, *grib_size, idx_url));
  return entries;
}

Status resolve_noaa_idx_lengths(std::vector<NoaaIdxEntry>& entries, uint64_t grib_size,
                                std::string_view idx_url) {
  for (NoaaIdxEntry& entry : entries) {
    uint64_t end = entry.length ? entry.offset + *entry.length : entry.offset;
    if (entry.offset >= grib_size || end > grib_size) {
      return make_error(
          ErrorCode::kCorrupt,
          "{}: message {} at offset {} {} past the end of the GRIB file ({} bytes); "
          "the sidecar belongs to another version of the file: fetch both again",
          idx_url, entry.message, entry.offset,
          entry.offset >= grib_size ? "starts" : fmt::format("({} bytes) ends", *entry.length),
          grib_size);
    }
    if (entry.extends_to_end_of_file) entry.length = grib_size - entry.offset;
  }
  return ok_status();
}

std::optional<EcmwfStep> parse_ecmwf_step(std::string_view text) {
  auto one = [](std::string_view value) -> std::optional<int64_t> {
    int64_t unit = 3600;
    if (value.ends_with('h')) {
      value.remove_suffix(1);
    } else if (value.ends_with('m')) {
      value.remove_suffix(1);
      unit = 60;
    } else if (value.ends_with('s')) {
      value.remove_suffix(1);
      unit = 1;
    }
    if (!all_digits(value)) return std::nullopt;
    auto number = parse_integer<int64_t>(value);
    return number ? times(*number, unit) : std::nullopt;
  };
  text = trim(text);
  size_t dash = text.find('-');
  auto start = one(text.substr(0, dash));
  if (!start) return std::nullopt;
  auto end = dash == std::string_view::npos ? start : one(text.substr(dash + 1));
  if (!end || *end < *start) return std::nullopt;
  return EcmwfStep{*start, *end};
}

std::optional<int32_t> EcmwfIndexEntry::member() const {
  if (number) return number;
  if (type == "cf") return 0;
  return std::nullopt;
}

std::string EcmwfIndexEntry::key() const {
  std::string key;
  for (const auto& [name, value] : keys) {
    if (name == "date" || name == "time") continue;
    if (!key.empty()) key += ',';
    key += name;
    key += '=';
    key += value;
  }
  return key;
}

Result<std::vector<EcmwfIndexEntry>> parse_ecmwf_index(std::string_view text,
                                                       std::string_view index_url,
                                                       std::optional<uint64_t> grib_size) {
  std::vector<EcmwfIndexEntry> entries;
  std::vector<size_t> line_numbers;
  size_t line_number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    // nlohmann::json throws by default; the non-throwing overload returns a discarded value
    // instead.
    nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded() || !object.is_object()) {
      return corrupt_line(index_url, line_number, line, "not a JSON object (ECMWF .index line)");
    }
    EcmwfIndexEntry entry;
    entry.raw_line = std::string(line);
    bool have_offset = false;
    bool have_length = false;
    for (const auto& [name, value] : object.items()) {
      if (name == "_offset" || name == "_length") {
        if (!value.is_number_unsigned() &&
            !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
          return corrupt_line(index_url, line_number, line,
                              fmt::format("\"{}\" is not a non-negative integer", name));
        }
        (name == "_offset" ? entry.offset : entry.length) = value.get<uint64_t>();
        (name == "_offset" ? have_offset : have_length) = true;
        continue;
      }
      entry.keys.emplace(name, value.is_string() ? value.get<std::string>() : value.dump());
    }
    if (!have_offset || !have_length) {
      return corrupt_line(index_url, line_number, line, "\"_offset\" or \"_length\" is missing");
    }
    if (entry.length == 0) return corrupt_line(index_url, line_number, line, "\"_length\" is 0");
    for (std::string_view required : {"param", "step", "date", "time"}) {
      if (entry.keys.find(required) == entry.keys.end()) {
        return corrupt_line(index_url, line_number, line,
                            fmt::format("\"{}\" is missing", required));
      }
    }
    auto value_of = [&](std::string_view name) -> std::string {
      auto found = entry.keys.find(name);
      return found == entry.keys.end() ? std::string() : found->second;
    };
    entry.param = value_of("param");
    entry.levtype = value_of("levtype");
    entry.type = value_of("type");
    entry.stream = value_of("stream");
    entry.date = value_of("date");
    entry.time = value_of("time");
    entry.step_text = value_of("step");
    if (auto levelist = entry.keys.find("levelist"); levelist != entry.keys.end()) {
      entry.levelist = levelist->second;
      auto number = leading_number(levelist->second);
      if (number && number->second == levelist->second.size()) entry.level = number->first;
    }
    if (auto number = entry.keys.find("number"); number != entry.keys.end()) {
      auto member =
          all_digits(number->second) ? parse_integer<int32_t>(number->second) : std::nullopt;
      if (!member) {
        return corrupt_line(
            index_url, line_number, line,
            fmt::format("\"number\" \"{}\" is not a member number", number->second));
      }
      entry.number = member;
    }
    auto step = parse_ecmwf_step(entry.step_text);
    if (!step) {
      return corrupt_line(
          index_url, line_number, line,
          fmt::format("\"step\" \"{}\" is not N or A-B (hours, or with an m/s suffix)",
                      entry.step_text));
    }
    entry.step = *step;
    // time is HHMM ("0000", "1200"); MARS also accepts hours alone ("0", "12").
    std::string hhmm = entry.time.size() <= 2 ? entry.time + "00" : entry.time;
    if (hhmm.size() < 4) hhmm.insert(0, 4 - hhmm.size(), '0');
    auto reference_time = entry.date.size() == 8 && all_digits(hhmm) && hhmm.size() == 4
                              ? parse_compact_date(entry.date + hhmm)
                              : std::nullopt;
    if (!reference_time) {
      return corrupt_line(index_url, line_number, line,
                          fmt::format("\"date\" \"{}\" / \"time\" \"{}\" is not YYYYMMDD / HHMM",
                                      entry.date, entry.time));
    }
    entry.reference_time = *reference_time;
    if (grib_size && (entry.offset >= *grib_size || entry.length > *grib_size - entry.offset)) {
      return corrupt_line(
          index_url, line_number, line,
          fmt::format("bytes {}..{} lie past the end of the GRIB file ({} bytes); the "
                      "sidecar belongs to another version of the file: fetch both again",
                      entry.offset, entry.offset + entry.length, *grib_size));
    }
    entries.push_back(std::move(entry));
    line_numbers.push_back(line_number);
  }
  // Messages do not overlap.
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries[a].offset < entries[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const EcmwfIndexEntry& previous = entries[order[i - 1]];
    const EcmwfIndexEntry& current = entries[order[i]];
    if (previous.offset + previous.length > current.offset) {
      return corrupt_line(
          index_url, line_numbers[order[i]], current.raw_line,
          fmt::format("bytes {}..{} overlap the message of line {} (bytes {}..{})", current.offset,
                      current.offset + current.length, line_numbers[order[i - 1]], previous.offset,
                      previous.offset + previous.length));
    }
  }
  return entries;
}

SidecarFormat detect_sidecar_format(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? SidecarFormat::kEcmwfIndex : SidecarFormat::kNoaaIdx;
  }
  return SidecarFormat::kNoaaIdx;
}

}  // namespace floe::formats::grib2
