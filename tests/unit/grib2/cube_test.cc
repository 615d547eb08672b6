// Tests of forecast datacube assembly on hand-made fields: groups per level type, dims and chunk
// grids, where every message lands, missing cells, run-total vs bucket accumulations, duplicates,
// other grids, derived ensemble products, codec mismatches, and the stored coordinates (times,
// members, levels, lat/lon).
#include "floe/formats/grib2/cube.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "floe/virtual/writer.h"
#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::find_array;
using test_support::find_group;
using test_support::stored_values;

using virt::Json;

// chunk number -> (offset, length) of an array's references.
std::map<uint64_t, std::pair<uint64_t, uint64_t>> refs_of(const virt::VirtualArray& array) {
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> refs;
  for (size_t i = 0; i < array.refs.size(); ++i) {
    refs[array.refs.chunk(i)] = {array.refs.offset(i), array.refs.length(i)};
  }
  return refs;
}

GridGeometry small_grid() {
  GridGeometry grid;
  grid.ni = 4;
  grid.nj = 3;
  grid.first_latitude = 10;
  grid.last_latitude = 8;
  grid.first_longitude = 0;
  grid.last_longitude = 3;
  grid.i_increment = grid.j_increment = 1;
  return grid;
}

const Json kCodec = Json{{"name", "floe.grib"}, {"configuration", {{"field", 0}}}};

// A GEFS-like run: 2 inits x 2 steps x members 0..2, every field its own message.
class CubeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_.sources = {"s3://b/gec00.grib2", "s3://b/gep01.grib2", "s3://b/gep02.grib2"};
    input_.grids = {small_grid()};
    for (UnixSeconds init : {kInit0, kInit1}) {
      for (int64_t step : {0, 21600}) {
        for (int32_t member = 0; member < 3; ++member) {
          add("TMP", "m above ground", 2.0, init, step, member);
          add("UGRD", "m above ground", 10.0, init, step, member);
          add("UGRD", "m above ground", 80.0, init, step, member);
          add("HGT", "mb", 500.0, init, step, member);
          add("HGT", "mb", 850.0, init, step, member);
          add("PRMSL", "mean sea level", std::nullopt, init, step, member);
        }
      }
    }
  }
  CubeField& add(std::string parameter, std::string level_type, std::optional<double> level,
                 UnixSeconds init, int64_t step, std::optional<int32_t> member) {
    CubeField field;
    field.source = member ? static_cast<uint32_t>(*member) : 0;
    field.offset = next_offset_;
    field.length = 100;
    next_offset_ += 100;
    field.parameter = std::move(parameter);
    field.level_type = std::move(level_type);
    field.level = level;
    field.reference_time = init;
    field.step_seconds = step;
    field.member = member;
    field.codec = kCodec;
    field.origin = fmt::format("message at {}", field.offset);
    input_.fields.push_back(field);
    return input_.fields.back();
  }

  static constexpr UnixSeconds kInit0 = 1743465600;  // 2025-04-01T00
  static constexpr UnixSeconds kInit1 = kInit0 + 86400;
  CubeInput input_;
  uint64_t next_offset_ = 0;
};

