// Tests of the rectilinear chunk grid (zarr-extensions chunk-grids/rectilinear): parsing zarr.json
// written by zarr-python 3.4.2 with array.rectilinear_chunks, locating chunks, and writing the
// grid.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "floe/zarr/array_metadata.h"

namespace floe::zarr {
namespace {

using Edges = std::vector<std::uint64_t>;

// zarr-python 3.4.2 (array.rectilinear_chunks): create_array("t", shape=(120,),
// chunks=[[31, 28, 31, 30]], dtype="f4", fill_value=np.nan, dimension_names=["time"]).
constexpr const char* kTimeArray = R"({"shape": [120], "data_type": "float32",
  "chunk_grid": {"name": "rectilinear", "configuration": {"kind": "inline",
                 "chunk_shapes": [[31, 28, 31, 30]]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": "NaN",
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {}, "dimension_names": ["time"], "zarr_format": 3, "node_type": "array",
  "storage_transformers": []})";

// zarr-python 3.4.2: create_array("c", shape=(10, 6, 7), chunks=[[3, 3, 4], 4, [5, 2]],
// dtype="i2", fill_value=-1): runs, a bare step and explicit edges.
constexpr const char* kCubeArray = R"({"shape": [10, 6, 7], "data_type": "int16",
  "chunk_grid": {"name": "rectilinear", "configuration": {"kind": "inline",
                 "chunk_shapes": [[[3, 2], 4], 4, [5, 2]]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": -1,
  "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
             {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []})";

// zarr-python 3.4.2: create_array("sh", shape=(12,), chunks=(3,), shards=[[6, 6]], dtype="i4").
constexpr const char* kShardedArray = R"({"shape": [12], "data_type": "int32",
  "chunk_grid": {"name": "rectilinear", "configuration": {"kind": "inline",
                 "chunk_shapes": [[[6, 2]]]}},
  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
  "fill_value": 0,
  "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3],
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
               {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
    "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
    "index_location": "end"}}],
  "attributes": {}, "zarr_format": 3, "node_type": "array", "storage_transformers": []})";

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// kCubeArray's shape and chunk_shapes replaced.
std::string cube(std::string_view shape, std::string_view chunk_shapes) {
  return replaced(replaced(kCubeArray, R"("shape": [10, 6, 7])", shape),
                  R"("chunk_shapes": [[[3, 2], 4], 4, [5, 2]])", chunk_shapes);
}

ArrayMetadata parse_ok(std::string_view text) {
  auto metadata = ArrayMetadata::parse(text, "group/x");
  EXPECT_TRUE(metadata.ok()) << (metadata.ok() ? "" : metadata.error().to_string());
  return metadata.ok() ? *metadata : ArrayMetadata{};
}

Error parse_error(std::string_view text) {
  auto metadata = ArrayMetadata::parse(text, "group/x");
  EXPECT_FALSE(metadata.ok());
  return metadata.ok() ? Error(ErrorCode::kInternal, "parsed") : metadata.error();
}

void expect_names(const Error& error, std::string_view what) {
  EXPECT_NE(error.to_string().find("group/x"), std::string::npos) << error.to_string();
  EXPECT_NE(error.to_string().find(what), std::string::npos) << error.to_string();
}

// The expectations below are zarr-python's ChunkGrid.from_metadata(...).dimensions: nchunks,
// chunk_size(i) and chunk_offset(i) for the same documents.
TEST(RectilinearGrid, ExplicitEdgesOfATimeAxis) {
  const ArrayMetadata metadata = parse_ok(kTimeArray);
  EXPECT_TRUE(metadata.rectilinear());
  EXPECT_EQ(metadata.chunk_edges, (std::vector<Edges>{{31, 28, 31, 30}}));
  EXPECT_EQ(metadata.chunk_shape, (Edges{31}));
  EXPECT_EQ(metadata.chunk_counts(), (Edges{4}));
  EXPECT_EQ(metadata.chunk_start(0, 0), 0u);
  EXPECT_EQ(metadata.chunk_start(0, 1), 31u);
  EXPECT_EQ(metadata.chunk_start(0, 2), 59u);
  EXPECT_EQ(metadata.chunk_start(0, 3), 90u);
  EXPECT_EQ(metadata.chunk_extent(0, 1), 28u);
  EXPECT_EQ(metadata.chunk_extent(0, 3), 30u);
  // Every element against a linear scan of the edges.
  std::uint64_t chunk = 0, end = 31;
  for (std::uint64_t element = 0; element < 120; ++element) {
    if (element == end) end += metadata.chunk_edges[0][++chunk];
    ASSERT_EQ(metadata.chunk_containing(0, element), chunk) << element;
  }
  EXPECT_EQ(metadata.dimension_names, (std::vector<std::string>{"time"}));
}

