// Tests of combining files: concat by coordinates, nested grids, stacking, merging, each validation
// message, partial edge chunks (regular, single steps, rectilinear), time harmonization, and the
// manifest's size.
#include "floe/virtual/combine.h"

#include <gtest/gtest.h>

#include <cstring>

#include "floe/virtual/array_values.h"

namespace floe::virt {
namespace {

Bytes bytes_of_values(const std::vector<double>& values, const std::string& type) {
  std::vector<uint8_t> bytes;
  for (double value : values) {
    if (type == "float64") {
      uint8_t raw[8];
      std::memcpy(raw, &value, 8);
      bytes.insert(bytes.end(), raw, raw + 8);
    } else if (type == "int32") {
      const auto v = static_cast<int32_t>(value);
      uint8_t raw[4];
      std::memcpy(raw, &v, 4);
      bytes.insert(bytes.end(), raw, raw + 4);
    } else {
      const auto v = static_cast<int64_t>(value);
      uint8_t raw[8];
      std::memcpy(raw, &v, 8);
      bytes.insert(bytes.end(), raw, raw + 8);
    }
  }
  return Bytes::copy_of(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

VirtualArray memory_array(std::string name, std::vector<std::string> dims,
                          std::vector<uint64_t> shape, const std::vector<double>& values,
                          const std::string& type = "float64") {
  VirtualArray array;
  array.name = std::move(name);
  array.dims = std::move(dims);
  array.shape = std::move(shape);
  for (uint64_t extent : array.shape) array.chunk_shape.push_back(std::max<uint64_t>(extent, 1));
  array.data_type = type;
  array.element_size = type == "int32" ? 4 : 8;
  array.fill_value = type == "float64" ? Json("NaN") : Json(0);
  array.codecs = uncompressed_codecs(array.element_size);
  array.in_memory = true;
  array.dimension_coordinate = array.dims.size() == 1 && array.dims[0] == array.name;
  array.inline_chunks.emplace(0, bytes_of_values(values, type));
  return array;
}

struct FileSpec {
  std::string url;
  std::vector<double> times;
  uint64_t chunk = 1;
  bool compressed = false;
  std::string units = "days since 2000-01-01";
  std::string calendar = "standard";
  std::string variable = "tas";
};

// A file with tas(time, x) referenced in chunks along time, and in-memory time and x coordinates.
VirtualDataset make_file(const FileSpec& spec) {
  VirtualDataset dataset;
  dataset.source_url = spec.url;
  VirtualArray time = memory_array("time", {"time"}, {spec.times.size()}, spec.times);
  time.attributes = {{"units", spec.units}, {"calendar", spec.calendar}};
  dataset.root.arrays.push_back(std::move(time));
  dataset.root.arrays.push_back(memory_array("x", {"x"}, {4}, {0, 1, 2, 3}));
  VirtualArray data;
  data.name = spec.variable;
  data.dims = {"time", "x"};
  data.shape = {spec.times.size(), 4};
  data.chunk_shape = {spec.chunk, 4};
  data.data_type = "float32";
  data.element_size = 4;
  data.fill_value = "NaN";
  data.codecs = spec.compressed
                    ? Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                   {{"name", "zstd"}, {"configuration", {{"level", 1}}}}})
                    : uncompressed_codecs(4);
  data.attributes = {{"units", "K"}};
  const uint32_t path = data.refs.intern(spec.url);
  const uint64_t chunks = (spec.times.size() + spec.chunk - 1) / spec.chunk;
  // Chunks are stored full size (16 bytes a row), one after another from offset 1000.
  for (uint64_t c = 0; c < chunks; ++c)
    data.refs.add(c, path, 1000 + c * spec.chunk * 16, spec.chunk * 16);
  dataset.root.arrays.push_back(std::move(data));
  dataset.unlimited_dims = {"time"};
  return dataset;
}

std::vector<double> range(double first, size_t count, double step = 1) {
  std::vector<double> values;
  for (size_t i = 0; i < count; ++i) values.push_back(first + static_cast<double>(i) * step);
  return values;
}

const VirtualArray& array_named(const VirtualDataset& dataset, const std::string& name) {
  for (const VirtualArray& array : dataset.root.arrays) {
    if (array.name == name) return array;
  }
  throw std::runtime_error("no array " + name);
}

// chunk number -> (file, offset, length)
std::map<uint64_t, std::tuple<std::string, uint64_t, uint64_t>> refs_of(const VirtualArray& array) {
  std::map<uint64_t, std::tuple<std::string, uint64_t, uint64_t>> refs;
  for (size_t i = 0; i < array.refs.size(); ++i) {
    refs[array.refs.chunk(i)] = {array.refs.path(i), array.refs.offset(i), array.refs.length(i)};
  }
  return refs;
}

Result<VirtualDataset> combine(std::vector<VirtualDataset> files, CombineOptions options,
                               CombineReport* report = nullptr) {
  Combiner combiner(std::move(options));
  for (VirtualDataset& file : files) FLOE_RETURN_IF_ERROR(combiner.add(std::move(file)));
  return combiner.finish(report);
}

std::string error_of(std::vector<VirtualDataset> files, CombineOptions options) {
  auto result = combine(std::move(files), std::move(options));
  return result.ok() ? "(no error)" : result.error().message();
}

CombineOptions along(std::vector<std::string> dims) {
  CombineOptions options;
  options.dims = std::move(dims);
  return options;
}

TEST(Combine, ConcatOrdersFilesByTheirCoordinate) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/b.nc", range(4, 4), 2}));  // given first, but later in time
  files.push_back(make_file({"file:///d/a.nc", range(0, 4), 2}));
  CombineReport report;
  auto combined = combine(std::move(files), along({"time"}), &report);
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_EQ(tas.shape, (std::vector<uint64_t>{8, 4}));
  EXPECT_EQ(tas.chunk_shape, (std::vector<uint64_t>{2, 4}));
  EXPECT_TRUE(tas.chunk_edges.empty());
  auto refs = refs_of(tas);
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(std::get<0>(refs[0]), "file:///d/a.nc");
  EXPECT_EQ(std::get<0>(refs[2]), "file:///d/b.nc");
  EXPECT_EQ(std::get<1>(refs[3]), 1032u);
  EXPECT_EQ(values_as_doubles(array_named(*combined, "time")), range(0, 8));
  EXPECT_EQ(report.files, 2u);
  EXPECT_EQ(report.references, 4u);
}

TEST(Combine, ConcatWithoutCoordinateKeepsFileOrder) {
  std::vector<VirtualDataset> files;
  for (const char* url : {"file:///d/a.nc", "file:///d/b.nc"}) {
    VirtualDataset file = make_file({url, range(0, 2), 1});
    std::erase_if(file.root.arrays, [](const VirtualArray& a) { return a.name == "time"; });
    files.push_back(std::move(file));
  }
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  auto refs = refs_of(array_named(*combined, "tas"));
  EXPECT_EQ(std::get<0>(refs[0]), "file:///d/a.nc");
  EXPECT_EQ(std::get<0>(refs[3]), "file:///d/b.nc");
}

TEST(Combine, GapIsAWarningNamingBothFiles) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 3)}));
  files.push_back(make_file({"file:///d/c.nc", range(6, 3)}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  ASSERT_EQ(combined->warnings.size(), 1u);
  EXPECT_NE(combined->warnings[0].find(
                "gap along time between file:///d/a.nc (ends at 2) and file:///d/c.nc "
                "(starts at 6)"),
            std::string::npos)
      << combined->warnings[0];
}

TEST(Combine, OverlapIsAnError) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 4)}));
  files.push_back(make_file({"file:///d/b.nc", range(2, 4)}));
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/a.nc and file:///d/b.nc overlap along time: file:///d/a.nc ends at 3 and "
            "file:///d/b.nc "
            "starts at 2");
}