TEST_F(CubeTest, GroupsArraysDimsAndReferences) {
  auto built = build_forecast_cube(input_, CubeLayout::kGefs);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  const virt::VirtualDataset& dataset = *built;
  EXPECT_TRUE(dataset.warnings.empty());
  EXPECT_EQ(dataset.unlimited_dims, std::vector<std::string>{"init_time"});
  EXPECT_EQ(dataset.root.attributes["floe_layout"], "gefs");

  // Root coordinates.
  const auto* init = find_array(dataset.root, "init_time");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(stored_values<int64_t>(*init), (std::vector<int64_t>{kInit0, kInit1}));
  EXPECT_EQ(init->attributes["units"], "seconds since 1970-01-01 00:00:00");
  EXPECT_TRUE(init->dimension_coordinate);
  EXPECT_EQ(stored_values<int64_t>(*find_array(dataset.root, "step")),
            (std::vector<int64_t>{0, 21600}));
  const auto* valid = find_array(dataset.root, "valid_time");
  ASSERT_NE(valid, nullptr);
  EXPECT_EQ(valid->dims, (std::vector<std::string>{"init_time", "step"}));
  EXPECT_EQ(stored_values<int64_t>(*valid),
            (std::vector<int64_t>{kInit0, kInit0 + 21600, kInit1, kInit1 + 21600}));
  EXPECT_EQ(stored_values<int32_t>(*find_array(dataset.root, "member")),
            (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(stored_values<double>(*find_array(dataset.root, "latitude")),
            (std::vector<double>{10, 9, 8}));
  EXPECT_EQ(stored_values<double>(*find_array(dataset.root, "longitude")),
            (std::vector<double>{0, 1, 2, 3}));

  // Groups per level type, with the union of their levels.
  const auto* above_ground = find_group(dataset, "m_above_ground");
  ASSERT_NE(above_ground, nullptr);
  EXPECT_EQ(stored_values<double>(*find_array(*above_ground, "level")),
            (std::vector<double>{2, 10, 80}));
  const auto* tmp = find_array(*above_ground, "TMP");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->dims, (std::vector<std::string>{"init_time", "step", "member", "level", "latitude",
                                                 "longitude"}));
  EXPECT_EQ(tmp->shape, (std::vector<uint64_t>{2, 2, 3, 3, 3, 4}));
  EXPECT_EQ(tmp->chunk_shape, (std::vector<uint64_t>{1, 1, 1, 1, 3, 4}));
  EXPECT_EQ(tmp->data_type, "float32");
  EXPECT_EQ(tmp->fill_value, "NaN");
  EXPECT_EQ(tmp->codecs, Json::array({kCodec}));
  EXPECT_EQ(tmp->attributes["GRIB_parameter"], "TMP");
  EXPECT_EQ(tmp->refs.size(), 2u * 2 * 3);  // only the 2 m level is filled
  // Every message lands in its cell: TMP of (init 1, step 6 h, member 2) at 2 m.
  const std::vector<uint64_t> counts = virt::chunk_counts(*tmp);
  size_t expected_index = 0;
  for (size_t f = 0; f < input_.fields.size(); ++f) {
    const CubeField& field = input_.fields[f];
    if (field.parameter == "TMP" && field.reference_time == kInit1 && field.step_seconds == 21600 &&
        field.member == 2) {
      expected_index = f;
    }
  }
  const uint64_t chunk = virt::chunk_number({1, 1, 2, 0, 0, 0}, counts);
  auto refs = refs_of(*tmp);
  ASSERT_TRUE(refs.count(chunk));
  EXPECT_EQ(refs[chunk].first, input_.fields[expected_index].offset);
  EXPECT_EQ(refs[chunk].second, 100u);
  EXPECT_EQ(tmp->refs.path(0).rfind("s3://b/ge", 0), 0u);

  const auto* ugrd = find_array(*above_ground, "UGRD");
  ASSERT_NE(ugrd, nullptr);
  EXPECT_EQ(ugrd->refs.size(), 2u * 2 * 3 * 2);
  const auto* isobaric = find_group(dataset, "mb");
  ASSERT_NE(isobaric, nullptr);
  EXPECT_EQ(stored_values<double>(*find_array(*isobaric, "level")),
            (std::vector<double>{500, 850}));
  // A level type without values: no level dim.
  const auto* msl = find_group(dataset, "mean_sea_level");
  ASSERT_NE(msl, nullptr);
  EXPECT_EQ(find_array(*msl, "level"), nullptr);
  EXPECT_EQ(find_array(*msl, "PRMSL")->dims,
            (std::vector<std::string>{"init_time", "step", "member", "latitude", "longitude"}));

  // The zarr.json the writer makes of it.
  Json meta = virt::array_metadata(*tmp);
  EXPECT_EQ(meta["dimension_names"][3], "level");
  EXPECT_EQ(meta["chunk_grid"]["configuration"]["chunk_shape"], Json::array({1, 1, 1, 1, 3, 4}));
}

TEST_F(CubeTest, MissingMessagesAreMissingChunks) {
  // Member 1 of the second init has no 6 h file.
  std::erase_if(input_.fields, [](const CubeField& field) {
    return field.reference_time == kInit1 && field.step_seconds == 21600 && field.member == 1;
  });
  auto built = build_forecast_cube(input_, CubeLayout::kGefs);
  ASSERT_TRUE(built.ok());
  const auto* tmp = find_array(*find_group(*built, "m_above_ground"), "TMP");
  EXPECT_EQ(tmp->refs.size(), 11u);
  auto refs = refs_of(*tmp);
  EXPECT_FALSE(refs.count(virt::chunk_number({1, 1, 1, 0, 0, 0}, virt::chunk_counts(*tmp))));
  EXPECT_TRUE(refs.count(virt::chunk_number({1, 1, 2, 0, 0, 0}, virt::chunk_counts(*tmp))));
  EXPECT_TRUE(built->warnings.empty());
}

TEST_F(CubeTest, RunTotalsBucketsDuplicatesAndOtherGrids) {
  // HRRR f05: "0-5 hour acc fcst" and "4-5 hour acc fcst" for one cell; GFS f006: "0-6 hour acc"
  // listed twice.
  CubeField& bucket = add("APCP", "surface", std::nullopt, kInit0, 18000, 0);
  bucket.statistic = "acc";
  bucket.interval_start_seconds = 14400;
  const uint64_t bucket_offset = bucket.offset;
  CubeField& total = add("APCP", "surface", std::nullopt, kInit0, 18000, 0);
  total.statistic = "acc";
  total.interval_start_seconds = 0;
  const uint64_t total_offset = total.offset;
  CubeField& six = add("APCP", "surface", std::nullopt, kInit0, 21600, 0);
  six.statistic = "acc";
  six.interval_start_seconds = 0;
  const uint64_t six_offset = six.offset;
  CubeField& again = add("APCP", "surface", std::nullopt, kInit0, 21600, 0);
  again.statistic = "acc";
  again.interval_start_seconds = 0;
  again.origin = "the second 0-6 hour acc";
  // A field on another grid, and one decoded by another codec.
  input_.grids.push_back(small_grid());
  input_.grids.back().ni = 7;
  CubeField& other_grid = add("TMP", "surface", std::nullopt, kInit0, 0, 0);
  other_grid.grid = 1;
  CubeField& other_codec = add("HGT", "mb", 700.0, kInit0, 0, 0);
  other_codec.codec = Json{{"name", "gribberish"}, {"configuration", Json::object()}};
  // A field that gribberish's codec decodes, with floe.grib as fallback: PRMSL keeps floe.grib for
  // all.
  CubeField& prmsl = add("PRMSL", "mean sea level", std::nullopt, kInit0, 18000, 0);
  prmsl.codec = Json{{"name", "gribberish"}, {"configuration", {{"var", "PRMSL"}}}};
  prmsl.fallback_codec = kCodec;
  // Derived products of the whole ensemble: no member dim.
  CubeField& mean = add("TMP", "m above ground", 2.0, kInit0, 0, std::nullopt);
  mean.ensemble_product = "ens mean";

  auto built = build_forecast_cube(input_, CubeLayout::kGefs);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  const auto* surface = find_group(*built, "surface");
  ASSERT_NE(surface, nullptr);
  const auto* apcp = find_array(*surface, "APCP");
  const auto* apcp_total = find_array(*surface, "APCP_since_init");
  ASSERT_NE(apcp, nullptr);
  ASSERT_NE(apcp_total, nullptr);
  EXPECT_EQ(apcp->attributes["GRIB_statistic"], "acc");
  const std::vector<uint64_t> counts = virt::chunk_counts(*apcp);
  // Steps are 0, 5 h, 6 h now.
  EXPECT_EQ(stored_values<int64_t>(*find_array(built->root, "step")),
            (std::vector<int64_t>{0, 18000, 21600}));
  auto refs = refs_of(*apcp);
  EXPECT_EQ(refs[virt::chunk_number({0, 1, 0, 0, 0}, counts)].first, bucket_offset);
  EXPECT_EQ(refs[virt::chunk_number({0, 2, 0, 0, 0}, counts)].first, six_offset);
  auto total_refs = refs_of(*apcp_total);
  ASSERT_EQ(total_refs.size(), 1u);
  EXPECT_EQ(total_refs.begin()->second.first, total_offset);
  EXPECT_EQ(find_group(*built, "surface")->arrays.size(), 2u);  // TMP on the other grid is left out

  const auto* prmsl_array = find_array(*find_group(*built, "mean_sea_level"), "PRMSL");
  ASSERT_NE(prmsl_array, nullptr);
  EXPECT_EQ(prmsl_array->codecs, Json::array({kCodec}));
  EXPECT_EQ(prmsl_array->refs.size(), 2u * 2 * 3 + 1);

  const auto* mean_array = find_array(*find_group(*built, "m_above_ground"), "TMP_ens_mean");
  ASSERT_NE(mean_array, nullptr);
  EXPECT_EQ(mean_array->dims,
            (std::vector<std::string>{"init_time", "step", "level", "latitude", "longitude"}));
  EXPECT_EQ(mean_array->refs.size(), 1u);

  ASSERT_EQ(built->warnings.size(), 3u);
  std::string all;
  for (const auto& warning : built->warnings) all += warning + "\n";
  EXPECT_NE(
      all.find(
          "APCP (surface) acc: duplicate fields for one cell skipped: the second 0-6 hour acc"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("TMP (surface): left out, on regular_ll grid 7x3 while the datacube is on "
                     "regular_ll grid 4x3"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("HGT (mb): left out, decoded by codec"), std::string::npos) << all;
}

TEST_F(CubeTest, NamesTellVariantsApartAndLayersHaveBounds) {
  CubeField& tmax = add("TMP", "m above ground", 2.0, kInit0, 21600, 0);
  tmax.statistic = "max";
  tmax.interval_start_seconds = 0;
  CubeField& soil = add("TSOIL", "m below ground", 0.0, kInit0, 0, 0);
  soil.level_bound = 0.1;
  CubeField& deep = add("TSOIL", "m below ground", 0.1, kInit0, 0, 0);
  deep.level_bound = 0.4;
  auto built = build_forecast_cube(input_, CubeLayout::kGeneric);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  const auto* above_ground = find_group(*built, "m_above_ground");
  EXPECT_NE(find_array(*above_ground, "TMP_instant"), nullptr);
  EXPECT_NE(find_array(*above_ground, "TMP_max"), nullptr);
  EXPECT_EQ(find_array(*above_ground, "TMP"), nullptr);
  const auto* below = find_group(*built, "m_below_ground");
  ASSERT_NE(below, nullptr);
  EXPECT_EQ(stored_values<double>(*find_array(*below, "level")), (std::vector<double>{0, 0.1}));
  EXPECT_EQ(stored_values<double>(*find_array(*below, "level_bound")),
            (std::vector<double>{0.1, 0.4}));
}

TEST_F(CubeTest, DeterministicAndProjectedGrids) {
  for (CubeField& field : input_.fields) field.member.reset();
  // Only member 0's fields now (others would duplicate them).
  std::erase_if(input_.fields, [](const CubeField& field) { return field.source != 0; });
  GridGeometry lambert;
  lambert.kind = GridGeometry::Kind::kLambertConformal;
  lambert.ni = 5;
  lambert.nj = 4;
  lambert.first_latitude = 21.138123;
  lambert.first_longitude = 237.280472;
  lambert.i_increment = lambert.j_increment = 3000;
  lambert.latitude_of_true_scale = lambert.standard_parallel_1 = lambert.standard_parallel_2 = 38.5;
  lambert.orientation_longitude = 262.5;
  lambert.earth = EarthShape{6371229, 6371229};
  lambert.scanning = Scanning::from_flags(0x40);
  input_.grids = {lambert};
  auto built = build_forecast_cube(input_, CubeLayout::kHrrr);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  EXPECT_EQ(find_array(built->root, "member"), nullptr);
  const auto* latitude = find_array(built->root, "latitude");
  ASSERT_NE(latitude, nullptr);
  EXPECT_EQ(latitude->dims, (std::vector<std::string>{"y", "x"}));
  EXPECT_EQ(latitude->shape, (std::vector<uint64_t>{4, 5}));
  auto expected = compute_coordinates(lambert);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(stored_values<double>(*latitude), expected->latitude);
  EXPECT_EQ(stored_values<double>(*find_array(built->root, "longitude")), expected->longitude);
  const auto* tmp = find_array(*find_group(*built, "m_above_ground"), "TMP");
  EXPECT_EQ(tmp->dims, (std::vector<std::string>{"init_time", "step", "level", "y", "x"}));
  EXPECT_EQ(tmp->chunk_shape, (std::vector<uint64_t>{1, 1, 1, 4, 5}));
  EXPECT_EQ(tmp->attributes["coordinates"], "valid_time latitude longitude");
}

TEST(Cube, BadInput) {
  CubeInput input;
  EXPECT_EQ(build_forecast_cube(input, CubeLayout::kGeneric).error().code(),
            ErrorCode::kInvalidArgument);
  input.grids = {small_grid()};
  input.fields.push_back(CubeField{});
  input.fields.back().source = 3;
  EXPECT_EQ(build_forecast_cube(input, CubeLayout::kGeneric).error().code(),
            ErrorCode::kInvalidArgument);
  // Every field left out.
  input.sources = {"a"};
  input.fields = {CubeField{}, CubeField{}};
  input.fields[0].member = 1;
  input.fields[1].member.reset();
  input.fields[1].level = 5;
  input.fields[0].level = 5;
  input.fields[0].codec = input.fields[1].codec = kCodec;
  auto built = build_forecast_cube(input, CubeLayout::kGeneric);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  EXPECT_EQ(built->warnings.size(), 1u);  // the field without a member next to one with
}

TEST(Cube, LayoutsAndGefsMembers) {
  EXPECT_EQ(parse_cube_layout("gefs").value(), CubeLayout::kGefs);
  EXPECT_EQ(parse_cube_layout("ecmwf-ens").value(), CubeLayout::kEcmwfEns);
  EXPECT_EQ(parse_cube_layout("").value(), CubeLayout::kGeneric);
  EXPECT_FALSE(parse_cube_layout("nam").ok());
  EXPECT_EQ(gefs_member_from_name(
                "s3://noaa-gefs-pds/gefs.20250101/00/atmos/pgrb2ap5/gec00.t00z.pgrb2a.0p50.f000"),
            0);
  EXPECT_EQ(gefs_member_from_name("gep17.t00z.pgrb2a.0p50.f120"), 17);
  EXPECT_EQ(gefs_member_from_name("geavg.t00z.pgrb2a.0p50.f120"), std::nullopt);
  EXPECT_EQ(gefs_member_from_name("gep1.t00z"), std::nullopt);
  EXPECT_EQ(gefs_member_from_name("gep123.t00z"), std::nullopt);
}

}  // namespace
}  // namespace floe::formats::grib2
