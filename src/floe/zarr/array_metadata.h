// Zarr v3 array metadata: the zarr.json of an array parsed into shape, chunk grid (regular or
// rectilinear), data type, fill value, codecs, attributes, dimension names and chunk key encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/zarr/data_type.h"

namespace floe::zarr {

// Most chunks a rectilinear grid may have along all its axes together once expanded: each edge
// costs 16 bytes (edge and prefix sum), so a zarr.json cannot make floe allocate more than 256 MiB.
inline constexpr std::uint64_t kMaxRectilinearEdges = std::uint64_t{1} << 24;

// One axis of a rectilinear grid's "chunk_shapes" (zarr-extensions chunk-grids/rectilinear): a
// bare step length repeated to cover the axis, or a list of edge lengths and [length, count] runs.
struct RectilinearAxis {
  // The edges of the chunks that overlap [0, extent), expanded: their sum reaches the extent and
  // passes it by less than the last edge. Empty for an extent of 0.
  std::vector<std::uint64_t> edges;
  // Every chunk the entry declares, trailing chunks wholly past the extent included (a bare step:
  // ceil(extent / step)). Icechunk counts these as the dimension's chunks.
  std::uint64_t declared_chunks = 0;
  // The first edge declared (a bare step: the step), so an axis of extent 0 still has a chunk size.
  std::uint64_t first_edge = 0;
};

enum class EdgeExpansion {
  kExpand,     // fill RectilinearAxis::edges (at most kMaxRectilinearEdges)
  kCountOnly,  // validate and count only: edges stays empty and no edge limit applies
};

// Parses chunk_shapes[axis] against the axis' extent. kInvalidArgument naming `path`, the axis and
// the entry for an entry that is not a positive integer or a non-empty list of positive integers
// and [positive, positive] pairs, or whose explicit edges sum to less than the extent;
// kUnsupported beyond kMaxRectilinearEdges chunks when expanding.
Result<RectilinearAxis> parse_rectilinear_axis(const Json& entry, std::uint64_t extent,
                                               std::size_t axis, std::string_view path,
                                               EdgeExpansion expansion = EdgeExpansion::kExpand);

// The "chunk_grid" member of zarr.json for chunks with these edges along each axis (edges as in
// ArrayMetadata::chunk_edges: they cover `shape`). An axis whose edges are all equal and number
// ceil(extent / edge) is written as the bare step; other axes as lists where runs of equal edges
// become [length, count] when that makes the list shorter (zarr-python's compress_rle). When every
// axis is regular the grid is {"name": "regular"} so readers without rectilinear support read it.
// `chunk_edges` must have one non-empty entry per axis of `shape` except axes of extent 0, whose
// entry may be empty (then the chunk size written is 1).
Json chunk_grid_json(std::span<const std::uint64_t> shape,
                     std::span<const std::vector<std::uint64_t>> chunk_edges);

struct ArrayMetadata {
  std::vector<std::uint64_t> shape;
  // A regular grid's chunk shape. For a rectilinear grid, the largest edge along each axis (the
  // first declared edge on an axis of extent 0): an upper bound for a chunk's buffer, not every
  // chunk's shape; see chunk_extent.
  std::vector<std::uint64_t> chunk_shape;
  // Empty for a regular grid. For a rectilinear grid one entry per axis: the edge lengths of the
  // chunks overlapping the array (RectilinearAxis::edges), bare steps and runs expanded. Set it
  // with set_chunk_edges, which also indexes the edges for chunk_containing.
  std::vector<std::vector<std::uint64_t>> chunk_edges;
  DataType data_type;
  std::vector<std::uint8_t> fill_value;  // one element, little-endian (fill_value_bytes)
  Json fill_value_json;
  Json codecs;      // the "codecs" array as written
  Json attributes;  // an object, {} when absent
  // One entry per dimension, "" for a null name; empty when zarr.json has no dimension_names.
  std::vector<std::string> dimension_names;
  char separator = '/';  // chunk_key_encoding separator: default "/", or "." (v2 default)
  bool v2_key_encoding = false;

  // Parses an array's zarr.json. Refuses (kUnsupported) storage transformers, chunk grids other
  // than "regular" and "rectilinear", rectilinear grids of a kind other than "inline" and
  // rectilinear grids with the sharding_indexed codec; errors name `path_for_errors`.
  static Result<ArrayMetadata> parse(std::string_view zarr_json, std::string_view path_for_errors);

  std::uint64_t element_size() const { return data_type.size; }
  bool rectilinear() const { return !chunk_edges.empty(); }
  // Makes the grid rectilinear with these per-axis edges (as chunk_edges describes them) and sets
  // chunk_shape to the largest edge per axis (1 for an axis without edges).
  void set_chunk_edges(std::vector<std::vector<std::uint64_t>> edges);

  // Chunks per dimension that overlap the array: ceil(shape / chunk_shape) for a regular grid,
  // the number of edges for a rectilinear one; an empty vector for a 0-d array.
  std::vector<std::uint64_t> chunk_counts() const;
  // The first element of chunk `index` along `axis`. `index` < chunk_counts()[axis].
  std::uint64_t chunk_start(std::size_t axis, std::uint64_t index) const;
  // The full edge of chunk `index` along `axis`: the decoded chunk's extent, which may pass the
  // array's end for its last chunk. `index` < chunk_counts()[axis].
  std::uint64_t chunk_extent(std::size_t axis, std::uint64_t index) const;
  // The chunk holding element `element` along `axis` (a binary search over the edges' prefix sums
  // for a rectilinear grid). `element` < shape[axis].
  std::uint64_t chunk_containing(std::size_t axis, std::uint64_t element) const;
  // The decoded shape of one chunk: chunk_extent along every axis.
  std::vector<std::uint64_t> chunk_shape_at(std::span<const std::uint64_t> chunk_index) const;

  // The store key of a chunk relative to the array: "c/0/1" (default), "0.1" (v2), "c" or "0" for
  // 0-d.
  std::string chunk_key(std::span<const std::uint64_t> chunk_index) const;

 private:
  // Per rectilinear axis, the running sums of chunk_edges: chunk i covers
  // [chunk_ends_[axis][i] - chunk_edges[axis][i], chunk_ends_[axis][i]).
  std::vector<std::vector<std::uint64_t>> chunk_ends_;
};

}  // namespace floe::zarr
