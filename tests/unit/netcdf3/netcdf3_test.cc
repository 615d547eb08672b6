// Tests of the NetCDF-3 parser: ncgen / C-API CDF-1/2/5 files and the NCL sample data, every chunk
// reference decoded and compared with libnetcdf; bad headers, truncation, streaming numrecs.
#include "floe/formats/netcdf3/netcdf3.h"

#include <gtest/gtest.h>
#include <netcdf.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "floe/formats/netcdf3/header.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/local_store.h"
#include "floe/io/memory_store.h"

namespace floe::formats::netcdf3 {
namespace {

namespace fs = std::filesystem;
using virt::Json;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

Result<virt::VirtualDataset> virtualize_file(const fs::path& path, virt::ParseOptions options = {},
                                             io::BlockCacheStats* stats = nullptr) {
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  auto result = virtualize_netcdf3(cache, store, path.string(), "file://" + path.string(), options);
  if (stats != nullptr) *stats = cache.stats();
  return result;
}

Result<virt::VirtualDataset> virtualize_bytes(std::string bytes, virt::ParseOptions options = {}) {
  io::MemoryStore store;
  auto put = store.put("x.nc", Bytes::from_string(std::move(bytes)));
  if (!put.ok()) return std::move(put).error();
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  return virtualize_netcdf3(cache, store, "x.nc", "memory://bucket/x.nc", options);
}

const virt::VirtualArray* find_array(const virt::VirtualDataset& dataset, std::string_view name) {
  for (const virt::VirtualArray& array : dataset.root.arrays) {
    if (array.name == name) return &array;
  }
  return nullptr;
}

Json expected_data_type(nc_type type) {
  switch (type) {
    case NC_BYTE:
      return "int8";
    case NC_CHAR:
      return Json{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 1}}}};
    case NC_SHORT:
      return "int16";
    case NC_INT:
      return "int32";
    case NC_FLOAT:
      return "float32";
    case NC_DOUBLE:
      return "float64";
    case NC_UBYTE:
      return "uint8";
    case NC_USHORT:
      return "uint16";
    case NC_UINT:
      return "uint32";
    case NC_INT64:
      return "int64";
    case NC_UINT64:
      return "uint64";
    default:
      return nullptr;
  }
}

double json_double(const Json& value) {
  if (value.is_string()) {
    if (value == "NaN") return std::nan("");
    if (value == "Infinity") return INFINITY;
    if (value == "-Infinity") return -INFINITY;
    ADD_FAILURE() << "unexpected string " << value.dump();
    return 0;
  }
  return value.get<double>();
}

void expect_same_double(double expected, const Json& actual) {
  double got = json_double(actual);
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(got)) << actual.dump();
  } else {
    EXPECT_EQ(expected, got) << actual.dump();
  }
}

