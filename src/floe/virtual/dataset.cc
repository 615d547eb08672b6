// The virtual dataset model: interned chunk manifests, contiguous splitting, chunk grids, variable policy.
#include "floe/virtual/dataset.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace floe::virt {

ChunkManifest::ChunkManifest(const ChunkManifest& other)
    : paths_(other.paths_),
      chunks_(other.chunks_),
      path_indexes_(other.path_indexes_),
      offsets_(other.offsets_),
      lengths_(other.lengths_),
      long_lengths_(other.long_lengths_) {
  for (size_t i = 0; i < paths_.size(); ++i) path_lookup_.emplace(paths_[i], static_cast<uint32_t>(i));
}

ChunkManifest& ChunkManifest::operator=(const ChunkManifest& other) {
  if (this != &other) *this = ChunkManifest(other);
  return *this;
}

uint32_t ChunkManifest::intern(std::string_view url) {
  auto found = path_lookup_.find(url);
  if (found != path_lookup_.end()) return found->second;
  auto index = static_cast<uint32_t>(paths_.size());
  paths_.emplace_back(url);
  path_lookup_.emplace(paths_.back(), index);
  return index;
}

void ChunkManifest::add(uint64_t chunk, uint32_t path, uint64_t offset, uint64_t length) {
  chunks_.push_back(chunk);
  path_indexes_.push_back(path);
  offsets_.push_back(offset);
  lengths_.push_back(0);
  set_length(lengths_.size() - 1, length);
}

void ChunkManifest::set_length(size_t i, uint64_t length) {
  if (length >= kLongLength) {
    lengths_[i] = kLongLength;
    long_lengths_[i] = length;
    return;
  }
  if (lengths_[i] == kLongLength) long_lengths_.erase(i);
  lengths_[i] = static_cast<uint32_t>(length);
}

uint64_t ChunkManifest::memory_bytes() const {
  uint64_t bytes = chunks_.capacity() * sizeof(uint64_t) + path_indexes_.capacity() * sizeof(uint32_t) +
                   offsets_.capacity() * sizeof(uint64_t) + lengths_.capacity() * sizeof(uint32_t);
  for (const std::string& path : paths_) bytes += sizeof(std::string) + path.capacity() + 1;
  // The lookup: one node per path (key, value, hash, next pointer) plus the bucket array.
  bytes += path_lookup_.size() * (sizeof(std::string_view) + 2 * sizeof(void*) + 2 * sizeof(uint64_t)) +
           path_lookup_.bucket_count() * sizeof(void*);
  bytes += long_lengths_.size() * 4 * sizeof(uint64_t);
  return bytes;
}

void ChunkManifest::reserve(size_t n) {
  chunks_.reserve(n);
  path_indexes_.reserve(n);
  offsets_.reserve(n);
  lengths_.reserve(n);
}

std::vector<uint64_t> split_contiguous(const std::vector<uint64_t>& shape, uint64_t element_size,
                                       uint64_t max_chunk_bytes) {
  std::vector<uint64_t> chunk;
  chunk.reserve(shape.size());
  for (uint64_t extent : shape) chunk.push_back(std::max<uint64_t>(extent, 1));
  if (shape.empty()) return chunk;
  uint64_t row_bytes = std::max<uint64_t>(element_size, 1);
  for (size_t axis = 1; axis < chunk.size(); ++axis) {
    if (chunk[axis] != 0 && row_bytes > UINT64_MAX / chunk[axis]) return chunk;  // absurd; keep one chunk
    row_bytes *= chunk[axis];
  }
  uint64_t rows = std::max<uint64_t>(1, max_chunk_bytes / row_bytes);
  chunk[0] = std::min(chunk[0], rows);
  return chunk;
}

std::vector<uint64_t> split_contiguous_evenly(const std::vector<uint64_t>& shape, uint64_t element_size,
                                              uint64_t max_chunk_bytes) {
  std::vector<uint64_t> chunk = split_contiguous(shape, element_size, max_chunk_bytes);
  if (chunk.empty() || shape[0] == 0) return chunk;
  uint64_t rows = chunk[0];
  while (shape[0] % rows != 0) --rows;  // terminates at 1
  chunk[0] = rows;
  return chunk;
}

