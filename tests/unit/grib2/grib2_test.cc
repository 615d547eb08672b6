// End-to-end tests of GRIB virtualization on testdata files: with the real GFS-wave inventory,
// scanned without it, with an ECMWF-style .index, and with a stale inventory. Every referenced
// chunk is decoded through the codec pipeline and compared point by point with ecCodes' values at
// the same latitude/longitude.
#include "floe/formats/grib2/grib2.h"

#include <eccodes.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "eccodes_oracle.h"
#include "floe/codecs/codec.h"
#include "floe/codecs/pipeline.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/local_store.h"
#include "floe/zarr/data_type.h"
#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::find_array;
using test_support::find_group;
using test_support::read_file;
using test_support::stored_values;
using test_support::testdata;

namespace fs = std::filesystem;
using nlohmann::json;
using Handle = std::unique_ptr<codes_handle, decltype(&codes_handle_delete)>;

// ecCodes' view of one message: values (NaN where missing) and positions in grid order.
struct EccodesField {
  std::vector<double> values;
  std::vector<double> latitudes;
  std::vector<double> longitudes;
  bool i_negative = false;
  bool j_positive = false;
};
EccodesField eccodes_field(const std::string& message) {
  EccodesField field;
  Handle h(codes_handle_new_from_message(nullptr, message.data(), message.size()),
           &codes_handle_delete);
  if (!h) return field;
  size_t count = 0;
  codes_get_size(h.get(), "values", &count);
  field.values.resize(count);
  field.latitudes.resize(count);
  field.longitudes.resize(count);
  codes_get_double_array(h.get(), "values", field.values.data(), &count);
  codes_get_double_array(h.get(), "latitudes", field.latitudes.data(), &count);
  codes_get_double_array(h.get(), "longitudes", field.longitudes.data(), &count);
  long scanning = 0;
  codes_get_long(h.get(), "scanningMode", &scanning);
  field.i_negative = (scanning & 0x80) != 0;
  field.j_positive = (scanning & 0x40) != 0;
  long bitmap = 0;
  codes_get_long(h.get(), "bitmapPresent", &bitmap);
  double missing = 9999;
  codes_get_double(h.get(), "missingValue", &missing);
  if (bitmap != 0) {
    for (double& value : field.values) {
      if (value == missing) value = std::nan("");
    }
  }
  return field;
}