std::string strip_nuls(std::string text) {
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

void check_attributes(int ncid, int varid, const Json& attributes) {
  int count = 0;
  ASSERT_EQ(nc_inq_varnatts(ncid, varid, &count), NC_NOERR);
  ASSERT_TRUE(attributes.is_object());
  EXPECT_EQ(attributes.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    char name[NC_MAX_NAME + 1] = {};
    ASSERT_EQ(nc_inq_attname(ncid, varid, i, name), NC_NOERR);
    nc_type type = 0;
    size_t length = 0;
    ASSERT_EQ(nc_inq_att(ncid, varid, name, &type, &length), NC_NOERR);
    SCOPED_TRACE(std::string("attribute ") + name);
    ASSERT_TRUE(attributes.contains(name));
    const Json& value = attributes[name];
    if (type == NC_CHAR) {
      std::string text(length, '\0');
      if (length > 0) {
        ASSERT_EQ(nc_get_att_text(ncid, varid, name, text.data()), NC_NOERR);
      }
      text = strip_nuls(text);
      ASSERT_TRUE(value.is_string());
      if (valid_utf8(text)) {
        EXPECT_EQ(value.get<std::string>(), text);
      }
      continue;
    }
    if (length == 1) {
      EXPECT_FALSE(value.is_array());
    } else {
      ASSERT_TRUE(value.is_array());
      ASSERT_EQ(value.size(), length);
    }
    auto element = [&](size_t k) -> const Json& { return length == 1 ? value : value[k]; };
    if (type == NC_INT64) {
      std::vector<long long> expected(length);
      ASSERT_EQ(nc_get_att_longlong(ncid, varid, name, expected.data()), NC_NOERR);
      for (size_t k = 0; k < length; ++k) EXPECT_EQ(element(k).get<int64_t>(), expected[k]);
    } else if (type == NC_UINT64) {
      std::vector<unsigned long long> expected(length);
      ASSERT_EQ(nc_get_att_ulonglong(ncid, varid, name, expected.data()), NC_NOERR);
      for (size_t k = 0; k < length; ++k) EXPECT_EQ(element(k).get<uint64_t>(), expected[k]);
    } else {
      std::vector<double> expected(length);
      if (length > 0) {
        ASSERT_EQ(nc_get_att_double(ncid, varid, name, expected.data()), NC_NOERR);
      }
      for (size_t k = 0; k < length; ++k) expect_same_double(expected[k], element(k));
    }
  }
}

// The fill value libnetcdf uses (the _FillValue attribute or the type's default) against the Zarr
// fill_value.
void check_fill(int ncid, int varid, nc_type type, const Json& fill) {
  alignas(8) unsigned char buffer[8] = {};
  int no_fill = 0;
  ASSERT_EQ(nc_inq_var_fill(ncid, varid, &no_fill, buffer), NC_NOERR);
  auto as = [&](auto value) {
    std::memcpy(&value, buffer, sizeof(value));
    return value;
  };
  switch (type) {
    case NC_CHAR: {
      static constexpr char kAlphabet[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string expected = {kAlphabet[buffer[0] >> 2], kAlphabet[(buffer[0] & 3) << 4], '=', '='};
      EXPECT_EQ(fill, expected);
      break;
    }
    case NC_BYTE:
      EXPECT_EQ(fill.get<int64_t>(), as(int8_t{}));
      break;
    case NC_SHORT:
      EXPECT_EQ(fill.get<int64_t>(), as(int16_t{}));
      break;
    case NC_INT:
      EXPECT_EQ(fill.get<int64_t>(), as(int32_t{}));
      break;
    case NC_INT64:
      EXPECT_EQ(fill.get<int64_t>(), as(int64_t{}));
      break;
    case NC_UBYTE:
      EXPECT_EQ(fill.get<uint64_t>(), as(uint8_t{}));
      break;
    case NC_USHORT:
      EXPECT_EQ(fill.get<uint64_t>(), as(uint16_t{}));
      break;
    case NC_UINT:
      EXPECT_EQ(fill.get<uint64_t>(), as(uint32_t{}));
      break;
    case NC_UINT64:
      EXPECT_EQ(fill.get<uint64_t>(), as(uint64_t{}));
      break;
    case NC_FLOAT:
      expect_same_double(static_cast<double>(as(float{})), fill);
      break;
    case NC_DOUBLE:
      expect_same_double(as(double{}), fill);
      break;
    default:
      ADD_FAILURE() << "type " << type;
  }
}

// Rebuilds a variable's values from its references (chunks only along the first axis), in native
// byte order; every row must be covered exactly once and every reference must lie inside the file.
std::vector<unsigned char> assemble(const virt::VirtualArray& array, const std::string& file) {
  const size_t rank = array.shape.size();
  EXPECT_EQ(array.chunk_shape.size(), rank);
  uint64_t row_elements = 1;
  for (size_t axis = 1; axis < rank; ++axis) {
    EXPECT_EQ(array.chunk_shape[axis], array.shape[axis]);
    row_elements *= array.shape[axis];
  }
  const uint64_t rows = rank == 0 ? 1 : array.shape[0];
  const uint64_t chunk_rows = rank == 0 ? 1 : array.chunk_shape[0];
  EXPECT_GE(chunk_rows, 1u);
  const uint64_t size = array.element_size;
  const uint64_t row_bytes = row_elements * size;
  std::vector<unsigned char> values(rows * row_bytes);
  std::vector<int> covered(rows);
  for (size_t i = 0; i < array.refs.size(); ++i) {
    uint64_t first = array.refs.chunk(i) * chunk_rows;
    EXPECT_LT(first, rows);
    if (first >= rows) continue;
    uint64_t offset = array.refs.offset(i);
    uint64_t length = array.refs.length(i);
    EXPECT_EQ(length, chunk_rows * row_bytes) << "chunk " << array.refs.chunk(i);
    EXPECT_LE(offset + length, file.size()) << "chunk " << array.refs.chunk(i);
    uint64_t n = std::min(chunk_rows, rows - first);
    if (offset + n * row_bytes > file.size()) continue;
    for (uint64_t e = 0; e < n * row_elements; ++e) {
      for (uint64_t b = 0; b < size; ++b) {
        values[(first * row_elements + e) * size + b] =
            static_cast<unsigned char>(file[offset + e * size + (size - 1 - b)]);
      }
    }
    for (uint64_t r = first; r < first + n; ++r) ++covered[r];
  }
  for (uint64_t r = 0; r < rows; ++r) {
    if (row_bytes > 0) {
      EXPECT_EQ(covered[r], 1) << "row " << r;
    }
  }
  return values;
}

// Structure, attributes, fill values and every value of `dataset` against libnetcdf's reading of
// `path`.
void check_against_libnetcdf(const fs::path& path, const virt::VirtualDataset& dataset) {
  SCOPED_TRACE(path.string());
  std::string file = read_file(path);
  int ncid = 0;
  ASSERT_EQ(nc_open(path.c_str(), NC_NOWRITE, &ncid), NC_NOERR);
  int variables = 0;
  ASSERT_EQ(nc_inq_nvars(ncid, &variables), NC_NOERR);
  EXPECT_EQ(dataset.root.arrays.size(), static_cast<size_t>(variables));
  check_attributes(ncid, NC_GLOBAL, dataset.root.attributes);
  // The record dimension is the unlimited one (the default to join files along).
  int unlimited = -1;
  ASSERT_EQ(nc_inq_unlimdim(ncid, &unlimited), NC_NOERR);
  if (unlimited < 0) {
    EXPECT_TRUE(dataset.unlimited_dims.empty());
  } else {
    char name[NC_MAX_NAME + 1] = {};
    ASSERT_EQ(nc_inq_dimname(ncid, unlimited, name), NC_NOERR);
    EXPECT_EQ(dataset.unlimited_dims, std::vector<std::string>{name});
  }
  for (const virt::VirtualArray& array : dataset.root.arrays) {
    SCOPED_TRACE("variable " + array.name);
    int varid = 0;
    ASSERT_EQ(nc_inq_varid(ncid, array.name.c_str(), &varid), NC_NOERR);
    nc_type type = 0;
    int rank = 0;
    int dimids[NC_MAX_VAR_DIMS] = {};
    ASSERT_EQ(nc_inq_var(ncid, varid, nullptr, &type, &rank, dimids, nullptr), NC_NOERR);
    ASSERT_EQ(array.shape.size(), static_cast<size_t>(rank));
    ASSERT_EQ(array.dims.size(), static_cast<size_t>(rank));
    size_t count = 1;
    for (int axis = 0; axis < rank; ++axis) {
      char name[NC_MAX_NAME + 1] = {};
      size_t length = 0;
      ASSERT_EQ(nc_inq_dim(ncid, dimids[axis], name, &length), NC_NOERR);
      EXPECT_EQ(array.dims[axis], name);
      EXPECT_EQ(array.shape[axis], length);
      count *= length;
    }
    EXPECT_EQ(array.dimension_coordinate, rank == 1 && array.dims[0] == array.name);
    size_t size = 0;
    ASSERT_EQ(nc_inq_type(ncid, type, nullptr, &size), NC_NOERR);
    EXPECT_EQ(array.element_size, size);
    EXPECT_EQ(array.data_type, expected_data_type(type));
    Json codec = size == 1 ? Json{{"name", "bytes"}}
                           : Json{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}};
    EXPECT_EQ(array.codecs, Json::array({codec}));
    check_attributes(ncid, varid, array.attributes);
    check_fill(ncid, varid, type, array.fill_value);
    for (uint64_t extent : array.chunk_shape) EXPECT_GE(extent, 1u);
    if (count == 0) {
      EXPECT_TRUE(array.refs.empty());
      continue;
    }
    std::vector<unsigned char> expected(count * size);
    ASSERT_EQ(nc_get_var(ncid, varid, expected.data()), NC_NOERR);
    std::vector<unsigned char> actual = assemble(array, file);
    EXPECT_TRUE(actual == expected) << "values differ";
  }
  nc_close(ncid);
}

class Netcdf3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("floe-netcdf3-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `cdl` and runs `ncgen -k kind` on it.
  fs::path ncgen(const std::string& cdl, const std::string& kind, const std::string& name) {
    fs::path source = dir_ / (name + ".cdl");
    fs::path output = dir_ / (name + "." + kind + ".nc");
    write_file(source, cdl);
    std::string command =
        "ncgen -k " + kind + " -o '" + output.string() + "' '" + source.string() + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return output;
  }

  fs::path dir_;
};

std::string sequence(int n, double scale = 1) {
  std::string text;
  for (int i = 0; i < n; ++i) text += (i ? ", " : "") + std::to_string(i * scale);
  return text;
}

// Fixed and record variables of the classic types, with the byte/short/char record padding cases.
std::string mixed_cdl(bool with_records, const std::string& extra_variables = "",
                      const std::string& extra_data = "") {
  std::string cdl = R"(netcdf mixed {
dimensions:
  time = UNLIMITED ;
  x = 3 ;
  y = 5 ;
  nchar = 5 ;
variables:
  float x(x) ;
    x:units = "m" ;
    x:valid_range = 0.f, 10.f ;
  double grid(y, x) ;
    grid:_FillValue = -999. ;
    grid:nan_att = NaN ;
    grid:inf_att = Infinity, -Infinity ;
  char label(nchar) ;
  int scalar ;
    scalar:flags = 1b, 2b, 4b ;
    scalar:shorts = -3s ;
  double time(time) ;
    time:units = "hours since 2000-01-01" ;
  byte b(time) ;
    b:_FillValue = 7b ;
  short s(time, x) ;
  char cs(time, nchar) ;
    cs:_FillValue = "z" ;
  float f(time, y, x) ;
    f:_FillValue = 1.e20f ;
  short s1(time) ;
)" + extra_variables +
                    R"(
  :title = "mixed types" ;
  :version = 3 ;
  :doubles = 1., 2.5 ;
  :not_a_number = NaNf ;
data:
  x = 0, 1.5, 3 ;
  grid = )" + sequence(15, 0.5) +
                    R"( ;
  label = "abc" ;
  scalar = 42 ;
)";
  if (with_records) {
    cdl += "  time = 0, 1, 2 ;\n  b = 1, -2, 3 ;\n  s = " + sequence(9) + " ;\n";
    cdl += "  cs = \"hello\", \"wor\", \"ld!\" ;\n  f = " + sequence(45, 0.25) +
           " ;\n  s1 = 10, 20, 30 ;\n";
  }
  return cdl + extra_data + "}\n";
}