TEST(Combine, DuplicateFilesAreAnError) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 4)}));
  files.push_back(make_file({"file:///d/a-copy.nc", range(0, 4)}));
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/a.nc and file:///d/a-copy.nc are both at time=0: duplicate files");
}

TEST(Combine, SameStartDifferentValuesIsAnError) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 4)}));
  files.push_back(make_file({"file:///d/b.nc", range(0, 4, 2)}));
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/a.nc and file:///d/b.nc both start at time = 0 but differ after it "
            "(overlapping time values)");
}

TEST(Combine, NonMonotonicCoordinateIsAnError) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", {0, 2, 1}}));
  files.push_back(make_file({"file:///d/b.nc", range(3, 3)}));
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/a.nc: the time values are not monotonic (2 then 1 at index 2)");
}

// Validation: one test per difference, each naming both files.
struct Mismatch {
  std::string name;
  std::function<void(VirtualDataset&)> change;
  std::string message;
};

class CombineValidation : public testing::TestWithParam<Mismatch> {};

TEST_P(CombineValidation, NamesBothFilesAndTheDifference) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 2)}));
  files.push_back(make_file({"file:///d/b.nc", range(2, 2)}));
  GetParam().change(files[1]);
  EXPECT_EQ(error_of(std::move(files), along({"time"})), GetParam().message);
}

