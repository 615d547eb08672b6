// Tests of grid coordinates against ecCodes' geoiterator: the real GRIB files under testdata/grib
// (regular lat/lon incl. ECMWF's 180-degree start, HRRR and NBM Lambert with +j and alternating
// rows, CMC polar stereographic) and grids written here by ecCodes (Gaussian, Mercator, south
// polar, -i scanning).
#include "floe/formats/grib2/grid.h"

#include <eccodes.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::testdata;

namespace fs = std::filesystem;
using Handle = std::unique_ptr<codes_handle, decltype(&codes_handle_delete)>;

double get_double(codes_handle* h, const char* key) {
  double value = 0;
  EXPECT_EQ(codes_get_double(h, key, &value), 0) << key;
  return value;
}
long get_long(codes_handle* h, const char* key) {
  long value = 0;
  EXPECT_EQ(codes_get_long(h, key, &value), 0) << key;
  return value;
}
std::string get_string(codes_handle* h, const char* key) {
  char value[128] = {};
  size_t length = sizeof(value);
  codes_get_string(h, key, value, &length);
  return value;
}

// The geometry as ecCodes reads section 3, converted to floe's struct.
GridGeometry geometry_of(codes_handle* h) {
  GridGeometry grid;
  const std::string type = get_string(h, "gridType");
  grid.ni = static_cast<uint32_t>(get_long(h, "Nx"));
  grid.nj = static_cast<uint32_t>(get_long(h, "Ny"));
  grid.first_latitude = get_double(h, "latitudeOfFirstGridPointInDegrees");
  grid.first_longitude = get_double(h, "longitudeOfFirstGridPointInDegrees");
  grid.scanning = Scanning::from_flags(static_cast<uint8_t>(get_long(h, "scanningMode")));
  const double radius = get_double(h, "radius");
  grid.earth = EarthShape{radius, radius};
  if (type == "regular_ll" || type == "regular_gg") {
    grid.kind = type == "regular_ll" ? GridGeometry::Kind::kRegularLatLon
                                     : GridGeometry::Kind::kRegularGaussian;
    grid.last_latitude = get_double(h, "latitudeOfLastGridPointInDegrees");
    grid.last_longitude = get_double(h, "longitudeOfLastGridPointInDegrees");
    grid.i_increment = get_double(h, "iDirectionIncrementInDegrees");
    if (type == "regular_ll") {
      grid.j_increment = get_double(h, "jDirectionIncrementInDegrees");
    } else {
      grid.gaussian_n = static_cast<uint32_t>(get_long(h, "N"));
    }
  } else if (type == "lambert") {
    grid.kind = GridGeometry::Kind::kLambertConformal;
    grid.i_increment = get_double(h, "DxInMetres");
    grid.j_increment = get_double(h, "DyInMetres");
    grid.latitude_of_true_scale = get_double(h, "LaDInDegrees");
    grid.orientation_longitude = get_double(h, "LoVInDegrees");
    grid.standard_parallel_1 = get_double(h, "Latin1InDegrees");
    grid.standard_parallel_2 = get_double(h, "Latin2InDegrees");
    grid.south_pole = (get_long(h, "projectionCentreFlag") & 0x80) != 0;
  } else if (type == "polar_stereographic") {
    grid.kind = GridGeometry::Kind::kPolarStereographic;
    grid.i_increment = get_double(h, "DxInMetres");
    grid.j_increment = get_double(h, "DyInMetres");
    grid.latitude_of_true_scale = get_double(h, "LaDInDegrees");
    grid.orientation_longitude = get_double(h, "orientationOfTheGridInDegrees");
    grid.south_pole = (get_long(h, "projectionCentreFlag") & 0x80) != 0;
  } else if (type == "mercator") {
    grid.kind = GridGeometry::Kind::kMercator;
    grid.last_latitude = get_double(h, "latitudeOfLastGridPointInDegrees");
    grid.last_longitude = get_double(h, "longitudeOfLastGridPointInDegrees");
    grid.i_increment = get_double(h, "DiInMetres");
    grid.j_increment = get_double(h, "DjInMetres");
    grid.latitude_of_true_scale = get_double(h, "LaDInDegrees");
  } else {
    ADD_FAILURE() << "grid type " << type;
  }
  return grid;
}

