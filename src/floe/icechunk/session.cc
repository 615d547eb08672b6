// Read sessions (nodes, refs, chunk bytes, Zarr keys) and write sessions (change set, commit, rebase, amend).
#include "floe/icechunk/session.h"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "floe/icechunk/repository.h"

namespace floe::icechunk {
namespace {

std::string parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

bool is_under(std::string_view path, std::string_view ancestor) {
  if (ancestor == "/") return true;
  return path == ancestor || (path.starts_with(ancestor) && path.size() > ancestor.size() && path[ancestor.size()] == '/');
}



}  // namespace

std::uint64_t manifest_size(const Snapshot& snapshot, const Id12& id) {
  for (const ManifestFileInfo& info : snapshot.manifest_files) {
    if (info.id == id) return info.size_bytes;
  }
  return 0;
}

const Node* find_node(const std::vector<Node>& nodes, std::string_view path) {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), path,
                             [](const Node& node, std::string_view value) { return node.path < value; });
  return it != nodes.end() && it->path == path ? &*it : nullptr;
}

Result<std::string> normalize_node_path(std::string_view path) {
  std::string result = "/";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") {
      return make_error(ErrorCode::kInvalidArgument, "node path \"{}\" has a \"{}\" segment", path, segment);
    }
    if (!segment.empty()) {
      if (result.size() > 1) result += '/';
      result += segment;
    }
    start = end + 1;
  }
  return result;
}

// ---- ReadSession -----------------------------------------------------------------------------------------

ReadSession::ReadSession(std::shared_ptr<Repository> repository, std::shared_ptr<const Snapshot> snapshot)
    : repository_(std::move(repository)), snapshot_(std::move(snapshot)) {}

Result<const Node*> ReadSession::node(std::string_view path) const {
  FLOE_ASSIGN_OR_RETURN(std::string normalized, normalize_node_path(path));
  const Node* found = find_node(snapshot_->nodes, normalized);
  if (found == nullptr) {
    return make_error(ErrorCode::kNotFound, "snapshot {} has no group or array {}", to_string(snapshot_->id), normalized);
  }
  return found;
}

Result<std::optional<ChunkRef>> ReadSession::chunk_ref(const Node& array, std::span<const std::uint32_t> index) const {
  if (array.kind != NodeKind::kArray) {
    return make_error(ErrorCode::kInvalidArgument, "{} is a group, not an array", array.path);
  }
  if (index.size() != array.shape.size()) {
    return make_error(ErrorCode::kInvalidArgument, "{} has {} dimensions; chunk index {} has {}", array.path,
                      array.shape.size(), format_chunk_index(index), index.size());
  }
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i] >= array.shape[i].num_chunks) return std::optional<ChunkRef>();
  }
  for (const ManifestRef& ref : array.manifests) {
    if (!extents_contain(ref.extents, index)) continue;
    FLOE_ASSIGN_OR_RETURN(ManifestView manifest,
                          repository_->manifest(ref.manifest_id, manifest_size(*snapshot_, ref.manifest_id)));
    FLOE_ASSIGN_OR_RETURN(std::optional<ChunkRef> found, manifest.find(array.id, index));
    if (found) return found;
  }
  return std::optional<ChunkRef>();
}

Status ReadSession::for_each_ref(const Node& array, const std::function<Status(const ChunkRefView&)>& visit) const {
  for (const ManifestRef& ref : array.manifests) {
    FLOE_ASSIGN_OR_RETURN(ManifestView manifest,
                          repository_->manifest(ref.manifest_id, manifest_size(*snapshot_, ref.manifest_id)));
    FLOE_RETURN_IF_ERROR(manifest.for_each_ref(array.id, [&](const ChunkRefView& view) -> Status {
      if (!extents_contain(ref.extents, view.index)) return ok_status();
      return visit(view);
    }));
  }
  return ok_status();
}

Result<Bytes> ReadSession::resolve_ref(const ChunkRef& ref) const {
  switch (ref.kind) {
    case ChunkKind::kInline: return ref.inline_data;
    case ChunkKind::kNative: {
      io::GetOptions options;
      options.offset = ref.offset;
      options.length = ref.length;
      const std::string key = repository_->key("chunks/" + to_string(ref.chunk_id));
      Result<Bytes> bytes = repository_->store().get(key, options);
      if (!bytes.ok() && bytes.error().code() == ErrorCode::kNotFound) {
        return make_error(ErrorCode::kCorrupt, "chunk object {} is referenced by a manifest but missing",
                          repository_->store().url_for(key));
      }
      return bytes;
    }
    case ChunkKind::kVirtual:
      return repository_->virtual_chunks().read(ref.location, ref.offset, ref.length, ref.checksum_etag,
                                                ref.checksum_last_modified);
  }
  return make_error(ErrorCode::kInternal, "unknown chunk kind");
}

