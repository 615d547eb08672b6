// Grid coordinates: regular and Gaussian axes, and the spherical Lambert conformal, polar
// stereographic and Mercator projections (Snyder, "Map Projections: A Working Manual", USGS 1987,
// chapters 7, 15, 21) inverted at every grid point, ordered as the GRIB codec's north-up layout.
#include "floe/formats/grib2/grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

namespace floe::formats::grib2 {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDegree = kPi / 180.0;

double scaled(uint32_t value, int scale) {
  return static_cast<double>(value) * std::pow(10.0, -scale);
}

// Longitude in [-180, 180).
double wrap_longitude(double degrees) {
  double wrapped = std::fmod(degrees + 180.0, 360.0);
  if (wrapped < 0) wrapped += 360.0;
  return wrapped - 180.0;
}

// Storage index of the point at output row `row`, column `column` (north-up: row 0 is the +j end).
struct StorageIndex {
  double i;
  double j;
};
StorageIndex storage_index(const GridGeometry& grid, uint32_t row, uint32_t column) {
  return {static_cast<double>(grid.scanning.i_negative ? grid.ni - 1 - column : column),
          static_cast<double>(grid.scanning.j_positive ? grid.nj - 1 - row : row)};
}

// Step between stored points along i / j in the grid's own direction (+1 or -1 times the
// increment).
double i_sign(const GridGeometry& grid) { return grid.scanning.i_negative ? -1.0 : 1.0; }
double j_sign(const GridGeometry& grid) { return grid.scanning.j_positive ? 1.0 : -1.0; }

// 1-D longitudes of a regular or Gaussian grid in output order, increasing, shifted as a whole by
// 360. The step comes from the first and last points: the increment is rounded to the unit of
// section 3 (GFS-wave's 1/6 degree is 0.166667), which would put the far end of a long row off by
// that error times the row length.
std::vector<double> regular_longitudes(const GridGeometry& grid) {
  double increment = grid.i_increment;
  if (grid.ni > 1) {
    double span = grid.scanning.i_negative ? grid.first_longitude - grid.last_longitude
                                           : grid.last_longitude - grid.first_longitude;
    span = std::fmod(span, 360.0);
    if (span < 0) span += 360.0;
    if (span == 0) span = 360.0;  // a row that ends where it starts, 360 degrees on
    increment = span / (grid.ni - 1);
  }
  // The westernmost stored point is the first (+i) or the last (-i) of a row.
  double west = grid.scanning.i_negative
                    ? grid.first_longitude - increment * static_cast<double>(grid.ni - 1)
                    : grid.first_longitude;
  west = std::fmod(west, 360.0);
  if (west < 0) west += 360.0;
  const double east = west + increment * static_cast<double>(grid.ni - 1);
  if (east >= 360.0 && west >= 180.0) west -= 360.0;
  std::vector<double> longitudes(grid.ni);
  for (uint32_t column = 0; column < grid.ni; ++column)
    longitudes[column] = west + increment * column;
  return longitudes;
}

// Rows in output order; storage row j lies at first + j * (last - first) / (nj - 1).
std::vector<double> regular_latitudes(const GridGeometry& grid) {
  const double step =
      grid.nj > 1 ? (grid.last_latitude - grid.first_latitude) / static_cast<double>(grid.nj - 1)
                  : 0.0;
  std::vector<double> latitudes(grid.nj);
  for (uint32_t row = 0; row < grid.nj; ++row) {
    latitudes[row] = grid.first_latitude + step * storage_index(grid, row, 0).j;
  }
  return latitudes;
}

Result<std::vector<double>> gaussian_rows(const GridGeometry& grid) {
  // N is the number of parallels between a pole and the equator: 2N rows in all, of which the grid
  // uses Nj. The largest operational grids have N = 1280 (IFS O1280); computing 2N latitudes costs
  // O(N^2), so N is bounded.
  if (grid.gaussian_n == 0 || grid.gaussian_n > 4096 || grid.nj > 2 * grid.gaussian_n) {
    return make_error(ErrorCode::kCorrupt,
                      "{}: Gaussian grid with N = {} (Nj = {}; floe reads N up to 4096)",
                      grid.describe(), grid.gaussian_n, grid.nj);
  }
  std::vector<double> all = gaussian_latitudes(grid.gaussian_n);
  // Rows are chosen by the first and last latitudes, which GRIB rounds (micro- or milli-degrees).
  auto nearest = [&](double latitude) -> std::optional<size_t> {
    size_t best = 0;
    for (size_t k = 1; k < all.size(); ++k) {
      if (std::abs(all[k] - latitude) < std::abs(all[best] - latitude)) best = k;
    }
    if (std::abs(all[best] - latitude) > 0.01) return std::nullopt;
    return best;
  };
  auto first = nearest(grid.first_latitude);
  auto last = nearest(grid.last_latitude);
  if (!first || !last) {
    return make_error(ErrorCode::kCorrupt,
                      "{}: latitudes {} / {} are not rows of the N{} Gaussian grid",
                      grid.describe(), grid.first_latitude, grid.last_latitude, grid.gaussian_n);
  }
  size_t north = std::min(*first, *last);
  size_t south = std::max(*first, *last);
  if (south - north + 1 != grid.nj) {
    return make_error(ErrorCode::kCorrupt,
                      "{}: latitudes {} to {} span {} rows of the N{} Gaussian grid, not Nj = {}",
                      grid.describe(), grid.first_latitude, grid.last_latitude, south - north + 1,
                      grid.gaussian_n, grid.nj);
  }
  return std::vector<double>(all.begin() + static_cast<std::ptrdiff_t>(north),
                             all.begin() + static_cast<std::ptrdiff_t>(south) + 1);
}

// A spherical projection: forward (degrees -> metres) and inverse.
struct Point {
  double x;
  double y;
};
struct LatLon {
  double latitude;
  double longitude;
};

class LambertConformal {
 public:
  explicit LambertConformal(const GridGeometry& grid) : radius_(grid.earth.semi_major_metres) {
    const double phi1 = grid.standard_parallel_1 * kDegree;
    const double phi2 = grid.standard_parallel_2 * kDegree;
    if (std::abs(phi1 - phi2) < 1e-12) {
      n_ = std::sin(phi1);
    } else {
      n_ = std::log(std::cos(phi1) / std::cos(phi2)) /
           std::log(std::tan(kPi / 4 + phi2 / 2) / std::tan(kPi / 4 + phi1 / 2));
    }
    f_ = std::cos(phi1) * std::pow(std::tan(kPi / 4 + phi1 / 2), n_) / n_;
    rho0_ = rho(grid.latitude_of_true_scale * kDegree);
    lambda0_ = grid.orientation_longitude;
  }
  Point forward(double latitude, double longitude) const {
    const double r = rho(latitude * kDegree);
    const double theta = n_ * wrap_longitude(longitude - lambda0_) * kDegree;
    return {r * std::sin(theta), rho0_ - r * std::cos(theta)};
  }
  LatLon inverse(Point p) const {
    const double sign = n_ < 0 ? -1.0 : 1.0;
    const double r = sign * std::hypot(p.x, rho0_ - p.y);
    const double theta = std::atan2(sign * p.x, sign * (rho0_ - p.y));
    const double phi = 2 * std::atan(std::pow(radius_ * f_ / r, 1 / n_)) - kPi / 2;
    return {phi / kDegree, theta / n_ / kDegree + lambda0_};
  }

