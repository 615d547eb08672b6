// The virtual dataset model: groups and arrays whose chunks are byte ranges of source files (or bytes held
// inline), as the format parsers produce them and the repository writer consumes them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "floe/core/bytes.h"
#include "floe/core/result.h"

namespace floe::virt {

using Json = nlohmann::json;

// Chunk references of one array, struct-of-arrays, with source URLs interned: 24 bytes per reference (chunk
// number, path index, offset, and a 32-bit length; the rare length past 4 GiB is kept aside).
class ChunkManifest {
 public:
  ChunkManifest() = default;
  ChunkManifest(const ChunkManifest& other);
  ChunkManifest& operator=(const ChunkManifest& other);
  ChunkManifest(ChunkManifest&&) noexcept = default;  // a deque's move keeps its strings where they are
  ChunkManifest& operator=(ChunkManifest&&) noexcept = default;

  // Index of `url` in paths(), adding it on first use.
  uint32_t intern(std::string_view url);
  // `chunk` is the row-major chunk number over the array's chunk grid.
  void add(uint64_t chunk, uint32_t path, uint64_t offset, uint64_t length);

  size_t size() const { return chunks_.size(); }
  bool empty() const { return chunks_.empty(); }
  const std::deque<std::string>& paths() const { return paths_; }
  uint64_t chunk(size_t i) const { return chunks_[i]; }
  uint32_t path_index(size_t i) const { return path_indexes_[i]; }
  const std::string& path(size_t i) const { return paths_[path_indexes_[i]]; }
  uint64_t offset(size_t i) const { return offsets_[i]; }
  uint64_t length(size_t i) const {
    return lengths_[i] != kLongLength ? lengths_[i] : long_lengths_.at(i);
  }
  void set_chunk(size_t i, uint64_t chunk) { chunks_[i] = chunk; }
  void set_length(size_t i, uint64_t length);
  void reserve(size_t n);
  // Bytes held, path strings and lookup included (capacity, not size: what the process pays).
  uint64_t memory_bytes() const;

  // Appends every ref of `other` with chunk numbers remapped by `remap(chunk)`.
  template <typename Remap>
  void append(const ChunkManifest& other, Remap remap) {
    std::vector<uint32_t> path_map;
    path_map.reserve(other.paths_.size());
    for (const std::string& p : other.paths_) path_map.push_back(intern(p));
    for (size_t i = 0; i < other.size(); ++i) {
      add(remap(other.chunks_[i]), path_map[other.path_indexes_[i]], other.offsets_[i], other.length(i));
    }
  }

 private:
  std::deque<std::string> paths_;  // stable addresses: the lookup's keys are views of these
  std::unordered_map<std::string_view, uint32_t> path_lookup_;
  std::vector<uint64_t> chunks_;
  std::vector<uint32_t> path_indexes_;
  std::vector<uint64_t> offsets_;
  static constexpr uint32_t kLongLength = UINT32_MAX;  // the length is in long_lengths_
  std::vector<uint32_t> lengths_;
  std::unordered_map<size_t, uint64_t> long_lengths_;
};

struct VirtualArray {
  std::string name;                    // within its group
  std::vector<std::string> dims;       // one per axis
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunk_shape;   // same rank as shape, every entry >= 1
  // A rectilinear chunk grid: per axis, empty for a regular axis (chunk_shape), else every chunk's length in
  // order (they cover the axis; the last may reach past it). Empty when the grid is regular.
  std::vector<std::vector<uint64_t>> chunk_edges;
  Json data_type;                      // Zarr v3 data_type: "float32", or {"name": ..., "configuration": ...}
  uint32_t element_size = 0;           // bytes per element as stored
  Json fill_value;                     // Zarr v3 fill value for data_type ("NaN", 0, ...)
  Json codecs = Json::array();         // full Zarr v3 codec list: array->bytes codec first, then bytes->bytes
  // Attributes as CF tools expect them. `_FillValue` holds the plain value (number, "NaN", string); the writer
  // encodes it the way xarray's Zarr v3 backend reads it.
  Json attributes = Json::object();
  ChunkManifest refs;                          // virtual chunks
  std::map<uint64_t, Bytes> inline_chunks;     // encoded chunk bytes stored in the repository (compact data)
  bool loadable = false;                       // copy the referenced bytes into the repository when writing
  bool dimension_coordinate = false;           // 1-D variable named like its dimension
  // Values held decoded: inline_chunks holds one uncompressed chunk (C order, little-endian) covering the array,
  // codecs are "bytes" alone. Set by load_small_arrays.
  bool in_memory = false;
};

struct VirtualGroup {
  std::string name;  // "" for the root
  Json attributes = Json::object();
  std::vector<VirtualArray> arrays;
  std::vector<VirtualGroup> groups;
};

struct VirtualDataset {
  std::string source_url;                // the file it came from (first file after a concatenation)
  VirtualGroup root;
  std::vector<std::string> unlimited_dims;  // dimensions the file can grow along (record / unlimited)
  std::vector<std::string> warnings;     // variables skipped or degraded, one message each
};

// What the parsers need to know from the caller.
struct ParseOptions {
  uint64_t max_chunk_bytes = 64ull << 20;  // contiguous data is split along the first axis into chunks <= this
};

// Chunk shape for contiguous data of `shape` with `element_size`: whole trailing axes, the first axis cut so a
// chunk holds at most `max_chunk_bytes` (at least one row). Zero-length axes count as 1.
std::vector<uint64_t> split_contiguous(const std::vector<uint64_t>& shape, uint64_t element_size,
                                       uint64_t max_chunk_bytes);

// Like split_contiguous, but the first-axis chunk length divides shape[0], so no chunk reaches past the data (for
// data that ends at the end of its file, where a full-size edge chunk cannot be referenced).
std::vector<uint64_t> split_contiguous_evenly(const std::vector<uint64_t>& shape, uint64_t element_size,
                                              uint64_t max_chunk_bytes);

// Number of chunks along each axis (ceil(shape / chunk), at least 1 per axis; the edges of a rectilinear axis).
std::vector<uint64_t> chunk_counts(const VirtualArray& array);

// Row-major chunk number <-> chunk coordinates over a grid of `counts` chunks per axis.
uint64_t chunk_number(const std::vector<uint64_t>& coords, const std::vector<uint64_t>& counts);
std::vector<uint64_t> chunk_coordinates(uint64_t number, const std::vector<uint64_t>& counts);

// Marks arrays loadable (1-D dimension coordinates, scalars and CF bounds variables by default, plus `loadable` names) and removes
// `drop` names. Names are array names or absolute paths ("/grp/var"). Unknown names are an error naming them.
Status apply_variable_policy(VirtualDataset& dataset, const std::vector<std::string>& loadable,
                             const std::vector<std::string>& drop);

}  // namespace floe::virt
