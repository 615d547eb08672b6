// Tests of index and coordinate-value selections: value selections against xarray's .sel (vectors
// generated at test time by make_selection_vectors.py), index specs, errors and the CLI argument
// parser.
#include "floe/read/selection.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "read_test_support.h"

namespace floe::read {
namespace {

using nlohmann::json;
using virt::Calendar;
using virt::DateTime;
using virt::encode_time;
using virt::parse_time_units;

std::vector<std::uint64_t> indices(const DimSelection& selection) {
  std::vector<std::uint64_t> out;
  for (const auto& range : selection.ranges) {
    for (std::uint64_t i = range.start; i < range.stop; ++i) out.push_back(i);
  }
  return out;
}

zarr::DataType type_named(const std::string& name) {
  auto type = zarr::DataType::from_json(json(name));
  EXPECT_TRUE(type.ok());
  return type.ok() ? *type : zarr::DataType{};
}

std::vector<double> evenly(double first, double step, int count) {
  std::vector<double> values(count);
  for (int i = 0; i < count; ++i) values[i] = first + step * i;
  return values;
}

TEST(SelectByValue, MatchesXarraySel) {
  static const json vectors = testing::run_oracle(FLOE_SELECTION_VECTOR_SCRIPT, "selection");
  ASSERT_TRUE(vectors.is_array()) << "make_selection_vectors.py failed";
  ASSERT_GT(vectors.size(), 50u);
  for (const auto& c : vectors) {
    SCOPED_TRACE(c["name"].get<std::string>() + ": " + c["dim"].get<std::string>() + "=" +
                 c["spec"].get<std::string>());
    const auto values = c["values"].get<std::vector<double>>();
    auto info = describe_coordinate(c["dim"].get<std::string>(), c["attrs"],
                                    type_named(c["dtype"].get<std::string>()));
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    auto selection =
        select_by_value(c["dim"].get<std::string>(), c["spec"].get<std::string>(), values, *info);
    ASSERT_TRUE(selection.ok()) << selection.error().to_string();
    EXPECT_EQ(indices(*selection), c["expected"].get<std::vector<std::uint64_t>>());
  }
}

TEST(SelectByValue, SeamCrossingBoxesComeAsTwoRangesWesternFirst) {
  const auto lon = evenly(0, 0.25, 1440);
  const CoordinateInfo info{.is_longitude = true};
  auto box = select_by_value("lon", "-20:40", lon, info);
  ASSERT_TRUE(box.ok()) << box.error().to_string();
  ASSERT_EQ(box->ranges.size(), 2u);
  EXPECT_EQ(box->ranges[0], (IndexRange{1360, 1440}));
  EXPECT_EQ(box->ranges[1], (IndexRange{0, 161}));
  EXPECT_EQ(box->size(), 241u);
  // Without the longitude flag the same numbers are an ordinary interval.
  auto plain = select_by_value("x", "-20:40", lon, CoordinateInfo{});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->ranges, (std::vector<IndexRange>{{0, 161}}));
}

TEST(SelectByValue, WrappedBoundsMeetDecimalGridValues) {
  const auto lon = evenly(0, 0.1, 3600);
  const CoordinateInfo info{.is_longitude = true};
  auto box = select_by_value("lon", "-10.1:-9.9", lon, info);
  ASSERT_TRUE(box.ok()) << box.error().to_string();
  EXPECT_EQ(box->ranges, (std::vector<IndexRange>{{3499, 3502}}));
}

TEST(SelectByValue, NearestLongitudeLooksAcrossTheSeam) {
  const auto lon = evenly(0, 0.25, 1440);
  const CoordinateInfo info{.is_longitude = true};
  auto point = select_by_value("lon", "-0.1", lon, info);
  ASSERT_TRUE(point.ok());
  EXPECT_EQ(point->ranges, (std::vector<IndexRange>{{0, 1}}));
  auto west = select_by_value("lon", "359.8", lon, info);
  ASSERT_TRUE(west.ok());
  EXPECT_EQ(west->ranges, (std::vector<IndexRange>{{1439, 1440}}));
  auto east_of_180 = select_by_value("lon", "-179.9", evenly(-180, 0.25, 1440), info);
  ASSERT_TRUE(east_of_180.ok());
  EXPECT_EQ(east_of_180->ranges, (std::vector<IndexRange>{{0, 1}}));
}

TEST(SelectByValue, PointsFarOutsideTheCoordinateAreErrors) {
  const auto lat = evenly(-10, 0.5, 41);  // -10 .. 10
  EXPECT_TRUE(select_by_value("lat", "10.4", lat, {}).ok());
  const auto far = select_by_value("lat", "11", lat, {});
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error().message().find("'lat' runs -10 .. 10"), std::string::npos)
      << far.error().message();
  EXPECT_FALSE(select_by_value("lat", "-10.6", lat, {}).ok());
  // A regional longitude grid is not a circle.
  const CoordinateInfo longitude{.is_longitude = true};
  EXPECT_FALSE(select_by_value("lon", "100", evenly(280, 0.5, 81), longitude).ok());
  // One value: any point is its nearest.
  EXPECT_TRUE(select_by_value("lat", "1000", std::vector<double>{5.0}, {}).ok());
}

TEST(SelectByValue, EmptyBoxesNameTheDimensionTheRequestAndTheExtent) {
  const auto lat = evenly(90, -0.25, 721);
  const auto empty = select_by_value("lat", "10.3:10.4", lat, {});
  ASSERT_FALSE(empty.ok());
  const std::string& message = empty.error().message();
  EXPECT_NE(message.find("lat=10.3:10.4"), std::string::npos) << message;
  EXPECT_NE(message.find("90 .. -90"), std::string::npos) << message;
  EXPECT_NE(message.find("descending"), std::string::npos) << message;
  EXPECT_FALSE(select_by_value("lat", "95:100", lat, {}).ok());
}

