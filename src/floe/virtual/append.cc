// Appending to a committed dataset: dimension maps from committed and incoming coordinates,
// references moved to their merged chunk positions, in-repository arrays merged by value,
// committed-only arrays resized.
#include "floe/virtual/append.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "floe/virtual/array_values.h"
#include "floe/virtual/writer.h"
#include "floe/zarr/array_metadata.h"

namespace floe::virt {
namespace {

// An array of the group as committed.
struct CommittedArray {
  const icechunk::Node* node = nullptr;
  zarr::ArrayMetadata metadata;
};

// An incoming array with its path relative to the group ("step", "mb/TMP") and its group's ("",
// "mb").
struct IncomingArray {
  VirtualArray* array = nullptr;
  std::string group;
};

// Where each incoming index of a dimension lands in the merged dimension.
struct DimensionMap {
  uint64_t committed = 0;
  uint64_t merged = 0;
  std::vector<uint64_t> position;  // incoming index -> merged index

  // True when nothing moves and nothing grows: arrays along it alone stay as committed.
  bool unchanged() const {
    if (merged != committed || position.size() != committed) return false;
    for (uint64_t i = 0; i < position.size(); ++i) {
      if (position[i] != i) return false;
    }
    return true;
  }
};

std::string relative_path(std::string_view group, std::string_view name) {
  return group.empty() ? std::string(name) : fmt::format("{}/{}", group, name);
}

std::string parent_of(std::string_view relative) {
  const size_t slash = relative.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(relative.substr(0, slash));
}

std::string describe_value(double value, const Json& attributes) {
  const std::string units =
      attributes.is_object() ? attributes.value("units", std::string()) : std::string();
  if (units.starts_with("seconds since 1970-01-01") && std::abs(value) < 1e12) {
    const std::time_t seconds = static_cast<std::time_t>(value);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
  }
  return units.empty() ? fmt::format("{}", value) : fmt::format("{} {}", value, units);
}

class Planner {
 public:
  Planner(const icechunk::ReadSession& committed, std::string group_path,
          const AppendOptions& options)
      : session_(committed), group_path_(std::move(group_path)), options_(options) {}

  Status collect_committed() {
    const std::string prefix = group_path_ == "/" ? "/" : group_path_ + "/";
    for (const icechunk::Node& node : session_.nodes()) {
      if (node.kind != icechunk::NodeKind::kArray || !node.path.starts_with(prefix)) continue;
      FLOE_ASSIGN_OR_RETURN(zarr::ArrayMetadata metadata,
                            zarr::ArrayMetadata::parse(node.zarr_json, node.path));
      // Moving references by whole chunks needs chunks of one length along every axis.
      if (metadata.rectilinear()) {
        return make_error(ErrorCode::kUnsupported,
                          "{} has a rectilinear chunk grid (files of different lengths combined); appending to it is "
                          "not supported yet: virtualize all the files together, or with --chunk-grid regular",
                          node.path);
      }
      committed_.emplace(node.path.substr(prefix.size()),
                         CommittedArray{&node, std::move(metadata)});
    }
    return ok_status();
  }

  void collect_incoming(VirtualGroup& group, const std::string& relative) {
    for (VirtualArray& array : group.arrays) {
      incoming_.emplace(relative_path(relative, array.name), IncomingArray{&array, relative});
    }
    for (VirtualGroup& child : group.groups)
      collect_incoming(child, relative_path(relative, child.name));
  }

  bool dimension_committed(const std::string& dim) const {
    return std::any_of(committed_.begin(), committed_.end(), [&](const auto& entry) {
      const auto& names = entry.second.metadata.dimension_names;
      return std::find(names.begin(), names.end(), dim) != names.end();
    });
  }