VirtualArray& tas_of(VirtualDataset& file) { return file.root.arrays[2]; }

INSTANTIATE_TEST_SUITE_P(
    Messages, CombineValidation,
    testing::Values(
        Mismatch{"DataType", [](VirtualDataset& f) { tas_of(f).data_type = "float64"; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: data type \"float32\" "
                 "vs \"float64\""},
        Mismatch{
            "Codecs",
            [](VirtualDataset& f) {
              tas_of(f).codecs.push_back({{"name", "zstd"}, {"configuration", {{"level", 3}}}});
            },
            "file:///d/a.nc and file:///d/b.nc differ in variable /tas: codecs "
            "[{\"configuration\":{\"endian\":\"little\"},\"name\":\"bytes\"}] vs "
            "[{\"configuration\":{\"endian\":\"little\"},\"name\":\"bytes\"},{\"configuration\":{"
            "\"level\":3},"
            "\"name\":\"zstd\"}]"},
        Mismatch{"ChunkShape", [](VirtualDataset& f) { tas_of(f).chunk_shape[1] = 2; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: chunk length along x "
                 "4 vs 2"},
        Mismatch{
            "FillValue", [](VirtualDataset& f) { tas_of(f).fill_value = 0; },
            "file:///d/a.nc and file:///d/b.nc differ in variable /tas: fill value \"NaN\" vs 0"},
        Mismatch{"ScaleFactor",
                 [](VirtualDataset& f) { tas_of(f).attributes["scale_factor"] = 0.01; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: attribute "
                 "scale_factor null vs 0.01"},
        Mismatch{"AddOffset",
                 [](VirtualDataset& f) { tas_of(f).attributes["add_offset"] = 273.15; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: attribute add_offset "
                 "null vs 273.15"},
        Mismatch{"Units", [](VirtualDataset& f) { tas_of(f).attributes["units"] = "degC"; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: attribute units \"K\" "
                 "vs \"degC\""},
        Mismatch{"Calendar", [](VirtualDataset& f) { tas_of(f).attributes["calendar"] = "noleap"; },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /tas: attribute calendar "
                 "null vs \"noleap\""},
        Mismatch{"ShapeOnOtherDimension",
                 [](VirtualDataset& f) {
                   tas_of(f).shape[1] = 5;
                   f.root.arrays[1] = memory_array("x", {"x"}, {5}, {0, 1, 2, 3, 4});
                 },
                 "file:///d/a.nc and file:///d/b.nc differ in variable /x: length of dimension x 4 "
                 "vs 5"},
        Mismatch{
            "CoordinateValues",
            [](VirtualDataset& f) {
              f.root.arrays[1] = memory_array("x", {"x"}, {4}, {0, 1, 2, 3.5});
            },
            "file:///d/a.nc and file:///d/b.nc differ in coordinate /x: value 3 at index 3 vs 3.5"},
        Mismatch{"MissingVariableOfAnother",
                 [](VirtualDataset& f) {
                   f.root.arrays.push_back(memory_array("extra", {"x"}, {4}, {0, 0, 0, 0}));
                 },
                 "file:///d/a.nc and file:///d/b.nc hold different variables (only file:///d/b.nc "
                 "has /extra) and "
                 "could not be merged: variable /time differs: value 0 at index 0 vs 2"}),
    [](const testing::TestParamInfo<Mismatch>& param_info) { return param_info.param.name; });

TEST(Combine, NestedGridPlacesFilesByCoordinates) {
  // Files for (member, time block): member 0..2 each with two time blocks, given in scrambled
  // order.
  std::vector<VirtualDataset> files;
  for (int member : {2, 0, 1}) {
    for (int block : {1, 0}) {
      VirtualDataset file =
          make_file({fmt::format("file:///d/m{}_t{}.nc", member, block), range(block * 3, 3), 3});
      VirtualArray& tas = file.root.arrays[2];
      tas.dims.insert(tas.dims.begin(), "member");
      tas.shape.insert(tas.shape.begin(), 1);
      tas.chunk_shape.insert(tas.chunk_shape.begin(), 1);
      file.root.arrays.push_back(
          memory_array("member", {"member"}, {1}, {static_cast<double>(member) * 10}, "int32"));
      files.push_back(std::move(file));
    }
  }
  auto combined = combine(std::move(files), along({"member", "time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_EQ(tas.shape, (std::vector<uint64_t>{3, 6, 4}));
  auto refs = refs_of(tas);  // grid 3 x 2 x 1
  ASSERT_EQ(refs.size(), 6u);
  EXPECT_EQ(std::get<0>(refs[0]), "file:///d/m0_t0.nc");
  EXPECT_EQ(std::get<0>(refs[1]), "file:///d/m0_t1.nc");
  EXPECT_EQ(std::get<0>(refs[5]), "file:///d/m2_t1.nc");
  EXPECT_EQ(values_as_doubles(array_named(*combined, "member")), (std::vector<double>{0, 10, 20}));
  EXPECT_EQ(values_as_doubles(array_named(*combined, "time")), range(0, 6));
}

std::vector<VirtualDataset> member_files(const std::vector<int>& members) {
  std::vector<VirtualDataset> files;
  for (int member : members) {
    VirtualDataset file = make_file({fmt::format("file:///d/m{}.nc", member), range(0, 2)});
    VirtualArray& tas = file.root.arrays[2];
    tas.dims.insert(tas.dims.begin(), "member");
    tas.shape.insert(tas.shape.begin(), 1);
    tas.chunk_shape.insert(tas.chunk_shape.begin(), 1);
    file.root.arrays.push_back(
        memory_array("member", {"member"}, {1}, {static_cast<double>(member)}, "int32"));
    files.push_back(std::move(file));
  }
  return files;
}

TEST(Combine, NestedGridWithAMissingCellIsAnError) {
  std::vector<VirtualDataset> files = member_files({0, 1});
  std::vector<VirtualDataset> later = member_files({0});
  for (VirtualDataset& file : later) {  // member 0 at a second time block, member 1 absent there
    file.source_url = "file:///d/m0_late.nc";
    file.root.arrays[0] = memory_array("time", {"time"}, {2}, range(2, 2));
    file.root.arrays[0].attributes = {{"units", "days since 2000-01-01"}, {"calendar", "standard"}};
    files.push_back(std::move(file));
  }
  EXPECT_EQ(error_of(std::move(files), along({"member", "time"})),
            "no file for member=1, time=2 (3 files for a grid of 2 x 2 along member, time); the "
            "files must fill "
            "the grid");
}

TEST(Combine, NestedNeedsCoordinates) {
  std::vector<VirtualDataset> files = member_files({0, 1});
  std::erase_if(files[0].root.arrays, [](const VirtualArray& a) { return a.name == "member"; });
  EXPECT_EQ(error_of(std::move(files), along({"member", "time"})),
            "file:///d/m0.nc has no coordinate variable member; combining along several dimensions "
            "places each "
            "file by its coordinate values");
}

TEST(Combine, StackAlongANewDimensionWithValues) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 2)}));
  files.push_back(make_file({"file:///d/b.nc", range(0, 2)}));
  files[0].root.arrays.push_back(memory_array("version", {}, {}, {7}, "int32"));
  files[1].root.arrays.push_back(memory_array("version", {}, {}, {8}, "int32"));
  CombineOptions options;
  options.stack_dim = "member";
  options.stack_values = {5, 6};
  auto combined = combine(std::move(files), options);
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_EQ(tas.dims, (std::vector<std::string>{"member", "time", "x"}));
  EXPECT_EQ(tas.shape, (std::vector<uint64_t>{2, 2, 4}));
  auto refs = refs_of(tas);
  EXPECT_EQ(std::get<0>(refs[2]), "file:///d/b.nc");
  EXPECT_EQ(values_as_doubles(array_named(*combined, "member")), (std::vector<double>{5, 6}));
  // Per-file constants that differ are stacked; identical coordinates are kept once.
  const VirtualArray& version = array_named(*combined, "version");
  EXPECT_EQ(version.dims, (std::vector<std::string>{"member"}));
  EXPECT_EQ(values_as_doubles(version), (std::vector<double>{7, 8}));
  EXPECT_EQ(array_named(*combined, "time").shape, (std::vector<uint64_t>{2}));
  EXPECT_EQ(array_named(*combined, "x").dims, (std::vector<std::string>{"x"}));
}

TEST(Combine, StackTakesValuesFromAScalarVariable) {
  std::vector<VirtualDataset> files;
  for (int member : {3, 1}) {
    VirtualDataset file = make_file({fmt::format("file:///d/m{}.nc", member), range(0, 2)});
    file.root.arrays.push_back(
        memory_array("member", {}, {}, {static_cast<double>(member)}, "int32"));
    files.push_back(std::move(file));
  }
  CombineOptions options;
  options.stack_dim = "member";
  auto combined = combine(std::move(files), options);
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  EXPECT_EQ(values_as_doubles(array_named(*combined, "member")), (std::vector<double>{1, 3}));
  EXPECT_EQ(std::get<0>(refs_of(array_named(*combined, "tas"))[0]), "file:///d/m1.nc");
}

TEST(Combine, DifferingConstantWithNothingToStackAlongIsAnError) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 2)}));
  files.push_back(make_file({"file:///d/b.nc", range(2, 2)}));
  files[0].root.arrays.push_back(memory_array("version", {}, {}, {7}, "int32"));
  files[1].root.arrays.push_back(memory_array("version", {}, {}, {8}, "int32"));
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/a.nc and file:///d/b.nc differ in variable /version and no combined "
            "dimension has one value "
            "per file to stack it along; leave it out with --drop version or make it a per-file "
            "coordinate");
}

