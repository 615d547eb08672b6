// GRIB sidecar indexes: NOAA wgrib2 `.idx` inventories and ECMWF open-data `.index` JSON lines,
// parsed into entries (message byte range + the names and times the sidecar gives), without
// touching the GRIB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"

namespace floe::formats::grib2 {

// A reference time: seconds since 1970-01-01T00:00:00Z (proleptic Gregorian, as GRIB section 1).
using UnixSeconds = int64_t;

// "YYYYMMDD[HH[mm[ss]]]" → seconds since the epoch; nullopt for anything else (bad digits, month
// 13, ...).
std::optional<UnixSeconds> parse_compact_date(std::string_view digits);
// Seconds since the epoch → "YYYY-MM-DDTHH:MM:SS".
std::string format_iso8601(UnixSeconds seconds);

// wgrib2's forecast-time field (`-ftime`): "anl", "6 hour fcst", "0-6 hour acc fcst", "6-12 hour
// ave fcst", "495 min fcst", "0-1 day max fcst". Steps are seconds after the reference time; months
// and years have no fixed length, so they (and every other form) stay kUnparsed with the text kept.
struct ForecastTime {
  enum class Kind { kAnalysis, kForecast, kInterval, kUnparsed };
  Kind kind = Kind::kUnparsed;
  int64_t start_seconds =
      0;                    // kForecast: the lead time; kInterval: start of the processed interval
  int64_t end_seconds = 0;  // the step the field is valid at (== start_seconds unless kInterval)
  std::string statistic;    // kInterval: "acc", "ave", "max", "min", ... as wgrib2 wrote it
  std::string text;         // the field as written
};
ForecastTime parse_wgrib2_forecast_time(std::string_view text);

// wgrib2's level field (`-lev`): "500 mb", "2 m above ground", "0-0.1 m below ground", "0.5-0.8
// sigma layer", "261 K level - 256 K level", "PV=-2e-06 (Km^2/kg/s) surface", "surface", "entire
// atmosphere". `type` is the text without its numbers: what arrays are grouped by ("mb", "m above
// ground", "surface").
struct Level {
  std::string type;
  std::optional<double> value;   // the level, or the first bound of a layer
  std::optional<double> value2;  // the second bound of a layer
  std::string text;              // the field as written
  bool is_layer() const { return value2.has_value(); }
};
Level parse_wgrib2_level(std::string_view text);

// wgrib2's ensemble annotation (`-ens`, code table 4.6/4.7): "ENS=hi-res ctl", "ENS=low-res ctl",
// "ENS=+3", "ENS=-3", "MM-ENS=2", "ENS=5" (NCEP local), optionally followed by a derived-forecast
// name ("ens mean", "ens spread", "10% all members", ...), which may also stand alone.
struct Ensemble {
  enum class Kind {
    kHighResolutionControl,
    kLowResolutionControl,
    kNegativePerturbation,
    kPositivePerturbation,
    kMultiModel,
    kNumbered,
    kDerivedOnly,
    kUnknown
  };
  Kind kind = Kind::kDerivedOnly;
  int32_t perturbation = 0;  // N of "+N", "-N", "MM-ENS=N", "ENS=N"; 0 for controls
  std::string derived;       // code table 4.7 text when present ("ens mean"), else empty
  std::string text;          // the annotation as written

