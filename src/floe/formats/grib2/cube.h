// Forecast datacubes: GRIB fields (one chunk each, wherever they came from: sidecar indexes,
// scanned headers) placed into arrays with dims (init_time, step[, member][, level], y, x), one
// array per parameter and level type, with the time, member, level and horizontal coordinates they
// need.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/formats/grib2/grid.h"
#include "floe/formats/grib2/idx.h"
#include "floe/virtual/dataset.h"

namespace floe::formats::grib2 {

// One field of one GRIB message: where its bytes are and what it is.
struct CubeField {
  uint32_t source = 0;       // index into CubeInput::sources
  uint64_t offset = 0;       // the message's first byte
  uint64_t length = 0;       // the whole message (a chunk is a message; the codec picks the field)
  uint32_t field_index = 0;  // 0-based field within a multi-field message
  uint32_t grid = 0;         // index into CubeInput::grids
  std::string parameter;     // array name: wgrib2 ("TMP"), ECMWF ("2t") or table ("t") names
  std::string level_type;    // what arrays are grouped by: "mb", "m above ground", "pl", "sfc"
  std::optional<double> level;        // the level, or a layer's first bound
  std::optional<double> level_bound;  // a layer's second bound
  UnixSeconds reference_time = 0;
  int64_t step_seconds = 0;  // valid time minus reference time (the end of a processed interval)
  // Statistically processed fields (accumulations, averages, extremes): the statistic and where its
  // interval starts; empty / nullopt for instantaneous fields.
  std::string statistic;
  std::optional<int64_t> interval_start_seconds;
  std::optional<int32_t> member;  // ensemble member (0 = control); nullopt for deterministic fields
  std::string ensemble_product;   // derived products of a whole ensemble: "ens mean", "ens spread"
  nlohmann::json codec;           // the array->bytes codec decoding this field from its message
  // A codec that decodes it as well (floe.grib where `codec` is gribberish's): an array whose
  // fields do not all share `codec` uses this one when they all share it.
  nlohmann::json fallback_codec;
  nlohmann::json attributes = nlohmann::json::object();  // of the field's array (first field wins)
  std::string origin;  // "URL message N at offset X" or the sidecar line, for warnings
};

struct CubeInput {
  std::vector<std::string> sources;  // URLs written into the chunk references
  std::vector<GridGeometry> grids;
  std::vector<CubeField> fields;
};

// What a forecast collection looks like.
enum class CubeLayout {
  kGeneric,  // dims from the fields: a member dim when any field has a member
  kGefs,     // NOAA GEFS: one file per member and lead time, control gec00 = member 0; a member dim
             // always
  kEcmwfEns,  // ECMWF ENS: members in shared files, control from "cf" (or oper "fc" after 50r1) =
              // member 0
  kGfs,       // NOAA GFS: deterministic
  kHrrr,      // NOAA HRRR: deterministic, Lambert conformal, sub-hourly steps in wrfsubh files
};
// "generic", "gefs", "ecmwf-ens", "gfs", "hrrr".
Result<CubeLayout> parse_cube_layout(std::string_view name);

// GEFS member from a file name: "gec00" -> 0, "gep07" -> 7; nullopt for anything else ("geavg",
// "gespr").
std::optional<int32_t> gefs_member_from_name(std::string_view url);

// Builds the dataset:
// - Arrays live in one group per level type (named after it: "mb", "m_above_ground", "surface",
// "pl"); groups of
//   level types with values have a `level` coordinate, the sorted union of their arrays' levels (a
//   layer stands at its first bound, and `level_bound` holds the second).
// - The root holds init_time, step (seconds), valid_time (init_time, step), member, and
// latitude/longitude:
//   1-D dimension coordinates for regular and Gaussian grids, 2-D on (y, x) for projections,
//   computed and stored in the repository.
// - Each array is float32 with NaN fill, chunks (1, 1[, 1][, 1], ny, nx): one message each. Cells
// no field fills
//   are missing chunks. Two fields for one cell: an interval starting at the run's start next to a
//   shorter one (NOAA's run-total and bucket accumulations) goes to `<name>_since_init`; other
//   duplicates are skipped with a warning naming both.
// - Fields on a grid other than the most common one, fields no codec of their array decodes,
// and fields
//   without a member in an array with members are left out with a warning each (dataset.warnings).
// Errors: kInvalidArgument for out-of-range source/grid indexes, no fields; coordinate errors from
// the grid.
Result<virt::VirtualDataset> build_forecast_cube(const CubeInput& input, CubeLayout layout);

// Puts a root valid_time(init_time, step) = init_time + step into a datacube (replacing the one it has): after
// an append merged init_time and step, every cell of the merged grid is known, old runs at new steps included.
void rebuild_valid_time(virt::VirtualDataset& cube, const std::vector<int64_t>& init_times,
                        const std::vector<int64_t>& steps);

}  // namespace floe::formats::grib2