TEST(RectilinearGrid, RunsBareStepsAndListsTogether) {
  const ArrayMetadata metadata = parse_ok(kCubeArray);
  EXPECT_EQ(metadata.chunk_edges, (std::vector<Edges>{{3, 3, 4}, {4, 4}, {5, 2}}));
  EXPECT_EQ(metadata.chunk_shape, (Edges{4, 4, 5}));
  EXPECT_EQ(metadata.chunk_counts(), (Edges{3, 2, 2}));
  const std::uint64_t last[] = {2, 1, 1};
  EXPECT_EQ(metadata.chunk_shape_at(last), (Edges{4, 4, 2}));  // the bare step 4 covers 6 as 4, 4
  EXPECT_EQ(metadata.chunk_start(0, 2), 6u);
  EXPECT_EQ(metadata.chunk_start(1, 1), 4u);
  EXPECT_EQ(metadata.chunk_containing(0, 5), 1u);
  EXPECT_EQ(metadata.chunk_containing(0, 6), 2u);
  EXPECT_EQ(metadata.chunk_containing(2, 4), 0u);
  EXPECT_EQ(metadata.chunk_containing(2, 5), 1u);
  EXPECT_EQ(metadata.chunk_key(last), "c/2/1/1");

  // [2, [1, 3], [2, 2]] against 9: 2, 1, 1, 1, 2, 2 at 0, 2, 3, 4, 5, 7.
  const ArrayMetadata mixed = parse_ok(
      cube(R"("shape": [9, 6, 7])", R"("chunk_shapes": [[2, [1, 3], [2, 2]], 4, [5, 2]])"));
  EXPECT_EQ(mixed.chunk_edges[0], (Edges{2, 1, 1, 1, 2, 2}));
  EXPECT_EQ(mixed.chunk_start(0, 4), 5u);
  EXPECT_EQ(mixed.chunk_start(0, 5), 7u);
  EXPECT_EQ(mixed.chunk_containing(0, 8), 5u);
}

TEST(RectilinearGrid, EdgesPastTheExtentAreDroppedAndTheLastKeepsItsLength) {
  // zarr-python keeps the chunk_shapes when an array shrinks (resize((8, 6, 7)) of kCubeArray).
  const ArrayMetadata shrunk =
      parse_ok(cube(R"("shape": [8, 6, 7])", R"("chunk_shapes": [[[3, 2], 4], 4, [5, 2]])"));
  EXPECT_EQ(shrunk.chunk_edges[0], (Edges{3, 3, 4}));
  EXPECT_EQ(shrunk.chunk_counts(), (Edges{3, 2, 2}));
  EXPECT_EQ(shrunk.chunk_extent(0, 2), 4u);  // decoded at 4 though 2 elements are in the array

  // [[4, 3]] against 6: two chunks, as zarr-python's nchunks; the third lies wholly past the end.
  const ArrayMetadata resized =
      parse_ok(cube(R"("shape": [6, 6, 7])", R"("chunk_shapes": [[[4, 3]], 4, [5, 2]])"));
  EXPECT_EQ(resized.chunk_edges[0], (Edges{4, 4}));

  // A run that reaches far past the extent is not expanded beyond it.
  const ArrayMetadata long_run = parse_ok(
      cube(R"("shape": [10, 6, 7])", R"("chunk_shapes": [[[1, 1000000000000]], 4, [5, 2]])"));
  EXPECT_EQ(long_run.chunk_edges[0], Edges(10, 1));
  auto axis = parse_rectilinear_axis(Json::parse("[[1, 1000000000000], 7]"), 10, 0, "group/x");
  ASSERT_TRUE(axis.ok()) << axis.error().to_string();
  EXPECT_EQ(axis->declared_chunks, 1000000000001u);
  EXPECT_EQ(axis->first_edge, 1u);

  // Counting alone (what icechunk needs) validates the same way and never expands.
  auto counted = parse_rectilinear_axis(Json::parse("[[1, 1000000000000], 7]"), 1000000000000, 0,
                                        "group/x", EdgeExpansion::kCountOnly);
  ASSERT_TRUE(counted.ok()) << counted.error().to_string();
  EXPECT_TRUE(counted->edges.empty());
  EXPECT_EQ(counted->declared_chunks, 1000000000001u);
  EXPECT_FALSE(
      parse_rectilinear_axis(Json::parse("[[1, 5]]"), 6, 0, "group/x", EdgeExpansion::kCountOnly)
          .ok());
}

