// Tests of zarr.json parsing and chunk keys against documents written by zarr-python 3.4.
#include "floe/zarr/array_metadata.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace floe::zarr {
namespace {

// zarr-python 3.4.2: create_array(shape=(5, 7), chunks=(2, 3), dtype="float32", fill_value=np.nan,
// dimension_names=["y", None], attributes={"units": "K"}).
constexpr const char* kFloatArray = R"({
  "shape": [5, 7],
  "data_type": "float32",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": "NaN",
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {"units": "K"},
  "dimension_names": ["y", null],
  "zarr_format": 3,
  "node_type": "array",
  "storage_transformers": []
})";

// zarr-python 3.4.2: create_array(shape=(), dtype="uint8"); no dimension_names member.
constexpr const char* kScalarArray = R"({
  "shape": [],
  "data_type": "uint8",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": 0,
  "codecs": [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {},
  "zarr_format": 3,
  "node_type": "array",
  "storage_transformers": []
})";

// zarr-python 3.4.2: create_array(shape=(4,), chunks=(2,), dtype="i4",
// chunk_key_encoding={"name": "v2", "separator": "."}).
constexpr const char* kV2KeyArray = R"({
  "shape": [4],
  "data_type": "int32",
  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
  "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "."}},
  "fill_value": 0,
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {},
  "zarr_format": 3,
  "node_type": "array",
  "storage_transformers": []
})";

ArrayMetadata parse_ok(std::string_view text) {
  auto metadata = ArrayMetadata::parse(text, "group/x");
  EXPECT_TRUE(metadata.ok()) << (metadata.ok() ? "" : metadata.error().to_string());
  return metadata.ok() ? *metadata : ArrayMetadata{};
}

// Replaces the first occurrence of `from` in `text` (to derive malformed documents from real ones).
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Error parse_error(std::string_view text) {
  auto metadata = ArrayMetadata::parse(text, "group/x");
  EXPECT_FALSE(metadata.ok());
  return metadata.ok() ? Error(ErrorCode::kInternal, "parsed") : metadata.error();
}