Result<std::optional<Bytes>> ReadSession::chunk_bytes(const Node& array, std::span<const std::uint32_t> index) const {
  FLOE_ASSIGN_OR_RETURN(std::optional<ChunkRef> ref, chunk_ref(array, index));
  if (!ref) return std::optional<Bytes>();
  Result<Bytes> bytes = resolve_ref(*ref);
  if (!bytes.ok()) {
    return std::move(bytes).error().add_context(fmt::format("chunk {} of {}", format_chunk_index(index), array.path));
  }
  return std::optional<Bytes>(std::move(bytes).value());
}

Result<std::optional<Bytes>> ReadSession::get_key(std::string_view key) const {
  while (key.starts_with('/')) key.remove_prefix(1);
  if (key == "zarr.json" || key.ends_with("/zarr.json")) {
    std::string path = "/" + std::string(key.substr(0, key.size() - std::string_view("zarr.json").size()));
    FLOE_ASSIGN_OR_RETURN(path, normalize_node_path(path));
    const Node* found = find_node(snapshot_->nodes, path);
    if (found == nullptr) return std::optional<Bytes>();
    return std::optional<Bytes>(Bytes::copy_of(found->zarr_json));
  }
  std::vector<std::string_view> segments;
  for (size_t start = 0; start <= key.size();) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    segments.push_back(key.substr(start, end - start));
    start = end + 1;
  }
  for (size_t c = 0; c < segments.size(); ++c) {
    if (segments[c] != "c") continue;
    std::string path = "/";
    for (size_t i = 0; i < c; ++i) path += (i ? "/" : "") + std::string(segments[i]);
    const Node* array = find_node(snapshot_->nodes, path);
    if (array == nullptr || array->kind != NodeKind::kArray) continue;
    std::vector<std::uint32_t> index;
    bool numeric = true;
    for (size_t i = c + 1; i < segments.size(); ++i) {
      std::uint32_t value = 0;
      auto [ptr, ec] = std::from_chars(segments[i].data(), segments[i].data() + segments[i].size(), value);
      if (ec != std::errc() || ptr != segments[i].data() + segments[i].size()) numeric = false;
      index.push_back(value);
    }
    if (!numeric || index.size() != array->shape.size()) continue;
    return chunk_bytes(*array, index);
  }
  return std::optional<Bytes>();
}

// ---- WriteSession ----------------------------------------------------------------------------------------

WriteSession::WriteSession(std::shared_ptr<Repository> repository, std::string branch,
                           std::shared_ptr<const Snapshot> base)
    : repository_(std::move(repository)), branch_(std::move(branch)), base_(std::move(base)) {}

const Node* WriteSession::base_node(std::string_view path) const {
  const Node* found = find_node(base_->nodes, path);
  if (found != nullptr && changes_.deleted_nodes.count(found->path) != 0) return nullptr;
  return found;
}

namespace {

// The current kind of the node at `path` in session + base, if any.
std::optional<NodeKind> current_kind(const ChangeSet& changes, const Snapshot& base, std::string_view path) {
  if (auto it = changes.put_nodes.find(std::string(path)); it != changes.put_nodes.end()) return it->second.kind;
  if (changes.deleted_nodes.count(std::string(path)) != 0) return std::nullopt;
  if (const Node* node = find_node(base.nodes, path)) return node->kind;
  return std::nullopt;
}

}  // namespace

std::optional<NodeKind> WriteSession::node_kind(std::string_view path) const {
  auto normalized = normalize_node_path(path);
  if (!normalized.ok()) return std::nullopt;
  return current_kind(changes_, *base_, *normalized);
}