std::vector<uint64_t> chunk_counts(const VirtualArray& array) {
  std::vector<uint64_t> counts;
  counts.reserve(array.shape.size());
  for (size_t axis = 0; axis < array.shape.size(); ++axis) {
    if (axis < array.chunk_edges.size() && !array.chunk_edges[axis].empty()) {
      counts.push_back(array.chunk_edges[axis].size());
      continue;
    }
    uint64_t chunk = std::max<uint64_t>(array.chunk_shape[axis], 1);
    counts.push_back(std::max<uint64_t>(1, (array.shape[axis] + chunk - 1) / chunk));
  }
  return counts;
}

uint64_t chunk_number(const std::vector<uint64_t>& coords, const std::vector<uint64_t>& counts) {
  uint64_t number = 0;
  for (size_t axis = 0; axis < counts.size(); ++axis) number = number * counts[axis] + coords[axis];
  return number;
}

std::vector<uint64_t> chunk_coordinates(uint64_t number, const std::vector<uint64_t>& counts) {
  std::vector<uint64_t> coords(counts.size());
  for (size_t axis = counts.size(); axis-- > 0;) {
    coords[axis] = number % counts[axis];
    number /= counts[axis];
  }
  return coords;
}

namespace {

void for_each_array(VirtualGroup& group, const std::string& prefix,
                    const std::function<void(VirtualGroup&, VirtualArray&, const std::string&)>& visit) {
  for (VirtualArray& array : group.arrays) visit(group, array, prefix + "/" + array.name);
  for (VirtualGroup& child : group.groups) for_each_array(child, prefix + "/" + child.name, visit);
}

bool matches(const std::set<std::string>& names, const std::string& name, const std::string& path,
             std::set<std::string>& used) {
  for (const std::string& candidate : {name, path}) {
    if (names.count(candidate)) {
      used.insert(candidate);
      return true;
    }
  }
  return false;
}

}  // namespace

Status apply_variable_policy(VirtualDataset& dataset, const std::vector<std::string>& loadable,
                             const std::vector<std::string>& drop) {
  std::set<std::string> loadable_names(loadable.begin(), loadable.end());
  std::set<std::string> drop_names(drop.begin(), drop.end());
  std::set<std::string> used;
  std::set<std::string> dropped_paths;
  // CF bounds variables (a coordinate's "bounds" attribute names them) are small and per file: loaded too.
  std::set<std::string> bounds;
  for_each_array(dataset.root, "", [&](VirtualGroup&, VirtualArray& array, const std::string&) {
    auto named = array.attributes.find("bounds");
    if (named != array.attributes.end() && named->is_string()) bounds.insert(named->get<std::string>());
  });
  for_each_array(dataset.root, "", [&](VirtualGroup&, VirtualArray& array, const std::string& path) {
    if (matches(drop_names, array.name, path, used)) {
      dropped_paths.insert(path);
      return;
    }
    bool by_default = array.shape.empty() || array.dimension_coordinate || bounds.count(array.name) > 0;
    // Matched first: naming a coordinate that loads by default anyway is not an unknown name.
    bool named = matches(loadable_names, array.name, path, used);
    array.loadable = array.loadable || by_default || named;
  });
  std::function<void(VirtualGroup&, const std::string&)> prune = [&](VirtualGroup& group, const std::string& prefix) {
    std::erase_if(group.arrays, [&](const VirtualArray& a) { return dropped_paths.count(prefix + "/" + a.name) > 0; });
    for (VirtualGroup& child : group.groups) prune(child, prefix + "/" + child.name);
  };
  prune(dataset.root, "");
  std::vector<std::string> unknown;
  for (const std::string& name : loadable_names) if (!used.count(name)) unknown.push_back(name);
  for (const std::string& name : drop_names) if (!used.count(name)) unknown.push_back(name);
  if (!unknown.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: no variable named {} (names are variable names or paths "
                      "like /group/var)", dataset.source_url, fmt::join(unknown, ", "));
  }
  return ok_status();
}

}  // namespace floe::virt
