// The GRIB Zarr codecs through CodecPipeline: "floe.grib" (north-up, field index) against ecCodes,
// and "gribberish" against xarray + gribberish reading the same zarr.json and chunk.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "floe/codecs/pipeline.h"
#include "floe/zarr/array_metadata.h"
#include "grib_test_support.h"

namespace floe::grib_test {
namespace {

using codecs::ChunkLayout;
using codecs::CodecPipeline;
using codecs::CodecRegistry;
using Json = nlohmann::json;

CodecRegistry builtin_registry() {
  CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  return registry;
}

Result<CodecPipeline> pipeline(const std::string& codecs_json, const char* data_type,
                               std::vector<std::uint64_t> shape) {
  static const CodecRegistry registry = builtin_registry();
  auto type = zarr::DataType::from_json(Json(data_type));
  EXPECT_TRUE(type.ok());
  return CodecPipeline::create(registry, Json::parse(codecs_json),
                               ChunkLayout{*type, std::move(shape), {}});
}

template <typename T>
std::vector<T> decode_chunk(const CodecPipeline& pipeline, const MessageBytes& message) {
  std::vector<T> out(pipeline.layout().element_count());
  const Status status = pipeline.decode(
      message, {reinterpret_cast<std::uint8_t*>(out.data()), out.size() * sizeof(T)});
  EXPECT_TRUE(status.ok()) << status.error().to_string();
  return out;
}

MessageBytes first_message(const std::string& name) {
  return split_messages(read_file(testdata_dir() + "/grib/" + name))[0];
}

TEST(GribCodecs, FloeGribDecodesEveryFieldNorthUp) {
  std::vector<MessageBytes> fields;
  for (long k = 0; k < 3; ++k) {
    MessageBuilder builder = MessageBuilder::from_sample("regular_ll_sfc_grib2");
    builder.set("Ni", 20L).set("Nj", 10L).set("jScansPositively", 1L).set("bitsPerValue", 16L);
    builder.set_values(test_field(20, 10, 10.0 * k));
    builder.set("packingType", std::string(k == 1 ? "grid_ccsds" : "grid_simple"));
    fields.push_back(builder.bytes());
  }
  const MessageBytes message = multi_field_message(fields);
  const std::vector<OracleField> oracle = eccodes_fields(message);
  ASSERT_EQ(oracle.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    auto chunk = pipeline(
        R"([{"name": "floe.grib", "configuration": {"field": )" + std::to_string(k) + "}}]",
        "float32", {1, 1, 10, 20});
    ASSERT_TRUE(chunk.ok()) << chunk.error().to_string();
    expect_same_values(decode_chunk<float>(*chunk, message), north_up(oracle[k].values, 20, 10, 64),
                       "field " + std::to_string(k));
    EXPECT_EQ(chunk->describe(),
              k == 0 ? "floe.grib" : "floe.grib(field " + std::to_string(k) + ")");
  }
  auto beyond =
      pipeline(R"([{"name": "floe.grib", "configuration": {"field": 3}}])", "float64", {10, 20});
  ASSERT_TRUE(beyond.ok());
  std::vector<double> out(200);
  const Status status =
      beyond->decode(message, {reinterpret_cast<std::uint8_t*>(out.data()), out.size() * 8});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("no field 3 (the message has 3)"), std::string::npos);
}

TEST(GribCodecs, GribberishLayoutIsStorageOrderWithOptionalRowFlip) {
  const MessageBytes hrrr = first_message("gribberish_hrrr.t06z.wrfsfcf01-TMP.grib2");  // scan 64
  const OracleField field = eccodes_fields(hrrr)[0];
  ASSERT_EQ(field.scanning_mode, 64);
  auto storage = pipeline(R"([{"name": "gribberish", "configuration": {"var": "t2m"}}])", "float32",
                          {1059, 1799});
  auto flipped =
      pipeline(R"([{"name": "gribberish", "configuration": {"var": "t2m", "north_up": true}}])",
               "float32", {1059, 1799});
  ASSERT_TRUE(storage.ok() && flipped.ok());
  expect_same_values(decode_chunk<float>(*storage, hrrr), field.values, "gribberish");
  expect_same_values(decode_chunk<float>(*flipped, hrrr), north_up(field.values, 1799, 1059, 64),
                     "gribberish north_up");
}

TEST(GribCodecs, ConfigurationErrors) {
  auto integer = pipeline(R"([{"name": "floe.grib"}])", "int16", {10, 20});
  ASSERT_FALSE(integer.ok());
  EXPECT_NE(integer.error().message().find("float32 or float64"), std::string::npos);
  auto unknown =
      pipeline(R"([{"name": "gribberish", "configuration": {"flip": true}}])", "float32", {10, 20});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kUnsupported);
  auto coordinates = pipeline(R"([{"name": "gribberish", "configuration": {"var": "latitude"}}])",
                              "float64", {10, 20});
  ASSERT_FALSE(coordinates.ok());
  EXPECT_EQ(coordinates.error().code(), ErrorCode::kUnsupported);
  auto not_bool = pipeline(R"([{"name": "gribberish", "configuration": {"north_up": 1}}])",
                           "float32", {10, 20});
  ASSERT_FALSE(not_bool.ok());
  auto wrong_shape = pipeline(R"([{"name": "floe.grib"}])", "float32", {10, 20});
  ASSERT_TRUE(wrong_shape.ok());
  const MessageBytes tiny = first_message("kerchunk_tinygrib.grb2");
  std::vector<float> out(200);
  const Status status =
      wrong_shape->decode(tiny, {reinterpret_cast<std::uint8_t*>(out.data()), out.size() * 4});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("Nj 721 x Ni 1440"), std::string::npos)
      << status.error().message();
  EXPECT_NE(status.error().message().find("chunk shape does not match"), std::string::npos);
}

