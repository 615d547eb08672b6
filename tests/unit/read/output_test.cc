// Tests of the output sinks: .npy and NetCDF-4 files read back by numpy, netCDF4-python and xarray
// (the .venv), CSV compared as text, statistics against numpy; blocks in shuffled order and from
// several threads; aborted, incomplete and refused outputs leave nothing behind.
#include "floe/read/output.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "floe/read/stats.h"

namespace floe::read {
namespace {

namespace fs = std::filesystem;

// Through text, as zarr.json arrives: positive integers parse as unsigned.
zarr::DataType data_type(const Json& spec) {
  auto type = zarr::DataType::from_json(Json::parse(spec.dump()));
  EXPECT_TRUE(type.ok()) << spec.dump();
  return type.ok() ? *type : zarr::DataType{};
}

template <typename T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::uint64_t element_count(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto extent : shape) n *= extent;
  return n;
}

struct Block {
  std::vector<std::uint64_t> start;
  std::vector<std::uint64_t> count;
  std::vector<std::uint8_t> data;
};

// Tiles the C-order array `all` into blocks of `block_shape` (smaller at the edges) and copies each
// block's elements out one by one, independently of the sinks' own run logic.
std::vector<Block> tile(const OutputVariable& variable, const std::vector<std::uint8_t>& all,
                        const std::vector<std::uint64_t>& block_shape) {
  const std::vector<std::uint64_t>& shape = variable.shape;
  std::size_t rank = shape.size();
  std::uint64_t size = variable.data_type.size;
  std::vector<Block> blocks;
  if (rank == 0) {
    blocks.push_back({{}, {}, all});
    return blocks;
  }
  if (element_count(shape) == 0) return blocks;
  std::vector<std::uint64_t> origin(rank, 0);
  while (true) {
    Block block{origin, std::vector<std::uint64_t>(rank), {}};
    for (std::size_t d = 0; d < rank; ++d)
      block.count[d] = std::min(block_shape[d], shape[d] - origin[d]);
    std::vector<std::uint64_t> index(rank, 0);
    for (std::uint64_t i = 0; i < element_count(block.count); ++i) {
      std::uint64_t flat = 0;
      for (std::size_t d = 0; d < rank; ++d) flat = flat * shape[d] + origin[d] + index[d];
      block.data.insert(block.data.end(), all.begin() + flat * size,
                        all.begin() + (flat + 1) * size);
      for (std::size_t d = rank; d > 0; --d) {
        if (++index[d - 1] < block.count[d - 1]) break;
        index[d - 1] = 0;
      }
    }
    blocks.push_back(std::move(block));
    std::size_t d = rank;
    while (d > 0) {
      --d;
      origin[d] += block_shape[d];
      if (origin[d] < shape[d]) break;
      origin[d] = 0;
      if (d == 0) return blocks;
    }
  }
}

void write_shuffled(OutputSink& sink, const OutputVariable& variable,
                    const std::vector<std::uint8_t>& all,
                    const std::vector<std::uint64_t>& block_shape, unsigned seed) {
  std::vector<Block> blocks = tile(variable, all, block_shape);
  std::mt19937 rng(seed);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (const Block& block : blocks) {
    Status status = sink.write_block(block.start, block.count, block.data);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
  }
}

void write_from_threads(OutputSink& sink, const OutputVariable& variable,
                        const std::vector<std::uint8_t>& all,
                        const std::vector<std::uint64_t>& block_shape, int threads) {
  std::vector<Block> blocks = tile(variable, all, block_shape);
  std::mt19937 rng(7);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  std::atomic<std::size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < blocks.size(); i = next++) {
        if (!sink.write_block(blocks[i].start, blocks[i].count, blocks[i].data).ok()) ++failures;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(failures.load(), 0);
}

OutputVariable variable_of(std::string name, std::vector<std::string> dims,
                           std::vector<std::uint64_t> shape, const Json& type) {
  OutputVariable variable;
  variable.name = std::move(name);
  variable.dims = std::move(dims);
  variable.shape = std::move(shape);
  variable.data_type = data_type(type);
  return variable;
}

// Deterministic element bytes of any type (random bits; bools 0/1).
std::vector<std::uint8_t> sample_bytes(const OutputVariable& variable, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> out(element_count(variable.shape) * variable.data_type.size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  if (variable.data_type.kind == zarr::TypeKind::kBool) {
    for (auto& b : out) b &= 1;
  }
  return out;
}

class OutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("floe_read_output_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // The files as numpy / netCDF4-python / xarray see them (inspect_output.py), by path; one Python
  // process for all of them. Null when Python failed.
  Json inspect_all(const std::vector<fs::path>& paths) const {
    fs::path json = dir_ / "inspect.json";
    fs::path log = dir_ / "inspect.log";
    std::string command =
        fmt::format("{} {} {}", FLOE_PYTHON, FLOE_INSPECT_OUTPUT_SCRIPT, json.string());
    for (const fs::path& path : paths) command += " " + path.string();
    command += fmt::format(" > {} 2>&1", log.string());
    Json result = nullptr;
    if (std::system(command.c_str()) == 0) {
      std::ifstream in(json);
      result = Json::parse(in, nullptr, false);
    } else {
      ADD_FAILURE() << "inspect_output.py failed:\n" << read_text(log);
    }
    fs::remove(json);
    fs::remove(log);
    return result;
  }

  Json inspect(const fs::path& path) const {
    Json all = inspect_all({path});
    return all.is_null() ? all : all[path.string()];
  }

  fs::path dir_;
};

// ----------------------------------------------------------------------------------------------
// .npy

struct NpyCase {
  Json type;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> block;
  std::string descr;
};

TEST_F(OutputTest, NpyMatchesNumpyForTypesAndShapes) {
  const std::vector<NpyCase> cases = {
      {"float32", {4, 5, 6}, {3, 2, 4}, "<f4"},
      {"float32", {4, 5, 6}, {1, 5, 6}, "<f4"},  // full trailing dims: one run per block
      {"float64", {}, {}, "<f8"},
      {"int16", {7, 3}, {2, 3}, "<i2"},
      {"uint8", {11}, {4}, "|u1"},
      {"bool", {9}, {2}, "|b1"},
      {"int64", {0, 3}, {1, 3}, "<i8"},
      {"complex64", {3, 4}, {2, 3}, "<c8"},
      {"float16", {5, 2}, {2, 2}, "<f2"},
      {{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 5}}}},
       {6},
       {4},
       "|S5"},
      {{{"name", "fixed_length_utf32"}, {"configuration", {{"length_bytes", 12}}}},
       {4},
       {3},
       "<U3"},
      {{{"name", "numpy.datetime64"}, {"configuration", {{"unit", "s"}, {"scale_factor", 1}}}},
       {5},
       {2},
       "<M8[s]"},
      {"uint64", {2, 3, 2, 2}, {1, 2, 2, 1}, "<u8"},
  };
  int n = 0;
  std::vector<fs::path> paths;
  std::vector<std::vector<std::uint8_t>> written;
  for (const NpyCase& c : cases) {
    SCOPED_TRACE(fmt::format("{} shape [{}]", c.type.dump(), fmt::join(c.shape, ",")));
    OutputVariable variable = variable_of("v", {}, c.shape, c.type);
    for (std::size_t d = 0; d < c.shape.size(); ++d) variable.dims.push_back(fmt::format("d{}", d));
    std::vector<std::uint8_t> all = sample_bytes(variable, 100 + n);
    if (variable.data_type.kind == zarr::TypeKind::kFixedUtf32) {
      // numpy refuses code points outside Unicode: "ab", "", "é€", "xyz".
      all = bytes_of(
          std::vector<std::uint32_t>{'a', 'b', 0, 0, 0, 0, 0xe9, 0x20ac, 0, 'x', 'y', 'z'});
    }
    fs::path path = dir_ / fmt::format("case{}.npy", n++);
    auto sink = open_npy_output(path.string(), variable);
    ASSERT_TRUE(sink.ok()) << sink.error().to_string();
    write_shuffled(**sink, variable, all, c.block, 1);
    Status finished = (*sink)->finish();
    ASSERT_TRUE(finished.ok()) << finished.error().to_string();
    paths.push_back(path);
    written.push_back(all);
  }
  Json inspected = inspect_all(paths);
  ASSERT_FALSE(inspected.is_null());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const NpyCase& c = cases[i];
    SCOPED_TRACE(fmt::format("{} shape [{}]", c.type.dump(), fmt::join(c.shape, ",")));
    const fs::path& path = paths[i];
    const std::vector<std::uint8_t>& all = written[i];
    const Json& seen = inspected[path.string()];
    EXPECT_TRUE(seen["magic_ok"].get<bool>());
    EXPECT_EQ(seen["version"], Json::array({1, 0}));
    EXPECT_EQ(seen["data_offset"].get<std::uint64_t>() % 64, 0u);
    EXPECT_EQ(seen["descr"], c.descr);
    EXPECT_EQ(seen["shape"].get<std::vector<std::uint64_t>>(), c.shape);
    EXPECT_EQ(seen["hex"], hex(all));
    EXPECT_EQ(fs::file_size(path), seen["data_offset"].get<std::uint64_t>() + all.size());
  }
}

