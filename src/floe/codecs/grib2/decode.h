// Decoding one GRIB field (either edition) into caller memory: unpacking (simple, complex and
// spatial differencing, IEEE, JPEG2000, PNG, CCSDS), scaling, bitmaps and the scanning mode.
//
// Output layout. By default ("north-up") the field comes out as scanning mode 0 stores it: rows
// of Ni points from the northern-most row (the +j end of the grid) to the southern-most, each row
// west to east (+i), so a (Nj, Ni) array whose first element is the north-west corner, whatever
// the message's scanning mode (-i, +j, j-consecutive and alternating rows are undone). Reduced
// grids come out as their points in storage order. Missing points (bitmap zeros, complex-packing
// missing values) are NaN.
//
// The gribberish layout reproduces what gribberish's zarr codec (gribberish 1.9) returns, so that
// floe reads arrays written for it identically: points in storage order, reshaped to (Nj, Ni),
// with the rows reversed when `north_up` is set and the grid scans +j; the -i, j-consecutive and
// alternating-row flags are not undone. With `adjust_longitude_range`, rows of a global regular
// latitude/longitude grid scanning +i are rotated so that the column nearest -180 degrees comes
// first.
#pragma once

#include <cstdint>
#include <span>

#include "floe/codecs/grib2/packed_field.h"
#include "floe/core/result.h"

namespace floe::codecs::grib {

struct DecodeOptions {
  bool gribberish_layout = false;
  bool north_up = false;                // gribberish layout only
  bool adjust_longitude_range = false;  // gribberish layout only
};

// Decodes `field` into `out`, which holds field.points values. Thread-safe; scratch memory is
// allocated per call and bounded by a small multiple of the output. Errors (kCorrupt,
// kUnsupported) start with field.origin and name the section and what was wrong.
Status decode_field(const PackedField& field, std::span<float> out,
                    const DecodeOptions& options = {});
Status decode_field(const PackedField& field, std::span<double> out,
                    const DecodeOptions& options = {});

// The number of columns the gribberish layout rotates each row by under adjust_longitude_range
// (0 when it does not apply): the output row starts at stored column `roll`.
std::uint32_t longitude_roll(const PackedField& field);

}  // namespace floe::codecs::grib