TEST(RectilinearGrid, AxesOfLengthZeroHaveNoChunks) {
  const ArrayMetadata metadata =
      parse_ok(cube(R"("shape": [0, 6, 0])", R"("chunk_shapes": [[[7, 1]], 4, 5])"));
  EXPECT_TRUE(metadata.rectilinear());
  EXPECT_EQ(metadata.chunk_counts(), (Edges{0, 2, 0}));
  EXPECT_EQ(metadata.chunk_shape, (Edges{7, 4, 5}));  // the declared edge stays a usable size
}

TEST(RectilinearGrid, RefusesMalformedEntriesNamingThem) {
  struct Case {
    const char* chunk_shapes;
    const char* named;
  };
  // Each refused by zarr-python 3.4.2 as well (ValueError or TypeError).
  const Case cases[] = {
      {R"([[[0, 3]], 4, [5, 2]])", "[0,3]"},             // a zero edge in a run
      {R"([[3, [2, 0]], 4, [5, 2]])", "[2,0]"},          // a run of zero chunks
      {R"([[], 4, [5, 2]])", "chunk_shapes[0]"},         // no edges
      {R"([[3, 3, 4], 0, [5, 2]])", "chunk_shapes[1]"},  // a zero step
      {R"([[3, [2]], 4, [5, 2]])", "[2]"},               // a run without a count
      {R"([[3, [2, 1, 1]], 4, [5, 2]])", "[2,1,1]"},     // a run of three
      {R"([[3, "a"], 4, [5, 2]])", "\"a\""},             // not a number
      {R"([[3, -3], 4, [5, 2]])", "-3"},                 // negative
      {R"([[3, 3.5], 4, [5, 2]])", "3.5"},               // fractional
      {R"([[3, 3, 3], 4, [5, 2]])", "sum to 9"},         // short of the extent 10
      {R"([[3, 3, 4], 4, [5, 1]])", "sum to 6"},         // short of the extent 7
      {R"(["x", 4, [5, 2]])", "\"x\""},
      {R"([{"edges": [10]}, 4, [5, 2]])", "edges"},
      {R"([[3, 3, 4], 4])", "3 dimensions"},  // wrong rank
      {R"({"0": 10})", "chunk_shapes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.chunk_shapes);
    const Error error = parse_error(
        cube(R"("shape": [10, 6, 7])", std::string(R"("chunk_shapes": )") + c.chunk_shapes));
    EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
    expect_names(error, c.named);
  }
  const Error no_shapes = parse_error(
      replaced(kTimeArray, R"("chunk_shapes": [[31, 28, 31, 30]])", R"("chunk_sizes": [[31]])"));
  EXPECT_EQ(no_shapes.code(), ErrorCode::kInvalidArgument);
  expect_names(no_shapes, "chunk_shapes");
  const Error no_kind = parse_error(replaced(kTimeArray, R"("kind": "inline",)", ""));
  EXPECT_EQ(no_kind.code(), ErrorCode::kInvalidArgument);
  expect_names(no_kind, "kind");
}

TEST(RectilinearGrid, RefusesOtherKindsAndShardingAsUnsupported) {
  const Error kind = parse_error(replaced(kTimeArray, R"("kind": "inline")", R"("kind": "file")"));
  EXPECT_EQ(kind.code(), ErrorCode::kUnsupported);
  expect_names(kind, "\"file\"");

  const Error sharded = parse_error(kShardedArray);
  EXPECT_EQ(sharded.code(), ErrorCode::kUnsupported);
  expect_names(sharded, "sharding_indexed");

  // Too many chunks to expand: refused before anything of that size is allocated.
  const Error huge =
      parse_error(cube(R"("shape": [10000000000, 6, 7])", R"("chunk_shapes": [1, 4, [5, 2]])"));
  EXPECT_EQ(huge.code(), ErrorCode::kUnsupported);
  expect_names(huge, "chunks");
  const Error huge_run = parse_error(cube(R"("shape": [10000000000, 6, 7])",
                                          R"("chunk_shapes": [[[1, 10000000000]], 4, [5, 2]])"));
  EXPECT_EQ(huge_run.code(), ErrorCode::kUnsupported);
}

TEST(RectilinearGrid, RegularGridsAnswerTheSameQuestions) {
  const ArrayMetadata metadata =
      parse_ok(replaced(kCubeArray,
                        R"({"name": "rectilinear", "configuration": {"kind": "inline",
                 "chunk_shapes": [[[3, 2], 4], 4, [5, 2]]}})",
                        R"({"name": "regular", "configuration": {"chunk_shape": [3, 4, 5]}})"));
  EXPECT_FALSE(metadata.rectilinear());
  EXPECT_EQ(metadata.chunk_counts(), (Edges{4, 2, 2}));
  EXPECT_EQ(metadata.chunk_start(0, 3), 9u);
  EXPECT_EQ(metadata.chunk_extent(0, 3), 3u);  // the full chunk, past the end of the array
  EXPECT_EQ(metadata.chunk_containing(2, 6), 1u);
  const std::uint64_t index[] = {3, 1, 1};
  EXPECT_EQ(metadata.chunk_shape_at(index), (Edges{3, 4, 5}));
}