// Decodes every chunk of `array` from `file` with the array's codecs and checks each value against
// ecCodes' value of the same grid point, and (every 97th point) that the dataset's
// latitude/longitude of the cell are ecCodes'.
size_t expect_chunks_decode_like_eccodes(const virt::VirtualDataset& dataset,
                                         const virt::VirtualArray& array,
                                         const std::string& file_bytes) {
  codecs::CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  const size_t rank = array.shape.size();
  const uint64_t nj = array.shape[rank - 2];
  const uint64_t ni = array.shape[rank - 1];
  codecs::ChunkLayout layout;
  layout.data_type = *zarr::DataType::from_json(array.data_type);
  layout.shape = array.chunk_shape;
  float nan = std::nanf("");
  layout.fill_value.resize(4);
  std::memcpy(layout.fill_value.data(), &nan, 4);
  auto pipeline = codecs::CodecPipeline::create(registry, array.codecs, layout);
  EXPECT_TRUE(pipeline.ok()) << (pipeline.ok() ? "" : pipeline.error().to_string());
  if (!pipeline.ok()) return 0;
  const virt::VirtualArray* latitude_array = find_array(dataset.root, "latitude");
  const virt::VirtualArray* longitude_array = find_array(dataset.root, "longitude");
  const std::vector<double> latitudes = stored_values<double>(*latitude_array);
  const std::vector<double> longitudes = stored_values<double>(*longitude_array);
  const bool two_dimensional = latitude_array->shape.size() == 2;
  size_t checked = 0;
  for (size_t i = 0; i < array.refs.size(); ++i) {
    const std::string message = file_bytes.substr(array.refs.offset(i), array.refs.length(i));
    std::vector<float> decoded(nj * ni);
    Status status = pipeline->decode(
        std::span(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
        std::span(reinterpret_cast<uint8_t*>(decoded.data()), decoded.size() * 4));
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    EccodesField expected = eccodes_field(message);
    EXPECT_EQ(expected.values.size(), decoded.size());
    if (expected.values.size() != decoded.size()) continue;
    // ecCodes' point k is grid point (i, j) (row-major, as stored for these scanning modes); it
    // lands in the dataset's cell (row, column) of the north-up layout, whose latitude/longitude
    // must be ecCodes' too.
    size_t mismatches = 0;
    for (size_t k = 0; k < expected.values.size(); ++k) {
      const uint64_t j = k / ni;
      const uint64_t i_index = k % ni;
      const uint64_t row = expected.j_positive ? nj - 1 - j : j;
      const uint64_t column = expected.i_negative ? ni - 1 - i_index : i_index;
      const double want = expected.values[k];
      const float got = decoded[row * ni + column];
      if (std::isnan(want) != std::isnan(got) ||
          (!std::isnan(want) && std::abs(want - got) > 1e-4 * std::max(1.0, std::abs(want)))) {
        ++mismatches;
      }
      if (k % 97 == 0) {
        const double latitude = two_dimensional ? latitudes[row * ni + column] : latitudes[row];
        const double longitude =
            two_dimensional ? longitudes[row * ni + column] : longitudes[column];
        double longitude_error = std::fmod(std::abs(longitude - expected.longitudes[k]), 360.0);
        longitude_error = std::min(longitude_error, 360.0 - longitude_error);
        if (std::abs(latitude - expected.latitudes[k]) > 1e-3 || longitude_error > 1e-3)
          ++mismatches;
      }
      ++checked;
    }
    EXPECT_EQ(mismatches, 0u) << array.name << " chunk " << array.refs.chunk(i);
  }
  return checked;
}

struct Virtualized {
  io::LocalStore store{""};
  io::FetchScheduler scheduler;
  io::BlockCache cache{scheduler};
};

TEST(GribVirtualize, GfsWaveWithItsInventory) {
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  Virtualized v;
  GribFile file{&v.store, grib.string(), "file://" + grib.string(),
                read_file(grib.string() + ".idx"), grib.string() + ".idx"};
  auto dataset =
      virtualize_grib(v.cache, std::span(&file, 1), GribOptions{.layout = CubeLayout::kGfs});
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  EXPECT_TRUE(dataset->warnings.empty());
  EXPECT_EQ(stored_values<int64_t>(*find_array(dataset->root, "init_time")),
            std::vector<int64_t>{*parse_compact_date("2023082318")});
  EXPECT_EQ(stored_values<int64_t>(*find_array(dataset->root, "step")), std::vector<int64_t>{3600});
  const auto* surface = find_group(*dataset, "surface");
  ASSERT_NE(surface, nullptr);
  std::set<std::string> names;
  for (const auto& array : surface->arrays) names.insert(array.name);
  EXPECT_EQ(names, (std::set<std::string>{"DIRPW", "HTSGW", "PERPW", "UGRD", "VGRD", "WDIR", "WIND",
                                          "WVDIR", "WVHGT", "WVPER"}));
  const auto* sequence = find_group(*dataset, "in_sequence");
  ASSERT_NE(sequence, nullptr);
  EXPECT_EQ(stored_values<double>(*find_array(*sequence, "level")), (std::vector<double>{1, 2, 3}));
  const auto* swell = find_array(*sequence, "SWELL");
  ASSERT_NE(swell, nullptr);
  EXPECT_EQ(swell->dims,
            (std::vector<std::string>{"init_time", "step", "level", "latitude", "longitude"}));
  EXPECT_EQ(swell->refs.size(), 3u);
  // JPEG2000 (5.40), one field, scanning 0: gribberish's codec decodes it as floe.grib does.
  EXPECT_EQ(swell->codecs[0]["name"], "gribberish");
  const std::string bytes = read_file(grib);
  EXPECT_EQ(expect_chunks_decode_like_eccodes(*dataset, *swell, bytes), 3u * 331 * 301);
  EXPECT_GT(expect_chunks_decode_like_eccodes(*dataset, *find_array(*surface, "HTSGW"), bytes), 0u);
  // Headers only: a few 16 KiB blocks per message plus the first read, far below the 690 KB file.
  EXPECT_EQ(v.cache.stats().heads, 1u);  // the size for the last message's length
}

TEST(GribVirtualize, ScannedFileGetsTheSameArrays) {
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  Virtualized with_inventory;
  GribFile indexed{&with_inventory.store, grib.string(), "file://" + grib.string(),
                   read_file(grib.string() + ".idx"), ""};
  auto from_inventory = virtualize_grib(with_inventory.cache, std::span(&indexed, 1));
  Virtualized scanned;
  GribFile plain{&scanned.store, grib.string(), "file://" + grib.string(), std::nullopt, ""};
  auto from_scan = virtualize_grib(scanned.cache, std::span(&plain, 1));
  ASSERT_TRUE(from_inventory.ok());
  ASSERT_TRUE(from_scan.ok()) << from_scan.error().to_string();
  ASSERT_EQ(from_scan->root.groups.size(), from_inventory->root.groups.size());
  for (size_t g = 0; g < from_scan->root.groups.size(); ++g) {
    const auto& a = from_scan->root.groups[g];
    const auto& b = from_inventory->root.groups[g];
    EXPECT_EQ(a.name, b.name);
    ASSERT_EQ(a.arrays.size(), b.arrays.size());
    for (size_t k = 0; k < a.arrays.size(); ++k) {
      EXPECT_EQ(a.arrays[k].name, b.arrays[k].name);
      EXPECT_EQ(a.arrays[k].shape, b.arrays[k].shape);
      ASSERT_EQ(a.arrays[k].refs.size(), b.arrays[k].refs.size());
      for (size_t r = 0; r < a.arrays[k].refs.size(); ++r) {
        EXPECT_EQ(a.arrays[k].refs.offset(r), b.arrays[k].refs.offset(r));
        EXPECT_EQ(a.arrays[k].refs.length(r), b.arrays[k].refs.length(r));
      }
    }
  }
}

TEST(GribVirtualize, LambertAndCcsdsFilesDecodeInPlace) {
  Virtualized v;
  std::vector<GribFile> files;
  for (const char* name : {"gribberish_hrrr.t06z.wrfsfcf01-TMP.grib2"}) {
    fs::path path = testdata() / name;
    files.push_back({&v.store, path.string(), "file://" + path.string(), std::nullopt, ""});
  }
  auto dataset = virtualize_grib(v.cache, files, GribOptions{.layout = CubeLayout::kHrrr});
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  const auto* latitude = find_array(dataset->root, "latitude");
  ASSERT_NE(latitude, nullptr);
  EXPECT_EQ(latitude->dims, (std::vector<std::string>{"y", "x"}));
  const auto* group = find_group(*dataset, "surface");
  ASSERT_NE(group, nullptr);
  const auto* tmp = find_array(*group, "TMP");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->dims, (std::vector<std::string>{"init_time", "step", "y", "x"}));
  // Scanning 64 (+j): gribberish's north_up gives floe.grib's layout.
  EXPECT_EQ(tmp->codecs[0]["name"], "gribberish");
  EXPECT_EQ(tmp->codecs[0]["configuration"]["north_up"], true);
  EXPECT_EQ(expect_chunks_decode_like_eccodes(*dataset, *tmp, read_file(files[0].key)),
            1799u * 1059);

  // ECMWF open data (CCSDS) with an ECMWF-style .index naming the fields by their short names.
  fs::path ecmwf = testdata() / "gribberish_ecmwf-ifs-oper-surface.grib2";
  std::string index;
  {
    FILE* input = std::fopen(ecmwf.c_str(), "rb");
    int error = 0;
    while (codes_handle* raw = codes_handle_new_from_file(nullptr, input, PRODUCT_GRIB, &error)) {
      Handle h(raw, &codes_handle_delete);
      char short_name[64] = {};
      size_t length = sizeof(short_name);
      codes_get_string(h.get(), "shortName", short_name, &length);
      long offset = 0, total = 0, date = 0, time = 0, step = 0;
      codes_get_long(h.get(), "offset", &offset);
      codes_get_long(h.get(), "totalLength", &total);
      codes_get_long(h.get(), "dataDate", &date);
      codes_get_long(h.get(), "dataTime", &time);
      codes_get_long(h.get(), "endStep", &step);
      index += json{{"domain", "g"},
                    {"date", std::to_string(date)},
                    {"time", fmt::format("{:04d}", time)},
                    {"type", "fc"},
                    {"stream", "oper"},
                    {"step", std::to_string(step)},
                    {"levtype", "sfc"},
                    {"param", short_name},
                    {"_offset", offset},
                    {"_length", total}}
                   .dump() +
               "\n";
    }
    std::fclose(input);
  }
  Virtualized e;
  GribFile indexed{&e.store, ecmwf.string(), "file://" + ecmwf.string(), index, "oper.index"};
  auto from_index = virtualize_grib(e.cache, std::span(&indexed, 1));
  ASSERT_TRUE(from_index.ok()) << from_index.error().to_string();
  const auto* sfc = find_group(*from_index, "sfc");
  ASSERT_NE(sfc, nullptr);
  EXPECT_EQ(sfc->arrays.size(), 5u);
  EXPECT_EQ(stored_values<double>(*find_array(from_index->root, "longitude")).front(), -180.0);
  const std::string bytes = read_file(ecmwf);
  EXPECT_EQ(find_array(from_index->root, "member"), nullptr);  // deterministic "fc"
  // In an ENS datacube, oper "fc" is the control (IFS cycle 50r1 moved it there): member 0.
  Virtualized ens;
  GribFile control{&ens.store, ecmwf.string(), "file://" + ecmwf.string(), index, "oper.index"};
  auto from_ens = virtualize_grib(ens.cache, std::span(&control, 1),
                                  GribOptions{.layout = CubeLayout::kEcmwfEns});
  ASSERT_TRUE(from_ens.ok()) << from_ens.error().to_string();
  ASSERT_NE(find_array(from_ens->root, "member"), nullptr);
  EXPECT_EQ(stored_values<int32_t>(*find_array(from_ens->root, "member")), std::vector<int32_t>{0});
  EXPECT_EQ(find_group(*from_ens, "sfc")->arrays[0].dims,
            (std::vector<std::string>{"init_time", "step", "member", "latitude", "longitude"}));
  for (const auto& array : sfc->arrays) {
    EXPECT_EQ(array.codecs[0]["name"], "gribberish");
    EXPECT_EQ(expect_chunks_decode_like_eccodes(*from_index, array, bytes), 1440u * 721)
        << array.name;
  }
}