  // The member number a datacube uses: 0 for a control, +N / -N for perturbations, N for
  // multi-model and numbered members; nullopt for derived products of the whole ensemble (means,
  // spreads, percentiles) and for "ENS=? table4.6=..." (a code wgrib2 does not know).
  std::optional<int32_t> member() const;
};
// Recognizes an ensemble annotation among the extra fields of an inventory line; nullopt when
// `field` is not one.
std::optional<Ensemble> parse_wgrib2_ensemble(std::string_view field);

// "var discipline=0 center=7 local_table=1 parmcat=16 parm=201" (wgrib2 -s for parameters missing
// from its tables).
struct UnknownParameter {
  int32_t discipline = -1;
  int32_t category = -1;
  int32_t number = -1;
  int32_t center = -1;  // -1 when not written (WMO table parameters)
  int32_t local_table = -1;
  int32_t master_table = -1;
};
std::optional<UnknownParameter> parse_wgrib2_unknown_parameter(std::string_view variable);

// One line of a NOAA `.idx`: `MSG[.SUB]:OFFSET:d=YYYYMMDDHH:VAR:LEVEL:FTIME:[MISC[:MISC...]]`.
struct NoaaIdxEntry {
  uint32_t message = 0;  // 1-based message number
  uint32_t submessage =
      0;  // 0 for a message with one field; M of "N.M" (1-based) for multi-field messages
  uint64_t offset = 0;  // start of the message (shared by all its submessages)
  // Bytes of the whole message: the next greater offset minus this one. Absent when it cannot be
  // known from the inventory: the last message (it runs to the end of the file: see
  // extends_to_end_of_file) and a message followed by a gap in the message numbers (a filtered
  // inventory: lines of other messages were removed).
  std::optional<uint64_t> length;
  bool extends_to_end_of_file =
      false;         // the last message of the inventory: its bytes end where the file does
  std::string date;  // the digits after "d=" / "D=" as written
  UnixSeconds reference_time = 0;  // that date parsed
  std::string variable;            // wgrib2 name ("TMP", "APCP") or "var discipline=... parm=..."
  Level level;
  ForecastTime forecast;
  std::optional<Ensemble> ensemble;  // from the extra fields
  std::vector<std::string> extra;  // every field after FTIME, empty ones (trailing colons) dropped
  // The whole tail after the date, trailing colons removed ("TMP:2 m above ground:6 hour
  // fcst:ENS=+1"): the same field in another run's inventory has the same key. Keys can repeat
  // within one inventory (GFS f006 lists "APCP:surface:0-6 hour acc fcst" twice), so (key,
  // key_occurrence) is what identifies a field.
  std::string key;
  uint32_t key_occurrence = 0;  // how many earlier entries of this inventory have the same key
  std::string raw_line;         // without the line break
};

// Parses a whole inventory. `idx_url` names the sidecar in errors. Blank lines are skipped and CR
// LF is accepted. With `grib_size` the last message's length is filled in (grib_size - offset).
// Malformed lines, offsets that go backwards, two messages at one offset, and offsets past
// `grib_size` are kCorrupt errors naming the sidecar, the line number and the line.
Result<std::vector<NoaaIdxEntry>> parse_noaa_idx(std::string_view text, std::string_view idx_url,
                                                 std::optional<uint64_t> grib_size = std::nullopt);
// Fills in the length of the entries that extend to the end of a GRIB file of `grib_size` bytes
// (from a HEAD or a listing); kCorrupt naming `idx_url` when such an entry starts past that size.
Status resolve_noaa_idx_lengths(std::vector<NoaaIdxEntry>& entries, uint64_t grib_size,
                                std::string_view idx_url);

// A step as ECMWF writes it: "6", "0-24", "90m", "6h" (hours unless suffixed with m or s).
struct EcmwfStep {
  int64_t start_seconds = 0;
  int64_t end_seconds = 0;  // == start_seconds unless a range
  bool is_range() const { return start_seconds != end_seconds; }
};
std::optional<EcmwfStep> parse_ecmwf_step(std::string_view text);

// One line of an ECMWF open-data `.index`: MARS keys (string values) plus `_offset` and `_length`.
struct EcmwfIndexEntry {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string param;                    // ECMWF short name ("2t", "tp", "10u")
  std::string levtype;                  // "sfc", "pl", "ml", "sol", "pt", "pv"
  std::optional<std::string> levelist;  // absent at the surface
  std::optional<double> level;          // levelist as a number
  std::optional<int32_t> number;        // absent for the control (type "cf") and deterministic runs
  std::string step_text;
  EcmwfStep step;
  std::string date;  // "20220126"
  std::string time;  // "0000", "1200" (HHMM; "6" / "06" read as hours)
  UnixSeconds reference_time = 0;
  std::string type;    // "cf", "pf", "fc", "ep", ...
  std::string stream;  // "oper", "enfo", "waef", "wave", ...
  std::map<std::string, std::string, std::less<>>
      keys;  // every key but _offset/_length, numbers as text
  std::string raw_line;

  // The ensemble member a datacube uses: `number` when present, 0 for a control ("cf") without one,
  // nullopt otherwise (deterministic "fc", derived products).
  std::optional<int32_t> member() const;
  // Every key but date and time as "name=value" joined by ',' in name order: what identifies the
  // field, the same for the same field of another run.
  std::string key() const;
};

// Parses a whole index. `index_url` names the sidecar in errors. Blank lines are skipped. A line
// that is not a JSON object, lacks `_offset`/`_length`/`param`/`levtype`/`step`/`date`/`time`, has
// negative or non-integer offsets, an unreadable step or date, or a range past `grib_size` (when
// given) is a kCorrupt error naming the sidecar, the line number and the line.
Result<std::vector<EcmwfIndexEntry>> parse_ecmwf_index(
    std::string_view text, std::string_view index_url,
    std::optional<uint64_t> grib_size = std::nullopt);

// Which sidecar format a text is: ECMWF when its first non-blank character is '{', else NOAA.
enum class SidecarFormat { kNoaaIdx, kEcmwfIndex };
SidecarFormat detect_sidecar_format(std::string_view text);

}  // namespace floe::formats::grib2