  Result<AppendPlan> plan(VirtualDataset incoming) {
    AppendPlan plan;
    std::vector<std::string> warnings;
    for (auto& [path, entry] : incoming_) {
      VirtualArray& array = *entry.array;
      std::vector<const DimensionMap*> maps;
      for (const std::string& dim : array.dims) {
        FLOE_ASSIGN_OR_RETURN(const DimensionMap* map, map_for(entry.group, dim));
        maps.push_back(map);
      }
      auto committed = committed_.find(path);
      const CommittedArray* before = committed == committed_.end() ? nullptr : &committed->second;
      const bool unchanged = std::all_of(maps.begin(), maps.end(),
                                         [](const DimensionMap* m) { return m->unchanged(); });
      if (before && unchanged) {
        keep_.insert(
            path);  // as committed (latitude, longitude, a coordinate with the same values)
        continue;
      }
      std::vector<uint64_t> merged_shape;
      for (const DimensionMap* map : maps) merged_shape.push_back(map->merged);
      if (before) FLOE_RETURN_IF_ERROR(check_same_kind(path, array, *before));
      if (array.refs.empty() && !array.inline_chunks.empty()) {
        FLOE_RETURN_IF_ERROR(merge_by_value(path, array, before, maps, merged_shape));
        continue;
      }
      if (!array.inline_chunks.empty()) {
        return make_error(
            ErrorCode::kUnsupported,
            "{}: holds both references and stored chunks; --append-dim cannot merge such an array",
            path);
      }
      if (before && before->metadata.codecs != array_metadata(array)["codecs"]) {
        warnings.push_back(fmt::format(
            "{}: this dataset's chunks are encoded with {} but the committed array decodes {}; its "
            "new chunks are "
            "left out and it only grows",
            path, array_metadata(array)["codecs"].dump(), before->metadata.codecs.dump()));
        keep_.insert(path);
        continue;
      }
      FLOE_RETURN_IF_ERROR(move_references(path, array, before, maps, merged_shape));
    }
    // Arrays only the repository holds (a parameter missing from this run) grow with their
    // dimensions.
    for (const auto& [path, entry] : committed_) {
      if (incoming_.count(path) != 0 && keep_.count(path) == 0) continue;
      const auto& names = entry.metadata.dimension_names;
      if (names.size() != entry.metadata.shape.size()) continue;
      std::vector<uint64_t> shape = entry.metadata.shape;
      bool grows = false;
      for (size_t axis = 0; axis < names.size(); ++axis) {
        FLOE_ASSIGN_OR_RETURN(const DimensionMap* map, map_for(parent_of(path), names[axis]));
        if (map->merged != shape[axis]) {
          shape[axis] = std::max(shape[axis], map->merged);
          grows = true;
        }
      }
      if (!grows) continue;
      Json zarr_json = Json::parse(entry.node->zarr_json, nullptr, false);
      if (zarr_json.is_discarded() || !zarr_json.is_object()) {
        return make_error(ErrorCode::kCorrupt, "{}: the committed zarr.json does not parse",
                          entry.node->path);
      }
      zarr_json["shape"] = shape;
      plan.resized.emplace_back(entry.node->path, zarr_json.dump());
    }
    // Arrays left as committed are not written again.
    prune(incoming.root, "");
    const DimensionMap* appended = nullptr;
    FLOE_ASSIGN_OR_RETURN(appended, map_for("", options_.dim));
    plan.committed_length = appended->committed;
    plan.appended_length = appended->merged - appended->committed;
    incoming.warnings.insert(incoming.warnings.end(), warnings.begin(), warnings.end());
    plan.dataset = std::move(incoming);
    plan.coordinates = std::move(coordinates_);
    return plan;
  }

 private:
  void prune(VirtualGroup& group, const std::string& relative) {
    std::erase_if(group.arrays, [&](const VirtualArray& array) {
      return keep_.count(relative_path(relative, array.name)) != 0;
    });
    for (VirtualGroup& child : group.groups) prune(child, relative_path(relative, child.name));
  }

  // The coordinate a dimension of an array in `group` resolves to: the 1-D array named like it in
  // the group or the nearest enclosing one, incoming or committed; "" when there is none.
  std::string coordinate_for(const std::string& group, const std::string& dim) const {
    std::optional<std::string> scope = group;
    while (scope) {
      const std::string candidate = relative_path(*scope, dim);
      auto in = incoming_.find(candidate);
      if (in != incoming_.end() && in->second.array->dims == std::vector<std::string>{dim})
        return candidate;
      auto at = committed_.find(candidate);
      if (at != committed_.end() &&
          at->second.metadata.dimension_names == std::vector<std::string>{dim}) {
        return candidate;
      }
      if (scope->empty()) break;
      scope = parent_of(*scope);
    }
    return "";
  }