// A sidecar that does not fit its file (a range past the end) leaves that file out with a warning;
// the other files of the run are virtualized.
TEST(GribVirtualize, ASidecarThatDoesNotFitLeavesOnlyItsFileOut) {
  fs::path good = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  fs::path other = testdata() / "gribberish_hrrr.t06z.wrfsfcf01-TMP.grib2";
  Virtualized v;
  GribFile files[] = {{&v.store, good.string(), "file://" + good.string(),
                       read_file(good.string() + ".idx"), good.string() + ".idx"},
                      {&v.store, other.string(), "file://" + other.string(),
                       std::string("1:0:d=2023082306:TMP:2 m above ground:1 hour "
                                   "fcst:\n2:99999999:d=2023082306:TMP:surface:1 "
                                   "hour fcst:\n"),
                       "broken.idx"}};
  auto dataset =
      virtualize_grib(v.cache, std::span(files), GribOptions{.layout = CubeLayout::kGfs});
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  std::string all;
  for (const auto& warning : dataset->warnings) all += warning + "\n";
  EXPECT_NE(all.find("broken.idx"), std::string::npos) << all;
  EXPECT_NE(all.find("the file file://" + other.string() + " is left out"), std::string::npos)
      << all;
  const auto* surface = find_group(*dataset, "surface");
  ASSERT_NE(surface, nullptr);
  EXPECT_NE(find_array(*surface, "HTSGW"), nullptr);
  EXPECT_EQ(find_array(*surface, "TMP"), nullptr);
}