TEST(RectilinearGrid, WritesRunsWhereShorterAndBareStepsForRegularAxes) {
  const std::uint64_t shape[] = {120, 10, 6, 9};
  const std::vector<Edges> edges = {{31, 28, 31, 30}, {10}, {4, 4}, {1, 2, 2, 2, 1, 1}};
  const Json grid = chunk_grid_json(shape, edges);
  // Runs as zarr-python's compress_rle writes them: [1, [2, 3], [1, 2]]; even axes as one run (icechunk-python
  // refuses bare steps when it rewrites metadata).
  EXPECT_EQ(grid, Json::parse(R"({"name": "rectilinear", "configuration": {"kind": "inline",
      "chunk_shapes": [[31, 28, 31, 30], [10], [[4, 2]], [1, [2, 3], [1, 2]]]}})"));

  // Written and parsed back: the same edges.
  Json document = Json::parse(kCubeArray);
  document["shape"] = shape;
  document["chunk_grid"] = grid;
  const ArrayMetadata parsed = parse_ok(document.dump());
  EXPECT_EQ(parsed.chunk_edges, edges);

  // [10, 10, 10, 5] is not the step 10 over 35 (whose last chunk is 10 long): a list of runs.
  const std::uint64_t line[] = {35};
  EXPECT_EQ(chunk_grid_json(line, std::vector<Edges>{{10, 10, 10, 5}}),
            Json::parse(R"({"name": "rectilinear", "configuration": {"kind": "inline",
                "chunk_shapes": [[[10, 3], 5]]}})"));
  // Every axis regular: the regular grid, readable without rectilinear support.
  EXPECT_EQ(chunk_grid_json(line, std::vector<Edges>{{10, 10, 10, 10}}),
            Json::parse(R"({"name": "regular", "configuration": {"chunk_shape": [10]}})"));
  const std::uint64_t empty_axis[] = {0, 4};
  EXPECT_EQ(chunk_grid_json(empty_axis, std::vector<Edges>{{}, {3, 1}}),
            Json::parse(R"({"name": "rectilinear", "configuration": {"kind": "inline",
                "chunk_shapes": [[1], [3, 1]]}})"));
}

}  // namespace
}  // namespace floe::zarr