TEST_F(OutputTest, NpyFromSeveralThreads) {
  OutputVariable variable = variable_of("t", {"time", "lat", "lon"}, {16, 30, 40}, "float64");
  std::vector<std::uint8_t> all = sample_bytes(variable, 5);
  fs::path path = dir_ / "threads.npy";
  auto sink = open_npy_output(path.string(), variable);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  write_from_threads(**sink, variable, all, {3, 7, 40}, 4);
  ASSERT_TRUE((*sink)->finish().ok());
  Json seen = inspect(path);
  ASSERT_FALSE(seen.is_null());
  EXPECT_EQ(seen["hex"], hex(all));
}

TEST_F(OutputTest, AbortWithoutFinishLeavesNothing) {
  OutputVariable variable = variable_of("t", {"x", "y"}, {4, 4}, "float32");
  std::vector<std::uint8_t> all = sample_bytes(variable, 9);
  std::vector<Block> blocks = tile(variable, all, {2, 4});
  for (std::string name : {"a.npy", "a.nc", "a.csv"}) {
    SCOPED_TRACE(name);
    {
      auto sink = open_output((dir_ / name).string(), variable);
      ASSERT_TRUE(sink.ok()) << sink.error().to_string();
      EXPECT_EQ(files().size(), 1u);  // the temporary, under a hidden name
      EXPECT_EQ(files()[0].rfind("." + name + ".floe-tmp-", 0), 0u) << files()[0];
      ASSERT_TRUE((*sink)->write_block(blocks[0].start, blocks[0].count, blocks[0].data).ok());
    }
    EXPECT_TRUE(files().empty()) << fmt::format("{}", fmt::join(files(), " "));
  }
}

TEST_F(OutputTest, IncompleteOutputIsNotMovedIntoPlace) {
  OutputVariable variable = variable_of("t", {"x", "y"}, {4, 4}, "int32");
  std::vector<std::uint8_t> all = sample_bytes(variable, 9);
  std::vector<Block> blocks = tile(variable, all, {2, 4});
  for (std::string name : {"a.npy", "a.nc", "a.csv"}) {
    SCOPED_TRACE(name);
    auto sink = open_output((dir_ / name).string(), variable);
    ASSERT_TRUE(sink.ok()) << sink.error().to_string();
    ASSERT_TRUE((*sink)->write_block(blocks[1].start, blocks[1].count, blocks[1].data).ok());
    Status finished = (*sink)->finish();
    ASSERT_FALSE(finished.ok());
    EXPECT_NE(finished.error().message().find("8 elements of 16"), std::string::npos)
        << finished.error().message();
    EXPECT_NE(finished.error().message().find(name), std::string::npos);
    sink->reset();
    EXPECT_TRUE(files().empty());
  }
  auto stats = StatsSink::create(variable);
  ASSERT_TRUE(stats.ok());
  ASSERT_TRUE((*stats)->write_block(blocks[0].start, blocks[0].count, blocks[0].data).ok());
  EXPECT_FALSE((*stats)->finish().ok());
}

