// The uncommitted changes of a write session: nodes put or deleted, and chunk refs packed 24 bytes each.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/icechunk/format.h"
#include "floe/icechunk/manifest.h"

namespace floe::icechunk {

// Shape, chunk counts and dimension names an array's zarr.json implies (regular and rectilinear grids).
struct ArrayGeometry {
  std::vector<DimensionShape> shape;
  std::vector<std::optional<std::string>> dimension_names;
};
Result<ArrayGeometry> array_geometry_from_zarr_json(std::string_view zarr_json, std::string_view path);

// Row-major numbering of an array's chunks; lexicographic index order is numeric order of the number.
class ChunkGrid {
 public:
  ChunkGrid() = default;
  static Result<ChunkGrid> from_shape(const std::vector<DimensionShape>& shape, std::string_view path);
  std::uint32_t ndim() const { return static_cast<std::uint32_t>(num_chunks_.size()); }
  const std::vector<std::uint32_t>& num_chunks() const { return num_chunks_; }
  // kInvalidArgument naming the path when the index has the wrong rank or is outside the grid.
  Result<std::uint64_t> linear(std::span<const std::uint32_t> index, std::string_view path) const;
  bool contains(std::span<const std::uint32_t> index) const;
  void coords(std::uint64_t linear, std::uint32_t* out) const;

 private:
  std::vector<std::uint32_t> num_chunks_;
  std::vector<std::uint64_t> strides_;
};

// "[0,1,2]" for messages.
std::string format_chunk_index(std::span<const std::uint32_t> index);
// Whether a manifest's extents (one [from, to) per dimension) hold the chunk index; no extents hold all.
bool extents_contain(const std::vector<ChunkExtent>& extents, std::span<const std::uint32_t> index);

inline constexpr std::uint32_t kDeletedChunk = 0xffffffffu;

struct PackedRef {
  std::uint64_t linear = 0;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t target = kDeletedChunk;  // index into ChangeSet targets, or kDeletedChunk
};
static_assert(sizeof(PackedRef) == 24);

// An append-only sequence of packed refs: the first block grows by doubling (most arrays hold a few refs, and a
// dataset of many small arrays must not pay a whole block each), later ones are fixed blocks, so growing never
// copies more than one block and 10^7 refs cost 24 bytes each.
class PackedRefSequence {
 public:
  static constexpr size_t kBlockBits = 16;
  static constexpr size_t kBlockSize = size_t{1} << kBlockBits;

  void push_back(const PackedRef& ref) {
    if (size_ < kBlockSize) {
      first_.push_back(ref);
    } else {
      const size_t i = size_ - kBlockSize;
      if ((i & (kBlockSize - 1)) == 0) blocks_.push_back(std::make_unique_for_overwrite<PackedRef[]>(kBlockSize));
      blocks_[i >> kBlockBits][i & (kBlockSize - 1)] = ref;
    }
    ++size_;
  }
  const PackedRef& operator[](size_t i) const {
    if (i < kBlockSize) return first_[i];
    i -= kBlockSize;
    return blocks_[i >> kBlockBits][i & (kBlockSize - 1)];
  }
  const PackedRef& back() const { return (*this)[size_ - 1]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::vector<PackedRef> first_;
  std::vector<std::unique_ptr<PackedRef[]>> blocks_;
  size_t size_ = 0;
};

// What a packed ref points at. Virtual targets are interned by (location, checksum).
struct ChunkTarget {
  ChunkKind kind = ChunkKind::kVirtual;
  std::string location;
  std::string checksum_etag;
  std::uint32_t checksum_last_modified = 0;
  Bytes inline_data;
  Id12 chunk_id{};
};

class ArrayChanges {
 public:
  ArrayChanges(Id8 node_id, ChunkGrid grid) : node_id_(node_id), grid_(std::move(grid)) {}
  const Id8& node_id() const { return node_id_; }
  const ChunkGrid& grid() const { return grid_; }
  void set(const PackedRef& ref);  // later sets of the same chunk win
  std::uint64_t count() const { return ordered_.size() + overflow_.size(); }
  // Every change in chunk order, each chunk once.
  template <typename Visit>
  Status for_each(Visit&& visit) const;
  // Re-numbers the changes for a new grid (the array was resized); fails if a change falls outside it.
  Status regrid(ChunkGrid grid, std::string_view path);
  bool touches(std::uint64_t linear) const;
  // Folds out-of-order sets into the ordered list so that `at(i)` is the i-th change in chunk order.
  void compact();
  const PackedRef& at(std::uint64_t i) const { return ordered_[i]; }

 private:
  Id8 node_id_;
  ChunkGrid grid_;
  PackedRefSequence ordered_;                    // strictly increasing `linear`: the streaming fast path
  std::map<std::uint64_t, PackedRef> overflow_;  // out-of-order sets
};

struct NodeChange {
  Id8 id{};
  NodeKind kind = NodeKind::kGroup;
  std::string zarr_json;
  bool is_new = false;
  ArrayGeometry geometry;  // arrays
};

struct DeletedNode {
  Id8 id{};
  NodeKind kind = NodeKind::kGroup;
};

class ChangeSet {
 public:
  std::map<std::string, NodeChange> put_nodes;  // by path
  std::map<std::string, DeletedNode> deleted_nodes;
  std::map<Id8, ArrayChanges> chunks;  // by node id bytes

  bool empty() const { return put_nodes.empty() && deleted_nodes.empty() && chunks.empty(); }
  std::uint32_t intern_virtual(std::string_view location, std::string_view etag, std::uint32_t last_modified);
  std::uint32_t add_target(ChunkTarget target);
  const ChunkTarget& target(std::uint32_t index) const { return targets_[index]; }
  // The view of a packed ref for the manifest builder (`coords` must hold ndim values).
  ChunkRefView view(const PackedRef& ref, const ChunkGrid& grid, std::uint32_t* coords) const;
  std::vector<std::string_view> location_samples(size_t max_samples) const;
  size_t num_virtual_targets() const { return interned_.size(); }

 private:
  std::vector<ChunkTarget> targets_;
  std::unordered_map<std::string, std::uint32_t> interned_;
};

template <typename Visit>
Status ArrayChanges::for_each(Visit&& visit) const {
  auto overflow = overflow_.begin();
  for (size_t i = 0; i < ordered_.size(); ++i) {
    const PackedRef& ref = ordered_[i];
    while (overflow != overflow_.end() && overflow->first < ref.linear) {
      FLOE_RETURN_IF_ERROR(visit(overflow->second));
      ++overflow;
    }
    if (overflow != overflow_.end() && overflow->first == ref.linear) {
      FLOE_RETURN_IF_ERROR(visit(overflow->second));  // the later set wins
      ++overflow;
      continue;
    }
    FLOE_RETURN_IF_ERROR(visit(ref));
  }
  for (; overflow != overflow_.end(); ++overflow) FLOE_RETURN_IF_ERROR(visit(overflow->second));
  return ok_status();
}

}  // namespace floe::icechunk