TEST(Netcdf3Magic, LooksLikeNetcdf3) {
  auto bytes = [](std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
  };
  EXPECT_TRUE(looks_like_netcdf3(bytes(std::string_view("CDF\x01", 4))));
  EXPECT_TRUE(looks_like_netcdf3(bytes(std::string_view("CDF\x02rest", 8))));
  EXPECT_TRUE(looks_like_netcdf3(bytes(std::string_view("CDF\x05", 4))));
  EXPECT_FALSE(looks_like_netcdf3(bytes(std::string_view("CDF\x03", 4))));
  EXPECT_FALSE(looks_like_netcdf3(bytes("\x89HDF\r\n")));
  EXPECT_FALSE(looks_like_netcdf3(bytes("CDF")));
}

TEST_F(Netcdf3Test, MixedTypesAllFormatsMatchLibnetcdf) {
  const std::string cdf5_variables = R"(
  ubyte ub(time) ;
    ub:att = 200UB ;
  ushort us(x) ;
  uint ui(time, x) ;
    ui:_FillValue = 7U ;
  uint64 u64(x) ;
    u64:big = 18000000000000000000ULL ;
)";
  const std::string cdf5_data = R"(
  ub = 1, 255, 3 ;
  us = 1, 65000, 3 ;
  ui = 1, 4000000000, 3, 4, 5, 6, 7, 8, 9 ;
  u64 = 1, 18000000000000000000, 3 ;
)";
  for (const std::string kind : {"nc3", "nc6", "cdf5"}) {
    SCOPED_TRACE(kind);
    fs::path path = kind == "cdf5"
                        ? ncgen(mixed_cdl(true, cdf5_variables, cdf5_data), kind, "mixed")
                        : ncgen(mixed_cdl(true), kind, "mixed");
    auto dataset = virtualize_file(path);
    ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
    check_against_libnetcdf(path, *dataset);
    EXPECT_EQ(dataset->source_url, "file://" + path.string());
    EXPECT_EQ(dataset->root.attributes["title"], "mixed types");
    EXPECT_EQ(dataset->root.attributes["not_a_number"], "NaN");
    const virt::VirtualArray* f = find_array(*dataset, "f");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->shape, (std::vector<uint64_t>{3, 5, 3}));
    EXPECT_EQ(f->chunk_shape, (std::vector<uint64_t>{1, 5, 3}));
    EXPECT_EQ(f->refs.size(), 3u);
    EXPECT_EQ(f->refs.path(0), "file://" + path.string());
    EXPECT_EQ(f->fill_value.get<double>(), static_cast<double>(1.e20f));
    EXPECT_EQ(f->attributes["_FillValue"].get<double>(), static_cast<double>(1.e20f));
    const virt::VirtualArray* b = find_array(*dataset, "b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->fill_value, 7);
    EXPECT_EQ(b->codecs, Json::array({Json{{"name", "bytes"}}}));
    // Records are interleaved: every record variable's stride is the padded record size.
    ASSERT_EQ(b->refs.size(), 3u);
    const virt::VirtualArray* s1 = find_array(*dataset, "s1");
    ASSERT_NE(s1, nullptr);
    EXPECT_EQ(b->refs.offset(1) - b->refs.offset(0), s1->refs.offset(1) - s1->refs.offset(0));
    EXPECT_EQ(b->refs.length(0), 1u);
    const virt::VirtualArray* cs = find_array(*dataset, "cs");
    ASSERT_NE(cs, nullptr);
    EXPECT_EQ(cs->fill_value, "eg==");  // base64 of "z"
    EXPECT_EQ(cs->attributes["_FillValue"], "z");
    const virt::VirtualArray* grid = find_array(*dataset, "grid");
    ASSERT_NE(grid, nullptr);
    EXPECT_EQ(grid->attributes["nan_att"], "NaN");
    EXPECT_EQ(grid->attributes["inf_att"], Json::array({"Infinity", "-Infinity"}));
    EXPECT_EQ(grid->fill_value, -999.0);
    const virt::VirtualArray* x = find_array(*dataset, "x");
    ASSERT_NE(x, nullptr);
    EXPECT_TRUE(x->dimension_coordinate);
    EXPECT_EQ(x->fill_value.get<double>(), static_cast<double>(9.9692099683868690e+36f));
    const virt::VirtualArray* scalar = find_array(*dataset, "scalar");
    ASSERT_NE(scalar, nullptr);
    EXPECT_TRUE(scalar->shape.empty());
    EXPECT_EQ(scalar->refs.size(), 1u);
    EXPECT_EQ(scalar->fill_value, -2147483647);
    EXPECT_EQ(scalar->attributes["shorts"], -3);
    EXPECT_EQ(scalar->attributes["flags"], Json::array({1, 2, 4}));
    if (kind == "cdf5") {
      const virt::VirtualArray* u64 = find_array(*dataset, "u64");
      ASSERT_NE(u64, nullptr);
      EXPECT_EQ(u64->data_type, "uint64");
      EXPECT_EQ(u64->fill_value.get<uint64_t>(), 18446744073709551614ull);
      EXPECT_EQ(u64->attributes["big"].get<uint64_t>(), 18000000000000000000ull);
    }
  }
}

