// Reads the chunk indexes of many datasets together: B-tree v1, single chunk, implicit, fixed array, extensible
// array and B-tree v2, breadth-first with one prefetch round per level across every request.
#include "floe/formats/hdf5/chunk_index.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "floe/formats/hdf5/btree2.h"

namespace floe::formats::hdf5 {
namespace {

constexpr uint64_t kUnlimited = ~0ull;
constexpr uint32_t kBTreeV1MaxLevel = 64;
constexpr uint32_t kBTreeV1DefaultEntries = 64;  // 2K with the default chunk K of 32

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (b != 0 && a > ~0ull / b) return false;
  out = a * b;
  return true;
}

bool checked_add(uint64_t a, uint64_t b, uint64_t& out) {
  if (a > ~0ull - b) return false;
  out = a + b;
  return true;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// log2 of a power of two, or -1.
int exact_log2(uint64_t value) {
  if (value == 0 || (value & (value - 1)) != 0) return -1;
  int log2 = 0;
  while (value >>= 1) ++log2;
  return log2;
}

bool bit_set(const Bytes& bitmap, uint64_t bit) {  // H5VM_bit_get: most significant bit first
  uint64_t byte = bit / 8;
  if (byte >= bitmap.size()) return false;
  return (std::to_integer<uint8_t>(bitmap.data()[byte]) & (0x80u >> (bit % 8))) != 0;
}

enum class TaskKind { kBTreeV1Node, kFixedHeader, kFixedData, kEAHeader, kEAIndex, kEASecondary, kEAData };

struct Task {
  TaskKind kind = TaskKind::kBTreeV1Node;
  uint64_t address = 0;
  uint64_t length = 0;         // what the round prefetches
  int64_t level = -1;          // B-tree v1: the level the parent expects (-1 for the root)
  uint64_t first_index = 0;    // EA data block: linear index of its first element
  uint64_t elements = 0;       // EA data block: element count
  unsigned super_block = 0;    // EA secondary block: its index in the super block table
  Bytes page_bitmap;           // EA data block from a secondary block: the pages' init bits
  uint64_t bitmap_first = 0;   // first bit of this data block in page_bitmap
  bool bitmap_known = false;   // false: every page is initialised (data blocks of the index block)
};

struct SuperBlockInfo {
  uint64_t data_blocks = 0;
  uint64_t block_elements = 0;
  uint64_t start_index = 0;
};

struct State {
  const ChunkIndexRequest* request = nullptr;
  const DataLayout* layout = nullptr;
  size_t rank = 0;
  uint64_t chunk_bytes = 0;
  std::vector<uint64_t> grid;        // chunks per dimension of the current shape
  std::vector<uint64_t> index_grid;  // chunks per dimension of the grid the array index linearises
  std::vector<int> index_order;      // index_grid position -> dimension (the swizzle for the extensible array)
  std::vector<uint64_t> down;        // strides of index_grid
  ChunkList list;
  std::optional<Error> error;
  std::vector<Task> tasks;
  std::optional<BTreeV2Walk> btree2;
  std::vector<uint64_t> visited;  // B-tree v1 node addresses, sorted
  // Fixed and extensible array headers.
  uint64_t header_address = 0;
  uint8_t client = 0;
  uint8_t entry_size = 0;
  uint8_t page_bits = 0;
  uint64_t elements = 0;          // fixed array: entries
  // Extensible array.
  uint8_t index_elements = 0;
  uint8_t array_offset_size = 0;
  uint64_t max_index_set = 0;
  unsigned index_super_blocks = 0;  // super blocks whose data blocks the index block points to directly
  uint64_t index_data_blocks = 0;
  uint64_t index_secondary_blocks = 0;
  std::vector<SuperBlockInfo> super_blocks;

  void fail(Error e) {
    if (!error) error = std::move(e);
    tasks.clear();
    btree2.reset();
  }
};

// Decodes linear index `index` of the array index into chunk coordinates and appends the chunk.
void push_linear(State& state, uint64_t index, uint64_t address, uint64_t size, uint32_t mask) {
  size_t first = state.list.coords.size();
  state.list.coords.resize(first + state.rank);
  for (size_t position = 0; position < state.rank; ++position) {
    uint64_t stride = state.down[position];
    uint64_t coordinate = stride == 0 ? 0 : index / stride;
    if (stride != 0) index %= stride;
    state.list.coords[first + static_cast<size_t>(state.index_order[position])] = coordinate;
  }
  state.list.addresses.push_back(address);
  state.list.sizes.push_back(size);
  state.list.filter_masks.push_back(mask);
}

void push_coords(State& state, const uint64_t* coords, uint64_t address, uint64_t size, uint32_t mask) {
  state.list.coords.insert(state.list.coords.end(), coords, coords + state.rank);
  state.list.addresses.push_back(address);
  state.list.sizes.push_back(size);
  state.list.filter_masks.push_back(mask);
}

// Reads one array element: an address, or (filtered) address + stored size + filter mask.
struct Element {
  uint64_t address = kUndefinedAddress;
  uint64_t size = 0;
  uint32_t mask = 0;
};

class Walker {
 public:
  Walker(FileReader& file, std::span<const ChunkIndexRequest> requests) : file_(file), states_(requests.size()) {
    for (size_t i = 0; i < requests.size(); ++i) {
      states_[i].request = &requests[i];
      Status status = start(states_[i]);
      if (!status.ok()) states_[i].fail(std::move(status).error());
    }
  }

  std::vector<Result<ChunkList>> run() {
    for (;;) {
      std::vector<Extent> extents;
      for (State& state : states_) {
        if (state.error) continue;
        for (const Task& task : state.tasks) extents.push_back({task.address, task.length});
        if (state.btree2) {
          auto more = state.btree2->pending();
          extents.insert(extents.end(), more.begin(), more.end());
        }
      }
      if (extents.empty()) break;
      Status fetched = file_.prefetch(extents);
      if (!fetched.ok()) {
        for (State& state : states_) {
          if (!state.error && (!state.tasks.empty() || state.btree2)) state.fail(fetched.error());
        }
        break;
      }
      for (State& state : states_) {
        if (state.error) continue;
        std::vector<Task> tasks = std::move(state.tasks);
        state.tasks.clear();
        for (const Task& task : tasks) {
          Status status = process(state, task);
          if (!status.ok()) {
            state.fail(std::move(status).error());
            break;
          }
        }
        if (!state.error && state.btree2) {
          Status status = state.btree2->step(file_);
          if (!status.ok()) {
            state.fail(std::move(status).error());
          } else if (state.btree2->done()) {
            BTreeV2Records records = state.btree2->take();
            state.btree2.reset();
            Status decoded = decode_btree2(state, records);
            if (!decoded.ok()) state.fail(std::move(decoded).error());
          }
        }
      }
    }
    std::vector<Result<ChunkList>> results;
    results.reserve(states_.size());
    for (State& state : states_) {
      if (state.error) {
        results.emplace_back(std::move(*state.error));
      } else {
        results.emplace_back(std::move(state.list));
      }
    }
    return results;
  }

 private:
  Status start(State& state) {
    const ChunkIndexRequest& request = *state.request;
    const DataLayout* layout = request.layout;
    if (layout == nullptr || layout->kind != StorageKind::kChunked) {
      return make_error(ErrorCode::kInvalidArgument, "{}: chunk index requested for a dataset that is not chunked",
                        file_.url());
    }
    state.layout = layout;
    state.rank = request.shape.size();
    state.list.rank = state.rank;
    constexpr std::string_view kStructure = "chunked data layout";
    if (layout->chunk_dims.size() != state.rank || state.rank == 0) {
      return file_.corrupt(kStructure, layout->index_address,
                           fmt::format("{} chunk dimensions for a dataspace of rank {}", layout->chunk_dims.size(),
                                       state.rank));
    }
    if (!request.max_shape.empty() && request.max_shape.size() != state.rank) {
      return file_.corrupt(kStructure, layout->index_address, "maximum dimensions disagree with the rank");
    }
    uint64_t bytes = layout->element_size;
    for (uint64_t dim : layout->chunk_dims) {
      if (dim == 0 || !checked_mul(bytes, dim, bytes)) {
        return file_.corrupt(kStructure, layout->index_address, "chunk size overflows or is zero");
      }
    }
    if (bytes == 0) return file_.corrupt(kStructure, layout->index_address, "element size 0");
    state.chunk_bytes = bytes;
    std::vector<uint64_t> max_chunks(state.rank);
    int unlimited = -1;
    int unlimited_count = 0;
    for (size_t u = 0; u < state.rank; ++u) {
      state.grid.push_back(ceil_div(request.shape[u], layout->chunk_dims[u]));
      uint64_t max = request.max_shape.empty() ? request.shape[u] : request.max_shape[u];
      if (max == kUnlimited) {
        max_chunks[u] = kUnlimited;
        if (unlimited < 0) unlimited = static_cast<int>(u);
        ++unlimited_count;
      } else {
        max_chunks[u] = ceil_div(std::max(max, request.shape[u]), layout->chunk_dims[u]);
      }
    }
    // The array indexes linearise over the maximum-dims grid; the extensible array first moves its unlimited
    // dimension to the slowest position (H5VM_swizzle_coords).
    state.index_order.resize(state.rank);
    for (size_t u = 0; u < state.rank; ++u) state.index_order[u] = static_cast<int>(u);
    if (layout->index == ChunkIndexKind::kExtensibleArray && unlimited > 0) {
      std::rotate(state.index_order.begin(), state.index_order.begin() + unlimited,
                  state.index_order.begin() + unlimited + 1);
    }
    for (size_t position = 0; position < state.rank; ++position) {
      state.index_grid.push_back(max_chunks[static_cast<size_t>(state.index_order[position])]);
    }
    state.down.assign(state.rank, 1);
    for (size_t position = state.rank - 1; position > 0; --position) {
      uint64_t next = state.index_grid[position];
      if (next == kUnlimited || !checked_mul(state.down[position], next, state.down[position - 1])) {
        if (layout->index == ChunkIndexKind::kFixedArray || layout->index == ChunkIndexKind::kImplicit ||
            layout->index == ChunkIndexKind::kExtensibleArray) {
          return file_.corrupt(kStructure, layout->index_address,
                               "the chunk grid of the maximum dimensions cannot be linearised (unlimited or too large)");
        }
        state.down[position - 1] = 0;
      }
    }
    (void)unlimited_count;

    const uint64_t address = layout->index_address;
    switch (layout->index) {
      case ChunkIndexKind::kSingleChunk: {
        if (address == kUndefinedAddress) return ok_status();
        std::vector<uint64_t> zeros(state.rank, 0);
        bool filtered = (layout->flags & 0x02) != 0;
        push_coords(state, zeros.data(), address, filtered ? layout->single_chunk_filtered_size : state.chunk_bytes,
                    filtered ? layout->single_chunk_filter_mask : 0);
        return ok_status();
      }
      case ChunkIndexKind::kImplicit: {
        if (address == kUndefinedAddress) return ok_status();
        FLOE_ASSIGN_OR_RETURN(uint64_t file_size, file_.size());
        uint64_t count = 1;
        for (uint64_t n : state.grid) {
          if (!checked_mul(count, n, count)) count = ~0ull;
        }
        if (count > file_size / state.chunk_bytes + 1) {
          return file_.corrupt("implicit chunk index", address,
                               fmt::format("{} chunks of {} bytes cannot fit in a file of {} bytes", count,
                                           state.chunk_bytes, file_size));
        }
        std::vector<uint64_t> scaled(state.rank, 0);
        for (uint64_t i = 0; i < count; ++i) {
          uint64_t index = 0;
          for (size_t u = 0; u < state.rank; ++u) index += scaled[u] * state.down[u];
          uint64_t offset = 0, chunk_address = 0;
          if (!checked_mul(index, state.chunk_bytes, offset) || !checked_add(address, offset, chunk_address)) {
            return file_.corrupt("implicit chunk index", address, "chunk address overflows");
          }
          push_coords(state, scaled.data(), chunk_address, state.chunk_bytes, 0);
          for (size_t u = state.rank; u-- > 0;) {
            if (++scaled[u] < state.grid[u]) break;
            scaled[u] = 0;
          }
        }
        return ok_status();
      }
      case ChunkIndexKind::kBTreeV1: {
        if (address == kUndefinedAddress) return ok_status();
        Task task;
        task.kind = TaskKind::kBTreeV1Node;
        task.address = address;
        task.length = btree_v1_node_size(state, kBTreeV1DefaultEntries);
        state.tasks.push_back(task);
        return ok_status();
      }
      case ChunkIndexKind::kFixedArray: {
        if (address == kUndefinedAddress) return ok_status();
        Task task;
        task.kind = TaskKind::kFixedHeader;
        task.address = address;
        task.length = 4 + 4 + file_.length_size + file_.offset_size + 4;
        state.tasks.push_back(task);
        return ok_status();
      }
      case ChunkIndexKind::kExtensibleArray: {
        if (address == kUndefinedAddress) return ok_status();
        if (unlimited_count != 1) {
          return file_.corrupt(kStructure, address,
                               fmt::format("extensible array index with {} unlimited dimensions", unlimited_count));
        }
        Task task;
        task.kind = TaskKind::kEAHeader;
        task.address = address;
        task.length = 12 + 6ull * file_.length_size + file_.offset_size + 4;
        state.tasks.push_back(task);
        return ok_status();
      }
      case ChunkIndexKind::kBTreeV2:
        if (address == kUndefinedAddress) return ok_status();
        state.btree2.emplace(address);
        return ok_status();
    }
    return ok_status();
  }

  uint64_t btree_v1_key_size(const State& state) const { return 8 + 8 * (state.rank + 1); }
  uint64_t btree_v1_node_size(const State& state, uint64_t entries) const {
    return 8 + 2ull * file_.offset_size + entries * file_.offset_size + (entries + 1) * btree_v1_key_size(state);
  }

  Status process(State& state, const Task& task) {
    switch (task.kind) {
      case TaskKind::kBTreeV1Node: return btree_v1_node(state, task);
      case TaskKind::kFixedHeader: return fixed_header(state, task);
      case TaskKind::kFixedData: return fixed_data(state, task);
      case TaskKind::kEAHeader: return ea_header(state, task);
      case TaskKind::kEAIndex: return ea_index(state, task);
      case TaskKind::kEASecondary: return ea_secondary(state, task);
      case TaskKind::kEAData: return ea_data(state, task);
    }
    return ok_status();
  }

  // ---- B-tree v1 (type 1: raw data chunks) ----
  Status btree_v1_node(State& state, const Task& task) {
    constexpr std::string_view kStructure = "v1 B-tree chunk node";
    auto seen = std::lower_bound(state.visited.begin(), state.visited.end(), task.address);
    if (seen != state.visited.end() && *seen == task.address) {
      return file_.corrupt(kStructure, task.address, "node referenced twice (cycle or shared subtree)");
    }
    state.visited.insert(seen, task.address);
    FLOE_ASSIGN_OR_RETURN(Bytes head, file_.read(task.address, 8, kStructure));
    Cursor prefix(file_, head, task.address, kStructure);
    if (!prefix.expect_signature("TREE")) return prefix.error();
    uint8_t type = prefix.u8();
    uint8_t level = prefix.u8();
    uint16_t entries = prefix.u16();
    if (!prefix.ok()) return prefix.error();
    if (type != 1) return file_.corrupt(kStructure, task.address, fmt::format("node type {} (expected 1)", type));
    if (level > kBTreeV1MaxLevel || (task.level >= 0 && level != task.level)) {
      return file_.corrupt(kStructure, task.address,
                           fmt::format("level {} where {} was expected", level, task.level));
    }
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, btree_v1_node_size(state, entries), kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    in.skip(8);
    in.offset();  // left sibling
    in.offset();  // right sibling
    std::vector<uint64_t> offsets(state.rank + 1);
    std::vector<uint64_t> scaled(state.rank);
    for (uint16_t i = 0; i < entries; ++i) {
      uint32_t size = in.u32();
      uint32_t mask = in.u32();
      for (auto& offset : offsets) offset = in.u64();
      uint64_t child = in.offset();
      if (!in.ok()) return in.error();
      if (child == kUndefinedAddress) continue;
      if (level > 0) {
        Task next;
        next.kind = TaskKind::kBTreeV1Node;
        next.address = child;
        next.level = level - 1;
        next.length = btree_v1_node_size(state, kBTreeV1DefaultEntries);
        state.tasks.push_back(next);
        continue;
      }
      for (size_t u = 0; u < state.rank; ++u) {
        uint64_t dim = state.layout->chunk_dims[u];
        if (offsets[u] % dim != 0) {
          return file_.corrupt(kStructure, task.address,
                               fmt::format("chunk offset {} is not a multiple of the chunk dimension {}", offsets[u],
                                           dim));
        }
        scaled[u] = offsets[u] / dim;
      }
      push_coords(state, scaled.data(), child, size, mask);
    }
    return in.status();
  }

  // ---- Fixed array ----
  Status check_entry_size(State& state, std::string_view structure, uint64_t address) {
    uint8_t want = state.client == 0 ? file_.offset_size : 0;
    if (state.client > 1) return file_.corrupt(structure, address, fmt::format("client id {}", state.client));
    if (state.client == 0 && state.entry_size != want) {
      return file_.corrupt(structure, address, fmt::format("element size {} for unfiltered chunks", state.entry_size));
    }
    if (state.client == 1 &&
        (state.entry_size <= file_.offset_size + 4 || state.entry_size > file_.offset_size + 4 + 8)) {
      return file_.corrupt(structure, address, fmt::format("element size {} for filtered chunks", state.entry_size));
    }
    return ok_status();
  }

  Element element(const State& state, Cursor& in) const {
    Element e;
    e.address = in.offset();
    if (state.client == 1) {
      e.size = in.uint(state.entry_size - file_.offset_size - 4u);
      e.mask = in.u32();
    } else {
      e.size = state.chunk_bytes;
    }
    return e;
  }

  Status fixed_header(State& state, const Task& task) {
    constexpr std::string_view kStructure = "fixed array header";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    if (!in.expect_signature("FAHD")) return in.error();
    uint8_t version = in.u8();
    state.client = in.u8();
    state.entry_size = in.u8();
    state.page_bits = in.u8();
    state.elements = in.length();
    uint64_t data_block = in.offset();
    if (!in.ok()) return in.error();
    if (!checksum_matches(bytes.span())) return file_.corrupt(kStructure, task.address, "checksum mismatch");
    if (version != 0) return file_.unsupported(kStructure, task.address, fmt::format("version {}", version));
    FLOE_RETURN_IF_ERROR(check_entry_size(state, kStructure, task.address));
    if (state.page_bits == 0 || state.page_bits > 32) {
      return file_.corrupt(kStructure, task.address, fmt::format("page bits {}", state.page_bits));
    }
    FLOE_ASSIGN_OR_RETURN(uint64_t file_size, file_.size());
    if (state.elements > file_size / state.entry_size) {
      return file_.corrupt(kStructure, task.address,
                           fmt::format("{} elements cannot fit in a file of {} bytes", state.elements, file_size));
    }
    state.header_address = task.address;
    if (data_block == kUndefinedAddress || state.elements == 0) return ok_status();
    Task next;
    next.kind = TaskKind::kFixedData;
    next.address = data_block;
    next.length = fixed_data_size(state);
    state.tasks.push_back(next);
    return ok_status();
  }

  uint64_t fixed_prefix_size() const { return 4 + 1 + 1 + file_.offset_size; }

  // The data block with its pages: elements <= file size / entry size, so nothing overflows.
  uint64_t fixed_data_size(const State& state) const {
    uint64_t page = 1ull << state.page_bits;
    if (state.elements <= page) return fixed_prefix_size() + state.elements * state.entry_size + 4;
    uint64_t pages = ceil_div(state.elements, page);
    return fixed_prefix_size() + ceil_div(pages, 8) + 4 + pages * 4 + state.elements * state.entry_size;
  }

  Status fixed_data(State& state, const Task& task) {
    constexpr std::string_view kStructure = "fixed array data block";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    if (!in.expect_signature("FADB")) return in.error();
    uint8_t version = in.u8();
    uint8_t client = in.u8();
    uint64_t header = in.offset();
    if (!in.ok()) return in.error();
    if (version != 0) return file_.unsupported(kStructure, task.address, fmt::format("version {}", version));
    if (client != state.client || header != state.header_address) {
      return file_.corrupt(kStructure, task.address, "client id or header address disagrees with the header");
    }
    uint64_t page = 1ull << state.page_bits;
    if (state.elements <= page) {
      size_t end = fixed_prefix_size() + state.elements * state.entry_size;
      if (!checksum_matches(bytes.span().first(std::min<size_t>(end + 4, bytes.size())))) {
        return file_.corrupt(kStructure, task.address, "checksum mismatch");
      }
      for (uint64_t i = 0; i < state.elements; ++i) {
        Element e = element(state, in);
        if (!in.ok()) return in.error();
        if (e.address != kUndefinedAddress) push_linear(state, i, e.address, e.size, e.mask);
      }
      return ok_status();
    }
    uint64_t pages = ceil_div(state.elements, page);
    Bytes bitmap = in.take(ceil_div(pages, 8));
    if (!in.ok()) return in.error();
    size_t prefix_end = in.position() + 4;
    if (!checksum_matches(bytes.span().first(std::min<size_t>(prefix_end, bytes.size())))) {
      return file_.corrupt(kStructure, task.address, "checksum mismatch");
    }
    size_t position = prefix_end;
    for (uint64_t p = 0; p < pages; ++p) {
      uint64_t count = p + 1 == pages && state.elements % page != 0 ? state.elements % page : page;
      size_t page_size = count * state.entry_size + 4;
      if (bit_set(bitmap, p)) {
        uint64_t page_address = task.address + position;
        Cursor page_in(file_, bytes.slice(position, page_size), page_address, "fixed array data block page");
        if (page_in.remaining() != page_size) {
          return file_.corrupt("fixed array data block page", page_address, "truncated");
        }
        if (!checksum_matches(page_in.bytes().span())) {
          return file_.corrupt("fixed array data block page", page_address, "checksum mismatch");
        }
        for (uint64_t i = 0; i < count; ++i) {
          Element e = element(state, page_in);
          if (!page_in.ok()) return page_in.error();
          if (e.address != kUndefinedAddress) push_linear(state, p * page + i, e.address, e.size, e.mask);
        }
      }
      position += page_size;
    }
    return ok_status();
  }

  // ---- Extensible array ----
  Status ea_header(State& state, const Task& task) {
    constexpr std::string_view kStructure = "extensible array header";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    if (!in.expect_signature("EAHD")) return in.error();
    uint8_t version = in.u8();
    state.client = in.u8();
    state.entry_size = in.u8();
    uint8_t max_bits = in.u8();
    state.index_elements = in.u8();
    uint8_t min_elements = in.u8();
    uint8_t min_pointers = in.u8();
    state.page_bits = in.u8();
    for (int i = 0; i < 4; ++i) in.length();  // super blocks, their size, data blocks, their size
    state.max_index_set = in.length();
    in.length();  // elements realised
    uint64_t index_block = in.offset();
    if (!in.ok()) return in.error();
    if (!checksum_matches(bytes.span())) return file_.corrupt(kStructure, task.address, "checksum mismatch");
    if (version != 0) return file_.unsupported(kStructure, task.address, fmt::format("version {}", version));
    FLOE_RETURN_IF_ERROR(check_entry_size(state, kStructure, task.address));
    int min_elements_log2 = exact_log2(min_elements);
    int min_pointers_log2 = exact_log2(min_pointers);
    if (max_bits == 0 || max_bits > 64 || min_elements_log2 < 0 || min_pointers_log2 < 0 ||
        min_elements_log2 > max_bits || state.page_bits > 32) {
      return file_.corrupt(kStructure, task.address,
                           fmt::format("parameters max bits {}, data block elements {}, pointers {}, page bits {}",
                                       max_bits, min_elements, min_pointers, state.page_bits));
    }
    // The super block table (H5EA__hdr_init).
    unsigned super_blocks = 1u + max_bits - static_cast<unsigned>(min_elements_log2);
    uint64_t start_index = 0;
    for (unsigned u = 0; u < super_blocks; ++u) {
      SuperBlockInfo info;
      info.data_blocks = 1ull << (u / 2);
      uint64_t factor = 1ull << ((u + 1) / 2);
      info.block_elements = factor > (~0ull / min_elements) ? ~0ull : factor * min_elements;
      info.start_index = start_index;
      uint64_t span = 0;
      if (!checked_mul(info.data_blocks, info.block_elements, span) || !checked_add(start_index, span, start_index)) {
        start_index = ~0ull;
      }
      state.super_blocks.push_back(info);
    }
    state.index_super_blocks = 2u * static_cast<unsigned>(min_pointers_log2);
    if (state.index_super_blocks > super_blocks) {
      return file_.corrupt(kStructure, task.address, "more index-block super blocks than super blocks");
    }
    state.index_data_blocks = 2ull * (min_pointers - 1u);
    state.index_secondary_blocks = super_blocks - state.index_super_blocks;
    state.array_offset_size = static_cast<uint8_t>((max_bits + 7) / 8);
    state.header_address = task.address;
    if (index_block == kUndefinedAddress) return ok_status();
    Task next;
    next.kind = TaskKind::kEAIndex;
    next.address = index_block;
    next.length = 4 + 1 + 1 + file_.offset_size + uint64_t{state.index_elements} * state.entry_size +
                  (state.index_data_blocks + state.index_secondary_blocks) * file_.offset_size + 4;
    state.tasks.push_back(next);
    return ok_status();
  }

  Status ea_block_prefix(const State& state, Cursor& in, std::string_view signature, std::string_view structure,
                         uint64_t address) {
    if (!in.expect_signature(signature)) return in.error();
    uint8_t version = in.u8();
    uint8_t client = in.u8();
    uint64_t header = in.offset();
    if (!in.ok()) return in.error();
    if (version != 0) return file_.unsupported(structure, address, fmt::format("version {}", version));
    if (client != state.client || header != state.header_address) {
      return file_.corrupt(structure, address, "client id or header address disagrees with the header");
    }
    return ok_status();
  }

  uint64_t page_elements(const State& state) const { return 1ull << state.page_bits; }

  uint64_t ea_data_size(const State& state, uint64_t elements) const {
    uint64_t prefix = 4 + 1 + 1 + file_.offset_size + state.array_offset_size;
    uint64_t page = page_elements(state);
    if (elements <= page) return prefix + elements * state.entry_size + 4;
    return prefix + 4 + (elements / page) * (page * state.entry_size + 4);
  }

  Status add_ea_data(State& state, uint64_t address, uint64_t first_index, uint64_t elements, const Bytes* bitmap,
                     uint64_t bitmap_first) {
    if (address == kUndefinedAddress || first_index >= state.max_index_set) return ok_status();
    FLOE_ASSIGN_OR_RETURN(uint64_t file_size, file_.size());
    if (elements > file_size / state.entry_size) {
      return file_.corrupt("extensible array data block", address, "larger than the file");
    }
    Task task;
    task.kind = TaskKind::kEAData;
    task.address = address;
    task.first_index = first_index;
    task.elements = elements;
    task.length = ea_data_size(state, elements);
    if (bitmap != nullptr) {
      task.page_bitmap = *bitmap;
      task.bitmap_first = bitmap_first;
      task.bitmap_known = true;
    }
    state.tasks.push_back(std::move(task));
    return ok_status();
  }

  Status ea_index(State& state, const Task& task) {
    constexpr std::string_view kStructure = "extensible array index block";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    FLOE_RETURN_IF_ERROR(ea_block_prefix(state, in, "EAIB", kStructure, task.address));
    if (!checksum_matches(bytes.span())) return file_.corrupt(kStructure, task.address, "checksum mismatch");
    for (uint64_t i = 0; i < state.index_elements; ++i) {
      Element e = element(state, in);
      if (!in.ok()) return in.error();
      if (e.address != kUndefinedAddress && i < state.max_index_set) push_linear(state, i, e.address, e.size, e.mask);
    }
    // Data blocks of the first super blocks, in order.
    uint64_t data_block = 0;
    for (unsigned u = 0; u < state.index_super_blocks; ++u) {
      const SuperBlockInfo& info = state.super_blocks[u];
      for (uint64_t j = 0; j < info.data_blocks && data_block < state.index_data_blocks; ++j, ++data_block) {
        uint64_t address = in.offset();
        if (!in.ok()) return in.error();
        FLOE_RETURN_IF_ERROR(add_ea_data(state, address, state.index_elements + info.start_index +
                                                             j * info.block_elements,
                                         info.block_elements, nullptr, 0));
      }
    }
    for (; data_block < state.index_data_blocks; ++data_block) in.offset();
    for (uint64_t s = 0; s < state.index_secondary_blocks; ++s) {
      uint64_t address = in.offset();
      if (!in.ok()) return in.error();
      unsigned u = state.index_super_blocks + static_cast<unsigned>(s);
      const SuperBlockInfo& info = state.super_blocks[u];
      if (address == kUndefinedAddress || state.index_elements + info.start_index >= state.max_index_set) continue;
      uint64_t page = page_elements(state);
      // Page-init bitmap: whole bytes per data block (H5EA__sblock_alloc).
      uint64_t bitmap_bytes = info.block_elements > page ? info.data_blocks * ceil_div(info.block_elements / page, 8)
                                                         : 0;
      Task next;
      next.kind = TaskKind::kEASecondary;
      next.address = address;
      next.super_block = u;
      next.length = 4 + 1 + 1 + file_.offset_size + state.array_offset_size + bitmap_bytes +
                    info.data_blocks * file_.offset_size + 4;
      state.tasks.push_back(next);
    }
    return in.status();
  }

  Status ea_secondary(State& state, const Task& task) {
    constexpr std::string_view kStructure = "extensible array secondary block";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    FLOE_RETURN_IF_ERROR(ea_block_prefix(state, in, "EASB", kStructure, task.address));
    if (!checksum_matches(bytes.span())) return file_.corrupt(kStructure, task.address, "checksum mismatch");
    in.uint(state.array_offset_size);  // block offset
    const SuperBlockInfo& info = state.super_blocks[task.super_block];
    uint64_t page = page_elements(state);
    bool paged = info.block_elements > page;
    uint64_t pages_per_block = paged ? info.block_elements / page : 0;
    // The bitmap's size rounds each data block's pages up to whole bytes, but the bits run on contiguously
    // (H5EA__sblock_alloc sizes it; H5EA__lookup_elmt indexes it as block * pages + page).
    Bytes bitmap = paged ? in.take(info.data_blocks * ceil_div(pages_per_block, 8)) : Bytes();
    for (uint64_t j = 0; j < info.data_blocks; ++j) {
      uint64_t address = in.offset();
      if (!in.ok()) return in.error();
      FLOE_RETURN_IF_ERROR(add_ea_data(state, address, state.index_elements + info.start_index +
                                                           j * info.block_elements,
                                       info.block_elements, paged ? &bitmap : nullptr, j * pages_per_block));
    }
    return in.status();
  }

  Status ea_data(State& state, const Task& task) {
    constexpr std::string_view kStructure = "extensible array data block";
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read(task.address, task.length, kStructure));
    Cursor in(file_, bytes, task.address, kStructure);
    FLOE_RETURN_IF_ERROR(ea_block_prefix(state, in, "EADB", kStructure, task.address));
    in.uint(state.array_offset_size);  // block offset
    if (!in.ok()) return in.error();
    uint64_t page = page_elements(state);
    if (task.elements <= page) {
      size_t end = in.position() + task.elements * state.entry_size + 4;
      if (!checksum_matches(bytes.span().first(std::min(end, bytes.size())))) {
        return file_.corrupt(kStructure, task.address, "checksum mismatch");
      }
      for (uint64_t i = 0; i < task.elements; ++i) {
        uint64_t index = task.first_index + i;
        Element e = element(state, in);
        if (!in.ok()) return in.error();
        if (index >= state.max_index_set) break;
        if (e.address != kUndefinedAddress) push_linear(state, index, e.address, e.size, e.mask);
      }
      return ok_status();
    }
    size_t position = in.position() + 4;
    if (!checksum_matches(bytes.span().first(std::min(position, bytes.size())))) {
      return file_.corrupt(kStructure, task.address, "checksum mismatch");
    }
    uint64_t pages = task.elements / page;
    size_t page_size = page * state.entry_size + 4;
    for (uint64_t p = 0; p < pages; ++p, position += page_size) {
      uint64_t first = task.first_index + p * page;
      if (first >= state.max_index_set) break;
      if (task.bitmap_known && !bit_set(task.page_bitmap, task.bitmap_first + p)) continue;
      uint64_t page_address = task.address + position;
      Cursor page_in(file_, bytes.slice(position, page_size), page_address, "extensible array data block page");
      if (page_in.remaining() != page_size) {
        return file_.corrupt("extensible array data block page", page_address, "truncated");
      }
      if (!checksum_matches(page_in.bytes().span())) {
        return file_.corrupt("extensible array data block page", page_address, "checksum mismatch");
      }
      for (uint64_t i = 0; i < page; ++i) {
        Element e = element(state, page_in);
        if (!page_in.ok()) return page_in.error();
        if (first + i >= state.max_index_set) break;
        if (e.address != kUndefinedAddress) push_linear(state, first + i, e.address, e.size, e.mask);
      }
    }
    return ok_status();
  }

  // ---- B-tree v2 (records 10 and 11) ----
  Status decode_btree2(State& state, const BTreeV2Records& records) {
    constexpr std::string_view kStructure = "v2 B-tree chunk record";
    const uint64_t address = state.layout->index_address;
    uint64_t fixed = file_.offset_size + 8ull * state.rank;
    size_t size_width = 0;
    if (records.type == 10) {
      if (records.record_size != fixed) {
        return file_.corrupt(kStructure, address,
                             fmt::format("record size {} for rank {} (expected {})", records.record_size, state.rank,
                                         fixed));
      }
    } else if (records.type == 11) {
      if (records.record_size <= fixed + 4 || records.record_size > fixed + 4 + 8) {
        return file_.corrupt(kStructure, address,
                             fmt::format("filtered record size {} for rank {}", records.record_size, state.rank));
      }
      size_width = records.record_size - fixed - 4;
    } else {
      return file_.corrupt(kStructure, address, fmt::format("record type {} in a chunk index", records.type));
    }
    std::vector<uint64_t> scaled(state.rank);
    for (size_t i = 0; i < records.records.size(); ++i) {
      Cursor in(file_, records.records[i], records.record_addresses[i], kStructure);
      uint64_t chunk_address = in.offset();
      uint64_t size = state.chunk_bytes;
      uint32_t mask = 0;
      if (records.type == 11) {
        size = in.uint(size_width);
        mask = in.u32();
      }
      for (auto& s : scaled) s = in.u64();
      if (!in.ok()) return in.error();
      if (chunk_address == kUndefinedAddress) continue;
      push_coords(state, scaled.data(), chunk_address, size, mask);
    }
    return ok_status();
  }

  FileReader& file_;
  std::vector<State> states_;
};

}  // namespace

std::vector<Result<ChunkList>> read_chunk_indexes(FileReader& file, std::span<const ChunkIndexRequest> requests) {
  Walker walker(file, requests);
  return walker.run();
}

}  // namespace floe::formats::hdf5
