// The superblock (versions 0-3), its extension and the File Space Info message that marks paged files.
#pragma once

#include <cstdint>
#include <span>

#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

struct Superblock {
  int version = 0;
  uint64_t signature_offset = 0;  // absolute file offset of the format signature (user block size)
  uint8_t offset_size = 8;
  uint8_t length_size = 8;
  uint64_t base_address = 0;      // absolute; every other address is relative to it
  uint64_t end_of_file_address = kUndefinedAddress;
  uint64_t root_object_header = kUndefinedAddress;
  uint64_t extension_address = kUndefinedAddress;  // versions 2 and 3
  uint16_t group_leaf_k = 4;        // symbol table node capacity is 2K entries
  uint16_t group_internal_k = 16;   // group B-tree v1 nodes hold 2K children
  uint16_t chunk_btree_k = 32;      // version 1 or the B-tree 'K' message of the extension
  uint64_t page_size = 0;           // paged aggregation page size from File Space Info (0 = not paged)
  uint8_t file_space_strategy = 0;
};

// Signature positions: 0, 512, 1024, 2048, ... (a user block is a power of two >= 512).
bool has_hdf5_signature_at(std::span<const std::byte> bytes, size_t position);

// Finds and parses the superblock, sets the reader's offset/length sizes and base address, reads the
// superblock extension (B-tree K values, File Space Info) and switches paged files to page-sized blocks.
Result<Superblock> read_superblock(FileReader& file);

}  // namespace floe::formats::hdf5
