// Chunk indexes of chunked datasets (B-tree v1, single chunk, implicit, fixed array incl. paged, extensible
// array, B-tree v2): every allocated chunk's position, address, stored size and filter mask.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "floe/core/result.h"
#include "floe/formats/hdf5/layout.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

// Allocated chunks of one dataset, struct-of-arrays; `coords` holds rank entries per chunk, in chunk units
// (element offset / chunk dim), so chunk i is at coords[i*rank .. i*rank+rank).
struct ChunkList {
  size_t rank = 0;
  std::vector<uint64_t> coords;
  std::vector<uint64_t> addresses;
  std::vector<uint64_t> sizes;
  std::vector<uint32_t> filter_masks;
  size_t size() const { return addresses.size(); }
};

struct ChunkIndexRequest {
  const DataLayout* layout = nullptr;
  std::vector<uint64_t> shape;      // current dataspace dims
  std::vector<uint64_t> max_shape;  // maximum dims (kUnlimited entries as stored: all ones)
  bool filtered = false;            // the dataset has a filter pipeline
};

// One result per request, errors per dataset. All indexes are walked together, one prefetch round per level,
// so a file with 50 chunked variables costs as many rounds as its deepest index, not 50 times that.
std::vector<Result<ChunkList>> read_chunk_indexes(FileReader& file, std::span<const ChunkIndexRequest> requests);

}  // namespace floe::formats::hdf5
