// Version-2 B-trees: header, internal and leaf nodes with checksums, walked breadth-first in shared rounds.
#include "floe/formats/hdf5/btree2.h"

#include <algorithm>

#include <fmt/format.h>

namespace floe::formats::hdf5 {
namespace {

constexpr size_t kNodePrefix = 10;  // signature, version, type, checksum
constexpr uint16_t kMaxDepth = 32;  // a tree this deep would hold far more than 2^32 records
constexpr uint32_t kMaxNodeSize = 16u << 20;

// Bytes needed to encode `value` (H5VM_limit_enc_size): floor(log2(value)) / 8 + 1.
uint8_t encoded_width(uint64_t value) {
  int log2 = 0;
  while (value >>= 1) ++log2;
  return static_cast<uint8_t>(log2 / 8 + 1);
}

uint64_t saturating_mul_add(uint64_t a, uint64_t b, uint64_t c) {
  if (b != 0 && a > ~0ull / b) return ~0ull;
  uint64_t product = a * b;
  return product > ~0ull - c ? ~0ull : product + c;
}

}  // namespace

std::vector<Extent> BTreeV2Walk::pending() const {
  std::vector<Extent> extents;
  if (done_) return extents;
  if (!header_read_) {
    extents.push_back({header_address_, 64});  // the header is 22 + O + L bytes
    return extents;
  }
  extents.reserve(level_.size());
  for (size_t index : level_) extents.push_back({nodes_[index].address, node_size_});
  return extents;
}

Status BTreeV2Walk::read_header(FileReader& file) {
  constexpr std::string_view kStructure = "v2 B-tree header";
  uint64_t size = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + file.offset_size + 2 + file.length_size + 4;
  FLOE_ASSIGN_OR_RETURN(Bytes bytes, file.read(header_address_, size, kStructure));
  Cursor in(file, bytes, header_address_, kStructure);
  if (!in.expect_signature("BTHD")) return in.error();
  uint8_t version = in.u8();
  result_.type = in.u8();
  node_size_ = in.u32();
  result_.record_size = in.u16();
  depth_ = in.u16();
  in.skip(2);  // split and merge percentages
  uint64_t root = in.offset();
  uint16_t root_records = in.u16();
  total_records_ = in.length();
  if (!in.ok()) return in.error();
  if (!checksum_matches(bytes.span())) return file.corrupt(kStructure, header_address_, "checksum mismatch");
  if (version != 0) return file.unsupported(kStructure, header_address_, fmt::format("version {}", version));
  if (node_size_ <= kNodePrefix || node_size_ > kMaxNodeSize || result_.record_size == 0) {
    return file.corrupt(kStructure, header_address_,
                        fmt::format("node size {} / record size {}", node_size_, result_.record_size));
  }
  if (depth_ > kMaxDepth) return file.corrupt(kStructure, header_address_, fmt::format("depth {}", depth_));
  // Node capacities per depth (H5B2__hdr_init).
  max_records_.assign(depth_ + 1, 0);
  cum_max_records_.assign(depth_ + 1, 0);
  cum_size_width_.assign(depth_ + 1, 0);
  max_records_[0] = static_cast<uint32_t>((node_size_ - kNodePrefix) / result_.record_size);
  if (max_records_[0] == 0) return file.corrupt(kStructure, header_address_, "a leaf cannot hold one record");
  count_width_ = encoded_width(max_records_[0]);
  cum_max_records_[0] = max_records_[0];
  for (size_t d = 1; d <= depth_; ++d) {
    uint64_t pointer = file.offset_size + count_width_ + (d > 1 ? cum_size_width_[d - 1] : 0);
    if (node_size_ < kNodePrefix + pointer) return file.corrupt(kStructure, header_address_, "node size too small");
    max_records_[d] = static_cast<uint32_t>((node_size_ - kNodePrefix - pointer) / (result_.record_size + pointer));
    if (max_records_[d] == 0) {
      return file.corrupt(kStructure, header_address_, "an internal node cannot hold one record");
    }
    cum_max_records_[d] = saturating_mul_add(max_records_[d] + 1ull, cum_max_records_[d - 1], max_records_[d]);
    cum_size_width_[d] = encoded_width(cum_max_records_[d]);
  }
  header_read_ = true;
  if (root == kUndefinedAddress || total_records_ == 0) {
    done_ = true;
    return ok_status();
  }
  Node node;
  node.address = root;
  node.depth = depth_;
  node.records = root_records;
  node.total = total_records_;
  nodes_.push_back(node);
  level_.push_back(0);
  return ok_status();
}

Status BTreeV2Walk::read_node(FileReader& file, size_t index) {
  const bool leaf = nodes_[index].depth == 0;
  const std::string_view structure = leaf ? "v2 B-tree leaf node" : "v2 B-tree internal node";
  const uint64_t address = nodes_[index].address;
  const uint16_t depth = nodes_[index].depth;
  const uint64_t count = nodes_[index].records;
  auto seen = std::lower_bound(visited_.begin(), visited_.end(), address);
  if (seen != visited_.end() && *seen == address) {
    return file.corrupt(structure, address, "node referenced twice (cycle or shared subtree)");
  }
  visited_.insert(seen, address);
  if (count > max_records_[depth]) {
    return file.corrupt(structure, address,
                        fmt::format("{} records but the node holds at most {}", count, max_records_[depth]));
  }
  FLOE_ASSIGN_OR_RETURN(Bytes bytes, file.read(address, node_size_, structure));
  Cursor in(file, bytes, address, structure);
  if (!in.expect_signature(leaf ? "BTLF" : "BTIN")) return in.error();
  uint8_t version = in.u8();
  uint8_t type = in.u8();
  if (!in.ok()) return in.error();
  if (version != 0) return file.unsupported(structure, address, fmt::format("version {}", version));
  if (type != result_.type) {
    return file.corrupt(structure, address, fmt::format("record type {} in a tree of type {}", type, result_.type));
  }
  nodes_[index].first_record = records_.size();
  nodes_[index].record_count = count;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t record_address = in.address();
    records_.push_back(in.take(result_.record_size));
    record_addresses_.push_back(record_address);
  }
  if (!leaf) {
    uint64_t subtree = count;
    for (uint64_t i = 0; i <= count; ++i) {
      Node child;
      child.address = in.offset();
      child.depth = static_cast<uint16_t>(depth - 1);
      child.records = in.uint(count_width_);
      child.total = depth > 1 ? in.uint(cum_size_width_[depth - 1]) : child.records;
      if (!in.ok()) return in.error();
      if (child.address == kUndefinedAddress) return file.corrupt(structure, address, "undefined child address");
      if (child.total < child.records) return file.corrupt(structure, address, "child record totals disagree");
      subtree = subtree + child.total < subtree ? ~0ull : subtree + child.total;
      nodes_[index].children.push_back(nodes_.size());
      nodes_.push_back(child);
    }
    if (subtree != nodes_[index].total) {
      return file.corrupt(structure, address,
                          fmt::format("subtree holds {} records but its parent says {}", subtree, nodes_[index].total));
    }
  } else if (count != nodes_[index].total) {
    return file.corrupt(structure, address, "leaf record count disagrees with its parent");
  }
  if (!in.ok()) return in.error();
  size_t checked = in.position() + 4;
  if (!checksum_matches(bytes.span().first(checked))) return file.corrupt(structure, address, "checksum mismatch");
  return ok_status();
}

