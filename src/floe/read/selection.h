// Selections along one dimension: `--isel` index specs and `--sel` coordinate-value specs turned
// into index ranges (descending axes, longitude wrap-around and seam-crossing boxes, CF time
// bounds).
//
// Value selections follow xarray's .sel where xarray has an answer:
//  - "A:B" keeps every coordinate value in the closed interval between A and B, like
//    .sel(x=slice(A, B)) on an ascending axis. Either order means the same interval, on ascending
//    and descending axes alike (xarray needs slice(B, A) on a descending axis).
//  - Dates as bounds are partial dates like pandas' partial-string indexing:
//  "2020-01-01:2020-01-31"
//    runs from 2020-01-01T00:00 up to, not including, 2020-02-01T00:00; "2020-01" is the whole
//    month.
//  - "A" alone is the nearest value (.sel(x=A, method="nearest")); a tie goes to the larger
//  coordinate
//    value, as pandas' get_indexer(method="nearest") does. A point farther than one grid step (the
//    spacing next to the nearest value) outside the coordinate's extent is an error instead of the
//    edge value xarray would return. A coordinate with one value accepts any point.
//  - Longitude (see looks_like_longitude): bounds and points are taken modulo 360, so -180..180
//  specs
//    work against 0..360 data and the other way. "A:B" is the box from A eastward to B (A > B means
//    across the antimeridian: 170:-170 is 170:190). A box across the data's seam gives two ranges,
//    the western part first, so the output runs contiguously east: lon=-20:40 against 0..359.75 is
//    the indices of 340..359.75 then those of 0..40. Open bounds ("lon=:40") are not wrapped. On a
//    descending longitude axis the two ranges come in the data's (descending) order. A grid that
//    repeats the seam (both 0 and 360) may repeat that column.
//  - A selection that keeps nothing is an error naming the dimension, the request and the
//  coordinate's
//    extent; so is a coordinate that is not monotonic or holds NaN.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/virtual/cf_time.h"
#include "floe/zarr/data_type.h"

namespace floe::read {

// Half-open [start, stop) along one dimension.
struct IndexRange {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;

  std::uint64_t size() const { return stop - start; }
  friend bool operator==(const IndexRange&, const IndexRange&) = default;
};

// The output along a dimension is the concatenation of `ranges`, in order. A single index or point
// keeps the dimension with length 1.
struct DimSelection {
  std::vector<IndexRange> ranges;

  std::uint64_t size() const;
  friend bool operator==(const DimSelection&, const DimSelection&) = default;
};

// What a coordinate variable's metadata says about how to read value specs against it.
struct CoordinateInfo {
  std::optional<virt::CfTimeUnits> time_units;  // bounds are dates, converted into these units
  bool is_longitude = false;                    // values are taken modulo 360
  bool single_precision = false;  // float32 values: bounds are rounded to float32 first, as
                                  // numpy compares a Python float against a float32 array
};

// units degrees_east (and CF's other spellings), standard_name longitude, or a name lon/longitude
// whose units (if any) are in degrees.
bool looks_like_longitude(std::string_view name, const nlohmann::json& attributes);

// CoordinateInfo from a coordinate array's name, attributes (units, calendar, standard_name) and
// data type. Time units are "UNIT since DATE" strings; numpy.datetime64 arrays count their unit
// since 1970-01-01 in the proleptic Gregorian calendar. Errors for time units that cannot be read.
Result<CoordinateInfo> describe_coordinate(std::string_view name, const nlohmann::json& attributes,
                                           const zarr::DataType& type);

// "I:J" (half-open, negative from the end, either side may be empty), "I" (one index, the dimension
// kept with length 1). Indices beyond the dimension and empty slices are errors naming `dim` and
// its length.
Result<DimSelection> select_by_index(std::string_view dim, std::string_view spec,
                                     std::uint64_t length);

// "A:B", "A:", ":B" or "A" against the coordinate's values (raw values, in the units of
// info.time_units for time coordinates). See the file comment for the semantics.
Result<DimSelection> select_by_value(std::string_view dim, std::string_view spec,
                                     std::span<const double> coordinate,
                                     const CoordinateInfo& info);

// A command-line selection "DIM=SPEC" ("lat=-10.25:-1", "time=2020-01-01:2020-01-31", "time=0:24").
struct SelectionArgument {
  std::string dim;
  std::string spec;
};
Result<SelectionArgument> parse_selection_argument(std::string_view argument);

}  // namespace floe::read