// ncgen 4.9.0 writes CDL int64 as int in CDF-5 files, so the 64-bit signed type comes from the C
// API.
TEST_F(Netcdf3Test, Cdf5Int64FromTheCApi) {
  fs::path path = dir_ / "int64.nc";
  int ncid = 0;
  ASSERT_EQ(nc_create(path.c_str(), NC_CLOBBER | NC_64BIT_DATA, &ncid), NC_NOERR);
  int time = 0;
  int x = 0;
  ASSERT_EQ(nc_def_dim(ncid, "time", NC_UNLIMITED, &time), NC_NOERR);
  ASSERT_EQ(nc_def_dim(ncid, "x", 4, &x), NC_NOERR);
  int fixed = 0;
  int record = 0;
  int other = 0;
  ASSERT_EQ(nc_def_var(ncid, "fixed", NC_INT64, 1, &x, &fixed), NC_NOERR);
  int dims[2] = {time, x};
  ASSERT_EQ(nc_def_var(ncid, "record", NC_INT64, 2, dims, &record), NC_NOERR);
  ASSERT_EQ(nc_def_var(ncid, "other", NC_UBYTE, 1, &time, &other), NC_NOERR);
  long long attribute[2] = {-9000000000000LL, 5};
  ASSERT_EQ(nc_put_att_longlong(ncid, fixed, "big", NC_INT64, 2, attribute), NC_NOERR);
  ASSERT_EQ(nc_enddef(ncid), NC_NOERR);
  long long values[4] = {1, -5000000000LL, INT64_MIN, INT64_MAX};
  ASSERT_EQ(nc_put_var_longlong(ncid, fixed, values), NC_NOERR);
  for (size_t r = 0; r < 3; ++r) {
    size_t start[2] = {r, 0};
    size_t count[2] = {1, 4};
    values[0] = static_cast<long long>(r);
    ASSERT_EQ(nc_put_vara_longlong(ncid, record, start, count, values), NC_NOERR);
    unsigned char u = static_cast<unsigned char>(250 + r);
    ASSERT_EQ(nc_put_var1_uchar(ncid, other, start, &u), NC_NOERR);
  }
  ASSERT_EQ(nc_close(ncid), NC_NOERR);
  ASSERT_EQ(read_file(path).substr(0, 4), std::string("CDF\x05", 4));
  auto dataset = virtualize_file(path);
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  check_against_libnetcdf(path, *dataset);
  EXPECT_EQ(find_array(*dataset, "fixed")->data_type, "int64");
  EXPECT_EQ(find_array(*dataset, "fixed")->fill_value.get<int64_t>(), -9223372036854775806LL);
}