TEST_F(OutputTest, BadBlocksAreRefused) {
  OutputVariable variable = variable_of("t", {"x", "y"}, {4, 5}, "int16");
  auto sink = open_npy_output((dir_ / "b.npy").string(), variable);
  ASSERT_TRUE(sink.ok());
  std::vector<std::uint8_t> data(2 * 5 * 2);
  std::vector<std::uint64_t> start{3, 0}, count{2, 5};
  Status past_end = (*sink)->write_block(start, count, data);
  ASSERT_FALSE(past_end.ok());
  EXPECT_NE(past_end.error().message().find("dimension \"x\""), std::string::npos)
      << past_end.error().message();
  start = {0, 0};
  Status short_data = (*sink)->write_block(start, count, std::span(data).first(10));
  ASSERT_FALSE(short_data.ok());
  EXPECT_NE(short_data.error().message().find("need 20"), std::string::npos)
      << short_data.error().message();
  std::vector<std::uint64_t> wrong_rank{0};
  EXPECT_FALSE((*sink)->write_block(wrong_rank, wrong_rank, data).ok());
}

TEST_F(OutputTest, ReplacesAnExistingFileOnlyOnFinish) {
  OutputVariable variable = variable_of("t", {"x"}, {3}, "uint8");
  fs::path path = dir_ / "r.npy";
  { std::ofstream(path) << "old"; }
  auto sink = open_npy_output(path.string(), variable);
  ASSERT_TRUE(sink.ok());
  std::vector<std::uint64_t> start{0}, count{3};
  std::vector<std::uint8_t> data{1, 2, 3};
  ASSERT_TRUE((*sink)->write_block(start, count, data).ok());
  EXPECT_EQ(read_text(path), "old");
  ASSERT_TRUE((*sink)->finish().ok());
  EXPECT_EQ(files(), std::vector<std::string>{"r.npy"});
  EXPECT_EQ(inspect(path)["hex"], "010203");
  EXPECT_FALSE((*sink)->write_block(start, count, data).ok());  // after finish
  EXPECT_FALSE((*sink)->finish().ok());
}

TEST_F(OutputTest, UnwritablePlacesAreRefusedNamingThePath) {
  OutputVariable variable = variable_of("t", {"x"}, {3}, "float32");
  std::string missing = (dir_ / "no" / "such" / "dir" / "out.npy").string();
  auto in_missing = open_output(missing, variable);
  ASSERT_FALSE(in_missing.ok());
  EXPECT_EQ(in_missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(in_missing.error().to_string().find(missing), std::string::npos)
      << in_missing.error().to_string();

  { std::ofstream(dir_ / "plain") << "x"; }
  std::string under_file = (dir_ / "plain" / "out.nc").string();
  auto in_file = open_output(under_file, variable);
  ASSERT_FALSE(in_file.ok());
  EXPECT_NE(in_file.error().to_string().find(under_file), std::string::npos)
      << in_file.error().to_string();

  fs::create_directories(dir_ / "d.nc");
  auto onto_directory = open_output((dir_ / "d.nc").string(), variable);
  ASSERT_FALSE(onto_directory.ok());
  EXPECT_NE(onto_directory.error().message().find("is a directory"), std::string::npos);

  auto unknown = open_output((dir_ / "out.parquet").string(), variable);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find(".npy"), std::string::npos);
  EXPECT_EQ(files(), (std::vector<std::string>{"d.nc", "plain"}));
}

TEST_F(OutputTest, MalformedVariablesAreRefused) {
  OutputVariable variable = variable_of("t", {"x", "x"}, {3, 2}, "float32");
  EXPECT_FALSE(open_npy_output((dir_ / "m.npy").string(), variable).ok());
  variable.dims = {"x", "y"};
  variable.coordinates.push_back(
      {"lat", "z", data_type("float32"), std::vector<std::uint8_t>(12), {}});
  auto off_dim = open_netcdf_output((dir_ / "m.nc").string(), variable);
  ASSERT_FALSE(off_dim.ok());
  EXPECT_NE(off_dim.error().message().find("\"z\""), std::string::npos)
      << off_dim.error().message();
  variable.coordinates[0].dim = "x";
  variable.coordinates[0].values.resize(8);
  auto short_values = open_netcdf_output((dir_ / "m.nc").string(), variable);
  ASSERT_FALSE(short_values.ok());
  EXPECT_NE(short_values.error().message().find("need 12"), std::string::npos);
  variable.coordinates.clear();
  variable.fill_value = {0, 0};
  EXPECT_FALSE(open_csv_output((dir_ / "m.csv").string(), variable).ok());
  EXPECT_TRUE(files().empty());
}

// -------------------------------------------------------------------------------------------
// NetCDF-4

template <typename T>
std::vector<std::uint8_t> one(T value) {
  return bytes_of(std::vector<T>{value});
}