// xarray + gribberish read a zarr.json with the "gribberish" codec and a GRIB message as its
// chunk; floe decodes the same zarr.json and chunk to the same values.
TEST(GribCodecs, GribberishNameReadsLikeXarrayWithGribberish) {
  const std::string directory =
      (std::filesystem::temp_directory_path() / ("floe_gribberish_" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  struct Case {
    std::string name;
    MessageBytes message;
  };
  std::vector<Case> messages;
  for (const char* file :
       {"gribberish_hrrr.t06z.wrfsfcf01-TMP.grib2",
        "gribberish_gfs.t12z.pgrb2.0p25.f023-PV-TMP-missing.grib2",
        "gribberish_aifs-single-t500.grib2", "gribberish_nbm-multilevel-tcdc.grib2",
        "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2", "gribberish_meteofrance.arome-TCDC.grib2",
        "kerchunk_CMC_reg_DEPR_ISBL_10_ps10km_2022072000_P000.grib2",
        "gribberish_hrrr.t06z.wrfsfcf01-UGRD.grib2",
        "gribberish_gfs.t18z.pgrb2.0p25.f186-RH.grib2"}) {
    messages.push_back({file, first_message(file)});
  }
  // Scanning modes gribberish does not undo, and GRIB1.
  for (long scanning : {128L, 96L, 16L}) {
    MessageBuilder builder = MessageBuilder::from_sample("regular_ll_sfc_grib2");
    builder.set("Ni", 36L).set("Nj", 19L).set("scanningMode", scanning).set("bitsPerValue", 16L);
    builder.set_values(test_field(36, 19));
    messages.push_back({"scanning " + std::to_string(scanning), builder.bytes()});
  }
  MessageBuilder global = MessageBuilder::from_sample("regular_ll_sfc_grib1");
  global.set("Ni", 36L)
      .set("Nj", 19L)
      .set("iDirectionIncrementInDegrees", 10.0)
      .set("jDirectionIncrementInDegrees", 10.0)
      .set("latitudeOfFirstGridPointInDegrees", 90.0)
      .set("latitudeOfLastGridPointInDegrees", -90.0)
      .set("longitudeOfFirstGridPointInDegrees", 0.0)
      .set("longitudeOfLastGridPointInDegrees", 350.0)
      .set("bitsPerValue", 16L);
  global.set_values(test_field(36, 19));
  messages.push_back({"GRIB1 global", global.bytes()});

  const Json configurations[] = {
      Json::object({{"var", "t"}}), Json::object({{"var", "t"}, {"north_up", true}}),
      Json::object({{"var", "t"}, {"adjust_longitude_range", true}}),
      Json::object({{"var", "t"}, {"north_up", true}, {"adjust_longitude_range", true}})};
  Json manifest = Json::object({{"cases", Json::array()}});
  struct Expected {
    std::string label;
    std::string store;
  };
  std::vector<Expected> cases;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    const std::string path = directory + "/message" + std::to_string(m) + ".grib";
    write_file(path, messages[m].message);
    auto field = packed_field(messages[m].message);
    ASSERT_TRUE(field.ok()) << field.error().to_string();
    // adjust_longitude_range only acts on regular latitude/longitude grids: the others are read
    // with the first two configurations (they are large; gribberish is the slow part).
    const std::size_t used = field->regular_lat_lon ? std::size(configurations) : 2;
    for (std::size_t c = 0; c < used; ++c) {
      const std::string store = directory + "/store" + std::to_string(m) + "_" + std::to_string(c);
      manifest["cases"].push_back({{"message", path},
                                   {"shape", {field->nj, field->ni}},
                                   {"configuration", configurations[c]},
                                   {"store", store}});
      cases.push_back({messages[m].name + " " + configurations[c].dump(), store});
    }
  }
  {
    std::ofstream out(directory + "/manifest.json");
    out << manifest.dump();
  }
  const std::string command = std::string(FLOE_PYTHON) + " " + FLOE_GRIBBERISH_SCRIPT + " " +
                              directory + "/manifest.json > " + directory + "/log.txt 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "gribberish failed; see " << directory << "/log.txt";

  for (const Expected& expected : cases) {
    SCOPED_TRACE(expected.label);
    const MessageBytes zarr_json = read_file(expected.store + "/field/zarr.json");
    auto metadata = zarr::ArrayMetadata::parse(
        std::string_view(reinterpret_cast<const char*>(zarr_json.data()), zarr_json.size()),
        expected.store);
    ASSERT_TRUE(metadata.ok()) << metadata.error().to_string();
    static const CodecRegistry registry = builtin_registry();
    auto chunk = CodecPipeline::create(
        registry, metadata->codecs,
        ChunkLayout{metadata->data_type, metadata->chunk_shape, metadata->fill_value});
    ASSERT_TRUE(chunk.ok()) << chunk.error().to_string();
    const std::vector<float> floe =
        decode_chunk<float>(*chunk, read_file(expected.store + "/field/c/0/0"));
    const MessageBytes raw = read_file(expected.store + "/expected.f32");
    std::vector<double> gribberish(raw.size() / 4);
    for (std::size_t i = 0; i < gribberish.size(); ++i) {
      float value;
      std::memcpy(&value, raw.data() + 4 * i, 4);
      gribberish[i] = value;
    }
    expect_same_values(floe, gribberish, expected.label);
  }
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace floe::grib_test