TEST_F(Netcdf3Test, ZeroRecords) {
  for (const std::string kind : {"nc3", "cdf5"}) {
    fs::path path = ncgen(mixed_cdl(false), kind, "empty");
    auto dataset = virtualize_file(path);
    ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
    check_against_libnetcdf(path, *dataset);
    const virt::VirtualArray* f = find_array(*dataset, "f");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->shape, (std::vector<uint64_t>{0, 5, 3}));
    EXPECT_EQ(f->chunk_shape, (std::vector<uint64_t>{1, 5, 3}));
    EXPECT_TRUE(f->refs.empty());
  }
}

TEST_F(Netcdf3Test, SingleRecordVariableIsPacked) {
  auto cdl = [](int records) {
    return "netcdf one {\ndimensions:\n  time = UNLIMITED ;\n  x = 3 ;\nvariables:\n  short "
           "s(time, x) ;\n"
           "data:\n  s = " +
           sequence(3 * records) + " ;\n}\n";
  };
  for (const std::string kind : {"nc3", "nc6", "cdf5"}) {
    SCOPED_TRACE(kind);
    fs::path five = ncgen(cdl(5), kind, "five");
    // Default options: one chunk over all records (6 bytes each, not the padded 8).
    auto whole = virtualize_file(five);
    ASSERT_TRUE(whole.ok()) << whole.error().to_string();
    check_against_libnetcdf(five, *whole);
    const virt::VirtualArray& s = whole->root.arrays.at(0);
    EXPECT_EQ(s.chunk_shape, (std::vector<uint64_t>{5, 3}));
    ASSERT_EQ(s.refs.size(), 1u);
    EXPECT_EQ(s.refs.length(0), 30u);
    EXPECT_EQ(s.refs.offset(0) + 30, fs::file_size(five));

    // 12-byte chunks = 2 records; 5 records do not divide and a whole last chunk would pass the end
    // of the file, so the chunk becomes the largest divisor (1 record).
    virt::ParseOptions small;
    small.max_chunk_bytes = 12;
    auto split = virtualize_file(five, small);
    ASSERT_TRUE(split.ok()) << split.error().to_string();
    check_against_libnetcdf(five, *split);
    const virt::VirtualArray& s5 = split->root.arrays.at(0);
    EXPECT_EQ(s5.chunk_shape, (std::vector<uint64_t>{1, 3}));
    ASSERT_EQ(s5.refs.size(), 5u);
    EXPECT_EQ(s5.refs.offset(1) - s5.refs.offset(0), 6u);

    fs::path six = ncgen(cdl(6), kind, "six");
    auto even = virtualize_file(six, small);
    ASSERT_TRUE(even.ok()) << even.error().to_string();
    check_against_libnetcdf(six, *even);
    const virt::VirtualArray& s6 = even->root.arrays.at(0);
    EXPECT_EQ(s6.chunk_shape, (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(s6.refs.size(), 3u);
  }
}

TEST_F(Netcdf3Test, LargeVariableSplitByMaxChunkBytes) {
  auto cdl = [](int rows, bool pad_after) {
    std::string text = "netcdf split {\ndimensions:\n  y = " + std::to_string(rows) +
                       " ;\n  x = 50 ;\n  z = 1000 ;\nvariables:\n  float big(y, x) ;\n";
    if (pad_after) text += "  double after(z) ;\n";
    text += "data:\n  big = " + sequence(rows * 50, 0.5) + " ;\n";
    if (pad_after) text += "  after = " + sequence(1000) + " ;\n";
    return text + "}\n";
  };
  virt::ParseOptions options;
  options.max_chunk_bytes = 4000;  // 20 rows of 200 bytes
  struct Case {
    int rows;
    bool pad_after;
    uint64_t chunk_rows;
    size_t refs;
  };
  // 100 rows divide; 101 rows with data after: whole last chunk inside the file; 101 rows at the
  // end: divisor 1.
  for (Case c : {Case{100, false, 20, 5}, Case{101, true, 20, 6}, Case{101, false, 1, 101}}) {
    SCOPED_TRACE(c.rows);
    fs::path path = ncgen(cdl(c.rows, c.pad_after), "nc6",
                          "split" + std::to_string(c.rows) + (c.pad_after ? "p" : ""));
    auto dataset = virtualize_file(path, options);
    ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
    check_against_libnetcdf(path, *dataset);
    const virt::VirtualArray* big = find_array(*dataset, "big");
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(big->chunk_shape, (std::vector<uint64_t>{c.chunk_rows, 50}));
    EXPECT_EQ(big->refs.size(), c.refs);
  }
}

TEST_F(Netcdf3Test, StreamingNumrecsFromFileSize) {
  for (const std::string kind : {"nc3", "cdf5"}) {
    SCOPED_TRACE(kind);
    fs::path path = ncgen(mixed_cdl(true), kind, "stream");
    auto stored = virtualize_file(path);
    ASSERT_TRUE(stored.ok()) << stored.error().to_string();
    std::string bytes = read_file(path);
    size_t width = kind == "cdf5" ? 8 : 4;
    for (size_t i = 0; i < width; ++i) bytes[4 + i] = '\xff';
    auto streamed = virtualize_bytes(bytes);
    ASSERT_TRUE(streamed.ok()) << streamed.error().to_string();
    ASSERT_EQ(streamed->root.arrays.size(), stored->root.arrays.size());
    for (size_t v = 0; v < stored->root.arrays.size(); ++v) {
      const virt::VirtualArray& a = stored->root.arrays[v];
      const virt::VirtualArray& b = streamed->root.arrays[v];
      EXPECT_EQ(a.shape, b.shape) << a.name;
      ASSERT_EQ(a.refs.size(), b.refs.size()) << a.name;
      for (size_t i = 0; i < a.refs.size(); ++i) {
        EXPECT_EQ(a.refs.offset(i), b.refs.offset(i));
        EXPECT_EQ(a.refs.length(i), b.refs.length(i));
      }
    }
    EXPECT_EQ(find_array(*streamed, "f")->shape[0], 3u);
  }
}

TEST_F(Netcdf3Test, LongHeaderReadInFewRounds) {
  std::string long_text(700 * 1024, 'a');
  std::string cdl =
      "netcdf long {\ndimensions:\n  x = 2 ;\nvariables:\n  int v(x) ;\n  :history = \"" +
      long_text + "\" ;\ndata:\n  v = 1, 2 ;\n}\n";
  fs::path path = ncgen(cdl, "nc3", "long");
  io::BlockCacheStats stats;
  auto dataset = virtualize_file(path, {}, &stats);
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  check_against_libnetcdf(path, *dataset);
  EXPECT_EQ(dataset->root.attributes["history"].get<std::string>().size(), long_text.size());
  EXPECT_LE(stats.fetch_rounds, 3u);
}

// Every prefix of a file is an error or (once all data is present) references inside the prefix;
// never a crash.
TEST_F(Netcdf3Test, TruncatedFilesNeverReferencePastTheEnd) {
  for (const std::string kind : {"nc3", "nc6", "cdf5"}) {
    SCOPED_TRACE(kind);
    fs::path path = ncgen(mixed_cdl(true), kind, "truncate");
    std::string bytes = read_file(path);
    auto full = virtualize_bytes(bytes);
    ASSERT_TRUE(full.ok()) << full.error().to_string();
    uint64_t data_end = 0;
    for (const virt::VirtualArray& array : full->root.arrays) {
      for (size_t i = 0; i < array.refs.size(); ++i) {
        data_end = std::max(data_end, array.refs.offset(i) + array.refs.length(i));
      }
    }
    for (size_t length = 0; length < bytes.size(); ++length) {
      auto result = virtualize_bytes(bytes.substr(0, length));
      if (length < data_end) {
        ASSERT_FALSE(result.ok()) << "prefix " << length;
        EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt) << result.error().to_string();
        EXPECT_NE(result.error().to_string().find("memory://bucket/x.nc"), std::string::npos);
        continue;
      }
      ASSERT_TRUE(result.ok()) << result.error().to_string();
      for (const virt::VirtualArray& array : result->root.arrays) {
        for (size_t i = 0; i < array.refs.size(); ++i) {
          EXPECT_LE(array.refs.offset(i) + array.refs.length(i), length);
        }
      }
    }
  }
}

// A hand-built file: one dimension "x" = 2, one short variable "v"(x) right after the header.
struct Minimal {
  std::string bytes;
  size_t dim_count = 0;  // offsets of fields
  size_t dim_name_length = 0;
  size_t dim_length = 0;
  size_t var_count = 0;
  size_t dimid = 0;
  size_t type = 0;
  size_t begin = 0;
  size_t width = 4;
  size_t begin_width = 4;
};

void put(std::string& out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i)
    out.push_back(static_cast<char>(value >> (8 * (width - 1 - i))));
}

