// Global heap collections, fractal heaps (doubling table, direct/indirect blocks, managed/tiny/huge ids) and
// symbol-table groups (B-tree v1 type 0 nodes, SNOD, local heap), read for many objects in shared rounds.
#include "floe/formats/hdf5/heaps.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "floe/formats/hdf5/btree2.h"

namespace floe::formats::hdf5 {

namespace {

constexpr uint64_t kMinGlobalHeapCollection = 4096;
constexpr int kMaxIndirectDepth = 32;

uint64_t load_le(const std::byte* p, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= std::to_integer<uint64_t>(p[i]) << (8 * i);
  return value;
}

uint32_t log2_floor(uint64_t value) { return value == 0 ? 0 : 63 - static_cast<uint32_t>(std::countl_zero(value)); }

}  // namespace

// ---- global heap -------------------------------------------------------------------------------------------

Status GlobalHeap::parse(const FileReader& file, uint64_t address, const Bytes& bytes) {
  Cursor cursor(file, bytes, address, "global heap collection (GCOL)");
  if (!cursor.expect_signature("GCOL")) return cursor.error();
  uint8_t version = cursor.u8();
  cursor.skip(3);
  uint64_t size = cursor.length();
  if (!cursor.ok()) return cursor.error();
  if (version != 1) return file.unsupported("global heap collection (GCOL)", address, fmt::format("version {}", version));
  if (size > bytes.size()) {
    return file.corrupt("global heap collection (GCOL)", address,
                        fmt::format("collection size {} exceeds the {} bytes read", size, bytes.size()));
  }
  Cursor objects(file, bytes.slice(0, size), address, "global heap object");
  objects.seek(cursor.position());
  auto& collection = collections_[address];
  const size_t object_header = 8 + file.length_size;
  while (objects.ok() && objects.remaining() >= object_header) {
    uint16_t index = objects.u16();
    objects.u16();  // reference count
    objects.u32();  // reserved
    uint64_t object_size = objects.length();
    if (index == 0) break;  // free space: the rest of the collection
    if (object_size > objects.remaining()) {
      return file.corrupt("global heap object", objects.address(),
                          fmt::format("object {} of {} bytes overruns its collection", index, object_size));
    }
    collection[index] = objects.take(object_size);
    objects.skip(std::min<uint64_t>((8 - object_size % 8) % 8, objects.remaining()));
  }
  return objects.status();
}

void GlobalHeap::load(FileReader& file, std::span<const GlobalHeapId> ids) {
  std::set<uint64_t> wanted;
  for (const GlobalHeapId& id : ids) {
    if (id.collection == kUndefinedAddress || collections_.count(id.collection) || failures_.count(id.collection)) {
      continue;
    }
    wanted.insert(id.collection);
  }
  if (wanted.empty()) return;
  std::vector<Extent> extents;
  for (uint64_t address : wanted) extents.push_back({address, kMinGlobalHeapCollection});
  Status status = file.prefetch(extents);
  std::vector<Extent> larger;
  std::vector<uint64_t> larger_addresses;
  for (uint64_t address : wanted) {
    if (!status.ok()) {
      failures_.emplace(address, status.error());
      continue;
    }
    auto head = file.read_at_most(address, kMinGlobalHeapCollection, "global heap collection (GCOL)");
    if (!head.ok()) {
      failures_.emplace(address, std::move(head).error());
      continue;
    }
    Cursor cursor(file, *head, address, "global heap collection (GCOL)");
    cursor.skip(8);
    uint64_t size = cursor.length();
    if (!cursor.ok()) {
      failures_.emplace(address, cursor.error());
      continue;
    }
    if (size <= head->size()) {
      Status parsed = parse(file, address, *head);
      if (!parsed.ok()) failures_.emplace(address, std::move(parsed).error());
    } else {
      larger.push_back({address, size});
    }
  }
  if (larger.empty()) return;
  status = file.prefetch(larger);
  for (const Extent& extent : larger) {
    auto bytes = status.ok() ? file.read(extent.address, extent.length, "global heap collection (GCOL)")
                             : Result<Bytes>(status.error());
    if (!bytes.ok()) {
      failures_.emplace(extent.address, std::move(bytes).error());
      continue;
    }
    Status parsed = parse(file, extent.address, *bytes);
    if (!parsed.ok()) failures_.emplace(extent.address, std::move(parsed).error());
  }
}

Result<Bytes> GlobalHeap::object(const FileReader& file, const GlobalHeapId& id) const {
  auto failed = failures_.find(id.collection);
  if (failed != failures_.end()) return failed->second;
  auto collection = collections_.find(id.collection);
  if (collection == collections_.end()) {
    return file.corrupt("global heap collection (GCOL)", id.collection, "collection was not loaded");
  }
  auto object = collection->second.find(id.index);
  if (object == collection->second.end()) {
    return file.corrupt("global heap collection (GCOL)", id.collection,
                        fmt::format("no object with index {}", id.index));
  }
  return object->second;
}

// ---- fractal heap ------------------------------------------------------------------------------------------

Result<FractalHeapHeader> parse_fractal_heap_header(const FileReader& file, const Bytes& bytes, uint64_t address) {
  constexpr std::string_view kStructure = "fractal heap header (FRHP)";
  Cursor cursor(file, bytes, address, kStructure);
  FractalHeapHeader heap;
  heap.address = address;
  if (!cursor.expect_signature("FRHP")) return cursor.error();
  uint8_t version = cursor.u8();
  heap.heap_id_length = cursor.u16();
  heap.filter_info_length = cursor.u16();
  heap.flags = cursor.u8();
  heap.max_managed_object_size = cursor.u32();
  cursor.length();  // next huge object id
  heap.huge_btree_address = cursor.offset();
  cursor.length();  // free space in managed blocks
  cursor.offset();  // free-space manager
  cursor.length();  // managed space
  cursor.length();  // allocated managed space
  cursor.length();  // direct block allocation iterator offset
  cursor.length();  // managed objects
  cursor.length();  // huge objects size
  cursor.length();  // huge objects count
  cursor.length();  // tiny objects size
  cursor.length();  // tiny objects count
  heap.table_width = cursor.u16();
  heap.starting_block_size = cursor.length();
  heap.max_direct_block_size = cursor.length();
  heap.max_heap_size_bits = cursor.u16();
  cursor.u16();  // starting rows of the root indirect block
  heap.root_block_address = cursor.offset();
  heap.root_rows = cursor.u16();
  if (heap.filter_info_length > 0) {
    cursor.length();  // filtered root direct block size
    cursor.u32();     // filter mask
    cursor.skip(heap.filter_info_length);
  }
  size_t checked = cursor.position();
  cursor.u32();
  if (!cursor.ok()) return cursor.error();
  if (version != 0) return file.unsupported(kStructure, address, fmt::format("version {}", version));
  if (!checksum_matches(bytes.span().subspan(0, checked + 4))) {
    return file.corrupt(kStructure, address, "checksum mismatch");
  }
  bool power_of_two = std::has_single_bit(heap.starting_block_size) && std::has_single_bit(heap.max_direct_block_size) &&
                      std::has_single_bit(uint64_t{heap.table_width});
  if (!power_of_two || heap.max_direct_block_size < heap.starting_block_size || heap.max_heap_size_bits == 0 ||
      heap.max_heap_size_bits > 64 || heap.heap_id_length == 0 || heap.root_rows > 64) {
    return file.corrupt(kStructure, address,
                        fmt::format("impossible doubling table (width {}, starting block {}, max direct block {}, "
                                    "heap bits {}, root rows {})",
                                    heap.table_width, heap.starting_block_size, heap.max_direct_block_size,
                                    heap.max_heap_size_bits, heap.root_rows));
  }
  heap.heap_offset_size = (heap.max_heap_size_bits + 7) / 8;
  size_t direct_offset_size = (log2_floor(heap.max_direct_block_size) + 7) / 8;
  size_t managed_length_size = log2_floor(std::max<uint64_t>(heap.max_managed_object_size, 1)) / 8 + 1;
  heap.heap_length_size = std::min(direct_offset_size, managed_length_size);
  heap.max_direct_rows = log2_floor(heap.max_direct_block_size) - log2_floor(heap.starting_block_size) + 2;
  return heap;
}

namespace {

struct DoublingTable {
  const FractalHeapHeader* heap;
  uint64_t row_block_size(uint32_t row) const {
    return row == 0 ? heap->starting_block_size : heap->starting_block_size << (row - 1);
  }
  uint64_t row_offset(uint32_t row) const {
    uint64_t first_row = heap->starting_block_size * heap->table_width;
    return row == 0 ? 0 : first_row << (row - 1);
  }
  uint32_t row_of(uint64_t relative) const {
    uint64_t first_row = heap->starting_block_size * heap->table_width;
    if (relative < first_row) return 0;
    return log2_floor(relative / first_row) + 1;
  }
  uint32_t rows_of_indirect(uint64_t block_size) const {
    uint64_t first_row = heap->starting_block_size * heap->table_width;
    return log2_floor(block_size) - log2_floor(first_row) + 1;
  }
  bool filtered() const { return heap->filter_info_length > 0; }
  uint64_t indirect_block_size(const FileReader& file, uint32_t rows) const {
    uint64_t direct_rows = std::min<uint64_t>(rows, heap->max_direct_rows);
    uint64_t direct_entry = file.offset_size + (filtered() ? file.length_size + 4 : 0);
    return 4 + 1 + file.offset_size + heap->heap_offset_size + direct_rows * heap->table_width * direct_entry +
           (rows - direct_rows) * heap->table_width * file.offset_size + 4;
  }
};

struct ManagedLookup {
  uint64_t offset = 0;
  uint64_t length = 0;
  // Where the walk is: an indirect block to read, or the direct block found.
  uint64_t block_address = kUndefinedAddress;
  uint64_t block_offset = 0;  // heap offset of the block's first byte
  uint32_t block_rows = 0;    // indirect block rows
  bool direct = false;
  uint64_t direct_size = 0;
  int depth = 0;
};

}  // namespace

std::vector<Result<Bytes>> read_fractal_heap_objects(FileReader& file, std::span<const HeapObjectRequest> requests) {
  std::vector<std::optional<Result<Bytes>>> results(requests.size());
  std::vector<std::optional<ManagedLookup>> lookups(requests.size());
  // Huge objects whose ids hold a B-tree key: (request, heap) pairs resolved through the v2 B-tree.
  std::vector<std::pair<size_t, uint64_t>> huge_by_key;

  for (size_t i = 0; i < requests.size(); ++i) {
    const FractalHeapHeader& heap = *requests[i].heap;
    const Bytes& id = requests[i].id;
    constexpr std::string_view kId = "fractal heap id";
    if (id.empty()) {
      results[i] = file.corrupt(kId, heap.address, "empty heap id");
      continue;
    }
    auto first = std::to_integer<uint8_t>(id.data()[0]);
    uint8_t version = first >> 6;
    uint8_t type = (first >> 4) & 3;
    if (version != 0) {
      results[i] = file.unsupported(kId, heap.address, fmt::format("heap id version {}", version));
      continue;
    }
    if (type == 2) {  // tiny: the object is in the id
      size_t length, start;
      if (heap.heap_id_length <= 18) {
        length = (first & 0x0f) + 1u;
        start = 1;
      } else {
        length = ((size_t{first} & 0x0f) << 8 | (id.size() > 1 ? std::to_integer<size_t>(id.data()[1]) : 0)) + 1;
        start = 2;
      }
      if (start + length > id.size()) {
        results[i] = file.corrupt(kId, heap.address, fmt::format("tiny object of {} bytes overruns its id", length));
      } else {
        results[i] = id.slice(start, length);
      }
      continue;
    }
    if (type == 1) {  // huge
      if (heap.filter_info_length > 0) {
        results[i] = file.unsupported(kId, heap.address, "huge objects of a filtered fractal heap");
        continue;
      }
      if (id.size() >= 1u + file.offset_size + file.length_size && heap.heap_id_length >= 1u + file.offset_size + file.length_size) {
        uint64_t address = load_le(id.data() + 1, file.offset_size);
        uint64_t length = load_le(id.data() + 1 + file.offset_size, file.length_size);
        results[i] = file.read(address, length, "fractal heap huge object");
      } else {
        huge_by_key.emplace_back(i, heap.huge_btree_address);
      }
      continue;
    }
    if (type != 0) {
      results[i] = file.corrupt(kId, heap.address, fmt::format("heap id type {}", type));
      continue;
    }
    if (heap.filter_info_length > 0) {
      results[i] = file.unsupported("fractal heap header (FRHP)", heap.address,
                                    "the heap's blocks are compressed (I/O filters), which floe cannot read yet");
      continue;
    }
    if (1 + heap.heap_offset_size + heap.heap_length_size > id.size()) {
      results[i] = file.corrupt(kId, heap.address, "managed object id is shorter than its offset and length");
      continue;
    }
    ManagedLookup lookup;
    lookup.offset = load_le(id.data() + 1, heap.heap_offset_size);
    lookup.length = load_le(id.data() + 1 + heap.heap_offset_size, heap.heap_length_size);
    lookup.block_address = heap.root_block_address;
    if (heap.root_rows == 0) {
      lookup.direct = true;
      lookup.direct_size = heap.starting_block_size;
    } else {
      lookup.block_rows = heap.root_rows;
    }
    lookups[i] = lookup;
  }

  // Indirect blocks, level by level; parsed blocks are shared by every lookup that passes through them.
  std::map<uint64_t, Bytes> indirect_blocks;
  for (int level = 0; level <= kMaxIndirectDepth; ++level) {
    std::vector<Extent> round;
    std::set<uint64_t> seen;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (results[i] || !lookups[i] || lookups[i]->direct) continue;
      DoublingTable table{requests[i].heap};
      if (seen.insert(lookups[i]->block_address).second && !indirect_blocks.count(lookups[i]->block_address)) {
        round.push_back({lookups[i]->block_address, table.indirect_block_size(file, lookups[i]->block_rows)});
      }
    }
    if (seen.empty()) break;
    if (level == kMaxIndirectDepth) {
      for (size_t i = 0; i < requests.size(); ++i) {
        if (!results[i] && lookups[i] && !lookups[i]->direct) {
          results[i] = file.corrupt("fractal heap indirect block (FHIB)", lookups[i]->block_address,
                                    "indirect blocks nest too deeply");
        }
      }
      break;
    }
    Status status = file.prefetch(round);
    for (size_t i = 0; i < requests.size(); ++i) {
      if (results[i] || !lookups[i] || lookups[i]->direct) continue;
      if (!status.ok()) {
        results[i] = status.error();
        continue;
      }
      ManagedLookup& lookup = *lookups[i];
      const FractalHeapHeader& heap = *requests[i].heap;
      DoublingTable table{&heap};
      constexpr std::string_view kStructure = "fractal heap indirect block (FHIB)";
      uint64_t size = table.indirect_block_size(file, lookup.block_rows);
      auto bytes = file.read(lookup.block_address, size, kStructure);
      if (!bytes.ok()) {
        results[i] = std::move(bytes).error();
        continue;
      }
      Cursor cursor(file, *bytes, lookup.block_address, kStructure);
      cursor.expect_signature("FHIB");
      cursor.u8();  // version
      uint64_t owner = cursor.offset();
      uint64_t block_offset = cursor.uint(heap.heap_offset_size);
      if (!cursor.ok()) {
        results[i] = cursor.error();
        continue;
      }
      if (owner != heap.address || block_offset != lookup.block_offset) {
        results[i] = file.corrupt(kStructure, lookup.block_address,
                                  fmt::format("belongs to heap {} at heap offset {}, expected heap {} offset {}", owner,
                                              block_offset, heap.address, lookup.block_offset));
        continue;
      }
      if (!checksum_matches(bytes->span())) {
        results[i] = file.corrupt(kStructure, lookup.block_address, "checksum mismatch");
        continue;
      }
      uint64_t relative = lookup.offset - lookup.block_offset;
      uint32_t row = table.row_of(relative);
      if (lookup.offset < lookup.block_offset || row >= lookup.block_rows) {
        results[i] = file.corrupt("fractal heap id", heap.address,
                                  fmt::format("heap offset {} lies outside the heap's blocks", lookup.offset));
        continue;
      }
      uint64_t column = (relative - table.row_offset(row)) / table.row_block_size(row);
      uint64_t direct_rows = std::min<uint64_t>(lookup.block_rows, heap.max_direct_rows);
      uint64_t direct_entry = file.offset_size;
      size_t entry_position;
      if (row < direct_rows) {
        entry_position = cursor.position() + (row * heap.table_width + column) * direct_entry;
      } else {
        entry_position = cursor.position() + direct_rows * heap.table_width * direct_entry +
                         ((row - direct_rows) * heap.table_width + column) * file.offset_size;
      }
      cursor.seek(entry_position);
      uint64_t child = cursor.offset();
      if (!cursor.ok() || child == kUndefinedAddress) {
        results[i] = file.corrupt(kStructure, lookup.block_address,
                                  fmt::format("no block holds heap offset {}", lookup.offset));
        continue;
      }
      lookup.block_offset += table.row_offset(row) + column * table.row_block_size(row);
      lookup.block_address = child;
      ++lookup.depth;
      if (row < direct_rows) {
        lookup.direct = true;
        lookup.direct_size = table.row_block_size(row);
      } else {
        lookup.block_rows = table.rows_of_indirect(table.row_block_size(row));
        if (lookup.block_rows == 0 || lookup.block_rows > 64) {
          results[i] = file.corrupt(kStructure, lookup.block_address, "impossible child indirect block");
        }
      }
    }
  }