TEST(SelectByValue, TimeErrorsShowDates) {
  auto units = parse_time_units("hours since 2020-01-01", "standard");
  ASSERT_TRUE(units.ok());
  const CoordinateInfo info{.time_units = *units};
  const auto hours = evenly(0, 1, 48);
  const auto empty = select_by_value("time", "2021-01-01:2021-02-01", hours, info);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("2020-01-02T23:00:00"), std::string::npos)
      << empty.error().message();
  EXPECT_FALSE(select_by_value("time", "2020-02-30:2020-03-01", hours, info).ok());
  EXPECT_FALSE(select_by_value("time", "3.5:7", hours, info).ok());
  auto reversed = select_by_value("time", "2020-01-02:2020-01-01", hours, info);
  ASSERT_TRUE(reversed.ok());
  EXPECT_EQ(reversed->ranges, (std::vector<IndexRange>{{0, 48}}));
}

TEST(SelectByValue, RefusesNonMonotonicAndNaNCoordinates) {
  const auto bumpy = select_by_value("x", "1:2", std::vector<double>{0, 1, 3, 2}, {});
  ASSERT_FALSE(bumpy.ok());
  EXPECT_NE(bumpy.error().message().find("not monotonic"), std::string::npos);
  EXPECT_FALSE(select_by_value("x", "1", std::vector<double>{0, NAN, 2}, {}).ok());
  EXPECT_FALSE(select_by_value("x", "1", std::vector<double>{}, {}).ok());
  EXPECT_FALSE(select_by_value("x", "1:2:3", std::vector<double>{0, 1, 2}, {}).ok());
  EXPECT_FALSE(select_by_value("x", "a:b", std::vector<double>{0, 1, 2}, {}).ok());
  EXPECT_FALSE(select_by_value("x", "nan", std::vector<double>{0, 1, 2}, {}).ok());
}

TEST(SelectByIndex, PythonLikeSlicesAndSingleIndices) {
  auto check = [](const char* spec, std::uint64_t start, std::uint64_t stop) {
    auto selection = select_by_index("time", spec, 24);
    ASSERT_TRUE(selection.ok()) << spec << ": " << selection.error().to_string();
    EXPECT_EQ(selection->ranges, (std::vector<IndexRange>{{start, stop}})) << spec;
  };
  check("0:24", 0, 24);
  check(":", 0, 24);
  check("3:", 3, 24);
  check(":5", 0, 5);
  check("-4:", 20, 24);
  check("-4:-1", 20, 23);
  check("5", 5, 6);
  check("-1", 23, 24);
  check(" 2 : 4 ", 2, 4);
  for (const char* bad : {"24", "-25", "0:25", "-25:", "5:5", "6:2", "1:2:1", "a", "1.5", ""}) {
    EXPECT_FALSE(select_by_index("time", bad, 24).ok()) << bad;
  }
  const auto out = select_by_index("time", "30", 24);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("length 24"), std::string::npos);
  EXPECT_NE(out.error().message().find("'time'"), std::string::npos);
}

TEST(SelectionArgument, SplitsAtTheFirstEquals) {
  auto time = parse_selection_argument("time=2020-01-01:2020-01-31");
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->dim, "time");
  EXPECT_EQ(time->spec, "2020-01-01:2020-01-31");
  auto lat = parse_selection_argument(" lat = -10.25:-1 ");
  ASSERT_TRUE(lat.ok());
  EXPECT_EQ(lat->dim, "lat");
  EXPECT_EQ(lat->spec, "-10.25:-1");
  for (const char* bad : {"lat", "=1:2", "lat=", "la t=1"}) {
    EXPECT_FALSE(parse_selection_argument(bad).ok()) << bad;
  }
}

TEST(DescribeCoordinate, ReadsUnitsCalendarsAndLongitudeHints) {
  auto time =
      describe_coordinate("time", json{{"units", "days since 1850-01-01"}, {"calendar", "noleap"}},
                          type_named("int64"));
  ASSERT_TRUE(time.ok());
  ASSERT_TRUE(time->time_units.has_value());
  EXPECT_EQ(time->time_units->calendar, Calendar::kNoLeap);
  EXPECT_FALSE(
      describe_coordinate("time", json{{"units", "days since 1850-13-01"}}, type_named("int64"))
          .ok());
  auto datetime = zarr::DataType::from_json(json::parse(
      R"({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 1}})"));
  ASSERT_TRUE(datetime.ok());
  auto seconds = describe_coordinate("time", json::object(), *datetime);
  ASSERT_TRUE(seconds.ok());
  ASSERT_TRUE(seconds->time_units.has_value());
  EXPECT_EQ(*encode_time(*seconds->time_units, DateTime{1970, 1, 2}), 86400.0);
  auto lon = describe_coordinate("longitude", json::object(), type_named("float32"));
  ASSERT_TRUE(lon.ok());
  EXPECT_TRUE(lon->is_longitude);
  EXPECT_TRUE(lon->single_precision);
  EXPECT_TRUE(looks_like_longitude("x", json{{"units", "degrees_E"}}));
  EXPECT_TRUE(looks_like_longitude("nav_lon", json{{"standard_name", "longitude"}}));
  EXPECT_FALSE(looks_like_longitude("x", json{{"units", "m"}}));
  EXPECT_FALSE(looks_like_longitude("lon", json{{"units", "m"}}));
  EXPECT_FALSE(looks_like_longitude("lat", json{{"units", "degrees_north"}}));
}

}  // namespace
}  // namespace floe::read
