// One CF time encoding for the time coordinates of many files combined into one datacube: each
// file's values are decoded with its own units and calendar and re-encoded in common units chosen
// so that no date moves.
#pragma once

#include <string>
#include <vector>

#include "floe/core/result.h"

namespace floe::virt {

// One file's time coordinate as read from it.
struct FileTimes {
  std::string source;    // the file, as error messages name it
  std::string units;     // "UNIT since DATE" as the file writes it
  std::string calendar;  // the calendar attribute; empty means standard
  std::vector<double> values;
};

struct HarmonizedTimes {
  std::string units;                        // the first file's units, or "UNIT since DATE"
  std::string calendar;                     // the first file's calendar attribute as written
  bool integral = true;                     // every value is a whole number
  std::vector<std::vector<double>> values;  // per file, in `units`
};

// The files' time values in one encoding, with the first file's calendar. The units are the
// first file's when every value of every file is exact in them (a whole number when
// `integer_storage`; otherwise re-encoding decodes back to the same microsecond, as cftime
// decodes); else "<unit> since <reference of the file with the earliest value>" with the coarsest
// of days, hours, minutes, seconds, milliseconds, microseconds that makes every value exact. When
// every file writes the same units (and, for integer storage, whole numbers) the values are
// returned as they are without decoding; so is any file whose units are the chosen ones.
// Errors, each naming the file: kInvalidArgument for calendars that differ after normalisation
// (gregorian = standard, 365_day = noleap, 366_day = all_leap, empty = standard; both files and
// both calendars are named), a value that is not a date (NaN, beyond year +-100000) and an empty
// list; units or a calendar that do not parse (the parser's code, the units text named);
// kUnsupported for a value that not even microseconds represent exactly (more than 2^53
// microseconds from the reference).
Result<HarmonizedTimes> harmonize_times(const std::vector<FileTimes>& files, bool integer_storage);

// The value as an ISO date for messages, as cftime's isoformat() prints it: "2000-03-01T00:00:00".
Result<std::string> describe_time(const std::string& units, const std::string& calendar,
                                  double value);

}  // namespace floe::virt