TEST_F(OutputTest, NetcdfWithCoordinatesAttributesAndFill) {
  OutputVariable variable = variable_of("t2m", {"time", "lat", "lon"}, {6, 4, 5}, "float32");
  std::vector<float> values(6 * 4 * 5);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = 250.0f + 0.25f * static_cast<float>(i);
  values[7] = -9999.0f;
  values[8] = std::nanf("");
  variable.fill_value = one(-9999.0f);
  variable.attributes = {
      {"units", "K"},
      {"long_name", "2 metre temperature"},
      {"_FillValue", -9999.0},                // from the fill value, not copied
      {"coordinates", "latitude longitude"},  // names variables not in the file: replaced
      {"valid_range", {100, 400}},            // in the variable's type (float)
      {"count", 3},
      {"big", 18446744073709551615ull},
      {"ratio", 0.5},
      {"levels", {1, 2, 3}},
      {"mixed", {1, 2.5}},
      {"flag", true},
      {"names", {"a", "b"}},
      {"nested", {{"k", 1}}},
      {"nothing", nullptr},
      {"_Netcdf4Dimid", 0},  // reserved by libnetcdf: left out
  };
  variable.global_attributes = {{"title", "test"}, {"Conventions", "CF-1.8"}, {"version", 2}};
  variable.coordinates.push_back({"time",
                                  "time",
                                  data_type("float64"),
                                  bytes_of(std::vector<double>{0, 6, 12, 18, 24, 30}),
                                  {{"units", "hours since 2020-01-01"}, {"calendar", "standard"}}});
  variable.coordinates.push_back({"lat",
                                  "lat",
                                  data_type("float32"),
                                  bytes_of(std::vector<float>{10, 5, 0, -5}),
                                  {{"units", "degrees_north"}}});
  variable.coordinates.push_back({"height", "", data_type("float64"), one(2.0), {{"units", "m"}}});
  fs::path path = dir_ / "t2m.nc";
  OutputOptions options;
  options.block_shape = {2, 4, 5};
  auto sink = open_netcdf_output(path.string(), variable, options);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  write_shuffled(**sink, variable, bytes_of(values), {2, 3, 2}, 3);
  Status finished = (*sink)->finish();
  ASSERT_TRUE(finished.ok()) << finished.error().to_string();
  EXPECT_EQ(files(), std::vector<std::string>{"t2m.nc"});

  Json seen = inspect(path);
  ASSERT_FALSE(seen.is_null());
  EXPECT_EQ(seen["data_model"], "NETCDF4");
  EXPECT_EQ(seen["dimensions"], (Json{{"time", 6}, {"lat", 4}, {"lon", 5}}));
  EXPECT_EQ(seen["global"]["title"], "test");
  EXPECT_EQ(seen["global"]["version"], (Json{{"type", "<i8"}, {"value", {2}}}));
  const Json& t2m = seen["variables"]["t2m"];
  EXPECT_EQ(t2m["dtype"], "<f4");
  EXPECT_EQ(t2m["dims"], (Json{"time", "lat", "lon"}));
  EXPECT_EQ(t2m["hex"], hex(bytes_of(values)));
  EXPECT_EQ(t2m["filters"]["zlib"], true);
  EXPECT_EQ(t2m["filters"]["shuffle"], true);
  EXPECT_EQ(t2m["filters"]["complevel"], 1);
  EXPECT_EQ(t2m["chunking"], (Json{2, 4, 5}));
  const Json& attrs = t2m["attrs"];
  EXPECT_EQ(attrs["_FillValue"], (Json{{"type", "<f4"}, {"value", {-9999.0}}}));
  EXPECT_EQ(attrs["units"], "K");
  EXPECT_EQ(attrs["coordinates"], "height");
  EXPECT_EQ(attrs["valid_range"], (Json{{"type", "<f4"}, {"value", {100.0, 400.0}}}));
  EXPECT_EQ(attrs["count"], (Json{{"type", "<i8"}, {"value", {3}}}));
  EXPECT_EQ(attrs["big"], (Json{{"type", "<u8"}, {"value", {18446744073709551615ull}}}));
  EXPECT_EQ(attrs["ratio"], (Json{{"type", "<f8"}, {"value", {0.5}}}));
  EXPECT_EQ(attrs["levels"], (Json{{"type", "<i8"}, {"value", {1, 2, 3}}}));
  EXPECT_EQ(attrs["mixed"], (Json{{"type", "<f8"}, {"value", {1.0, 2.5}}}));
  EXPECT_EQ(attrs["flag"], (Json{{"type", "|i1"}, {"value", {1}}}));
  EXPECT_EQ(attrs["names"], (Json{{"type", "str"}, {"value", {"a", "b"}}}));
  EXPECT_EQ(attrs["nested"], "{\"k\":1}");
  EXPECT_FALSE(attrs.contains("nothing"));
  EXPECT_FALSE(attrs.contains("_Netcdf4Dimid"));
  EXPECT_EQ(attrs.size(), 13u) << attrs.dump();

  const Json& time = seen["variables"]["time"];
  EXPECT_EQ(time["dims"], Json{"time"});
  EXPECT_EQ(time["hex"], hex(bytes_of(std::vector<double>{0, 6, 12, 18, 24, 30})));
  EXPECT_EQ(time["attrs"]["units"], "hours since 2020-01-01");
  EXPECT_EQ(seen["variables"]["lat"]["hex"], hex(bytes_of(std::vector<float>{10, 5, 0, -5})));
  EXPECT_EQ(seen["variables"]["height"]["dims"], Json::array());
  EXPECT_FALSE(seen["variables"].contains("lon"));  // no coordinate given: a bare dimension
  // xarray: time decoded to datetime64, the scalar height attached as a coordinate.
  EXPECT_EQ(seen["xarray"]["time"], "<M8[ns]");
  EXPECT_EQ(seen["xarray_coords"], (Json{"height", "lat", "time"}));
}

struct NetcdfTypeCase {
  Json type;
  std::vector<std::uint64_t> shape;
  std::string file_dtype;    // as netCDF4-python reads it (raw)
  std::string xarray_dtype;  // after xarray's decoding
};