Result<NodeChange*> WriteSession::put_node(const std::string& path, NodeKind kind, std::string zarr_json) {
  const bool group = kind == NodeKind::kGroup;
  auto current = current_kind(changes_, *base_, path);
  if (current && *current != kind) {
    return make_error(ErrorCode::kConflict, "{} is {}; delete it before creating {} there", path,
                      group ? "an array" : "a group", group ? "a group" : "an array");
  }
  if (!current && path != "/" && current_kind(changes_, *base_, parent_path(path)) != NodeKind::kGroup) {
    return make_error(ErrorCode::kNotFound, "cannot create {} {}: its parent group {} does not exist",
                      group ? "group" : "array", path, parent_path(path));
  }
  auto [it, inserted] = changes_.put_nodes.try_emplace(path);
  NodeChange& change = it->second;
  if (inserted) {
    const Node* existing = base_node(path);
    change.id = existing != nullptr ? existing->id : random_id8();
    change.is_new = existing == nullptr;
    change.kind = kind;
  }
  change.zarr_json = std::move(zarr_json);
  return &change;
}

Status WriteSession::put_group(std::string_view path, std::string zarr_json) {
  FLOE_ASSIGN_OR_RETURN(std::string normalized, normalize_node_path(path));
  Json meta = Json::parse(zarr_json, nullptr, false);
  if (!meta.is_object() || meta.value("node_type", "") != "group") {
    return make_error(ErrorCode::kInvalidArgument, "{}: zarr.json of a group must be an object with node_type \"group\"",
                      normalized);
  }
  FLOE_RETURN_IF_ERROR(put_node(normalized, NodeKind::kGroup, std::move(zarr_json)));
  return ok_status();
}

Status WriteSession::put_array(std::string_view path, std::string zarr_json) {
  FLOE_ASSIGN_OR_RETURN(std::string normalized, normalize_node_path(path));
  if (normalized == "/") return make_error(ErrorCode::kInvalidArgument, "the root must be a group, not an array");
  Json meta = Json::parse(zarr_json, nullptr, false);
  if (!meta.is_object() || meta.value("node_type", "") != "array") {
    return make_error(ErrorCode::kInvalidArgument, "{}: zarr.json of an array must be an object with node_type \"array\"",
                      normalized);
  }
  FLOE_ASSIGN_OR_RETURN(ArrayGeometry geometry, array_geometry_from_zarr_json(zarr_json, normalized));
  FLOE_ASSIGN_OR_RETURN(NodeChange * changed, put_node(normalized, NodeKind::kArray, std::move(zarr_json)));
  NodeChange& change = *changed;
  change.geometry = std::move(geometry);
  if (auto chunks = changes_.chunks.find(change.id); chunks != changes_.chunks.end()) {
    FLOE_ASSIGN_OR_RETURN(ChunkGrid grid, ChunkGrid::from_shape(change.geometry.shape, normalized));
    if (grid.num_chunks() != chunks->second.grid().num_chunks()) {
      FLOE_RETURN_IF_ERROR(chunks->second.regrid(std::move(grid), normalized));
    }
  }
  return ok_status();
}

Status WriteSession::delete_node(std::string_view path) {
  FLOE_ASSIGN_OR_RETURN(std::string normalized, normalize_node_path(path));
  if (!current_kind(changes_, *base_, normalized)) {
    return make_error(ErrorCode::kNotFound, "cannot delete {}: no such group or array", normalized);
  }
  for (auto it = changes_.put_nodes.begin(); it != changes_.put_nodes.end();) {
    if (is_under(it->first, normalized)) {
      changes_.chunks.erase(it->second.id);
      it = changes_.put_nodes.erase(it);
    } else {
      ++it;
    }
  }
  for (const Node& node : base_->nodes) {
    if (is_under(node.path, normalized) && changes_.deleted_nodes.count(node.path) == 0) {
      changes_.deleted_nodes[node.path] = DeletedNode{node.id, node.kind};
      changes_.chunks.erase(node.id);
    }
  }
  return ok_status();
}

Result<ArrayChanges*> WriteSession::array_changes_for(std::string_view path) {
  FLOE_ASSIGN_OR_RETURN(std::string normalized, normalize_node_path(path));
  Id8 id{};
  std::vector<DimensionShape> shape;
  if (auto it = changes_.put_nodes.find(normalized); it != changes_.put_nodes.end()) {
    if (it->second.kind != NodeKind::kArray) {
      return make_error(ErrorCode::kInvalidArgument, "{} is a group; chunks belong to arrays", normalized);
    }
    id = it->second.id;
    shape = it->second.geometry.shape;
  } else {
    const Node* node = base_node(normalized);
    if (node == nullptr) return make_error(ErrorCode::kNotFound, "no array {} to set chunks of", normalized);
    if (node->kind != NodeKind::kArray) {
      return make_error(ErrorCode::kInvalidArgument, "{} is a group; chunks belong to arrays", normalized);
    }
    id = node->id;
    shape = node->shape;
  }
  if (auto it = changes_.chunks.find(id); it != changes_.chunks.end()) return &it->second;
  FLOE_ASSIGN_OR_RETURN(ChunkGrid grid, ChunkGrid::from_shape(shape, normalized));
  return &changes_.chunks.try_emplace(id, id, std::move(grid)).first->second;
}

