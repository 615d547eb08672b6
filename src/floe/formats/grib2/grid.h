// Horizontal coordinates of GRIB grids, computed (GRIB stores none): 1-D latitude/longitude for
// regular latitude/longitude and Gaussian grids, 2-D for Lambert conformal, polar stereographic and
// Mercator grids, in the north-up layout the GRIB codec decodes fields into (row 0 the +j end of
// the grid, each row in +i order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "floe/core/result.h"

namespace floe::formats::grib2 {

// The figure of the Earth (GRIB2 code table 3.2), reduced to what the projections need.
struct EarthShape {
  double semi_major_metres = 6367470.0;  // code 0, GRIB2's default sphere
  double semi_minor_metres = 6367470.0;
  bool is_sphere() const { return semi_major_metres == semi_minor_metres; }
};
// Code table 3.2 with the scaled radius / axes of section 3 (octets 15-30): nullopt for unknown
// codes and for missing or zero custom values.
std::optional<EarthShape> earth_shape_from_code(int code, int radius_scale, uint32_t radius_value,
                                                int major_scale, uint32_t major_value,
                                                int minor_scale, uint32_t minor_value);

// GRIB scanning mode flags (code table 3.4).
struct Scanning {
  bool i_negative = false;     // 0x80: points scan west (-i)
  bool j_positive = false;     // 0x40: rows scan north (+j)
  bool j_consecutive = false;  // 0x20: columns are stored consecutively
  bool alternating = false;    // 0x10: every other row reverses direction
  static Scanning from_flags(uint8_t flags) {
    return {(flags & 0x80) != 0, (flags & 0x40) != 0, (flags & 0x20) != 0, (flags & 0x10) != 0};
  }
};

// A grid as the coordinates need it, in degrees and metres (callers convert GRIB's units and scale
// factors).
struct GridGeometry {
  enum class Kind {
    kRegularLatLon,
    kRegularGaussian,
    kLambertConformal,
    kPolarStereographic,
    kMercator
  };
  Kind kind = Kind::kRegularLatLon;
  uint32_t ni = 0;             // points along a row (Nx)
  uint32_t nj = 0;             // rows (Ny)
  double first_latitude = 0;   // La1, the first grid point as stored
  double first_longitude = 0;  // Lo1
  double last_latitude = 0;    // La2 (lat/lon, Gaussian, Mercator)
  double last_longitude = 0;   // Lo2
  double i_increment =
      0;  // Di: degrees (lat/lon, Gaussian), metres (Dx: projections; Mercator at LaD)
  double j_increment = 0;             // Dj: degrees (lat/lon), metres (projections)
  uint32_t gaussian_n = 0;            // Gaussian: parallels between a pole and the equator
  double latitude_of_true_scale = 0;  // LaD (Lambert, polar stereographic, Mercator)
  double orientation_longitude = 0;   // LoV (Lambert, polar stereographic)
  double standard_parallel_1 = 0;     // Latin1 (Lambert)
  double standard_parallel_2 = 0;     // Latin2 (Lambert)
  bool south_pole = false;            // projection centre flag bit 1 (Lambert, polar stereographic)
  EarthShape earth;
  Scanning scanning;

  bool two_dimensional() const {
    return kind != Kind::kRegularLatLon && kind != Kind::kRegularGaussian;
  }
  // "regular_ll 1440x721", for messages and attributes.
  std::string describe() const;
  // Same grid (kind, size, corners, increments, projection): what lets messages share an array.
  bool same_grid(const GridGeometry& other) const;
};

// Coordinates in the decoded layout: 1-D grids give `latitude` (nj values, row order) and
// `longitude` (ni values); 2-D grids give both as nj * ni values, row-major. Longitudes of 1-D
// grids increase along the row and are shifted as a whole by 360 so that they stay within [-180,
// 360) ("180 .. 179.75" becomes -180 .. 179.75); 2-D longitudes are in [-180, 180).
struct GridCoordinates {
  std::vector<double> latitude;
  std::vector<double> longitude;
  bool two_dimensional = false;
};

// Errors: kUnsupported for oblate Earths on projections and j-consecutive scanning (named with the
// grid), kCorrupt for impossible grids (zero sizes, Gaussian N of zero, first/last latitudes not on
// the Gaussian grid).
Result<GridCoordinates> compute_coordinates(const GridGeometry& grid);

// The 2N Gaussian latitudes (degrees, north to south) of a grid with N parallels between a pole and
// the equator: the zeros of the Legendre polynomial of degree 2N.
std::vector<double> gaussian_latitudes(uint32_t n);

}  // namespace floe::formats::grib2