TEST(ArrayMetadata, ParsesWhatZarrPythonWrites) {
  const ArrayMetadata metadata = parse_ok(kFloatArray);
  EXPECT_EQ(metadata.shape, (std::vector<std::uint64_t>{5, 7}));
  EXPECT_EQ(metadata.chunk_shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(metadata.data_type.kind, TypeKind::kFloat);
  EXPECT_EQ(metadata.element_size(), 4u);
  ASSERT_EQ(metadata.fill_value.size(), 4u);
  float fill = 0;
  std::memcpy(&fill, metadata.fill_value.data(), 4);
  EXPECT_TRUE(std::isnan(fill));
  EXPECT_EQ(metadata.fill_value_json, Json("NaN"));
  ASSERT_EQ(metadata.codecs.size(), 2u);
  EXPECT_EQ(metadata.codecs[1]["name"], "zstd");
  EXPECT_EQ(metadata.attributes["units"], "K");
  EXPECT_EQ(metadata.dimension_names, (std::vector<std::string>{"y", ""}));
  EXPECT_EQ(metadata.separator, '/');
  EXPECT_FALSE(metadata.v2_key_encoding);
  EXPECT_EQ(metadata.chunk_counts(), (std::vector<std::uint64_t>{3, 3}));
  const std::uint64_t index[] = {2, 1};
  EXPECT_EQ(metadata.chunk_key(index), "c/2/1");
}

TEST(ArrayMetadata, ScalarArraysHaveOneChunkKeyedC) {
  const ArrayMetadata metadata = parse_ok(kScalarArray);
  EXPECT_TRUE(metadata.shape.empty());
  EXPECT_TRUE(metadata.chunk_counts().empty());
  EXPECT_TRUE(metadata.dimension_names.empty());
  EXPECT_EQ(metadata.chunk_key({}), "c");  // the key zarr-python writes for a 0-d array
}

TEST(ArrayMetadata, V2KeyEncoding) {
  const ArrayMetadata metadata = parse_ok(kV2KeyArray);
  EXPECT_TRUE(metadata.v2_key_encoding);
  EXPECT_EQ(metadata.separator, '.');
  const std::uint64_t index[] = {1};
  EXPECT_EQ(metadata.chunk_key(index), "1");  // zarr-python writes keys "0" and "1"
  const std::uint64_t index_2d[] = {3, 0};
  EXPECT_EQ(metadata.chunk_key(index_2d), "3.0");
  EXPECT_EQ(metadata.chunk_key({}), "0");

  const ArrayMetadata dotted =
      parse_ok(replaced(kFloatArray, R"("separator": "/")", R"("separator": ".")"));
  const std::uint64_t index_dotted[] = {0, 4};
  EXPECT_EQ(dotted.chunk_key(index_dotted), "c.0.4");
}

TEST(ArrayMetadata, SeparatorDefaultsPerEncoding) {
  const ArrayMetadata v2 = parse_ok(
      replaced(kV2KeyArray, R"({"name": "v2", "configuration": {"separator": "."}})", R"("v2")"));
  EXPECT_EQ(v2.separator, '.');
  const ArrayMetadata plain = parse_ok(replaced(
      kFloatArray, R"({"name": "default", "configuration": {"separator": "/"}})", R"("default")"));
  EXPECT_EQ(plain.separator, '/');
}

TEST(ArrayMetadata, ChunkCountsRoundUpPartialEdgeChunks) {
  const ArrayMetadata metadata =
      parse_ok(replaced(kFloatArray, R"("shape": [5, 7])", R"("shape": [4, 0])"));
  EXPECT_EQ(metadata.chunk_counts(), (std::vector<std::uint64_t>{2, 0}));
}

TEST(ArrayMetadata, RefusesStorageTransformersAndOtherGridsNamingThePath) {
  const Error transformers = parse_error(replaced(kFloatArray, R"("storage_transformers": [])",
                                                  R"("storage_transformers": [{"name": "t"}])"));
  EXPECT_EQ(transformers.code(), ErrorCode::kUnsupported);
  EXPECT_NE(transformers.to_string().find("group/x"), std::string::npos);
  EXPECT_NE(transformers.to_string().find("storage_transformers"), std::string::npos);

  // ZEP 3's "rectangular" grid, which zarrs reads and zarr-python does not.
  const Error grid = parse_error(
      replaced(kFloatArray, R"({"name": "regular", "configuration": {"chunk_shape": [2, 3]}})",
               R"({"name": "rectangular", "configuration": {"chunk_shape": [[2, 3], 3]}})"));
  EXPECT_EQ(grid.code(), ErrorCode::kUnsupported);
  EXPECT_NE(grid.to_string().find("rectangular"), std::string::npos);
  EXPECT_NE(grid.to_string().find("group/x"), std::string::npos);
}

TEST(ArrayMetadata, RefusesMalformedDocuments) {
  EXPECT_EQ(parse_error("{").code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error("[]").code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("zarr_format": 3)", R"("zarr_format": 2)")).code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("node_type": "array")", R"("node_type": "group")"))
                .code(),
            ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("shape": [5, 7])", R"("shape": [5, -7])")).code(),
            ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("chunk_shape": [2, 3])", R"("chunk_shape": [2])"))
                .code(),
            ErrorCode::kCorrupt);
  EXPECT_EQ(
      parse_error(replaced(kFloatArray, R"("chunk_shape": [2, 3])", R"("chunk_shape": [0, 3])"))
          .code(),
      ErrorCode::kCorrupt);
  EXPECT_EQ(
      parse_error(replaced(kFloatArray, R"("fill_value": "NaN")", R"("fill_value": "nan")")).code(),
      ErrorCode::kCorrupt);
  EXPECT_EQ(
      parse_error(replaced(kFloatArray, R"("data_type": "float32")", R"("data_type": "string")"))
          .code(),
      ErrorCode::kUnsupported);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("dimension_names": ["y", null])",
                                 R"("dimension_names": ["y"])"))
                .code(),
            ErrorCode::kCorrupt);
  EXPECT_EQ(parse_error(replaced(kFloatArray, R"("separator": "/")", R"("separator": "-")")).code(),
            ErrorCode::kCorrupt);
  EXPECT_EQ(
      parse_error(replaced(kFloatArray, R"("name": "default")", R"("name": "custom")")).code(),
      ErrorCode::kUnsupported);
  EXPECT_EQ(
      parse_error(replaced(kFloatArray, R"("attributes": {"units": "K"})", R"("attributes": 1)"))
          .code(),
      ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace floe::zarr