 private:
  double rho(double phi) const { return radius_ * f_ / std::pow(std::tan(kPi / 4 + phi / 2), n_); }

  double radius_;
  double n_ = 0;
  double f_ = 0;
  double rho0_ = 0;
  double lambda0_ = 0;
};

class PolarStereographic {
 public:
  explicit PolarStereographic(const GridGeometry& grid)
      : south_(grid.south_pole), lambda0_(grid.orientation_longitude) {
    // True scale at LaD: k = R (1 + sin |LaD|) scales tan(pi/4 -+ phi/2).
    scale_ = grid.earth.semi_major_metres *
             (1 + std::sin(std::abs(grid.latitude_of_true_scale) * kDegree));
  }
  Point forward(double latitude, double longitude) const {
    const double phi = latitude * kDegree;
    const double lambda = wrap_longitude(longitude - lambda0_) * kDegree;
    if (south_) {
      const double r = scale_ * std::tan(kPi / 4 + phi / 2);
      return {r * std::sin(lambda), r * std::cos(lambda)};
    }
    const double r = scale_ * std::tan(kPi / 4 - phi / 2);
    return {r * std::sin(lambda), -r * std::cos(lambda)};
  }
  LatLon inverse(Point p) const {
    const double r = std::hypot(p.x, p.y);
    const double colatitude = 2 * std::atan(r / scale_);
    if (south_)
      return {-(kPi / 2 - colatitude) / kDegree, std::atan2(p.x, p.y) / kDegree + lambda0_};
    return {(kPi / 2 - colatitude) / kDegree, std::atan2(p.x, -p.y) / kDegree + lambda0_};
  }