  // The length of `dim` among arrays that resolve it to `coordinate`.
  template <typename Entries, typename DimsOf, typename ShapeOf, typename GroupOf>
  std::optional<uint64_t> length_of(const Entries& entries, const std::string& dim,
                                    const std::string& coordinate, DimsOf dims_of, ShapeOf shape_of,
                                    GroupOf group_of) const {
    for (const auto& [path, entry] : entries) {
      const std::vector<std::string>& dims = dims_of(entry);
      for (size_t axis = 0; axis < dims.size(); ++axis) {
        if (dims[axis] == dim && coordinate_for(group_of(path, entry), dim) == coordinate) {
          return shape_of(entry)[axis];
        }
      }
    }
    return std::nullopt;
  }

  Result<std::optional<std::vector<double>>> coordinate_values(const std::string& coordinate,
                                                               bool committed) {
    if (coordinate.empty()) return std::optional<std::vector<double>>();
    zarr::ArrayMetadata metadata;
    std::vector<uint8_t> whole;
    if (committed) {
      auto at = committed_.find(coordinate);
      if (at == committed_.end()) return std::optional<std::vector<double>>();
      metadata = at->second.metadata;
      FLOE_ASSIGN_OR_RETURN(whole, decode_committed(at->second));
    } else {
      auto in = incoming_.find(coordinate);
      if (in == incoming_.end()) return std::optional<std::vector<double>>();
      if (!in->second.array->refs.empty()) {
        return make_error(
            ErrorCode::kUnsupported,
            "{}: the coordinate is read from its source file when written; --append-dim needs the "
            "coordinates it compares held in memory (GRIB datacubes; NetCDF appends are not "
            "supported yet)",
            coordinate);
      }
      FLOE_ASSIGN_OR_RETURN(metadata, incoming_metadata(*in->second.array, coordinate));
      FLOE_ASSIGN_OR_RETURN(whole, decode_incoming(*in->second.array, metadata, coordinate));
    }
    if (!comparable_type(metadata.data_type)) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: a coordinate of type {} cannot be compared for --append-dim",
                        coordinate, metadata.data_type.name());
    }
    std::vector<double> values;
    for (size_t i = 0; i + metadata.element_size() <= whole.size(); i += metadata.element_size()) {
      values.push_back(element_as_double(whole.data() + i, metadata.data_type));
    }
    return std::optional<std::vector<double>>(std::move(values));
  }