TEST(Combine, MergesFilesHoldingDifferentVariables) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file(
      {"file:///d/u_0.nc", range(0, 2), 1, false, "days since 2000-01-01", "standard", "u10"}));
  files.push_back(make_file(
      {"file:///d/v_0.nc", range(0, 2), 1, false, "days since 2000-01-01", "standard", "v10"}));
  files.push_back(make_file(
      {"file:///d/u_1.nc", range(2, 2), 1, false, "days since 2000-01-01", "standard", "u10"}));
  files.push_back(make_file(
      {"file:///d/v_1.nc", range(2, 2), 1, false, "days since 2000-01-01", "standard", "v10"}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  EXPECT_EQ(array_named(*combined, "u10").shape, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ(std::get<0>(refs_of(array_named(*combined, "v10"))[3]), "file:///d/v_1.nc");
  EXPECT_EQ(combined->root.arrays.size(), 4u);  // time, x, u10, v10
}

TEST(Combine, MergeRefusesSharedCoordinatesThatDiffer) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file(
      {"file:///d/u.nc", range(0, 2), 1, false, "days since 2000-01-01", "standard", "u10"}));
  files.push_back(make_file(
      {"file:///d/v.nc", range(0, 2), 1, false, "days since 2000-01-01", "standard", "v10"}));
  files[1].root.arrays[1] = memory_array("x", {"x"}, {4}, {0, 1, 2, 4});
  EXPECT_EQ(error_of(std::move(files), along({"time"})),
            "file:///d/u.nc and file:///d/v.nc hold different variables (only file:///d/u.nc has "
            "/u10; only "
            "file:///d/v.nc has /v10) and could not be merged: variable /x differs: value 3 at "
            "index 3 vs 4");
}