TEST_F(OutputTest, NetcdfTypes) {
  const std::vector<NetcdfTypeCase> cases = {
      {"int8", {5}, "|i1", "|i1"},
      {"uint8", {5}, "|u1", "|u1"},
      {"int16", {3, 2}, "<i2", "<i2"},
      {"uint16", {3, 2}, "<u2", "<u2"},
      {"int32", {4}, "<i4", "<i4"},
      {"uint32", {4}, "<u4", "<u4"},
      {"int64", {2, 2}, "<i8", "<i8"},
      {"uint64", {2, 2}, "<u8", "<u8"},
      {"float64", {}, "<f8", "<f8"},
      {"float32", {1}, "<f4", "<f4"},
      {"bool", {6}, "|i1", "|b1"},
      {{{"name", "numpy.datetime64"}, {"configuration", {{"unit", "s"}, {"scale_factor", 1}}}},
       {3},
       "<i8",
       "<M8[ns]"},
  };
  int n = 0;
  std::vector<fs::path> paths;
  std::vector<std::vector<std::uint8_t>> written;
  for (const NetcdfTypeCase& c : cases) {
    SCOPED_TRACE(c.type.dump());
    OutputVariable variable = variable_of("v", {}, c.shape, c.type);
    for (std::size_t d = 0; d < c.shape.size(); ++d) variable.dims.push_back(fmt::format("d{}", d));
    std::vector<std::uint8_t> all = sample_bytes(variable, 40 + n);
    if (variable.data_type.kind == zarr::TypeKind::kDateTime64) {
      all = bytes_of(std::vector<std::int64_t>{0, 86400, 1577836800});
    }
    fs::path path = dir_ / fmt::format("t{}.nc", n++);
    auto sink = open_netcdf_output(path.string(), variable);
    ASSERT_TRUE(sink.ok()) << sink.error().to_string();
    std::vector<std::uint64_t> block(c.shape.size(), 2);
    write_shuffled(**sink, variable, all, block, 2);
    ASSERT_TRUE((*sink)->finish().ok());
    paths.push_back(path);
    written.push_back(all);
  }
  Json inspected = inspect_all(paths);
  ASSERT_FALSE(inspected.is_null());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const NetcdfTypeCase& c = cases[i];
    SCOPED_TRACE(c.type.dump());
    const std::vector<std::uint8_t>& all = written[i];
    const Json& seen = inspected[paths[i].string()];
    const Json& v = seen["variables"]["v"];
    EXPECT_EQ(v["dtype"], c.file_dtype);
    EXPECT_EQ(v["shape"].get<std::vector<std::uint64_t>>(), c.shape);
    EXPECT_EQ(v["hex"], hex(all));
    EXPECT_EQ(seen["xarray"]["v"], c.xarray_dtype);
    if (c.shape.empty()) {
      EXPECT_EQ(v["chunking"], "contiguous");
    }
    if (c.xarray_dtype == "<M8[ns]") {
      EXPECT_EQ(v["attrs"]["units"], "seconds since 1970-01-01T00:00:00");
      EXPECT_EQ(v["attrs"]["calendar"], "proleptic_gregorian");
    }
  }
}

TEST_F(OutputTest, NetcdfHalfFloatsWidenToFloat) {
  OutputVariable variable = variable_of("h", {"x"}, {7}, "float16");
  std::vector<std::uint16_t> halves{0x3c00, 0xc000, 0x7c00, 0x0001, 0x7e00, 0x8000, 0x3555};
  variable.fill_value = one(std::uint16_t{0xc000});  // -2.0
  fs::path path = dir_ / "h.nc";
  auto sink = open_netcdf_output(path.string(), variable);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  write_shuffled(**sink, variable, bytes_of(halves), {3}, 1);
  ASSERT_TRUE((*sink)->finish().ok());
  Json seen = inspect(path);
  ASSERT_FALSE(seen.is_null());
  // numpy's float16 -> float32 of the same bit patterns.
  std::vector<std::uint32_t> floats{1065353216u, 3221225472u, 2139095040u, 864026624u,
                                    2143289344u, 2147483648u, 1051369472u};
  EXPECT_EQ(seen["variables"]["h"]["dtype"], "<f4");
  EXPECT_EQ(seen["variables"]["h"]["hex"], hex(bytes_of(floats)));
  EXPECT_EQ(seen["variables"]["h"]["attrs"]["_FillValue"],
            (Json{{"type", "<f4"}, {"value", {-2.0}}}));
}

TEST_F(OutputTest, NetcdfStrings) {
  OutputVariable bytes_variable =
      variable_of("code", {"station"}, {3},
                  {{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 4}}}});
  std::vector<std::uint8_t> codes{'A', 'B', 'C', 'D', 'x', 0, 0, 0, 'p', 'q', 'r', 0};
  bytes_variable.coordinates.push_back(
      {"station",
       "station",
       data_type({{"name", "fixed_length_utf32"}, {"configuration", {{"length_bytes", 8}}}}),
       bytes_of(std::vector<std::uint32_t>{'o', 's', 0xe9, 0x20ac, 'z', 0}),
       {}});
  fs::path path = dir_ / "s.nc";
  auto sink = open_netcdf_output(path.string(), bytes_variable);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  write_shuffled(**sink, bytes_variable, codes, {2}, 4);
  ASSERT_TRUE((*sink)->finish().ok());
  Json seen = inspect(path);
  ASSERT_FALSE(seen.is_null());
  const Json& code = seen["variables"]["code"];
  EXPECT_EQ(code["dtype"], "|S1");
  EXPECT_EQ(code["dims"], (Json{"station", "string4"}));
  EXPECT_EQ(code["hex"], hex(codes));
  const Json& station = seen["variables"]["station"];
  EXPECT_EQ(station["dtype"], "str");
  EXPECT_EQ(station["strings"], (Json{"os", "\xc3\xa9\xe2\x82\xac", "z"}));
  EXPECT_EQ(seen["xarray"]["code"], "|S4");
}