  // Direct blocks: their headers (to check ownership) and the objects, in one round.
  std::vector<Extent> round;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (results[i] || !lookups[i]) continue;
    const FractalHeapHeader& heap = *requests[i].heap;
    round.push_back({lookups[i]->block_address, 5 + file.offset_size + heap.heap_offset_size});
    round.push_back({lookups[i]->block_address + (lookups[i]->offset - lookups[i]->block_offset), lookups[i]->length});
  }
  Status status = round.empty() ? ok_status() : file.prefetch(round);
  for (size_t i = 0; i < requests.size(); ++i) {
    if (results[i] || !lookups[i]) continue;
    if (!status.ok()) {
      results[i] = status.error();
      continue;
    }
    const ManagedLookup& lookup = *lookups[i];
    const FractalHeapHeader& heap = *requests[i].heap;
    constexpr std::string_view kStructure = "fractal heap direct block (FHDB)";
    size_t header_size = 5 + file.offset_size + heap.heap_offset_size;
    auto header = file.read(lookup.block_address, header_size, kStructure);
    if (!header.ok()) {
      results[i] = std::move(header).error();
      continue;
    }
    Cursor cursor(file, *header, lookup.block_address, kStructure);
    cursor.expect_signature("FHDB");
    cursor.u8();
    uint64_t owner = cursor.offset();
    uint64_t block_offset = cursor.uint(heap.heap_offset_size);
    if (!cursor.ok()) {
      results[i] = cursor.error();
      continue;
    }
    uint64_t position = lookup.offset - lookup.block_offset;
    if (owner != heap.address || block_offset != lookup.block_offset || lookup.offset < lookup.block_offset ||
        position < header_size || position > lookup.direct_size || lookup.length > lookup.direct_size - position) {
      results[i] = file.corrupt(kStructure, lookup.block_address,
                                fmt::format("heap object at offset {} ({} bytes) is not inside this {}-byte block of "
                                            "heap {}",
                                            lookup.offset, lookup.length, lookup.direct_size, heap.address));
      continue;
    }
    results[i] = file.read(lookup.block_address + position, lookup.length, "fractal heap object");
  }

  // Huge objects indexed by a v2 B-tree (record type 1: address, length, id).
  if (!huge_by_key.empty()) {
    std::vector<uint64_t> trees;
    for (const auto& entry : huge_by_key) trees.push_back(entry.second);
    std::sort(trees.begin(), trees.end());
    trees.erase(std::unique(trees.begin(), trees.end()), trees.end());
    auto records = read_btree_v2(file, trees);
    for (const auto& entry : huge_by_key) {
      size_t i = entry.first;
      size_t tree = std::lower_bound(trees.begin(), trees.end(), entry.second) - trees.begin();
      if (!records[tree].ok()) {
        results[i] = records[tree].error();
        continue;
      }
      const Bytes& id = requests[i].id;
      size_t key_width = std::min<size_t>(id.size() - 1, file.length_size);
      uint64_t key = load_le(id.data() + 1, key_width);
      std::optional<Extent> found;
      for (const Bytes& record : records[tree]->records) {
        if (records[tree]->type != 1 || record.size() < size_t{file.offset_size} + 2u * file.length_size) break;
        uint64_t record_id = load_le(record.data() + file.offset_size + file.length_size, file.length_size);
        if (record_id == key) {
          found = Extent{load_le(record.data(), file.offset_size), load_le(record.data() + file.offset_size, file.length_size)};
          break;
        }
      }
      if (!found) {
        results[i] = file.corrupt("fractal heap huge object index", entry.second,
                                  fmt::format("no huge object with id {}", key));
      } else {
        results[i] = file.read(found->address, found->length, "fractal heap huge object");
      }
    }
  }

  std::vector<Result<Bytes>> out;
  out.reserve(results.size());
  for (auto& result : results) out.push_back(result ? std::move(*result) : Result<Bytes>(Bytes{}));
  return out;
}