Status BTreeV2Walk::step(FileReader& file) {
  if (done_) return ok_status();
  Status status = ok_status();
  if (!header_read_) {
    status = read_header(file);
  } else {
    std::vector<size_t> level = std::move(level_);
    level_.clear();
    for (size_t index : level) {
      status = read_node(file, index);
      if (!status.ok()) break;
      for (size_t child : nodes_[index].children) level_.push_back(child);
    }
    if (status.ok() && level_.empty()) {
      // In-order traversal: records of a node interleave with its children (child i before record i).
      result_.records.reserve(records_.size());
      result_.record_addresses.reserve(records_.size());
      struct Frame {
        size_t node;
        size_t next;  // next child position
      };
      std::vector<Frame> stack;
      if (!nodes_.empty()) stack.push_back({0, 0});
      while (!stack.empty()) {
        Frame& frame = stack.back();
        const Node& node = nodes_[frame.node];
        if (node.children.empty()) {
          for (size_t i = 0; i < node.record_count; ++i) {
            result_.records.push_back(records_[node.first_record + i]);
            result_.record_addresses.push_back(record_addresses_[node.first_record + i]);
          }
          stack.pop_back();
          continue;
        }
        size_t position = frame.next;
        if (position > 0 && position - 1 < node.record_count) {
          result_.records.push_back(records_[node.first_record + position - 1]);
          result_.record_addresses.push_back(record_addresses_[node.first_record + position - 1]);
        }
        if (position < node.children.size()) {
          ++frame.next;
          stack.push_back({node.children[position], 0});
        } else {
          stack.pop_back();
        }
      }
      records_.clear();
      record_addresses_.clear();
      done_ = true;
    }
  }
  if (!status.ok()) done_ = true;
  return status;
}

BTreeV2Records BTreeV2Walk::take() { return std::move(result_); }

std::vector<Result<BTreeV2Records>> read_btree_v2(FileReader& file, std::span<const uint64_t> header_addresses) {
  std::vector<BTreeV2Walk> walks;
  walks.reserve(header_addresses.size());
  for (uint64_t address : header_addresses) walks.emplace_back(address);
  std::vector<Result<BTreeV2Records>> results(header_addresses.size(), Result<BTreeV2Records>(BTreeV2Records{}));
  std::vector<bool> finished(walks.size(), false);
  for (;;) {
    std::vector<Extent> extents;
    for (size_t i = 0; i < walks.size(); ++i) {
      if (finished[i]) continue;
      auto more = walks[i].pending();
      extents.insert(extents.end(), more.begin(), more.end());
    }
    if (extents.empty()) break;
    Status fetched = file.prefetch(extents);
    if (!fetched.ok()) {
      for (size_t i = 0; i < walks.size(); ++i) {
        if (!finished[i]) results[i] = fetched.error();
      }
      break;
    }
    for (size_t i = 0; i < walks.size(); ++i) {
      if (finished[i]) continue;
      Status status = walks[i].step(file);
      if (!status.ok()) {
        results[i] = std::move(status).error();
        finished[i] = true;
      } else if (walks[i].done()) {
        results[i] = walks[i].take();
        finished[i] = true;
      }
    }
  }
  for (size_t i = 0; i < walks.size(); ++i) {
    if (!finished[i] && walks[i].done()) results[i] = walks[i].take();
  }
  return results;
}

}  // namespace floe::formats::hdf5