  // Values are compared as stored: the committed and incoming coordinate must mean the same by
  // them.
  Status check_same_encoding(const std::string& coordinate) const {
    const Json& committed = committed_.at(coordinate).metadata.attributes;
    const Json& incoming = incoming_.at(coordinate).array->attributes;
    for (const char* key : {"units", "calendar", "scale_factor", "add_offset"}) {
      const Json none;
      const Json& a = committed.is_object() && committed.contains(key) ? committed[key] : none;
      const Json& b = incoming.is_object() && incoming.contains(key) ? incoming[key] : none;
      if (a != b) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "{}: {} is {} in the repository but {} in this dataset; floe compares and stores "
            "coordinate values as they are encoded, so they must be encoded alike",
            coordinate, key, a.dump(), b.dump());
      }
    }
    return ok_status();
  }

  Json attributes_of(const std::string& coordinate) const {
    auto in = incoming_.find(coordinate);
    if (in != incoming_.end()) return in->second.array->attributes;
    auto at = committed_.find(coordinate);
    return at != committed_.end() ? at->second.metadata.attributes : Json::object();
  }

  Result<const DimensionMap*> map_for(const std::string& group, const std::string& dim) {
    const std::string coordinate = coordinate_for(group, dim);
    const std::string key = coordinate.empty() ? "#" + dim : coordinate;
    auto found = maps_.find(key);
    if (found != maps_.end()) return &found->second;

    auto committed_length = length_of(
        committed_, dim, coordinate,
        [](const CommittedArray& a) -> const auto& { return a.metadata.dimension_names; },
        [](const CommittedArray& a) -> const auto& { return a.metadata.shape; },
        [](const std::string& path, const CommittedArray&) { return parent_of(path); });
    auto incoming_length = length_of(
        incoming_, dim, coordinate,
        [](const IncomingArray& a) -> const auto& { return a.array->dims; },
        [](const IncomingArray& a) -> const auto& { return a.array->shape; },
        [](const std::string&, const IncomingArray& a) { return a.group; });
    DimensionMap map;
    map.committed = committed_length.value_or(0);
    const uint64_t count = incoming_length.value_or(0);
    const std::string what = coordinate.empty() ? fmt::format("dimension {}", dim) : coordinate;
    if (!committed_length || !incoming_length) {  // new here, or not in this dataset
      map.merged = std::max(map.committed, count);
      for (uint64_t i = 0; i < count; ++i) map.position.push_back(i);
      return &maps_.emplace(key, std::move(map)).first->second;
    }
    FLOE_ASSIGN_OR_RETURN(std::optional<std::vector<double>> before,
                          coordinate_values(coordinate, true));
    FLOE_ASSIGN_OR_RETURN(std::optional<std::vector<double>> after,
                          coordinate_values(coordinate, false));
    const Json attributes = attributes_of(coordinate);
    if (before && after) FLOE_RETURN_IF_ERROR(check_same_encoding(coordinate));
    if (dim == options_.dim) {
      if (before && after && !before->empty()) {
        const double last = *std::max_element(before->begin(), before->end());
        for (double value : *after) {
          if (std::find(before->begin(), before->end(), value) != before->end()) {
            return make_error(
                ErrorCode::kConflict,
                "{} {} is already in the repository; nothing was written (this data was appended "
                "before)",
                what, describe_value(value, attributes));
          }
          if (value < last) {
            return make_error(
                ErrorCode::kInvalidArgument,
                "{} {} comes before the repository's last value {}; --append-dim only adds after "
                "the end",
                what, describe_value(value, attributes), describe_value(last, attributes));
          }
        }
      }
      map.merged = map.committed + count;
      for (uint64_t i = 0; i < count; ++i) map.position.push_back(map.committed + i);
      if (before && after) remember(coordinate, *before, *after, map);
      return &maps_.emplace(key, std::move(map)).first->second;
    }
    const bool extendable =
        std::find(options_.extendable_dims.begin(), options_.extendable_dims.end(), dim) !=
        options_.extendable_dims.end();
    if (before && after && extendable) {
      map.merged = map.committed;
      double last = before->empty() ? -INFINITY : *std::max_element(before->begin(), before->end());
      for (double value : *after) {
        auto at = std::find(before->begin(), before->end(), value);
        if (at != before->end()) {
          map.position.push_back(static_cast<uint64_t>(at - before->begin()));
          continue;
        }
        if (!(value > last)) {
          return make_error(
              ErrorCode::kInvalidArgument,
              "{} {} is new but not after the committed values (last {}); values of {} can only be "
              "added after the end",
              what, describe_value(value, attributes), describe_value(last, attributes), dim);
        }
        last = value;
        map.position.push_back(map.merged++);
      }
      remember(coordinate, *before, *after, map);
      return &maps_.emplace(key, std::move(map)).first->second;
    }
    if (map.committed != count) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "{} has {} values in the repository and {} in this dataset; only {} may change length{}",
          what, map.committed, count, options_.dim,
          extendable ? "" : fmt::format(" (here {} must match)", dim));
    }
    if (before && after) {
      for (size_t i = 0; i < before->size(); ++i) {
        const double a = (*before)[i];
        const double b = (*after)[i];
        if (a != b && !(std::isnan(a) && std::isnan(b))) {
          return make_error(
              ErrorCode::kInvalidArgument,
              "{}[{}] is {} in the repository and {} in this dataset; the data is on a different "
              "{} and cannot be appended",
              what, i, describe_value(a, attributes), describe_value(b, attributes), dim);
        }
      }
    }
    map.merged = map.committed;
    for (uint64_t i = 0; i < count; ++i) map.position.push_back(i);
    if (before && after) remember(coordinate, *before, *after, map);
    return &maps_.emplace(key, std::move(map)).first->second;
  }

  // The merged values of a coordinate: the committed ones, then this dataset's at their new
  // positions.
  void remember(const std::string& coordinate, const std::vector<double>& before,
                const std::vector<double>& after, const DimensionMap& map) {
    std::vector<double> merged(map.merged, std::nan(""));
    std::copy(
        before.begin(),
        before.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(before.size(), map.merged)),
        merged.begin());
    for (size_t i = 0; i < after.size() && i < map.position.size(); ++i)
      merged[map.position[i]] = after[i];
    coordinates_[coordinate] = std::move(merged);
  }

  Result<zarr::ArrayMetadata> incoming_metadata(const VirtualArray& array,
                                                const std::string& path) const {
    return zarr::ArrayMetadata::parse(array_metadata(array).dump(), path);
  }

  Result<std::vector<uint8_t>> decode_committed(const CommittedArray& array) const {
    const icechunk::Node& node = *array.node;
    return decode_whole(
        array.metadata,
        [&](const std::vector<uint64_t>& coords) {
          std::vector<uint32_t> index(coords.begin(), coords.end());
          return session_.chunk_bytes(node, index);
        },
        node.path, options_.max_rewritten_bytes);
  }

  Result<std::vector<uint8_t>> decode_incoming(const VirtualArray& array,
                                               const zarr::ArrayMetadata& metadata,
                                               const std::string& path) const {
    const std::vector<uint64_t> counts = metadata.chunk_counts();
    return decode_whole(
        metadata,
        [&](const std::vector<uint64_t>& coords) -> Result<std::optional<Bytes>> {
          auto found = array.inline_chunks.find(coords.empty() ? 0 : chunk_number(coords, counts));
          if (found == array.inline_chunks.end()) return std::optional<Bytes>();
          return std::optional<Bytes>(found->second);
        },
        path, options_.max_rewritten_bytes);
  }

  Status check_same_kind(const std::string& path, const VirtualArray& array,
                         const CommittedArray& before) const {
    if (before.metadata.dimension_names != array.dims) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "{}: dimensions ({}) in this dataset but ({}) in the repository; it cannot be appended",
          path, fmt::join(array.dims, ", "), fmt::join(before.metadata.dimension_names, ", "));
    }
    FLOE_ASSIGN_OR_RETURN(zarr::DataType type, zarr::DataType::from_json(array.data_type));
    if (type.kind != before.metadata.data_type.kind ||
        type.size != before.metadata.data_type.size) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: {} in this dataset but {} in the repository", path, type.name(),
                        before.metadata.data_type.name());
    }
    return ok_status();
  }

  // An array held in the repository: committed values where they were, this dataset's at their
  // merged positions, the fill value elsewhere, stored as one uncompressed chunk.
  Status merge_by_value(const std::string& path, VirtualArray& array, const CommittedArray* before,
                        const std::vector<const DimensionMap*>& maps,
                        const std::vector<uint64_t>& merged_shape) {
    FLOE_ASSIGN_OR_RETURN(zarr::ArrayMetadata metadata, incoming_metadata(array, path));
    FLOE_ASSIGN_OR_RETURN(std::vector<uint8_t> values, decode_incoming(array, metadata, path));
    const size_t size = metadata.element_size();
    const uint64_t elements = element_count(merged_shape);
    if (elements > options_.max_rewritten_bytes / std::max<size_t>(size, 1)) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "{}: merged shape of {} elements is more than --append-dim rewrites in memory", path,
          elements);
    }
    std::vector<uint8_t> merged = filled(elements, metadata.fill_value);
    if (before) {
      FLOE_ASSIGN_OR_RETURN(std::vector<uint8_t> committed, decode_committed(*before));
      scatter(
          committed.data(), before->metadata.shape, merged.data(), merged_shape,
          offset_positions(std::vector<uint64_t>(merged_shape.size(), 0), before->metadata.shape),
          before->metadata.shape, size);
    }
    std::vector<std::vector<uint64_t>> position;
    for (const DimensionMap* map : maps) position.push_back(map->position);
    scatter(values.data(), array.shape, merged.data(), merged_shape, position, array.shape, size);
    array.shape = merged_shape;
    array.chunk_shape = merged_shape;
    for (uint64_t& extent : array.chunk_shape) extent = std::max<uint64_t>(extent, 1);
    if (array.chunk_shape.size() != merged_shape.size() ||
        element_count(array.chunk_shape) != elements) {
      merged.resize(element_count(array.chunk_shape) * size);  // zero-length axes: one padded chunk
    }
    array.codecs = uncompressed_codecs(array.element_size);
    array.inline_chunks.clear();
    array.inline_chunks.emplace(
        0, Bytes::copy_of(std::span<const std::byte>(
               reinterpret_cast<const std::byte*>(merged.data()), merged.size())));
    return ok_status();
  }

  // A referencing array: each chunk moves to where its first element lands. Axes whose positions
  // change need chunks of one element, or a shift by whole chunks.
  Status move_references(const std::string& path, VirtualArray& array, const CommittedArray* before,
                         const std::vector<const DimensionMap*>& maps,
                         const std::vector<uint64_t>& merged_shape) {
    if (before && before->metadata.chunk_shape != array.chunk_shape) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "{}: chunks of ({}) in this dataset but ({}) in the repository; it cannot be appended",
          path, fmt::join(array.chunk_shape, ", "), fmt::join(before->metadata.chunk_shape, ", "));
    }
    for (size_t axis = 0; axis < maps.size(); ++axis) {
      const DimensionMap& map = *maps[axis];
      const uint64_t chunk = array.chunk_shape[axis];
      if (chunk == 1 || map.position.empty()) continue;
      const uint64_t shift = map.position[0];
      bool whole_chunks = shift % chunk == 0;
      for (uint64_t i = 0; whole_chunks && i < map.position.size(); ++i)
        whole_chunks = map.position[i] == shift + i;
      if (!whole_chunks) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "{}: chunks of {} along {} cannot move to the merged positions (starting at {}); "
            "--append-dim needs the committed length to be a multiple of the chunk length",
            path, chunk, array.dims[axis], shift);
      }
    }
    const std::vector<uint64_t> counts = chunk_counts(array);
    VirtualArray moved = array;
    moved.shape = merged_shape;
    moved.refs = ChunkManifest();
    const std::vector<uint64_t> merged_counts = chunk_counts(moved);
    moved.refs.reserve(array.refs.size());
    std::vector<uint32_t> path_map;
    for (const std::string& url : array.refs.paths()) path_map.push_back(moved.refs.intern(url));
    for (size_t i = 0; i < array.refs.size(); ++i) {
      std::vector<uint64_t> coords = chunk_coordinates(array.refs.chunk(i), counts);
      for (size_t axis = 0; axis < coords.size(); ++axis) {
        const uint64_t first = coords[axis] * array.chunk_shape[axis];
        coords[axis] = maps[axis]->position[first] / array.chunk_shape[axis];
      }
      moved.refs.add(chunk_number(coords, merged_counts), path_map[array.refs.path_index(i)],
                     array.refs.offset(i), array.refs.length(i));
    }
    array = std::move(moved);
    return ok_status();
  }

  const icechunk::ReadSession& session_;
  std::string group_path_;
  const AppendOptions& options_;
  std::map<std::string, CommittedArray> committed_;
  std::map<std::string, IncomingArray> incoming_;
  std::map<std::string, DimensionMap> maps_;
  std::map<std::string, std::vector<double>> coordinates_;  // merged values, by coordinate path
  std::set<std::string>
      keep_;  // incoming arrays not written: left as committed, or only grown (resized)
};

}  // namespace

Result<AppendPlan> plan_append(const icechunk::ReadSession& committed, std::string_view group_path,
                               VirtualDataset incoming, const AppendOptions& options) {
  FLOE_ASSIGN_OR_RETURN(std::string group, icechunk::normalize_node_path(group_path));
  Planner planner(committed, group, options);
  FLOE_RETURN_IF_ERROR(planner.collect_committed());
  if (!planner.dimension_committed(options.dim)) {
    AppendPlan plan;
    plan.first = true;
    plan.dataset = std::move(incoming);
    return plan;
  }
  planner.collect_incoming(incoming.root, "");
  return planner.plan(std::move(incoming));
}

Status apply_resizes(const AppendPlan& plan, icechunk::WriteSession& session) {
  for (const auto& [path, zarr_json] : plan.resized)
    FLOE_RETURN_IF_ERROR(session.put_array(path, zarr_json));
  return ok_status();
}

}  // namespace floe::virt