// ---- symbol-table groups -----------------------------------------------------------------------------------

namespace {

struct SymbolTableWalk {
  enum class HeapState { kHeader, kData, kDone } heap_state = HeapState::kHeader;
  uint64_t heap_data_address = kUndefinedAddress;
  uint64_t heap_data_size = 0;
  Bytes heap_data;
  std::vector<uint64_t> nodes;  // B-tree nodes to read this round
  std::vector<uint64_t> snods;  // symbol table nodes to read this round
  std::set<uint64_t> visited;
  struct Entry {
    uint64_t name_offset = 0;  // in the local heap
    uint64_t header = kUndefinedAddress;
    bool soft = false;
    uint64_t soft_target_offset = 0;  // soft links: the link value's offset in the local heap
  };
  std::vector<Entry> entries;
  std::optional<Error> error;
};

}  // namespace

std::vector<Status> read_symbol_table_groups(FileReader& file, std::span<SymbolTableGroup> groups,
                                             uint16_t internal_k, uint16_t leaf_k) {
  const uint64_t node_size =
      8 + 2 * uint64_t{file.offset_size} + (2 * uint64_t{internal_k} + 1) * file.length_size + 2 * uint64_t{internal_k} * file.offset_size;
  const uint64_t entry_size = 2 * uint64_t{file.offset_size} + 24;
  const uint64_t snod_size = 8 + 2 * uint64_t{leaf_k} * entry_size;
  const uint64_t heap_header_size = 8 + 2 * uint64_t{file.length_size} + file.offset_size;
  uint64_t file_size = file.size().value_or(0);
  const uint64_t max_nodes = file_size / std::min(node_size, snod_size) + 1;

  std::vector<SymbolTableWalk> walks(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) walks[g].nodes.push_back(groups[g].info.btree_address);

  for (;;) {
    std::vector<Extent> round;
    for (size_t g = 0; g < groups.size(); ++g) {
      SymbolTableWalk& walk = walks[g];
      if (walk.error) continue;
      if (walk.heap_state == SymbolTableWalk::HeapState::kHeader) {
        round.push_back({groups[g].info.local_heap_address, heap_header_size});
      } else if (walk.heap_state == SymbolTableWalk::HeapState::kData) {
        round.push_back({walk.heap_data_address, walk.heap_data_size});
      }
      for (uint64_t node : walk.nodes) round.push_back({node, node_size});
      for (uint64_t snod : walk.snods) round.push_back({snod, snod_size});
    }
    if (round.empty()) break;
    Status status = file.prefetch(round);
    for (size_t g = 0; g < groups.size(); ++g) {
      SymbolTableWalk& walk = walks[g];
      if (walk.error) continue;
      if (!status.ok()) {
        walk.error = status.error();
        continue;
      }
      auto fail = [&walk](Error error) {
        if (!walk.error) walk.error = std::move(error);
      };
      if (walk.heap_state == SymbolTableWalk::HeapState::kHeader) {
        uint64_t address = groups[g].info.local_heap_address;
        auto bytes = file.read(address, heap_header_size, "local heap (HEAP)");
        if (!bytes.ok()) {
          fail(std::move(bytes).error());
          continue;
        }
        Cursor cursor(file, *bytes, address, "local heap (HEAP)");
        cursor.expect_signature("HEAP");
        cursor.skip(4);  // version, reserved
        walk.heap_data_size = cursor.length();
        cursor.length();  // free list head
        walk.heap_data_address = cursor.offset();
        if (!cursor.ok()) {
          fail(cursor.error());
          continue;
        }
        if (walk.heap_data_size > file_size) {
          fail(file.corrupt("local heap (HEAP)", address, fmt::format("data segment of {} bytes", walk.heap_data_size)));
          continue;
        }
        walk.heap_state = SymbolTableWalk::HeapState::kData;
      } else if (walk.heap_state == SymbolTableWalk::HeapState::kData) {
        auto bytes = file.read(walk.heap_data_address, walk.heap_data_size, "local heap data segment");
        if (!bytes.ok()) {
          fail(std::move(bytes).error());
          continue;
        }
        walk.heap_data = *bytes;
        walk.heap_state = SymbolTableWalk::HeapState::kDone;
      }
      std::vector<uint64_t> next_nodes, next_snods;
      for (uint64_t address : walk.nodes) {
        if (!walk.visited.insert(address).second || walk.visited.size() > max_nodes) {
          fail(file.corrupt("group B-tree node (TREE)", address, "node visited twice (a cycle) or too many nodes"));
          break;
        }
        auto bytes = file.read(address, node_size, "group B-tree node (TREE)");
        if (!bytes.ok()) {
          fail(std::move(bytes).error());
          break;
        }
        Cursor cursor(file, *bytes, address, "group B-tree node (TREE)");
        cursor.expect_signature("TREE");
        uint8_t type = cursor.u8();
        uint8_t level = cursor.u8();
        uint16_t used = cursor.u16();
        cursor.offset();
        cursor.offset();
        if (cursor.ok() && (type != 0 || used > 2 * internal_k)) {
          fail(file.corrupt("group B-tree node (TREE)", address,
                            fmt::format("node type {} with {} entries (expected type 0, at most {})", type, used,
                                        2 * internal_k)));
          break;
        }
        for (uint16_t e = 0; e < used && cursor.ok(); ++e) {
          cursor.length();  // key: name offset
          uint64_t child = cursor.offset();
          (level == 0 ? next_snods : next_nodes).push_back(child);
        }
        if (!cursor.ok()) {
          fail(cursor.error());
          break;
        }
      }
      for (uint64_t address : walk.snods) {
        if (!walk.visited.insert(address).second || walk.visited.size() > max_nodes) {
          fail(file.corrupt("symbol table node (SNOD)", address, "node visited twice (a cycle) or too many nodes"));
          break;
        }
        auto bytes = file.read_at_most(address, snod_size, "symbol table node (SNOD)");
        if (!bytes.ok()) {
          fail(std::move(bytes).error());
          break;
        }
        Cursor cursor(file, *bytes, address, "symbol table node (SNOD)");
        cursor.expect_signature("SNOD");
        cursor.skip(2);  // version, reserved
        uint16_t count = cursor.u16();
        if (cursor.ok() && count > 2 * leaf_k) {
          fail(file.corrupt("symbol table node (SNOD)", address,
                            fmt::format("{} entries (at most {})", count, 2 * leaf_k)));
          break;
        }
        for (uint16_t e = 0; e < count && cursor.ok(); ++e) {
          uint64_t name_offset = cursor.offset();
          uint64_t header = cursor.offset();
          uint32_t cache_type = cursor.u32();
          cursor.skip(4);  // reserved
          // Cache type 2 is a soft link: the scratch pad holds the offset of its value in the local heap (the
          // header address is undefined).
          uint32_t soft_target_offset = cursor.u32();
          cursor.skip(12);  // rest of the scratch pad
          walk.entries.push_back({name_offset, header, cache_type == 2, soft_target_offset});
        }
        if (!cursor.ok()) {
          fail(cursor.error());
          break;
        }
      }
      walk.nodes = std::move(next_nodes);
      walk.snods = std::move(next_snods);
    }
  }

  std::vector<Status> statuses;
  for (size_t g = 0; g < groups.size(); ++g) {
    SymbolTableWalk& walk = walks[g];
    if (walk.error) {
      statuses.emplace_back(std::move(*walk.error));
      continue;
    }
    std::string_view names = walk.heap_data.view();
    bool ok = true;
    for (const SymbolTableWalk::Entry& entry : walk.entries) {
      uint64_t name_offset = entry.name_offset;
      if (name_offset >= names.size()) {
        statuses.emplace_back(file.corrupt("symbol table node (SNOD)", groups[g].info.btree_address,
                                           fmt::format("name offset {} outside the {}-byte local heap", name_offset,
                                                       names.size())));
        ok = false;
        break;
      }
      std::string_view name = names.substr(name_offset);
      Link link;
      link.name = std::string(name.substr(0, name.find('\0')));
      link.address = entry.header;
      if (entry.soft) {
        link.kind = LinkKind::kSoft;
        // A value outside the heap leaves the target empty: the link then reaches nothing.
        if (entry.soft_target_offset < names.size()) {
          std::string_view target = names.substr(entry.soft_target_offset);
          link.soft_target = std::string(target.substr(0, target.find('\0')));
        }
      }
      groups[g].links.push_back(std::move(link));
    }
    if (ok) statuses.emplace_back(ok_status());
  }
  return statuses;
}

}  // namespace floe::formats::hdf5
