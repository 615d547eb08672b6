// Version-2 B-trees (BTHD/BTIN/BTLF): every record of many trees, read level by level in shared rounds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

struct BTreeV2Records {
  uint8_t type = 0;            // record type from the header (5, 6, 8, 9, 10, 11, ...)
  uint32_t record_size = 0;
  std::vector<Bytes> records;  // in key order; each `record_size` bytes (record_address gives its address)
  std::vector<uint64_t> record_addresses;
};

// One result per header address. All trees are walked together: one prefetch round per tree level.
std::vector<Result<BTreeV2Records>> read_btree_v2(FileReader& file, std::span<const uint64_t> header_addresses);

}  // namespace floe::formats::hdf5