TEST_F(OutputTest, NetcdfChunksDivideTheBlocks) {
  OutputVariable variable = variable_of("v", {"t", "y", "x"}, {24, 20, 30}, "float32");
  std::vector<std::uint8_t> all = sample_bytes(variable, 3);
  struct ChunkCase {
    std::vector<std::uint64_t> block;
    std::uint64_t target;
    Json chunks;
  };
  // A (20, 30) float32 row is 2400 bytes: 10000 bytes hold 4 rows.
  const std::vector<ChunkCase> cases = {
      {{12, 20, 30}, 10000, {4, 20, 30}},  // 4 divides 12
      {{9, 20, 30}, 10000, {3, 20, 30}},   // 3 divides 9 and is at least half of 4
      {{7, 20, 30}, 10000, {4, 20, 30}},   // 7 is prime: 1 would be too small, take 4
      {{24, 10, 30}, 1000000, {24, 10, 30}},
      {{}, 1000, {1, 8, 30}},  // no blocks: shrink the shape itself (8 rows of 120 bytes)
  };
  int n = 0;
  std::vector<fs::path> paths;
  for (const ChunkCase& c : cases) {
    SCOPED_TRACE(n);
    OutputOptions options;
    options.block_shape = c.block;
    options.target_chunk_bytes = c.target;
    options.deflate_level = n == 3 ? 0 : 1;
    fs::path path = dir_ / fmt::format("c{}.nc", n++);
    auto sink = open_netcdf_output(path.string(), variable, options);
    ASSERT_TRUE(sink.ok()) << sink.error().to_string();
    write_from_threads(**sink, variable, all,
                       c.block.empty() ? std::vector<std::uint64_t>{5, 20, 30} : c.block, 3);
    ASSERT_TRUE((*sink)->finish().ok());
    paths.push_back(path);
  }
  Json inspected = inspect_all(paths);
  ASSERT_FALSE(inspected.is_null());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const Json& v = inspected[paths[i].string()]["variables"]["v"];
    EXPECT_EQ(v["chunking"], cases[i].chunks);
    EXPECT_EQ(v["hex"], hex(all));
    EXPECT_EQ(v["filters"]["zlib"], i != 3);
  }
}

TEST_F(OutputTest, NetcdfRefusesComplexSuggestingNpy) {
  OutputVariable variable = variable_of("z", {"x"}, {3}, "complex128");
  auto sink = open_output((dir_ / "z.nc").string(), variable);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(sink.error().message().find("complex"), std::string::npos);
  EXPECT_NE(sink.error().message().find(".npy"), std::string::npos) << sink.error().message();
  OutputVariable raw = variable_of("r", {"x"}, {3}, "r16");
  EXPECT_FALSE(open_output((dir_ / "r.nc").string(), raw).ok());
  OutputVariable coordinate_complex = variable_of("v", {"x"}, {1}, "float32");
  coordinate_complex.coordinates.push_back(
      {"x", "x", data_type("complex64"), std::vector<std::uint8_t>(8), {}});
  EXPECT_FALSE(open_output((dir_ / "c.nc").string(), coordinate_complex).ok());
  EXPECT_TRUE(files().empty());
}

// ----------------------------------------------------------------------------------------------
// CSV

TEST_F(OutputTest, CsvRowsWithCoordinatesInCOrder) {
  OutputVariable variable = variable_of("tp", {"time", "lat", "member"}, {2, 3, 2}, "float32");
  std::vector<float> values{0.5f, 1, 2, 3, 4, 5, 6, 7, 8, std::nanf(""), 1e-7f, -2.25f};
  variable.coordinates.push_back({"time",
                                  "time",
                                  data_type("int64"),
                                  bytes_of(std::vector<std::int64_t>{0, 24}),
                                  {{"units", "hours since 2020-01-01"}}});
  variable.coordinates.push_back(
      {"lat", "lat", data_type("float64"), bytes_of(std::vector<double>{-1.5, 0.1, 3}), {}});
  variable.coordinates.push_back({"lon", "", data_type("float32"), one(-48.75f), {}});
  variable.coordinates.push_back(
      {"label",
       "lat",
       data_type({{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 4}}}}),
       {'a', ',', 'b', 0, 'q', '"', 0, 0, 'z', 0, 0, 0},
       {}});
  OutputOptions options;
  options.csv_formatters["time"] = [](double hours) { return fmt::format("day {}", hours / 24); };
  fs::path path = dir_ / "tp.csv";
  auto sink = open_csv_output(path.string(), variable, options);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  write_shuffled(**sink, variable, bytes_of(values), {1, 2, 1}, 8);
  EXPECT_FALSE(fs::exists(path));
  ASSERT_TRUE((*sink)->finish().ok());
  EXPECT_EQ(read_text(path),
            "time,lat,member,lon,label,tp\n"
            "day 0,-1.5,0,-48.75,\"a,b\",0.5\n"
            "day 0,-1.5,1,-48.75,\"a,b\",1\n"
            "day 0,0.1,0,-48.75,\"q\"\"\",2\n"
            "day 0,0.1,1,-48.75,\"q\"\"\",3\n"
            "day 0,3,0,-48.75,z,4\n"
            "day 0,3,1,-48.75,z,5\n"
            "day 1,-1.5,0,-48.75,\"a,b\",6\n"
            "day 1,-1.5,1,-48.75,\"a,b\",7\n"
            "day 1,0.1,0,-48.75,\"q\"\"\",8\n"
            "day 1,0.1,1,-48.75,\"q\"\"\",nan\n"
            "day 1,3,0,-48.75,z,1e-07\n"
            "day 1,3,1,-48.75,z,-2.25\n");
  EXPECT_EQ(files(), std::vector<std::string>{"tp.csv"});
}

