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

// The walk of one tree, step by step, for callers that share prefetch rounds with other structures (the chunk
// indexes): prefetch pending() of every walk, then step() each; repeat until done(). read_btree_v2 is this loop.
class BTreeV2Walk {
 public:
  explicit BTreeV2Walk(uint64_t header_address) : header_address_(header_address) {}

  // What the next step reads: the header first, then every node of the next level (exact node sizes).
  std::vector<Extent> pending() const;
  // Parses the pending header or level; an error ends the walk.
  Status step(FileReader& file);
  bool done() const { return done_; }
  // The records in key order, once done().
  BTreeV2Records take();

 private:
  struct Node {
    uint64_t address = 0;
    uint16_t depth = 0;
    uint64_t records = 0;  // from the parent pointer
    uint64_t total = 0;    // records in the subtree, from the parent pointer (or the header for the root)
    size_t first_record = 0, record_count = 0;  // into records_
    std::vector<size_t> children;               // indexes into nodes_
  };
  Status read_header(FileReader& file);
  Status read_node(FileReader& file, size_t index);

  uint64_t header_address_;
  bool header_read_ = false;
  bool done_ = false;
  uint32_t node_size_ = 0;
  uint16_t depth_ = 0;
  uint64_t total_records_ = 0;
  std::vector<uint32_t> max_records_;     // per depth
  std::vector<uint64_t> cum_max_records_;  // per depth
  std::vector<uint8_t> cum_size_width_;    // per depth: width of the "total records" field of pointers to it
  uint8_t count_width_ = 0;               // width of the "records in child" field
  std::vector<Node> nodes_;
  std::vector<size_t> level_;              // nodes_ read by the next step
  std::vector<uint64_t> visited_;          // node addresses, sorted
  BTreeV2Records result_;
  std::vector<Bytes> records_;
  std::vector<uint64_t> record_addresses_;
};

}  // namespace floe::formats::hdf5