Status WriteSession::write_chunk(std::string_view path, std::span<const std::uint32_t> index, Bytes data) {
  FLOE_ASSIGN_OR_RETURN(ArrayChanges * array, array_changes_for(path));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, array->grid().linear(index, path));
  if (data.size() > 0xffffffffu) return make_error(ErrorCode::kInvalidArgument, "{}: chunk larger than 4 GiB", path);
  PackedRef ref{.linear = linear, .offset = 0, .length = static_cast<std::uint32_t>(data.size())};
  if (data.size() <= repository_->inline_chunk_threshold()) {
    ref.target = changes_.add_target(ChunkTarget{.kind = ChunkKind::kInline, .inline_data = std::move(data)});
  } else {
    Id12 chunk_id = random_id12();
    Result<io::PutResult> put = repository_->store().put(repository_->key("chunks/" + to_string(chunk_id)), data);
    if (!put.ok()) return std::move(put).error().add_context(fmt::format("writing chunk {} of {}", format_chunk_index(index), path));
    ref.target = changes_.add_target(ChunkTarget{.kind = ChunkKind::kNative, .chunk_id = chunk_id});
  }
  array->set(ref);
  return ok_status();
}

Status WriteSession::set_chunk_ref(std::string_view path, std::span<const std::uint32_t> index, const ChunkRef& chunk) {
  switch (chunk.kind) {
    case ChunkKind::kVirtual:
      return set_virtual_ref(path, index, chunk.location, chunk.offset, chunk.length, chunk.checksum_etag,
                             chunk.checksum_last_modified);
    case ChunkKind::kInline: {
      FLOE_ASSIGN_OR_RETURN(ArrayChanges * array, array_changes_for(path));
      FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, array->grid().linear(index, path));
      array->set(PackedRef{.linear = linear, .offset = 0, .length = static_cast<std::uint32_t>(chunk.inline_data.size()),
                           .target = changes_.add_target(ChunkTarget{.kind = ChunkKind::kInline,
                                                                     .inline_data = chunk.inline_data})});
      return ok_status();
    }
    case ChunkKind::kNative: {
      FLOE_ASSIGN_OR_RETURN(ArrayChanges * array, array_changes_for(path));
      FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, array->grid().linear(index, path));
      if (chunk.length > 0xffffffffu) return make_error(ErrorCode::kInvalidArgument, "{}: chunk larger than 4 GiB", path);
      array->set(PackedRef{.linear = linear, .offset = chunk.offset, .length = static_cast<std::uint32_t>(chunk.length),
                           .target = changes_.add_target(ChunkTarget{.kind = ChunkKind::kNative,
                                                                     .chunk_id = chunk.chunk_id})});
      return ok_status();
    }
  }
  return ok_status();
}

Status WriteSession::set_virtual_ref(std::string_view path, std::span<const std::uint32_t> index,
                                     std::string_view location, std::uint64_t offset, std::uint64_t length,
                                     std::string_view checksum_etag, std::uint32_t checksum_last_modified) {
  FLOE_ASSIGN_OR_RETURN(ArrayChanges * array, array_changes_for(path));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, array->grid().linear(index, path));
  if (length == 0 || length > 0xffffffffu) {
    return make_error(ErrorCode::kInvalidArgument, "{} chunk {}: virtual chunk length {} is not in 1..4 GiB", path,
                      format_chunk_index(index), length);
  }
  if (location.empty()) return make_error(ErrorCode::kInvalidArgument, "{}: empty virtual chunk location", path);
  array->set(PackedRef{.linear = linear, .offset = offset, .length = static_cast<std::uint32_t>(length),
                       .target = changes_.intern_virtual(location, checksum_etag, checksum_last_modified)});
  return ok_status();
}

Status WriteSession::delete_chunk(std::string_view path, std::span<const std::uint32_t> index) {
  FLOE_ASSIGN_OR_RETURN(ArrayChanges * array, array_changes_for(path));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, array->grid().linear(index, path));
  array->set(PackedRef{.linear = linear, .offset = 0, .length = 0, .target = kDeletedChunk});
  return ok_status();
}

}  // namespace floe::icechunk
