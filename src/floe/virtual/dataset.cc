// The virtual dataset model: interned chunk manifests, contiguous splitting, variable policy, concatenation.
#include "floe/virtual/dataset.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace floe::virt {

uint32_t ChunkManifest::intern(std::string_view url) {
  auto found = path_lookup_.find(std::string(url));
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
  lengths_.push_back(length);
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
  for_each_array(dataset.root, "", [&](VirtualGroup&, VirtualArray& array, const std::string& path) {
    if (matches(drop_names, array.name, path, used)) {
      dropped_paths.insert(path);
      return;
    }
    bool by_default = array.shape.empty() || array.dimension_coordinate;
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

namespace floe::virt {
namespace {

struct ArrayParts {
  std::vector<VirtualArray*> parts;  // one per dataset, in order
  std::vector<const std::string*> sources;
};

std::string describe(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

// The first structural difference between two arrays that must agree, or "".
std::string difference(const VirtualArray& a, const VirtualArray& b, std::optional<size_t> concat_axis) {
  if (a.dims != b.dims) return fmt::format("dimensions ({}) vs ({})", fmt::join(a.dims, ", "), fmt::join(b.dims, ", "));
  if (a.data_type != b.data_type) return fmt::format("data type {} vs {}", describe(a.data_type), describe(b.data_type));
  if (a.codecs != b.codecs) return fmt::format("codecs {} vs {}", describe(a.codecs), describe(b.codecs));
  if (a.chunk_shape != b.chunk_shape) {
    return fmt::format("chunk shape ({}) vs ({})", fmt::join(a.chunk_shape, ", "), fmt::join(b.chunk_shape, ", "));
  }
  if (a.fill_value != b.fill_value) return fmt::format("fill value {} vs {}", describe(a.fill_value), describe(b.fill_value));
  for (size_t axis = 0; axis < a.shape.size(); ++axis) {
    if (concat_axis && axis == *concat_axis) continue;
    if (a.shape[axis] != b.shape[axis]) {
      return fmt::format("length of dimension {} {} vs {}", a.dims[axis], a.shape[axis], b.shape[axis]);
    }
  }
  for (const char* key : {"scale_factor", "add_offset", "units", "calendar", "_FillValue", "missing_value", "_Unsigned"}) {
    const Json none;
    const Json& va = a.attributes.contains(key) ? a.attributes[key] : none;
    const Json& vb = b.attributes.contains(key) ? b.attributes[key] : none;
    if (va != vb) return fmt::format("attribute {} {} vs {}", key, describe(va), describe(vb));
  }
  return "";
}

Status collect(VirtualGroup& group, const std::string& prefix, size_t dataset_index, const std::string& source,
               const std::string& first_source, std::map<std::string, ArrayParts>& arrays,
               std::map<std::string, size_t>& group_counts) {
  ++group_counts[prefix.empty() ? "/" : prefix];
  for (VirtualArray& array : group.arrays) {
    ArrayParts& parts = arrays[prefix + "/" + array.name];
    if (parts.parts.size() != dataset_index) {
      return make_error(ErrorCode::kInvalidArgument, "{} has variable {} which {} does not have", source,
                        prefix + "/" + array.name, first_source);
    }
    parts.parts.push_back(&array);
    parts.sources.push_back(&source);
  }
  for (VirtualGroup& child : group.groups) {
    FLOE_RETURN_IF_ERROR(collect(child, prefix + "/" + child.name, dataset_index, source, first_source, arrays,
                                 group_counts));
  }
  return ok_status();
}

}  // namespace

Result<VirtualDataset> concatenate(std::vector<VirtualDataset> datasets, std::string_view dim) {
  if (datasets.empty()) return make_error(ErrorCode::kInvalidArgument, "nothing to concatenate");
  if (datasets.size() == 1) return std::move(datasets.front());
  std::map<std::string, ArrayParts> arrays;
  std::map<std::string, size_t> group_counts;
  const std::string& first_source = datasets.front().source_url;
  for (size_t i = 0; i < datasets.size(); ++i) {
    FLOE_RETURN_IF_ERROR(collect(datasets[i].root, "", i, datasets[i].source_url, first_source, arrays, group_counts));
  }
  for (const auto& [group, count] : group_counts) {
    if (count != datasets.size()) {
      return make_error(ErrorCode::kInvalidArgument, "group {} is not in every file (first file: {})", group,
                        first_source);
    }
  }
  bool dim_found = false;
  for (auto& [path, parts] : arrays) {
    if (parts.parts.size() != datasets.size()) {
      return make_error(ErrorCode::kInvalidArgument, "{} has variable {} which {} does not have",
                        *parts.sources.front(), path, datasets[parts.parts.size()].source_url);
    }
    VirtualArray& target = *parts.parts.front();
    auto axis_it = std::find(target.dims.begin(), target.dims.end(), dim);
    std::optional<size_t> axis;
    if (axis_it != target.dims.end()) axis = static_cast<size_t>(axis_it - target.dims.begin());
    dim_found = dim_found || axis.has_value();
    for (size_t i = 1; i < parts.parts.size(); ++i) {
      std::string diff = difference(target, *parts.parts[i], axis);
      if (!diff.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "{} and {} differ in variable {}: {}", *parts.sources[0],
                          *parts.sources[i], path, diff);
      }
    }
    if (!axis) continue;  // identical in every file: the first file's is kept
    // Chunk offsets along the axis: every file but the last must end on a chunk boundary.
    const uint64_t chunk = std::max<uint64_t>(target.chunk_shape[*axis], 1);
    std::vector<uint64_t> chunk_offsets;
    uint64_t total = 0;
    for (size_t i = 0; i < parts.parts.size(); ++i) {
      if (total % chunk != 0) {
        return make_error(ErrorCode::kUnsupported,
                          "variable {}: {} has {} along {}, not a multiple of its chunk length {}, so {} would start "
                          "inside a chunk; files with partial chunks along the concatenation dimension cannot be "
                          "joined yet (regular chunk grid)",
                          path, *parts.sources[i - 1], parts.parts[i - 1]->shape[*axis], dim, chunk, *parts.sources[i]);
      }
      chunk_offsets.push_back(total / chunk);
      total += parts.parts[i]->shape[*axis];
    }
    std::vector<std::vector<uint64_t>> part_counts;
    for (const VirtualArray* part : parts.parts) part_counts.push_back(chunk_counts(*part));
    VirtualArray& joined = *parts.parts.front();
    joined.shape[*axis] = total;
    const std::vector<uint64_t> joined_counts = chunk_counts(joined);
    ChunkManifest refs;
    std::map<uint64_t, Bytes> inline_chunks;
    for (size_t i = 0; i < parts.parts.size(); ++i) {
      const VirtualArray& part = *parts.parts[i];
      auto remap = [&, i](uint64_t linear) {
        std::vector<uint64_t> coords = chunk_coordinates(linear, part_counts[i]);
        coords[*axis] += chunk_offsets[i];
        return chunk_number(coords, joined_counts);
      };
      refs.append(part.refs, remap);
      for (const auto& [linear, bytes] : part.inline_chunks) inline_chunks.emplace(remap(linear), bytes);
    }
    joined.refs = std::move(refs);
    joined.inline_chunks = std::move(inline_chunks);
  }
  if (!dim_found) {
    return make_error(ErrorCode::kInvalidArgument, "no variable of {} has the dimension {} to concatenate along",
                      first_source, dim);
  }
  return std::move(datasets.front());
}

}  // namespace floe::virt