TEST_F(OutputTest, CsvScalarTypesAndStream) {
  OutputVariable scalar = variable_of("p", {}, {}, "int16");
  std::FILE* stream = std::tmpfile();
  ASSERT_NE(stream, nullptr);
  auto sink = open_csv_stream(stream, "test stream", scalar);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  std::vector<std::uint64_t> none;
  std::vector<std::uint8_t> value = one(std::int16_t{-7});
  ASSERT_TRUE((*sink)->write_block(none, none, value).ok());
  ASSERT_TRUE((*sink)->finish().ok());
  std::rewind(stream);
  char text[64] = {};
  std::size_t got = std::fread(text, 1, sizeof(text) - 1, stream);
  std::fclose(stream);
  EXPECT_EQ(std::string(text, got), "p\n-7\n");

  struct TypeCase {
    Json type;
    std::vector<std::uint8_t> element;
    std::string text;
  };
  const std::vector<TypeCase> cases = {
      {"bool", {1}, "true"},
      {"uint64", one(std::uint64_t{18446744073709551615ull}), "18446744073709551615"},
      {"float64", one(0.1), "0.1"},
      {"float16", one(std::uint16_t{0x3c00}), "1"},
      {"complex64", bytes_of(std::vector<float>{1.5f, -2}), "(1.5-2j)"},
      {{{"name", "fixed_length_utf32"}, {"configuration", {{"length_bytes", 8}}}},
       bytes_of(std::vector<std::uint32_t>{0xe9, 0}),
       "\xc3\xa9"},
      {{{"name", "numpy.datetime64"}, {"configuration", {{"unit", "s"}, {"scale_factor", 1}}}},
       one(std::numeric_limits<std::int64_t>::min()),
       "NaT"},
      {"r16", {0xab, 0x01}, "0xab01"},
  };
  int n = 0;
  for (const TypeCase& c : cases) {
    SCOPED_TRACE(c.type.dump());
    OutputVariable variable = variable_of("v", {"x"}, {1}, c.type);
    fs::path path = dir_ / fmt::format("s{}.csv", n++);
    auto csv = open_csv_output(path.string(), variable);
    ASSERT_TRUE(csv.ok()) << csv.error().to_string();
    std::vector<std::uint64_t> start{0}, count{1};
    ASSERT_TRUE((*csv)->write_block(start, count, c.element).ok());
    ASSERT_TRUE((*csv)->finish().ok());
    EXPECT_EQ(read_text(path), "x,v\n0," + c.text + "\n");
  }
}

TEST_F(OutputTest, CsvRefusesLargeSelections) {
  OutputVariable huge = variable_of("t2m", {"time", "lat", "lon"}, {1000, 100, 101}, "float32");
  auto refused = open_output((dir_ / "big.csv").string(), huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("10100000 elements"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find(".nc or .npy"), std::string::npos);
  OutputVariable small = variable_of("t2m", {"x"}, {11}, "float32");
  OutputOptions options;
  options.csv_max_elements = 10;
  EXPECT_FALSE(open_csv_output((dir_ / "s.csv").string(), small, options).ok());
  options.csv_max_elements = 11;
  EXPECT_TRUE(open_csv_output((dir_ / "s.csv").string(), small, options).ok());
  options.csv_formatters["name"] = [](double) { return std::string(); };
  small.coordinates.push_back(
      {"name",
       "x",
       data_type({{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 1}}}}),
       std::vector<std::uint8_t>(11),
       {}});
  EXPECT_FALSE(open_csv_output((dir_ / "s.csv").string(), small, options).ok());
  EXPECT_TRUE(files().empty());
}

// ------------------------------------------------------------------------------------------
// statistics

struct StatsCase {
  Json type;
  std::vector<std::uint8_t> values;
  std::vector<std::uint8_t> fill;
};

template <typename T>
std::vector<std::uint8_t> random_values(std::size_t n, unsigned seed, double low, double high) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  std::vector<T> values(n);
  for (T& v : values) v = static_cast<T>(uniform(rng));
  return bytes_of(values);
}