void patch(std::string& out, size_t at, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i)
    out[at + i] = static_cast<char>(value >> (8 * (width - 1 - i)));
}

Minimal minimal(int version) {
  Minimal m;
  m.width = version == 5 ? 8 : 4;
  m.begin_width = version == 1 ? 4 : 8;
  std::string& b = m.bytes;
  b = std::string("CDF") + static_cast<char>(version);
  put(b, 0, m.width);  // numrecs
  put(b, 0x0A, 4);     // NC_DIMENSION
  m.dim_count = b.size();
  put(b, 1, m.width);
  m.dim_name_length = b.size();
  put(b, 1, m.width);
  b += std::string("x\0\0\0", 4);
  m.dim_length = b.size();
  put(b, 2, m.width);
  put(b, 0, 4);  // global attributes ABSENT
  put(b, 0, m.width);
  put(b, 0x0B, 4);  // NC_VARIABLE
  m.var_count = b.size();
  put(b, 1, m.width);
  put(b, 1, m.width);
  b += std::string("v\0\0\0", 4);
  put(b, 1, m.width);  // rank
  m.dimid = b.size();
  put(b, 0, m.width);
  put(b, 0, 4);  // variable attributes ABSENT
  put(b, 0, m.width);
  m.type = b.size();
  put(b, 3, 4);        // short
  put(b, 4, m.width);  // vsize
  m.begin = b.size();
  put(b, b.size() + m.begin_width, m.begin_width);
  b += std::string("\x00\x01\x00\x02", 4);
  return m;
}