 private:
  bool south_;
  double lambda0_;
  double scale_ = 0;
};

class Mercator {
 public:
  explicit Mercator(const GridGeometry& grid)
      : scale_(grid.earth.semi_major_metres * std::cos(grid.latitude_of_true_scale * kDegree)) {}
  Point forward(double latitude, double longitude) const {
    return {scale_ * longitude * kDegree,
            scale_ * std::log(std::tan(kPi / 4 + latitude * kDegree / 2))};
  }
  LatLon inverse(Point p) const {
    return {(2 * std::atan(std::exp(p.y / scale_)) - kPi / 2) / kDegree, p.x / scale_ / kDegree};
  }

 private:
  double scale_;
};

template <typename Projection>
GridCoordinates projected(const GridGeometry& grid, const Projection& projection) {
  GridCoordinates coordinates;
  coordinates.two_dimensional = true;
  const size_t count = static_cast<size_t>(grid.ni) * grid.nj;
  coordinates.latitude.resize(count);
  coordinates.longitude.resize(count);
  const Point origin = projection.forward(grid.first_latitude, grid.first_longitude);
  for (uint32_t row = 0; row < grid.nj; ++row) {
    for (uint32_t column = 0; column < grid.ni; ++column) {
      StorageIndex index = storage_index(grid, row, column);
      Point point{origin.x + i_sign(grid) * index.i * grid.i_increment,
                  origin.y + j_sign(grid) * index.j * grid.j_increment};
      LatLon position = projection.inverse(point);
      const size_t k = static_cast<size_t>(row) * grid.ni + column;
      coordinates.latitude[k] = position.latitude;
      coordinates.longitude[k] = wrap_longitude(position.longitude);
    }
  }
  return coordinates;
}

const char* kind_name(GridGeometry::Kind kind) {
  switch (kind) {
    case GridGeometry::Kind::kRegularLatLon:
      return "regular_ll";
    case GridGeometry::Kind::kRegularGaussian:
      return "regular_gg";
    case GridGeometry::Kind::kLambertConformal:
      return "lambert";
    case GridGeometry::Kind::kPolarStereographic:
      return "polar_stereographic";
    case GridGeometry::Kind::kMercator:
      return "mercator";
  }
  return "?";
}

}  // namespace

std::optional<EarthShape> earth_shape_from_code(int code, int radius_scale, uint32_t radius_value,
                                                int major_scale, uint32_t major_value,
                                                int minor_scale, uint32_t minor_value) {
  auto sphere = [](double radius) { return EarthShape{radius, radius}; };
  switch (code) {
    case 0:
      return sphere(6367470.0);
    case 1: {
      const double radius = scaled(radius_value, radius_scale);
      if (!(radius > 0) || radius_value == 0xFFFFFFFF) return std::nullopt;
      return sphere(radius);
    }
    case 2:
      return EarthShape{6378160.0, 6356775.0};
    case 3:
    case 7: {
      const double unit = code == 3 ? 1000.0 : 1.0;  // 3: kilometres, 7: metres
      const double major = scaled(major_value, major_scale) * unit;
      const double minor = scaled(minor_value, minor_scale) * unit;
      if (!(major > 0) || !(minor > 0) || major_value == 0xFFFFFFFF || minor_value == 0xFFFFFFFF) {
        return std::nullopt;
      }
      return EarthShape{major, minor};
    }
    case 4:
      return EarthShape{6378137.0, 6356752.314};
    case 5:
      return EarthShape{6378137.0, 6356752.3142};
    case 6:
      return sphere(6371229.0);
    case 8:
      return sphere(6371200.0);
    case 9:
      return EarthShape{6377563.396, 6356256.909};
    default:
      return std::nullopt;
  }
}

std::string GridGeometry::describe() const {
  return fmt::format("{} grid {}x{}", kind_name(kind), ni, nj);
}

