// The Data Layout message (versions 1-4): compact, contiguous or chunked storage and the chunk index parameters.
#pragma once

#include <cstdint>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

enum class StorageKind { kCompact, kContiguous, kChunked, kVirtual };
enum class ChunkIndexKind { kBTreeV1, kSingleChunk, kImplicit, kFixedArray, kExtensibleArray, kBTreeV2 };

struct DataLayout {
  int version = 3;
  StorageKind kind = StorageKind::kContiguous;
  // Contiguous: where the data is (kUndefinedAddress when never written) and its size in bytes.
  uint64_t address = kUndefinedAddress;
  uint64_t size = 0;
  // Compact: the raw bytes inside the object header, and the file address they start at.
  Bytes compact_data;
  uint64_t compact_address = kUndefinedAddress;
  // Chunked: elements per chunk along each axis (rank entries; the trailing element-size entry removed).
  std::vector<uint64_t> chunk_dims;
  uint32_t element_size = 0;          // from the layout message (chunked v1-v3: the trailing dimension)
  ChunkIndexKind index = ChunkIndexKind::kBTreeV1;
  uint64_t index_address = kUndefinedAddress;  // B-tree v1 root, chunk address (single), FAHD, EAHD, BTHD
  uint8_t flags = 0;                           // version 4 chunked flags
  // Single chunk, filtered (flags bit 1): the stored size and filter mask held in the message.
  uint64_t single_chunk_filtered_size = 0;
  uint32_t single_chunk_filter_mask = 0;
  // Fixed array: page bits. Extensible array: max bits, index block elements, min pointers, min elements,
  // page bits. B-tree v2: node size, split and merge percentages.
  uint8_t fixed_array_page_bits = 0;
  uint8_t ea_max_bits = 0, ea_index_elements = 0, ea_min_pointers = 0, ea_min_elements = 0, ea_page_bits = 0;
  uint32_t bt2_node_size = 0;
  uint8_t bt2_split_percent = 0, bt2_merge_percent = 0;
};

// Parses the message body at `address` (`rank` from the dataspace, needed by versions 1 and 2).
Result<DataLayout> parse_layout_message(const FileReader& file, const Bytes& body, uint64_t address, size_t rank);

}  // namespace floe::formats::hdf5