// Partial edge chunks: a 3-step file in chunks of 2 followed by another.
std::vector<VirtualDataset> partial_files(bool compressed) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 3), 2, compressed}));
  files.push_back(make_file({"file:///d/b.nc", range(3, 3), 2, compressed}));
  return files;
}

TEST(Combine, PartialChunksOfUncompressedDataBecomeSingleSteps) {
  auto combined = combine(partial_files(false), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_EQ(tas.chunk_shape, (std::vector<uint64_t>{1, 4}));
  EXPECT_TRUE(tas.chunk_edges.empty());
  auto refs = refs_of(tas);
  ASSERT_EQ(refs.size(), 6u);
  EXPECT_EQ(refs[2], std::make_tuple(std::string("file:///d/a.nc"), uint64_t{1032}, uint64_t{16}));
  EXPECT_EQ(refs[3], std::make_tuple(std::string("file:///d/b.nc"), uint64_t{1000}, uint64_t{16}));
  EXPECT_EQ(refs[5], std::make_tuple(std::string("file:///d/b.nc"), uint64_t{1032}, uint64_t{16}));
  ASSERT_EQ(combined->warnings.size(), 1u);
  EXPECT_NE(combined->warnings[0].find("one step at a time"), std::string::npos);
}

TEST(Combine, PartialChunksOfUncompressedDataCanBeRectilinear) {
  CombineOptions options = along({"time"});
  options.grid = ChunkGridPolicy::kRectilinear;
  auto combined = combine(partial_files(false), options);
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  ASSERT_EQ(tas.chunk_edges.size(), 2u);
  EXPECT_EQ(tas.chunk_edges[0], (std::vector<uint64_t>{2, 1, 2, 1}));
  EXPECT_TRUE(tas.chunk_edges[1].empty());
  auto refs = refs_of(tas);
  // The partial chunk of a.nc holds one row: only its 16 bytes are referenced.
  EXPECT_EQ(refs[1], std::make_tuple(std::string("file:///d/a.nc"), uint64_t{1032}, uint64_t{16}));
  EXPECT_EQ(refs[3], std::make_tuple(std::string("file:///d/b.nc"), uint64_t{1032}, uint64_t{16}));
}

TEST(Combine, PartialChunksOfCompressedDataInTheMiddleCannotBePlaced) {
  EXPECT_EQ(error_of(partial_files(true), along({"time"})),
            "variable /tas: file:///d/a.nc has 3 along time in chunks of 2, so its last chunk "
            "holds 1 and is stored "
            "compressed at full size; no Zarr chunk grid can place the next file right after it. "
            "Rechunk the files "
            "so their length along time is a multiple of the chunk length");
}

TEST(Combine, CompressedFilesOfDifferentLengthsAreRectilinear) {
  // A 31-day month in chunks of 31 followed by a 28-day one in chunks of 28: compressed, whole
  // chunks.
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/jan.nc", range(0, 31), 31, true}));
  files.push_back(make_file({"file:///d/feb.nc", range(31, 28), 28, true}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_EQ(tas.chunk_edges[0], (std::vector<uint64_t>{31, 28}));
  EXPECT_EQ(tas.chunk_shape[0], 31u);
  CombineOptions regular = along({"time"});
  regular.grid = ChunkGridPolicy::kRegular;
  std::vector<VirtualDataset> again;
  again.push_back(make_file({"file:///d/jan.nc", range(0, 31), 31, true}));
  again.push_back(make_file({"file:///d/feb.nc", range(31, 28), 28, true}));
  EXPECT_EQ(error_of(std::move(again), regular),
            "variable /tas: the files' chunks along time do not tile it regularly "
            "(file:///d/jan.nc has 31 in chunks "
            "of 31) and its chunks are compressed, so they cannot be cut into single steps; use "
            "--chunk-grid auto for "
            "a rectilinear grid");
}

TEST(Combine, LastFilePartialChunkKeepsTheRegularGrid) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", range(0, 4), 2, true}));
  files.push_back(make_file({"file:///d/b.nc", range(4, 3), 2, true}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& tas = array_named(*combined, "tas");
  EXPECT_TRUE(tas.chunk_edges.empty());
  EXPECT_EQ(tas.chunk_shape, (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(tas.shape, (std::vector<uint64_t>{7, 4}));
  EXPECT_EQ(refs_of(tas).size(), 4u);
}

TEST(Combine, TimeInDifferentUnitsIsHarmonized) {
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", {0, 24}, 1, false, "hours since 2000-01-01"}));
  files.push_back(make_file({"file:///d/b.nc", {2, 3}, 1, false, "days since 2000-01-01"}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& time = array_named(*combined, "time");
  EXPECT_EQ(time.attributes["units"], "hours since 2000-01-01");
  EXPECT_EQ(values_as_doubles(time), (std::vector<double>{0, 24, 48, 72}));
}

TEST(Combine, TimeOrderUsesDecodedDates) {
  // b.nc's values are smaller numbers but later dates.
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", {0, 1}, 1, false, "days since 2000-01-01"}));
  files.push_back(make_file({"file:///d/b.nc", {0, 1}, 1, false, "days since 2000-01-03"}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  EXPECT_EQ(values_as_doubles(array_named(*combined, "time")), (std::vector<double>{0, 1, 2, 3}));
}

TEST(Combine, CalendarsMustAgree) {
  std::vector<VirtualDataset> files;
  files.push_back(
      make_file({"file:///d/a.nc", {0, 1}, 1, false, "days since 2000-01-01", "noleap"}));
  files.push_back(
      make_file({"file:///d/b.nc", {2, 3}, 1, false, "days since 2000-01-01", "360_day"}));
  const std::string error = error_of(std::move(files), along({"time"}));
  EXPECT_NE(error.find("file:///d/a.nc"), std::string::npos) << error;
  EXPECT_NE(error.find("file:///d/b.nc"), std::string::npos) << error;
  EXPECT_NE(error.find("360_day"), std::string::npos) << error;
}

TEST(Combine, NoleapCalendarIsPreserved) {
  // 2001-02-28 in noleap is day 58 of "days since 2001-01-01"; the next day is 2001-03-01.
  std::vector<VirtualDataset> files;
  files.push_back(make_file({"file:///d/a.nc", {58}, 1, false, "days since 2001-01-01", "noleap"}));
  files.push_back(make_file({"file:///d/b.nc", {0}, 1, false, "days since 2001-03-01", "noleap"}));
  auto combined = combine(std::move(files), along({"time"}));
  ASSERT_TRUE(combined.ok()) << combined.error().message();
  const VirtualArray& time = array_named(*combined, "time");
  EXPECT_EQ(values_as_doubles(time), (std::vector<double>{58, 59}));
  EXPECT_EQ(time.attributes["calendar"], "noleap");
}

TEST(ChunkManifest, TwentyFourBytesPerReferenceAtTenMillion) {
  ChunkManifest refs;
  constexpr size_t kRefs = 10'000'000;
  refs.reserve(kRefs);
  for (size_t f = 0; f < 1000; ++f)
    refs.intern(fmt::format("s3://bucket/ensemble/member_{:04}/run.nc", f));
  for (size_t i = 0; i < kRefs; ++i) refs.add(i, static_cast<uint32_t>(i % 1000), i * 4096, 4096);
  EXPECT_EQ(refs.size(), kRefs);
  const double per_ref = static_cast<double>(refs.memory_bytes()) / kRefs;
  EXPECT_LE(per_ref, 24.1);
  RecordProperty("bytes_per_reference", std::to_string(per_ref));
  // Lengths past 4 GiB are kept exactly, through appends and copies too.
  refs.add(kRefs, 0, 0, 5ull << 30);
  EXPECT_EQ(refs.length(kRefs), 5ull << 30);
  EXPECT_EQ(refs.length(kRefs - 1), 4096u);
  ChunkManifest tail;
  tail.add(0, tail.intern("s3://bucket/huge.grib"), 0, 6ull << 30);
  ChunkManifest copy = tail;
  copy.append(tail, [](uint64_t chunk) { return chunk + 1; });
  EXPECT_EQ(copy.length(1), 6ull << 30);
  EXPECT_EQ(copy.intern("s3://bucket/huge.grib"), 0u);  // the copy's lookup is its own
  tail = ChunkManifest();
  EXPECT_EQ(copy.path(1), "s3://bucket/huge.grib");
}

}  // namespace
}  // namespace floe::virt