double longitude_difference(double a, double b) {
  double d = std::fmod(std::abs(a - b), 360.0);
  return std::min(d, 360.0 - d);
}

// Compares floe's coordinates with ecCodes' per-point latitudes/longitudes (grid order, mapped to
// the north-up layout: row 0 the +j end, +i along rows).
void expect_same_coordinates(codes_handle* h, double tolerance_degrees) {
  GridGeometry grid = geometry_of(h);
  SCOPED_TRACE(grid.describe());
  auto computed = compute_coordinates(grid);
  ASSERT_TRUE(computed.ok()) << computed.error().to_string();
  size_t count = 0;
  ASSERT_EQ(codes_get_size(h, "latitudes", &count), 0);
  ASSERT_EQ(count, static_cast<size_t>(grid.ni) * grid.nj);
  std::vector<double> latitudes(count);
  std::vector<double> longitudes(count);
  ASSERT_EQ(codes_get_double_array(h, "latitudes", latitudes.data(), &count), 0);
  ASSERT_EQ(codes_get_double_array(h, "longitudes", longitudes.data(), &count), 0);
  EXPECT_EQ(computed->two_dimensional, grid.two_dimensional());
  double worst_latitude = 0;
  double worst_longitude = 0;
  for (size_t k = 0; k < count; ++k) {
    // ecCodes lists the points of alternating rows by grid position (i, j), not in their stored
    // order, which is also the order the decoder puts them in.
    size_t j = k / grid.ni;
    size_t i = k % grid.ni;
    size_t row = grid.scanning.j_positive ? grid.nj - 1 - j : j;
    size_t column = grid.scanning.i_negative ? grid.ni - 1 - i : i;
    double latitude = 0;
    double longitude = 0;
    if (computed->two_dimensional) {
      latitude = computed->latitude[row * grid.ni + column];
      longitude = computed->longitude[row * grid.ni + column];
      EXPECT_GE(longitude, -180.0);
      EXPECT_LT(longitude, 180.0);
    } else {
      latitude = computed->latitude[row];
      longitude = computed->longitude[column];
    }
    worst_latitude = std::max(worst_latitude, std::abs(latitude - latitudes[k]));
    worst_longitude = std::max(worst_longitude, longitude_difference(longitude, longitudes[k]));
  }
  EXPECT_LE(worst_latitude, tolerance_degrees);
  EXPECT_LE(worst_longitude, tolerance_degrees);
  if (!computed->two_dimensional) {
    EXPECT_TRUE(std::is_sorted(computed->longitude.begin(), computed->longitude.end()));
    EXPECT_GE(computed->longitude.front(), -180.0);
    EXPECT_LT(computed->longitude.front(), 360.0);
    EXPECT_TRUE(
        std::is_sorted(computed->latitude.rbegin(), computed->latitude.rend()));  // north first
  }
}

// The first messages of a file (2-D grids cost seconds each in ecCodes' iterator).
void expect_file(const fs::path& path, double tolerance_degrees, size_t max_messages = 3) {
  SCOPED_TRACE(path.string());
  FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr);
  int error = 0;
  size_t messages = 0;
  while (codes_handle* raw = codes_handle_new_from_file(nullptr, file, PRODUCT_GRIB, &error)) {
    Handle h(raw, &codes_handle_delete);
    expect_same_coordinates(h.get(), tolerance_degrees);
    if (++messages == max_messages) break;
  }
  std::fclose(file);
  EXPECT_GT(messages, 0u);
}

