// Fuzz target: an array's zarr.json through zarr::ArrayMetadata::parse — regular and rectilinear
// chunk grids (bare steps, edge lists, [length, count] runs, edges past the shape), data types,
// fill values, chunk key encodings. Parsed grids are checked for consistency and round-tripped
// through chunk_grid_json.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "floe/zarr/array_metadata.h"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

// Chunks visited per axis when checking the grid: enough for every seed, bounded for huge grids.
constexpr std::uint64_t kChunksChecked = 4096;

void check_grid(const floe::zarr::ArrayMetadata& metadata) {
  const std::vector<std::uint64_t> counts = metadata.chunk_counts();
  check(counts.size() == metadata.shape.size(), "one chunk count per axis");
  check(metadata.chunk_shape.size() == metadata.shape.size(), "one chunk extent per axis");
  for (std::size_t axis = 0; axis < metadata.shape.size(); ++axis) {
    check(metadata.chunk_shape[axis] > 0, "chunk extents are positive");
    check((counts[axis] == 0) == (metadata.shape[axis] == 0), "an empty axis has no chunks");
    for (std::uint64_t chunk = 0; chunk < std::min(counts[axis], kChunksChecked); ++chunk) {
      const std::uint64_t start = metadata.chunk_start(axis, chunk);
      const std::uint64_t extent = metadata.chunk_extent(axis, chunk);
      check(extent > 0 && extent <= metadata.chunk_shape[axis], "edges within chunk_shape");
      check(start < metadata.shape[axis], "every chunk overlaps the array");
      check(metadata.chunk_containing(axis, start) == chunk, "a chunk holds its first element");
      const std::uint64_t last = start + std::min(extent - 1, metadata.shape[axis] - 1 - start);
      check(metadata.chunk_containing(axis, last) == chunk, "a chunk holds its last element");
    }
    if (counts[axis] > 0) {
      const std::uint64_t last = counts[axis] - 1;
      check(metadata.shape[axis] - metadata.chunk_start(axis, last) <=
                metadata.chunk_extent(axis, last),
            "the last chunk reaches the end of the array");
    }
  }
  if (!metadata.rectilinear()) return;
  check(metadata.chunk_edges.size() == metadata.shape.size(), "edges for every axis");
  // Written back and parsed again: the same edges.
  floe::zarr::Json document = floe::zarr::Json::parse(
      R"({"zarr_format": 3, "node_type": "array", "data_type": "uint8", "fill_value": 0,
          "chunk_key_encoding": {"name": "default"}, "codecs": [{"name": "bytes"}]})");
  document["shape"] = metadata.shape;
  document["chunk_grid"] = floe::zarr::chunk_grid_json(metadata.shape, metadata.chunk_edges);
  auto reparsed = floe::zarr::ArrayMetadata::parse(document.dump(), "round trip");
  check(reparsed.ok(), "chunk_grid_json parses");
  check(reparsed->chunk_counts() == counts, "chunk_grid_json keeps the chunk counts");
  for (std::size_t axis = 0; axis < metadata.shape.size(); ++axis) {
    for (std::uint64_t chunk = 0; chunk < std::min(counts[axis], kChunksChecked); ++chunk) {
      check(reparsed->chunk_extent(axis, chunk) == metadata.chunk_extent(axis, chunk),
            "chunk_grid_json keeps the edges");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto metadata = floe::zarr::ArrayMetadata::parse(text, "fuzz");
  if (!metadata.ok()) {
    check(!metadata.error().to_string().empty(), "errors say something");
    return 0;
  }
  check_grid(*metadata);
  return 0;
}