bool GridGeometry::same_grid(const GridGeometry& other) const {
  return kind == other.kind && ni == other.ni && nj == other.nj &&
         first_latitude == other.first_latitude && first_longitude == other.first_longitude &&
         last_latitude == other.last_latitude && last_longitude == other.last_longitude &&
         i_increment == other.i_increment && j_increment == other.j_increment &&
         gaussian_n == other.gaussian_n && latitude_of_true_scale == other.latitude_of_true_scale &&
         orientation_longitude == other.orientation_longitude &&
         standard_parallel_1 == other.standard_parallel_1 &&
         standard_parallel_2 == other.standard_parallel_2 && south_pole == other.south_pole &&
         earth.semi_major_metres == other.earth.semi_major_metres &&
         earth.semi_minor_metres == other.earth.semi_minor_metres &&
         scanning.i_negative == other.scanning.i_negative &&
         scanning.j_positive == other.scanning.j_positive;
}

std::vector<double> gaussian_latitudes(uint32_t n) {
  // Newton's method on P_2N(x), x = sin(latitude), from the usual asymptotic first guesses; the
  // result is mirrored to the south.
  const uint32_t degree = 2 * n;
  std::vector<double> latitudes(degree);
  for (uint32_t k = 0; k < n; ++k) {
    double x = std::cos(kPi * (k + 0.75) / (degree + 0.5));
    for (int iteration = 0; iteration < 100; ++iteration) {
      double p0 = 1.0;
      double p1 = x;
      for (uint32_t l = 2; l <= degree; ++l) {
        const double p2 = ((2.0 * l - 1) * x * p1 - (l - 1.0) * p0) / l;
        p0 = p1;
        p1 = p2;
      }
      const double derivative = degree * (x * p1 - p0) / (x * x - 1);
      const double step = p1 / derivative;
      x -= step;
      if (std::abs(step) < 1e-16) break;
    }
    latitudes[k] = std::asin(x) / kDegree;
    latitudes[degree - 1 - k] = -latitudes[k];
  }
  return latitudes;
}

Result<GridCoordinates> compute_coordinates(const GridGeometry& grid) {
  if (grid.ni == 0 || grid.nj == 0) {
    return make_error(ErrorCode::kCorrupt, "{}: a grid needs at least one row and column",
                      grid.describe());
  }
  // A constant field (0 bits per value) is a few hundred bytes whatever the grid size it claims, so
  // sizes are bounded here rather than by the message: 2^24 rows or columns, 2^26 points for 2-D
  // coordinates (512 MiB each).
  const uint64_t points = static_cast<uint64_t>(grid.ni) * grid.nj;
  if (grid.ni > (1u << 24) || grid.nj > (1u << 24) ||
      (grid.two_dimensional() && points > (1ull << 26))) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: {} points is more than floe computes coordinates for", grid.describe(),
                      points);
  }
  GridCoordinates coordinates;
  switch (grid.kind) {
    case GridGeometry::Kind::kRegularLatLon: {
      coordinates.latitude = regular_latitudes(grid);
      coordinates.longitude = regular_longitudes(grid);
      return coordinates;
    }
    case GridGeometry::Kind::kRegularGaussian: {
      FLOE_ASSIGN_OR_RETURN(coordinates.latitude, gaussian_rows(grid));
      coordinates.longitude = regular_longitudes(grid);
      return coordinates;
    }
    case GridGeometry::Kind::kLambertConformal:
    case GridGeometry::Kind::kPolarStereographic:
    case GridGeometry::Kind::kMercator:
      break;
  }
  if (!grid.earth.is_sphere()) {
    return make_error(
        ErrorCode::kUnsupported,
        "{}: projected coordinates on an oblate Earth (axes {} m / {} m) are not computed yet; "
        "only spherical Earth shapes (code table 3.2: 0, 1, 6, 8)",
        grid.describe(), grid.earth.semi_major_metres, grid.earth.semi_minor_metres);
  }
  if (!(grid.i_increment > 0) || !(grid.j_increment > 0)) {
    return make_error(ErrorCode::kCorrupt, "{}: grid lengths Dx {} m, Dy {} m", grid.describe(),
                      grid.i_increment, grid.j_increment);
  }
  if (grid.kind == GridGeometry::Kind::kLambertConformal)
    return projected(grid, LambertConformal(grid));
  if (grid.kind == GridGeometry::Kind::kPolarStereographic) {
    return projected(grid, PolarStereographic(grid));
  }
  return projected(grid, Mercator(grid));
}

}  // namespace floe::formats::grib2