TEST(GridCoordinates, RealFilesMatchEccodes) {
  // GFS-wave's 1/6-degree rows are coded as 0.166667: ecCodes steps the latitudes by that rounded
  // Dj and ends 1.1e-4 degrees past La2 = 0, floe divides La2 - La1 (the longitudes of both agree).
  expect_file(testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2", 1.2e-4);
  expect_file(testdata() / "gribberish_gfs.t18z.pgrb2.0p25.f186-RH.grib2", 1e-6);
  expect_file(testdata() / "gribberish_aifs-single-t500.grib2",
              1e-6);  // starts at 180: -180 .. 179.75
  expect_file(testdata() / "gribberish_meteofrance.arome-TCDC.grib2", 1e-6);
  expect_file(testdata() / "gribberish_hrrr.t06z.wrfsfcf01-CFRZR.grib2", 1e-5);  // Lambert, +j
  expect_file(testdata() / "gribberish_nbm-multilevel-tcdc.grib2", 1e-5,
              1);  // Lambert, alternating rows
  expect_file(testdata() / "kerchunk_CMC_reg_DEPR_ISBL_10_ps10km_2022072000_P000.grib2",
              1e-5);  // polar
}

TEST(GridCoordinates, EcmwfGlobalGridStartsAtMinus180) {
  GridGeometry grid;
  grid.ni = 1440;
  grid.nj = 721;
  grid.first_latitude = 90;
  grid.last_latitude = -90;
  grid.first_longitude = 180;
  grid.last_longitude = 179.75;
  grid.i_increment = 0.25;
  grid.j_increment = 0.25;
  auto coordinates = compute_coordinates(grid);
  ASSERT_TRUE(coordinates.ok());
  EXPECT_EQ(coordinates->longitude.front(), -180.0);
  EXPECT_EQ(coordinates->longitude.back(), 179.75);
  EXPECT_EQ(coordinates->latitude.front(), 90.0);
  EXPECT_EQ(coordinates->latitude.back(), -90.0);
  // Without increments (missing), the first and last points give them.
  grid.i_increment = 0;
  grid.j_increment = 0;
  coordinates = compute_coordinates(grid);
  ASSERT_TRUE(coordinates.ok());
  EXPECT_NEAR(coordinates->longitude[1], -179.75, 1e-9);
  EXPECT_NEAR(coordinates->latitude[1], 89.75, 1e-9);
}

Handle from_sample(const char* sample) {
  return Handle(codes_grib_handle_new_from_samples(nullptr, sample), &codes_handle_delete);
}

TEST(GridCoordinates, GeneratedGridsMatchEccodes) {
  {
    // Regular Gaussian, global and a regional subset.
    Handle h = from_sample("regular_gg_sfc_grib2");
    ASSERT_TRUE(h);
    expect_same_coordinates(h.get(), 1e-6);
    EXPECT_EQ(geometry_of(h.get()).kind, GridGeometry::Kind::kRegularGaussian);
  }
  {
    // -i scanning on a regular grid.
    Handle h = from_sample("regular_ll_sfc_grib2");
    ASSERT_EQ(codes_set_long(h.get(), "iScansNegatively", 1), 0);
    ASSERT_EQ(codes_set_double(h.get(), "longitudeOfFirstGridPointInDegrees", 30.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "longitudeOfLastGridPointInDegrees", 0.0), 0);
    ASSERT_EQ(codes_set_long(h.get(), "jScansPositively", 1), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfFirstGridPointInDegrees", 0.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfLastGridPointInDegrees", 60.0), 0);
    GridGeometry grid = geometry_of(h.get());
    auto coordinates = compute_coordinates(grid);
    ASSERT_TRUE(coordinates.ok());
    EXPECT_EQ(coordinates->longitude.front(), 0.0);  // west to east
    EXPECT_EQ(coordinates->longitude.back(), 30.0);
    EXPECT_EQ(coordinates->latitude.front(), 60.0);  // north first
    EXPECT_EQ(coordinates->latitude.back(), 0.0);
    expect_same_coordinates(h.get(), 1e-6);
  }
  // ecCodes 2.28's polar stereographic iterator steps +i and +j whatever the scanning mode, so
  // these grids scan that way (64); the other directions are checked against the same grid
  // described from another corner.
  {
    // South polar stereographic.
    Handle h = from_sample("polar_stereographic_sfc_grib2");
    ASSERT_TRUE(h);
    ASSERT_EQ(codes_set_long(h.get(), "scanningMode", 0x40), 0);
    ASSERT_EQ(codes_set_long(h.get(), "projectionCentreFlag", 128), 0);
    ASSERT_EQ(codes_set_double(h.get(), "LaDInDegrees", -60.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfFirstGridPointInDegrees", -30.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "DxInMetres", 250000.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "DyInMetres", 200000.0), 0);
    expect_same_coordinates(h.get(), 1e-5);
  }
  {
    // Mercator (template 3.10), from the GRIB2 sample. ecCodes 2.28 steps rows by Di, not Dj
    // (grib_iterator_class_mercator.c: "y = j * DiInMetres"), so both are equal here.
    Handle h = from_sample("GRIB2");
    ASSERT_EQ(codes_set_long(h.get(), "gridDefinitionTemplateNumber", 10), 0);
    ASSERT_EQ(codes_set_long(h.get(), "Ni", 20), 0);
    ASSERT_EQ(codes_set_long(h.get(), "Nj", 15), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfFirstGridPointInDegrees", 10.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "longitudeOfFirstGridPointInDegrees", 250.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfLastGridPointInDegrees", 16.5), 0);
    ASSERT_EQ(codes_set_double(h.get(), "longitudeOfLastGridPointInDegrees", 259.1), 0);
    ASSERT_EQ(codes_set_double(h.get(), "LaDInDegrees", 20.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "DiInMetres", 50000.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "DjInMetres", 50000.0), 0);
    ASSERT_EQ(codes_set_long(h.get(), "scanningMode", 0x40), 0);
    std::vector<double> values(20 * 15, 1.0);  // the sample's values are for its own grid
    ASSERT_EQ(codes_set_double_array(h.get(), "values", values.data(), values.size()), 0);
    expect_same_coordinates(h.get(), 1e-5);
  }
  {
    // North polar stereographic.
    Handle h = from_sample("polar_stereographic_sfc_grib2");
    ASSERT_EQ(codes_set_double(h.get(), "DxInMetres", 250000.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "DyInMetres", 200000.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "orientationOfTheGridInDegrees", 249.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "latitudeOfFirstGridPointInDegrees", 35.0), 0);
    ASSERT_EQ(codes_set_double(h.get(), "longitudeOfFirstGridPointInDegrees", 200.0), 0);
    ASSERT_EQ(codes_set_long(h.get(), "scanningMode", 0x40), 0);
    expect_same_coordinates(h.get(), 1e-5);
  }
}

// The same projected grid described from each of its four corners (scanning -i/+i, -j/+j) has the
// same coordinates in the north-up layout.
TEST(GridCoordinates, ScanningDirectionsDescribeOneGrid) {
  for (GridGeometry::Kind kind :
       {GridGeometry::Kind::kLambertConformal, GridGeometry::Kind::kPolarStereographic,
        GridGeometry::Kind::kMercator}) {
    GridGeometry grid;  // HRRR-like, from its south-west corner (+i, +j)
    grid.kind = kind;
    grid.ni = 40;
    grid.nj = 30;
    grid.first_latitude = 21.138123;
    grid.first_longitude = 237.280472;
    grid.i_increment = 3000;
    grid.j_increment = 2500;
    grid.latitude_of_true_scale = 38.5;
    grid.orientation_longitude = 262.5;
    grid.standard_parallel_1 = grid.standard_parallel_2 = 38.5;
    grid.earth = EarthShape{6371229, 6371229};
    grid.scanning = Scanning::from_flags(0x40);
    auto reference = compute_coordinates(grid);
    ASSERT_TRUE(reference.ok()) << reference.error().to_string();
    const size_t north_west = 0;
    const size_t north_east = grid.ni - 1;
    const size_t south_west = static_cast<size_t>(grid.nj - 1) * grid.ni;
    const size_t south_east = south_west + grid.ni - 1;
    struct Corner {
      uint8_t flags;
      size_t index;
    };
    for (Corner corner :
         {Corner{0x00, north_west}, Corner{0x80, north_east}, Corner{0xC0, south_east}}) {
      GridGeometry other = grid;
      other.scanning = Scanning::from_flags(corner.flags);
      other.first_latitude = reference->latitude[corner.index];
      other.first_longitude = reference->longitude[corner.index];
      auto coordinates = compute_coordinates(other);
      ASSERT_TRUE(coordinates.ok());
      for (size_t k = 0; k < reference->latitude.size(); ++k) {
        ASSERT_NEAR(coordinates->latitude[k], reference->latitude[k], 1e-9)
            << k << " flags " << int(corner.flags);
        ASSERT_NEAR(coordinates->longitude[k], reference->longitude[k], 1e-9) << k;
      }
    }
    // North-up: latitudes fall down every column of a small mid-latitude grid.
    for (size_t k = grid.ni; k < reference->latitude.size(); ++k) {
      EXPECT_LT(reference->latitude[k], reference->latitude[k - grid.ni]);
    }
  }
}

TEST(GridCoordinates, GaussianLatitudes) {
  // N=1: +-asin(1/sqrt(3)).
  std::vector<double> one = gaussian_latitudes(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_NEAR(one[0], std::asin(1 / std::sqrt(3.0)) * 180 / M_PI, 1e-12);
  EXPECT_EQ(one[1], -one[0]);
  // N=320 (ERA5's N320): 640 latitudes, north to south, first one as ecCodes computes it.
  std::vector<double> n320 = gaussian_latitudes(320);
  ASSERT_EQ(n320.size(), 640u);
  EXPECT_TRUE(std::is_sorted(n320.rbegin(), n320.rend()));
  std::vector<double> expected(640);
  ASSERT_EQ(codes_get_gaussian_latitudes(320, expected.data()), 0);
  for (size_t k = 0; k < 640; ++k) EXPECT_NEAR(n320[k], expected[k], 1e-9) << k;
}

TEST(GridCoordinates, BadGrids) {
  GridGeometry grid;
  grid.kind = GridGeometry::Kind::kRegularGaussian;
  grid.ni = 10;
  grid.nj = 4;
  grid.first_latitude = 10;
  grid.last_latitude = -10;
  auto bad = compute_coordinates(grid);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("N = 0"), std::string::npos);
  grid.gaussian_n = 2;
  bad = compute_coordinates(grid);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("not rows of the N2 Gaussian grid"), std::string::npos);
  // 2N latitudes cost O(N^2): a damaged N is refused rather than computed (the fuzzer found N =
  // 64535).
  grid.gaussian_n = 64535;
  EXPECT_FALSE(compute_coordinates(grid).ok());
  grid.gaussian_n = 1;  // 2 rows, Nj = 4
  EXPECT_FALSE(compute_coordinates(grid).ok());

  GridGeometry lambert;
  lambert.kind = GridGeometry::Kind::kLambertConformal;
  lambert.ni = 3;
  lambert.nj = 3;
  lambert.i_increment = lambert.j_increment = 3000;
  lambert.standard_parallel_1 = lambert.standard_parallel_2 = 38.5;
  lambert.earth = EarthShape{6378137.0, 6356752.314};
  bad = compute_coordinates(lambert);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnsupported);
  lambert.earth = EarthShape{6371229, 6371229};
  lambert.i_increment = 0;
  EXPECT_FALSE(compute_coordinates(lambert).ok());
  lambert.ni = 0;
  EXPECT_FALSE(compute_coordinates(lambert).ok());
  // A few hundred bytes of constant field may claim any grid size.
  lambert.i_increment = 3000;
  lambert.ni = 1u << 14;
  lambert.nj = 1u << 13;
  bad = compute_coordinates(lambert);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnsupported);
  GridGeometry huge;
  huge.ni = 10;
  huge.nj = 4060086303u;
  EXPECT_FALSE(compute_coordinates(huge).ok());
}

