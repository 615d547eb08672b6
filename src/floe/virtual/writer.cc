// Writes virtual datasets into Icechunk sessions: zarr.json per node, refs, inline and loadable
// chunks.
#include "floe/virtual/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "floe/core/base64.h"
#include "floe/zarr/array_metadata.h"

namespace floe::virt {
namespace {

std::string data_type_name(const Json& data_type) {
  if (data_type.is_string()) return data_type.get<std::string>();
  if (data_type.is_object() && data_type.contains("name") && data_type["name"].is_string()) {
    return data_type["name"].get<std::string>();
  }
  return "";
}

std::optional<double> as_double(const Json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

// The session's chunk index type for a row-major chunk number.
std::vector<uint32_t> chunk_coords(uint64_t number, const std::vector<uint64_t>& counts) {
  std::vector<uint64_t> coords = chunk_coordinates(number, counts);
  return std::vector<uint32_t>(coords.begin(), coords.end());
}

std::string child_path(std::string_view parent, std::string_view name) {
  if (parent == "/" || parent.empty()) return fmt::format("/{}", name);
  return fmt::format("{}/{}", parent, name);
}

// Source bytes of a stored chunk: `length` bytes at `offset` of `url`, of which the first `used`
// are kept.
struct SourceRange {
  std::string url;
  uint64_t offset;
  uint64_t length;
  uint64_t used;
};

// A chunk stored in the repository, the concatenation of its ranges.
struct LoadableChunk {
  std::string array_path;
  std::vector<uint32_t> coords;
  std::vector<SourceRange> ranges;
};

// Loadable arrays this large at most are stored as one chunk when they can be (see
// whole_array_chunk).
constexpr uint64_t kMaxJoinedChunkBytes = 64ull << 20;

// The ranges of an uncompressed loadable array whose chunks are slabs of its first axis, all
// referenced, in array order: then the array can be stored as one chunk (a NetCDF-3 record
// coordinate is otherwise one chunk per record: 744 chunks for a month of hours). Empty when it
// cannot.
std::vector<SourceRange> whole_array_chunk(const VirtualArray& array) {
  if (array.shape.empty() || array.refs.size() < 2 || !array.inline_chunks.empty() ||
      !array.chunk_edges.empty())
    return {};
  if (array.codecs.size() != 1 || !array.codecs[0].is_object() ||
      array.codecs[0].value("name", "") != "bytes") {
    return {};
  }
  if (array.chunk_shape.size() != array.shape.size() || array.chunk_shape[0] == 0) return {};
  uint64_t row_bytes = array.element_size;
  for (size_t axis = 1; axis < array.shape.size(); ++axis) {
    if (array.chunk_shape[axis] != array.shape[axis]) return {};
    row_bytes *= array.shape[axis];
  }
  const uint64_t rows = array.shape[0], rows_per_chunk = array.chunk_shape[0];
  const uint64_t chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
  if (row_bytes == 0 || rows > kMaxJoinedChunkBytes / row_bytes || array.refs.size() != chunks)
    return {};
  std::vector<SourceRange> ranges(chunks);
  std::vector<bool> seen(chunks, false);
  for (size_t i = 0; i < array.refs.size(); ++i) {
    uint64_t chunk = array.refs.chunk(i);
    if (chunk >= chunks || seen[chunk]) return {};
    uint64_t used = std::min(rows_per_chunk, rows - chunk * rows_per_chunk) * row_bytes;
    if (array.refs.length(i) < used) return {};
    seen[chunk] = true;
    ranges[chunk] = {std::string(array.refs.path(i)), array.refs.offset(i), array.refs.length(i),
                     used};
  }
  return ranges;
}

Json array_metadata_with_chunks(const VirtualArray& array, std::vector<uint64_t> chunk_shape);

Status write_group(const VirtualGroup& group, const std::string& path,
                   icechunk::WriteSession& session, const WriteContext& context,
                   WriteSummary& summary, std::vector<LoadableChunk>& loadable) {
  FLOE_RETURN_IF_ERROR(session.put_group(path, group_metadata(group).dump()));
  ++summary.groups;
  for (const VirtualArray& array : group.arrays) {
    const std::string array_path = child_path(path, array.name);
    std::vector<SourceRange> joined =
        array.loadable ? whole_array_chunk(array) : std::vector<SourceRange>{};
    if (!joined.empty()) {
      FLOE_RETURN_IF_ERROR(
          session.put_array(array_path, array_metadata_with_chunks(array, array.shape).dump()));
      ++summary.arrays;
      loadable.push_back(
          {array_path, std::vector<uint32_t>(array.shape.size(), 0), std::move(joined)});
      continue;
    }
    FLOE_RETURN_IF_ERROR(session.put_array(array_path, array_metadata(array).dump()));
    ++summary.arrays;
    const std::vector<uint64_t> counts = chunk_counts(array);
    for (const auto& [chunk, bytes] : array.inline_chunks) {
      const std::vector<uint32_t> coords = chunk_coords(chunk, counts);
      FLOE_RETURN_IF_ERROR(session.write_chunk(array_path, coords, bytes));
      ++summary.stored_chunks;
      summary.stored_bytes += bytes.size();
    }
    for (size_t i = 0; i < array.refs.size(); ++i) {
      std::vector<uint32_t> coords = chunk_coords(array.refs.chunk(i), counts);
      if (array.loadable) {
        loadable.push_back({array_path,
                            std::move(coords),
                            {{std::string(array.refs.path(i)), array.refs.offset(i),
                              array.refs.length(i), array.refs.length(i)}}});
        continue;
      }
      auto checksum = context.checksums.find(array.refs.path(i));
      FLOE_RETURN_IF_ERROR(session.set_virtual_ref(
          array_path, coords, array.refs.path(i), array.refs.offset(i), array.refs.length(i),
          checksum == context.checksums.end() ? std::string_view{}
                                              : std::string_view(checksum->second.etag),
          checksum == context.checksums.end() ? 0 : checksum->second.last_modified));
      ++summary.virtual_refs;
    }
  }
  for (const VirtualGroup& child : group.groups) {
    FLOE_RETURN_IF_ERROR(
        write_group(child, child_path(path, child.name), session, context, summary, loadable));
  }
  return ok_status();
}

// Fetches every loadable chunk in one batch and stores the bytes in the repository.
Status store_loadable(std::vector<LoadableChunk>& loadable, icechunk::WriteSession& session,
                      const WriteContext& context, WriteSummary& summary) {
  if (loadable.empty()) return ok_status();
  if (!context.registry || !context.scheduler) {
    return make_error(ErrorCode::kInternal,
                      "loadable arrays need a store registry and a fetch scheduler");
  }
  std::vector<io::FetchRequest> requests;
  std::map<std::string, io::ResolvedUrl> resolved_urls;  // keeps the stores alive during the fetch
  for (const LoadableChunk& chunk : loadable) {
    for (const SourceRange& range : chunk.ranges) {
      auto found = resolved_urls.find(range.url);
      if (found == resolved_urls.end()) {
        FLOE_ASSIGN_OR_RETURN(io::ResolvedUrl resolved, context.registry->resolve(range.url));
        found = resolved_urls.emplace(range.url, std::move(resolved)).first;
      }
      requests.push_back(
          {found->second.store.get(), found->second.key, range.offset, range.length});
    }
  }
  std::vector<Result<Bytes>> fetched = context.scheduler->fetch(requests);
  size_t next = 0;
  for (LoadableChunk& chunk : loadable) {
    std::vector<Bytes> pieces;
    for (const SourceRange& range : chunk.ranges) {
      Result<Bytes>& bytes = fetched[next++];
      if (!bytes.ok()) {
        return std::move(bytes).error().add_context(
            fmt::format("loading {} from {}", chunk.array_path, range.url));
      }
      pieces.push_back(bytes->slice(0, range.used));
    }
    Bytes data = pieces.size() == 1 ? std::move(pieces[0]) : Bytes::concat(pieces);
    summary.stored_bytes += data.size();
    FLOE_RETURN_IF_ERROR(session.write_chunk(chunk.array_path, chunk.coords, std::move(data)));
    ++summary.stored_chunks;
  }
  return ok_status();
}

}  // namespace

Json encode_fill_value_attribute(const Json& value, const Json& data_type) {
  const std::string name = data_type_name(data_type);
  if (name.starts_with("float")) {
    std::optional<double> number = as_double(value);
    if (!number) return value;
    char bytes[8];
    std::memcpy(bytes, &*number, 8);  // x86-64 and aarch64 are little-endian
    return base64_encode(std::string_view(bytes, 8));
  }
  if (name.starts_with("int") || name.starts_with("uint")) {
    if (value.is_number_float()) return static_cast<int64_t>(value.get<double>());
    return value;
  }
  if (name == "bool")
    return value.is_boolean() ? value : Json(value.is_number() && value.get<double>() != 0);
  if (name == "null_terminated_bytes" || name == "fixed_length_bytes" || name.starts_with("|S") ||
      name == "bytes") {
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      return base64_encode(text);
    }
  }
  return value;
}

Json array_metadata(const VirtualArray& array) {
  return array_metadata_with_chunks(array, array.chunk_shape);
}

namespace {

// The chunk_grid of zarr.json: regular, or rectilinear (zarr-extensions) from every axis's edges.
Json chunk_grid_json(const VirtualArray& array, const std::vector<uint64_t>& chunk_shape) {
  if (array.chunk_edges.empty()) {
    return {{"name", "regular"}, {"configuration", {{"chunk_shape", chunk_shape}}}};
  }
  std::vector<std::vector<uint64_t>> edges(chunk_shape.size());
  for (size_t axis = 0; axis < chunk_shape.size(); ++axis) {
    if (axis < array.chunk_edges.size() && !array.chunk_edges[axis].empty()) {
      edges[axis] = array.chunk_edges[axis];
      continue;
    }
    const uint64_t chunk = std::max<uint64_t>(chunk_shape[axis], 1);
    if (array.shape[axis] > 0) edges[axis].assign((array.shape[axis] + chunk - 1) / chunk, chunk);
  }
  return zarr::chunk_grid_json(array.shape, edges);
}

Json array_metadata_with_chunks(const VirtualArray& array, std::vector<uint64_t> chunk_extents) {
  std::vector<uint64_t> chunk_shape;
  for (size_t axis = 0; axis < array.shape.size(); ++axis) {
    chunk_shape.push_back(
        std::max<uint64_t>(axis < chunk_extents.size() ? chunk_extents[axis] : 1, 1));
  }
  Json attributes = array.attributes.is_object() ? array.attributes : Json::object();
  if (attributes.contains("_FillValue")) {
    attributes["_FillValue"] =
        encode_fill_value_attribute(attributes["_FillValue"], array.data_type);
  }
  Json meta{{"zarr_format", 3},
            {"node_type", "array"},
            {"shape", array.shape},
            {"data_type", array.data_type},
            {"chunk_grid", chunk_grid_json(array, chunk_shape)},
            {"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"separator", "/"}}}}},
            {"fill_value", array.fill_value.is_null() ? Json(0) : array.fill_value},
            {"codecs", array.codecs},
            {"attributes", std::move(attributes)},
            {"storage_transformers", Json::array()}};
  if (array.dims.size() == array.shape.size()) meta["dimension_names"] = array.dims;
  return meta;
}

}  // namespace

Json group_metadata(const VirtualGroup& group) {
  return Json{{"zarr_format", 3},
              {"node_type", "group"},
              {"attributes", group.attributes.is_object() ? group.attributes : Json::object()}};
}

Result<WriteSummary> write_dataset(const VirtualDataset& dataset, icechunk::WriteSession& session,
                                   const WriteContext& context, std::string_view group_path) {
  WriteSummary summary;
  std::vector<LoadableChunk> loadable;
  FLOE_ASSIGN_OR_RETURN(std::string root, icechunk::normalize_node_path(group_path));
  // Missing ancestors of the target group become empty groups, outermost first.
  if (root != "/") {
    std::vector<std::string> ancestors{"/"};
    for (size_t slash = root.find('/', 1); slash != std::string::npos;
         slash = root.find('/', slash + 1)) {
      ancestors.push_back(root.substr(0, slash));
    }
    for (const std::string& ancestor : ancestors) {
      if (!session.node_kind(ancestor))
        FLOE_RETURN_IF_ERROR(session.put_group(ancestor, group_metadata({}).dump()));
    }
  }
  FLOE_RETURN_IF_ERROR(write_group(dataset.root, root, session, context, summary, loadable));
  FLOE_RETURN_IF_ERROR(store_loadable(loadable, session, context, summary));
  return summary;
}

}  // namespace floe::virt
