// Heaps and old-style group indexes: global heap collections, fractal heaps (managed, tiny and huge objects;
// direct and indirect blocks) and symbol-table groups (B-tree v1 type 0, SNOD, local heap), all read in
// shared rounds for many objects at once.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/messages.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

// Global heap collections ("GCOL"), loaded in batches and looked up by heap id.
class GlobalHeap {
 public:
  // Loads every collection named by `ids` that is not loaded yet: one speculative round (collections are at
  // least 4 KiB) and one for larger collections.
  void load(FileReader& file, std::span<const GlobalHeapId> ids);
  Result<Bytes> object(const FileReader& file, const GlobalHeapId& id) const;

 private:
  Status parse(const FileReader& file, uint64_t address, const Bytes& bytes);
  std::map<uint64_t, std::map<uint32_t, Bytes>> collections_;
  std::map<uint64_t, Error> failures_;
};

struct FractalHeapHeader {
  uint64_t address = kUndefinedAddress;
  uint16_t heap_id_length = 0;
  uint16_t filter_info_length = 0;
  uint8_t flags = 0;
  uint32_t max_managed_object_size = 0;
  uint64_t huge_btree_address = kUndefinedAddress;
  uint16_t table_width = 0;
  uint64_t starting_block_size = 0;
  uint64_t max_direct_block_size = 0;
  uint16_t max_heap_size_bits = 0;
  uint64_t root_block_address = kUndefinedAddress;
  uint16_t root_rows = 0;  // current rows in the root indirect block; 0 = the root is a direct block
  // Derived from the doubling table.
  size_t heap_offset_size = 0;  // bytes of a heap offset (in ids and block headers)
  size_t heap_length_size = 0;  // bytes of a managed object's length in ids
  uint32_t max_direct_rows = 0;
};

// Parses "FRHP" (with checksum) from bytes read at `address`; `bytes` may extend past the header.
Result<FractalHeapHeader> parse_fractal_heap_header(const FileReader& file, const Bytes& bytes, uint64_t address);
inline constexpr uint64_t kFractalHeapHeaderReadSize = 256;  // the header is 146 bytes with 8-byte O and L

struct HeapObjectRequest {
  const FractalHeapHeader* heap = nullptr;
  Bytes id;
};

// The objects named by heap ids of many heaps: one round per indirect-block level, one for the objects.
// Filtered heaps and huge objects of filtered heaps are kUnsupported.
std::vector<Result<Bytes>> read_fractal_heap_objects(FileReader& file, std::span<const HeapObjectRequest> requests);

// One old-style group: its symbol table message and, after reading, its members in name order.
struct SymbolTableGroup {
  SymbolTableInfo info;
  std::vector<Link> links;
};

// Every member of many symbol-table groups, one round per B-tree level.
std::vector<Status> read_symbol_table_groups(FileReader& file, std::span<SymbolTableGroup> groups,
                                             uint16_t internal_k, uint16_t leaf_k);

}  // namespace floe::formats::hdf5