TEST(GridCoordinates, EarthShapes) {
  EXPECT_EQ(earth_shape_from_code(6, 0, 0, 0, 0, 0, 0)->semi_major_metres, 6371229.0);
  EXPECT_EQ(earth_shape_from_code(0, 0, 0, 0, 0, 0, 0)->semi_major_metres, 6367470.0);
  EXPECT_EQ(earth_shape_from_code(1, 0, 6371200, 0, 0, 0, 0)->semi_major_metres, 6371200.0);
  EXPECT_EQ(earth_shape_from_code(1, 1, 63712000, 0, 0, 0, 0)->semi_major_metres, 6371200.0);
  EXPECT_FALSE(earth_shape_from_code(1, 0, 0, 0, 0, 0, 0));
  EXPECT_FALSE(earth_shape_from_code(1, 0, 0xFFFFFFFF, 0, 0, 0, 0));
  auto km = earth_shape_from_code(3, 0, 0, 0, 6378, 1, 63568);
  ASSERT_TRUE(km);
  EXPECT_EQ(km->semi_major_metres, 6378000.0);
  EXPECT_NEAR(km->semi_minor_metres, 6356800.0, 1e-6);
  EXPECT_FALSE(km->is_sphere());
  EXPECT_TRUE(earth_shape_from_code(5, 0, 0, 0, 0, 0, 0));
  EXPECT_FALSE(earth_shape_from_code(42, 0, 0, 0, 0, 0, 0));
}

}  // namespace
}  // namespace floe::formats::grib2