TEST_F(OutputTest, StatsMatchNumpy) {
  const std::size_t n = 37 * 23;
  std::vector<StatsCase> cases;
  {
    std::vector<float> values(n);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(280, 15);
    for (float& v : values) v = normal(rng);
    values[3] = values[100] = std::nanf("");
    values[5] = values[6] = values[700] = 1e20f;
    cases.push_back({"float32", bytes_of(values), one(1e20f)});
  }
  cases.push_back({"float64", random_values<double>(n, 2, -1e6, 1e6), {}});
  {
    std::vector<std::uint16_t> halves(n);
    for (std::size_t i = 0; i < n; ++i)
      halves[i] = static_cast<std::uint16_t>(0x3000 + i * 7 % 0x3000);
    halves[10] = 0x7e00;  // NaN
    cases.push_back({"float16", bytes_of(halves), {}});
  }
  {
    std::vector<std::uint8_t> values = random_values<std::int16_t>(n, 3, -30000, 30000);
    std::vector<std::int16_t> shorts(n);
    std::memcpy(shorts.data(), values.data(), values.size());
    shorts[0] = shorts[50] = -32767;
    cases.push_back({"int16", bytes_of(shorts), one(std::int16_t{-32767})});
  }
  {
    // Above 2^53: the extremes must stay exact.
    std::vector<std::uint64_t> big(n);
    for (std::size_t i = 0; i < n; ++i) big[i] = 18446744073709551000ull - i * 3;
    cases.push_back({"uint64", bytes_of(big), {}});
  }
  cases.push_back({"int8", random_values<std::int8_t>(n, 4, -128, 127), one(std::int8_t{0})});
  {
    std::vector<std::uint8_t> flags(n);
    for (std::size_t i = 0; i < n; ++i) flags[i] = i % 3 == 0;
    cases.push_back({"bool", flags, {}});
  }
  {
    std::vector<std::int64_t> times(n);
    for (std::size_t i = 0; i < n; ++i) times[i] = 1577836800 + static_cast<std::int64_t>(i) * 3600;
    times[7] = std::numeric_limits<std::int64_t>::min();  // NaT
    cases.push_back(
        {{{"name", "numpy.datetime64"}, {"configuration", {{"unit", "s"}, {"scale_factor", 1}}}},
         bytes_of(times),
         {}});
  }
  int index = 0;
  for (const StatsCase& c : cases) {
    SCOPED_TRACE(c.type.dump());
    OutputVariable variable = variable_of("v", {"a", "b"}, {37, 23}, c.type);
    variable.fill_value = c.fill;
    fs::path path = dir_ / fmt::format("s{}.npy", index++);
    auto npy = open_npy_output(path.string(), variable);
    auto stats_sink = StatsSink::create(variable);
    ASSERT_TRUE(npy.ok() && stats_sink.ok());
    write_shuffled(**npy, variable, c.values, {37, 23}, 1);
    ASSERT_TRUE((*npy)->finish().ok());
    write_from_threads(**stats_sink, variable, c.values, {5, 7}, 3);
    ASSERT_TRUE((*stats_sink)->finish().ok());
    Stats stats = (*stats_sink)->result();

    fs::path json = dir_ / "numpy_stats.json";
    std::string command = fmt::format("{} {} {} --stats {} {} > /dev/null 2>&1", FLOE_PYTHON,
                                      FLOE_INSPECT_OUTPUT_SCRIPT, json.string(), path.string(),
                                      c.fill.empty() ? "none" : hex(c.fill));
    ASSERT_EQ(std::system(command.c_str()), 0);
    std::ifstream in(json);
    Json expected = Json::parse(in, nullptr, false);
    ASSERT_FALSE(expected.is_discarded());
    EXPECT_EQ(stats.element_count, expected["count"].get<std::uint64_t>());
    EXPECT_EQ(stats.valid_count, expected["valid"].get<std::uint64_t>());
    EXPECT_EQ(stats.nan_count, expected["nan"].get<std::uint64_t>());
    EXPECT_EQ(stats.fill_count, expected["fill"].get<std::uint64_t>());
    Json json_stats = stats.to_json();
    EXPECT_EQ(json_stats["min"], expected["min"]);
    EXPECT_EQ(json_stats["max"], expected["max"]);
    double want = expected["mean"].get<double>();
    EXPECT_NEAR(stats.mean, want, std::fabs(want) * 1e-14)
        << fmt::format("{} vs {}", stats.mean, want);
    EXPECT_EQ(json_stats.contains("fill"), !c.fill.empty());
  }
}

TEST_F(OutputTest, StatsMeanIsCompensatedAndIndependentOfBlockOrder) {
  // 1e16 + 1000 ones - 1e16: a plain double sum loses every one.
  std::vector<double> values(1002, 1.0);
  values.front() = 1e16;
  values.back() = -1e16;
  OutputVariable variable = variable_of("v", {"x"}, {1002}, "float64");
  double means[3];
  for (int run = 0; run < 3; ++run) {
    auto sink = StatsSink::create(variable);
    ASSERT_TRUE(sink.ok());
    if (run == 0) {
      std::vector<std::uint64_t> start{0}, count{1002};
      std::vector<std::uint8_t> all = bytes_of(values);
      ASSERT_TRUE((*sink)->write_block(start, count, all).ok());
    } else {
      write_shuffled(**sink, variable, bytes_of(values), {7}, static_cast<unsigned>(run));
    }
    ASSERT_TRUE((*sink)->finish().ok());
    means[run] = (*sink)->result().mean;
  }
  EXPECT_DOUBLE_EQ(means[0], 1000.0 / 1002.0);
  EXPECT_DOUBLE_EQ(means[1], 1000.0 / 1002.0);
  EXPECT_EQ(std::memcmp(&means[1], &means[2], sizeof(double)),
            0);  // same blocks, other order: same bits
}

TEST_F(OutputTest, StatsEdgeCasesAndText) {
  OutputVariable variable = variable_of("t", {"x"}, {4}, "float32");
  auto sink = StatsSink::create(variable);
  ASSERT_TRUE(sink.ok());
  std::vector<float> values{std::nanf(""), -INFINITY, 2.5f, std::nanf("")};
  write_shuffled(**sink, variable, bytes_of(values), {1}, 5);
  ASSERT_TRUE((*sink)->finish().ok());
  Stats stats = (*sink)->result();
  EXPECT_EQ(stats.nan_count, 2u);
  EXPECT_EQ(std::get<double>(stats.min), -INFINITY);
  EXPECT_EQ(std::get<double>(stats.max), 2.5);
  Json json = stats.to_json();
  EXPECT_EQ(json["min"], "-Infinity");
  EXPECT_EQ(json["mean"], "-Infinity");
  EXPECT_FALSE(json.contains("fill"));
  EXPECT_EQ(stats.to_text(),
            "t (float32)\n  count  4 elements, 2 valid, 2 NaN\n  min    -inf\n  max    2.5\n  mean "
            "  -inf\n");

  auto all_nan = StatsSink::create(variable);
  std::vector<float> nans(4, std::nanf(""));
  write_shuffled(**all_nan, variable, bytes_of(nans), {4}, 1);
  Stats empty = (*all_nan)->result();
  EXPECT_EQ(empty.valid_count, 0u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(empty.min));
  EXPECT_EQ(empty.to_json()["min"], nullptr);
  EXPECT_EQ(empty.to_json()["mean"], nullptr);

  auto complex = StatsSink::create(variable_of("z", {"x"}, {2}, "complex64"));
  ASSERT_FALSE(complex.ok());
  EXPECT_EQ(complex.error().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(StatsSink::create(variable_of("s", {"x"}, {2}, "r8")).ok());
}

}  // namespace
}  // namespace floe::read