TEST(GribVirtualize, StaleInventoryLinesAreReportedAndLeftOut) {
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  std::string inventory = read_file(grib.string() + ".idx");
  // Message 3 moved by a byte; message 5 claims another date.
  inventory.replace(inventory.find("3:100527:"), 9, "3:100528:");
  inventory.replace(inventory.find("5:184546:d=2023082318"), 21, "5:184546:d=2023082312");
  Virtualized v;
  GribFile file{&v.store, grib.string(), "file://" + grib.string(), inventory, "stale.idx"};
  auto dataset = virtualize_grib(v.cache, std::span(&file, 1));
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  std::string all;
  for (const auto& warning : dataset->warnings) all += warning + "\n";
  EXPECT_NE(all.find("message at byte offset 41723: section 0 gives 58804 bytes where the sidecar "
                     "gives 58805"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("message at byte offset 100528: no GRIB message starts here"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("stale.idx: line \"5:184546:d=2023082312:HTSGW:surface:1 hour fcst:\": the "
                     "message's reference "
                     "time is 2023-08-23T18:00:00"),
            std::string::npos)
      << all;
  const auto* surface = find_group(*dataset, "surface");
  EXPECT_EQ(find_array(*surface, "HTSGW"), nullptr);  // never mis-assigned: left out
  EXPECT_EQ(find_array(*surface, "UGRD"), nullptr);
  EXPECT_EQ(find_array(*surface, "WDIR"), nullptr);
  EXPECT_NE(find_array(*surface, "WIND"), nullptr);
}

// A multi-field message (UGRD and VGRD at 10 m in one message, as GFS writes them) listed as "N"
// and "N.2" in its inventory, then a single-field TMP message: both wind components reference the
// same message range with floe.grib picking the field, and each decodes to ecCodes' values of the
// field it came from.
TEST(GribVirtualize, SubmessagesOfAMultiFieldMessageShareItsRange) {
  using grib_test::MessageBuilder;
  using grib_test::MessageBytes;
  auto field = [](long category, long number, double offset, long surface, long level) {
    MessageBuilder builder = MessageBuilder::from_sample("regular_ll_sfc_grib2");
    builder.set("Ni", 36L).set("Nj", 19L);
    builder.set("latitudeOfFirstGridPointInDegrees", 90.0)
        .set("latitudeOfLastGridPointInDegrees", -90.0)
        .set("longitudeOfFirstGridPointInDegrees", 0.0)
        .set("longitudeOfLastGridPointInDegrees", 350.0)
        .set("iDirectionIncrementInDegrees", 10.0)
        .set("jDirectionIncrementInDegrees", 10.0);
    builder.set("dataDate", 20261121L).set("dataTime", 0L);
    builder.set("parameterCategory", category).set("parameterNumber", number);
    builder.set("typeOfFirstFixedSurface", surface).set("scaledValueOfFirstFixedSurface", level);
    builder.set("bitsPerValue", 14L);
    builder.set_values(grib_test::test_field(36, 19, offset));
    builder.set("packingType", std::string("grid_complex_spatial_differencing"));
    return builder.bytes();
  };
  const MessageBytes u = field(2, 2, 0.0, 103, 10);
  const MessageBytes v = field(2, 3, 5.0, 103, 10);
  const MessageBytes t = field(0, 0, 280.0, 103, 2);
  const MessageBytes wind = grib_test::multi_field_message({u, v});
  std::string bytes(wind.begin(), wind.end());
  bytes.append(t.begin(), t.end());
  const fs::path path =
      fs::temp_directory_path() / fmt::format("floe_multi_field_{}.grib2", ::getpid());
  {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  const std::string inventory = fmt::format(
      "1:0:d=2026112100:UGRD:10 m above ground:anl:\n"
      "1.2:0:d=2026112100:VGRD:10 m above ground:anl:\n"
      "2:{}:d=2026112100:TMP:2 m above ground:anl:\n",
      wind.size());
  Virtualized virtualized;
  GribFile file{&virtualized.store, path.string(), "file://" + path.string(), inventory,
                "multi.idx"};
  auto dataset = virtualize_grib(virtualized.cache, std::span(&file, 1));
  fs::remove(path);
  ASSERT_TRUE(dataset.ok()) << dataset.error().to_string();
  EXPECT_TRUE(dataset->warnings.empty()) << dataset->warnings.front();
  const auto* group = find_group(*dataset, "m_above_ground");
  ASSERT_NE(group, nullptr);
  codecs::CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  const std::vector<std::pair<const char*, const MessageBytes*>> expected = {
      {"UGRD", &u}, {"VGRD", &v}, {"TMP", &t}};
  for (uint32_t k = 0; k < expected.size(); ++k) {
    SCOPED_TRACE(expected[k].first);
    const auto* array = find_array(*group, expected[k].first);
    ASSERT_NE(array, nullptr);
    ASSERT_EQ(array->refs.size(), 1u);
    const bool in_wind_message = k < 2;
    EXPECT_EQ(array->refs.offset(0), in_wind_message ? 0u : wind.size());
    EXPECT_EQ(array->refs.length(0), in_wind_message ? wind.size() : t.size());
    if (in_wind_message) {  // gribberish reads only a message's first field: floe.grib names the
                            // field
      EXPECT_EQ(array->codecs[0], floe_grib_codec(k));
    }
    codecs::ChunkLayout layout{.data_type = *zarr::DataType::from_json(array->data_type),
                               .shape = array->chunk_shape,
                               .fill_value = {0, 0, 0xc0, 0x7f}};
    auto pipeline = codecs::CodecPipeline::create(registry, array->codecs, layout);
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
    std::vector<float> decoded(36 * 19);
    ASSERT_TRUE(
        pipeline
            ->decode(
                std::span(reinterpret_cast<const uint8_t*>(bytes.data()) + array->refs.offset(0),
                          array->refs.length(0)),
                std::span(reinterpret_cast<uint8_t*>(decoded.data()), decoded.size() * 4))
            .ok());
    const EccodesField want =
        eccodes_field(std::string(expected[k].second->begin(), expected[k].second->end()));
    ASSERT_EQ(want.values.size(), decoded.size());
    for (size_t i = 0; i < decoded.size(); ++i) {
      ASSERT_NEAR(decoded[i], want.values[i], 1e-4 * std::max(1.0, std::abs(want.values[i]))) << i;
    }
  }
}

}  // namespace
}  // namespace floe::formats::grib2