void expect_corrupt(const Result<virt::VirtualDataset>& result, const std::string& structure,
                    size_t offset) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
  std::string message = result.error().to_string();
  EXPECT_NE(message.find("memory://bucket/x.nc"), std::string::npos) << message;
  EXPECT_NE(message.find(structure), std::string::npos) << message;
  EXPECT_NE(message.find("at offset " + std::to_string(offset)), std::string::npos) << message;
}

TEST(Netcdf3BadInput, MalformedHeadersAreCorruptErrors) {
  for (int version : {1, 2, 5}) {
    SCOPED_TRACE(version);
    Minimal m = minimal(version);
    auto valid = virtualize_bytes(m.bytes);
    ASSERT_TRUE(valid.ok()) << valid.error().to_string();
    ASSERT_EQ(valid->root.arrays.size(), 1u);
    EXPECT_EQ(valid->root.arrays[0].refs.offset(0), m.bytes.size() - 4);
    EXPECT_EQ(valid->root.arrays[0].refs.length(0), 4u);

    std::string bad = m.bytes;
    bad[3] = 3;
    expect_corrupt(virtualize_bytes(bad), "magic", 0);

    bad = m.bytes;
    patch(bad, m.dim_count, 0x7FFFFFFF, m.width);
    expect_corrupt(virtualize_bytes(bad), "dimension list", m.dim_count);

    bad = m.bytes;
    patch(bad, m.dim_name_length, 100000, m.width);
    expect_corrupt(virtualize_bytes(bad), "dimension 0 name", m.dim_name_length);

    bad = m.bytes;
    patch(bad, m.type, 12, 4);
    expect_corrupt(virtualize_bytes(bad), "variable 'v' type", m.type);

    bad = m.bytes;
    patch(bad, m.type, 0, 4);
    expect_corrupt(virtualize_bytes(bad), "variable 'v' type", m.type);

    bad = m.bytes;
    patch(bad, m.dimid, 1, m.width);
    expect_corrupt(virtualize_bytes(bad), "variable 'v' dimension id", m.dimid);

    bad = m.bytes;
    patch(bad, m.begin, 1000, m.begin_width);
    expect_corrupt(virtualize_bytes(bad), "variable 'v' begin", m.begin);

    bad = m.bytes;
    patch(bad, m.begin, 8, m.begin_width);  // inside the header
    expect_corrupt(virtualize_bytes(bad), "variable 'v' begin", m.begin);

    bad = m.bytes;
    patch(bad, m.dim_length, version == 5 ? 0x4000000000000000ull : 0xFFFFFFFFull, m.width);
    expect_corrupt(virtualize_bytes(bad), "variable 'v'", m.begin);

    if (version == 5) {
      bad = m.bytes;
      patch(bad, m.dim_length, 0x8000000000000000ull, m.width);
      expect_corrupt(virtualize_bytes(bad), "dimension 'x' length", m.dim_length);
    }

    // The data is two bytes short.
    expect_corrupt(virtualize_bytes(m.bytes.substr(0, m.bytes.size() - 2)), "variable 'v' begin",
                   m.begin);
    // The header stops inside the variable (the count check sees it first) or inside its type.
    expect_corrupt(virtualize_bytes(m.bytes.substr(0, m.type + 2)), "variable list", m.var_count);
    bad = m.bytes.substr(0, m.type + 2);
    patch(bad, m.var_count - 4, 0, 4);  // no tag: ABSENT with a count is corrupt too
    expect_corrupt(virtualize_bytes(bad), "variable list", m.var_count);
    // A non-UTF-8 name.
    bad = m.bytes;
    bad[m.dim_name_length + m.width] = '\xff';
    expect_corrupt(virtualize_bytes(bad), "dimension 0 name", m.dim_name_length);
  }
  auto empty = virtualize_bytes("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), ErrorCode::kCorrupt);
}

// Every NetCDF-3 file under `root`, each checked against libnetcdf; returns how many were checked.
int check_tree(const fs::path& root, virt::ParseOptions options) {
  int checked = 0;
  std::error_code error;
  if (!fs::is_directory(root, error)) return 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& path : files) {
    std::string magic(4, '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(magic.data(), 4);
    if (!in || !looks_like_netcdf3(std::as_bytes(std::span(magic.data(), 4)))) continue;
    auto dataset = virtualize_file(path, options);
    EXPECT_TRUE(dataset.ok()) << dataset.error().to_string();
    if (!dataset.ok()) continue;
    check_against_libnetcdf(path, *dataset);
    ++checked;
  }
  return checked;
}

TEST(Netcdf3Samples, NclSampleDataMatchesLibnetcdf) {
  virt::ParseOptions options;
  options.max_chunk_bytes = 1 << 20;
  int checked = check_tree("/usr/share/ncarg/data", options);
  if (checked == 0) GTEST_SKIP() << "no NetCDF-3 files under /usr/share/ncarg/data (libncarg-data)";
  std::printf("checked %d NetCDF-3 files from libncarg-data\n", checked);
}

TEST(Netcdf3Samples, SharedTestdataMatchesLibnetcdf) {
  const char* env = std::getenv("FLOE_TESTDATA");
  fs::path root = fs::path(env != nullptr ? env : FLOE_TESTDATA_DEFAULT) / "netcdf";
  int checked = check_tree(root, {});
  if (checked == 0) GTEST_SKIP() << "no NetCDF-3 files under " << root;
}

}  // namespace
}  // namespace floe::formats::netcdf3
