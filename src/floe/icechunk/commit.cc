// Commit: materialize the change set on a base snapshot (manifests split per extents, tx log, snapshot),
// move the branch with the repo compare-and-swap, detect conflicts and rebase, amend.
#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"

namespace floe::icechunk {
namespace {



// Writes the refs of a commit's arrays (in node id order, as manifests require) into manifests of at most
// `max_refs` refs. Small arrays share a manifest; a large array is cut only between slabs of its first dimension,
// so the extents of one array's manifests never overlap. Each array gets a ManifestRef per manifest it is in.
class ManifestWriter {
 public:
  ManifestWriter(Repository& repository, std::uint64_t max_refs,
                 const std::optional<std::vector<std::uint8_t>>& dictionary)
      : repository_(repository), max_refs_(std::max<std::uint64_t>(max_refs, 1)), dictionary_(dictionary) {}

  void begin_array(const Id8& node, std::uint32_t ndim) {
    node_ = node;
    ndim_ = ndim;
    in_builder_ = false;
    array_manifests_.clear();
  }

  Status add(const ChunkRefView& ref) {
    const std::uint32_t slab = ndim_ == 0 ? 0 : ref.index[0];
    if (in_builder_ && builder_->num_refs() >= max_refs_ && slab != last_slab_) FLOE_RETURN_IF_ERROR(flush());
    if (!builder_) {
      current_id_ = random_id12();
      builder_.emplace(current_id_, ManifestBuilderOptions{.zstd_level = 3, .location_dictionary = dictionary_});
    }
    if (!in_builder_) {
      FLOE_RETURN_IF_ERROR(builder_->begin_array(node_));
      in_builder_ = true;
      low_.assign(ndim_, 0xffffffffu);
      high_.assign(ndim_, 0);
    }
    for (std::uint32_t i = 0; i < ndim_; ++i) {
      low_[i] = std::min(low_[i], ref.index[i]);
      high_[i] = std::max(high_[i], ref.index[i] + 1);
    }
    last_slab_ = slab;
    return builder_->add_ref(ref);
  }

  // The manifests of the array just written; the shared manifest stays open for the next array unless full.
  Result<std::vector<ManifestRef>> end_array() {
    FLOE_RETURN_IF_ERROR(close_array());
    if (builder_ && builder_->num_refs() >= max_refs_) FLOE_RETURN_IF_ERROR(flush());
    return std::move(array_manifests_);
  }

  // Writes the open manifest. The refs of arrays already ended point at it by id; they are valid once it is
  // stored, which happens before the snapshot that lists them.
  Status flush() {
    FLOE_RETURN_IF_ERROR(close_array());
    if (!builder_) return ok_status();
    const std::uint64_t refs = builder_->num_refs();
    FLOE_ASSIGN_OR_RETURN(Bytes file, builder_->finish());
    builder_.reset();
    const std::string key = repository_.key("manifests/" + to_string(current_id_));
    const std::uint64_t size = file.size();
    Result<io::PutResult> put = repository_.store().put(key, std::move(file));
    if (!put.ok()) return std::move(put).error().add_context("writing manifest " + repository_.store().url_for(key));
    files.push_back(ManifestFileInfo{.id = current_id_, .size_bytes = size,
                                     .num_chunk_refs = static_cast<std::uint32_t>(refs)});
    return ok_status();
  }

  std::vector<ManifestFileInfo> files;

 private:
  Status close_array() {
    if (!in_builder_) return ok_status();
    FLOE_RETURN_IF_ERROR(builder_->end_array());
    in_builder_ = false;
    ManifestRef ref{.manifest_id = current_id_, .extents = {}};
    for (std::uint32_t i = 0; i < ndim_; ++i) ref.extents.push_back(ChunkExtent{low_[i], high_[i]});
    array_manifests_.push_back(std::move(ref));
    return ok_status();
  }

  Repository& repository_;
  std::uint64_t max_refs_;
  const std::optional<std::vector<std::uint8_t>>& dictionary_;
  std::optional<ManifestBuilder> builder_;
  Id12 current_id_{};
  Id8 node_{};
  std::uint32_t ndim_ = 0;
  bool in_builder_ = false;
  std::vector<ManifestRef> array_manifests_;
  std::vector<std::uint32_t> low_, high_;
  std::uint32_t last_slab_ = 0;
};

// The old refs of an array, packed (targets interned into the change set) and sorted by chunk number.
Result<std::vector<PackedRef>> existing_refs(Repository& repository, ChangeSet& changes, const Snapshot& base,
                                            const Node& node, const ChunkGrid& grid) {
  std::vector<PackedRef> refs;
  for (const ManifestRef& manifest_ref : node.manifests) {
    FLOE_ASSIGN_OR_RETURN(ManifestView manifest,
                          repository.manifest(manifest_ref.manifest_id, manifest_size(base, manifest_ref.manifest_id)));
    FLOE_RETURN_IF_ERROR(manifest.for_each_ref(node.id, [&](const ChunkRefView& view) -> Status {
      if (!extents_contain(manifest_ref.extents, view.index) || !grid.contains(view.index)) return ok_status();
      FLOE_ASSIGN_OR_RETURN(std::uint64_t linear, grid.linear(view.index, node.path));
      PackedRef packed{.linear = linear, .offset = view.offset, .length = static_cast<std::uint32_t>(view.length)};
      switch (view.kind) {
        case ChunkKind::kVirtual:
          packed.target = changes.intern_virtual(view.location, view.checksum_etag, view.checksum_last_modified);
          break;
        case ChunkKind::kInline:
          packed.length = static_cast<std::uint32_t>(view.inline_data.size());
          packed.target = changes.add_target(ChunkTarget{
              .kind = ChunkKind::kInline,
              .inline_data = Bytes::copy_of(std::span<const std::byte>(
                  reinterpret_cast<const std::byte*>(view.inline_data.data()), view.inline_data.size()))});
          break;
        case ChunkKind::kNative:
          packed.target = changes.add_target(ChunkTarget{.kind = ChunkKind::kNative, .chunk_id = view.chunk_id});
          break;
      }
      refs.push_back(packed);
      return ok_status();
    }));
  }
  std::sort(refs.begin(), refs.end(), [](const PackedRef& a, const PackedRef& b) { return a.linear < b.linear; });
  return refs;
}

struct ChunkCoordsList {  // flattened coordinates (amend merges), kept alive while the tx log is written
  std::uint32_t ndim = 0;
  std::vector<std::uint32_t> coords;
};

}  // namespace

// Applies the change set to `base` and writes the manifests; returns the new snapshot (not yet stored).
static Result<Snapshot> materialize(Repository& repository, ChangeSet& changes, const Snapshot& base,
                                    const Id12& new_id) {
  std::map<std::string, Node> nodes;
  std::set<Id8> deleted;
  for (const auto& [path, node] : changes.deleted_nodes) deleted.insert(node.id);
  for (const Node& node : base.nodes) {
    if (!deleted.count(node.id)) nodes.emplace(node.path, node);
  }
  for (const auto& [path, change] : changes.put_nodes) {
    auto it = nodes.find(path);
    if (change.is_new) {
      if (it != nodes.end()) {
        return make_error(ErrorCode::kConflict, "conflict: {} was created here and by a concurrent commit", path);
      }
      Node node{.id = change.id, .path = path, .zarr_json = change.zarr_json, .kind = change.kind};
      node.shape = change.geometry.shape;
      node.dimension_names = change.geometry.dimension_names;
      nodes.emplace(path, std::move(node));
    } else {
      if (it == nodes.end() || it->second.id != change.id) {
        return make_error(ErrorCode::kConflict, "conflict: {} was changed here and deleted by a concurrent commit", path);
      }
      it->second.zarr_json = change.zarr_json;
      if (change.kind == NodeKind::kArray) {
        it->second.shape = change.geometry.shape;
        it->second.dimension_names = change.geometry.dimension_names;
      }
    }
  }
  for (const auto& [path, node] : nodes) {
    if (path == "/") continue;
    size_t slash = path.rfind('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    auto it = nodes.find(parent);
    if (it == nodes.end() || it->second.kind != NodeKind::kGroup) {
      return make_error(ErrorCode::kConflict, "conflict: the parent group {} of {} does not exist", parent, path);
    }
  }

  std::map<Id8, Node*> by_id;
  for (auto& [path, node] : nodes) by_id[node.id] = &node;
  std::uint64_t virtual_changes = 0;
  for (const auto& [id, array] : changes.chunks) virtual_changes += array.count();
  std::optional<std::vector<std::uint8_t>> dictionary;
  if (virtual_changes >= repository.write_options().location_compression_min_refs &&
      changes.num_virtual_targets() >= 8) {
    std::vector<std::string_view> samples = changes.location_samples(1000);
    dictionary = train_location_dictionary(samples);
  }

  std::map<Id12, ManifestFileInfo> files;
  for (const ManifestFileInfo& info : base.manifest_files) files[info.id] = info;
  ManifestWriter writer(repository, repository.write_options().max_refs_per_manifest, dictionary);
  for (auto& [id, array] : changes.chunks) {
    auto node_it = by_id.find(id);
    if (node_it == by_id.end() || array.count() == 0) continue;
    Node& node = *node_it->second;
    FLOE_ASSIGN_OR_RETURN(ChunkGrid grid, ChunkGrid::from_shape(node.shape, node.path));
    if (grid.num_chunks() != array.grid().num_chunks()) {
      return make_error(ErrorCode::kConflict, "conflict: {} changed shape concurrently; its chunks cannot be merged",
                        node.path);
    }
    FLOE_ASSIGN_OR_RETURN(std::vector<PackedRef> old, existing_refs(repository, changes, base, node, grid));
    writer.begin_array(id, grid.ndim());
    std::vector<std::uint32_t> coords(std::max<std::uint32_t>(grid.ndim(), 1));
    auto emit = [&](const PackedRef& ref) { return writer.add(changes.view(ref, grid, coords.data())); };
    size_t next_old = 0;
    Status merged = array.for_each([&](const PackedRef& change) -> Status {
      while (next_old < old.size() && old[next_old].linear < change.linear) {
        Status emitted = emit(old[next_old++]);
        if (!emitted.ok()) return emitted;
      }
      if (next_old < old.size() && old[next_old].linear == change.linear) ++next_old;
      return change.target == kDeletedChunk ? ok_status() : emit(change);
    });
    FLOE_RETURN_IF_ERROR(merged);
    while (next_old < old.size()) FLOE_RETURN_IF_ERROR(emit(old[next_old++]));
    FLOE_ASSIGN_OR_RETURN(node.manifests, writer.end_array());
  }
  FLOE_RETURN_IF_ERROR(writer.flush());
  for (const ManifestFileInfo& info : writer.files) files[info.id] = info;

  Snapshot snapshot;
  snapshot.spec_version = 2;
  snapshot.id = new_id;
  std::set<Id12> referenced;
  for (auto& [path, node] : nodes) {
    for (const ManifestRef& ref : node.manifests) referenced.insert(ref.manifest_id);
    snapshot.nodes.push_back(std::move(node));
  }
  for (const Id12& id : referenced) {
    auto it = files.find(id);
    if (it == files.end()) {
      return make_error(ErrorCode::kCorrupt, "manifest {} is referenced by the base snapshot {} but not listed in its "
                        "manifest files", to_string(id), to_string(base.id));
    }
    snapshot.manifest_files.push_back(it->second);
  }
  return snapshot;
}

Result<Id12> WriteSession::commit(std::string message, Json metadata, const CommitOptions& options) {
  if (changes_.empty() && !options.amend) {
    return make_error(ErrorCode::kInvalidArgument, "nothing to commit on branch {}", branch_);
  }
  for (auto& [id, array] : changes_.chunks) array.compact();

  for (int attempt = 0; attempt < std::max(options.max_attempts, 1); ++attempt) {
    FLOE_ASSIGN_OR_RETURN(Id12 tip, repository_->branch_tip(branch_));
    if (tip != base_->id) {
      if (options.amend || !options.rebase) {
        return make_error(ErrorCode::kConflict, "conflict: branch {} moved from {} to {} since this session began{}",
                          branch_, to_string(base_->id), to_string(tip),
                          options.amend ? "; only the tip can be amended" : "");
      }
      FLOE_RETURN_IF_ERROR(rebase_onto(tip));
    }
    std::optional<Id12> parent = base_->id;
    std::optional<TransactionLog> amended_log;
    if (options.amend) {
      FLOE_ASSIGN_OR_RETURN(std::vector<SnapshotSummary> history, repository_->ancestry(base_->id));
      if (history.empty() || !history.front().parent) {
        return make_error(ErrorCode::kInvalidArgument, "the first commit of a repository cannot be amended");
      }
      parent = history.front().parent;
      FLOE_ASSIGN_OR_RETURN(amended_log, repository_->transaction_log(base_->id));
    }

    const Id12 new_id = random_id12();
    const std::string name = to_string(new_id);
    io::PutOptions create_only;
    create_only.if_none_match = true;

    // Transaction log: what this commit changed (merged with the amended commit's own log when amending).
    TransactionLogToWrite log;
    log.id = new_id;
    std::set<Id8> new_groups, new_arrays, updated_groups, updated_arrays, deleted_groups, deleted_arrays;
    for (const auto& [path, change] : changes_.put_nodes) {
      auto& list = change.is_new ? (change.kind == NodeKind::kGroup ? new_groups : new_arrays)
                                 : (change.kind == NodeKind::kGroup ? updated_groups : updated_arrays);
      list.insert(change.id);
    }
    for (const auto& [path, node] : changes_.deleted_nodes) {
      (node.kind == NodeKind::kGroup ? deleted_groups : deleted_arrays).insert(node.id);
    }
    std::deque<ChunkCoordsList> merged_coords;
    std::map<Id8, const UpdatedChunks*> amended_chunks;
    if (amended_log) {
      auto merge_created = [&](const std::vector<Id8>& created, std::set<Id8>& created_set, std::set<Id8>& updated_set,
                               std::set<Id8>& deleted_set) {
        for (const Id8& id : created) {
          if (deleted_set.erase(id)) continue;  // created there, deleted here: never existed
          updated_set.erase(id);
          created_set.insert(id);
        }
      };
      merge_created(amended_log->new_groups, new_groups, updated_groups, deleted_groups);
      merge_created(amended_log->new_arrays, new_arrays, updated_arrays, deleted_arrays);
      for (const Id8& id : amended_log->updated_groups) if (!deleted_groups.count(id) && !new_groups.count(id)) updated_groups.insert(id);
      for (const Id8& id : amended_log->updated_arrays) if (!deleted_arrays.count(id) && !new_arrays.count(id)) updated_arrays.insert(id);
      deleted_groups.insert(amended_log->deleted_groups.begin(), amended_log->deleted_groups.end());
      deleted_arrays.insert(amended_log->deleted_arrays.begin(), amended_log->deleted_arrays.end());
      for (const UpdatedChunks& entry : amended_log->updated_chunks) amended_chunks[entry.node_id] = &entry;
    }
    log.new_groups.assign(new_groups.begin(), new_groups.end());
    log.new_arrays.assign(new_arrays.begin(), new_arrays.end());
    log.updated_groups.assign(updated_groups.begin(), updated_groups.end());
    log.updated_arrays.assign(updated_arrays.begin(), updated_arrays.end());
    log.deleted_groups.assign(deleted_groups.begin(), deleted_groups.end());
    log.deleted_arrays.assign(deleted_arrays.begin(), deleted_arrays.end());
    std::set<Id8> chunk_nodes;
    for (const auto& [id, array] : changes_.chunks) if (array.count() > 0) chunk_nodes.insert(id);
    for (const auto& [id, entry] : amended_chunks) chunk_nodes.insert(id);
    for (const Id8& id : chunk_nodes) {
      if (deleted_arrays.count(id)) continue;
      auto ours = changes_.chunks.find(id);
      auto theirs = amended_chunks.find(id);
      if (theirs == amended_chunks.end()) {
        const ArrayChanges& array = ours->second;
        log.updated_chunks.push_back(UpdatedChunksSource{
            .node_id = id, .ndim = array.grid().ndim(), .count = array.count(),
            .coords_at = [&array](std::uint64_t i, std::uint32_t* out) { array.grid().coords(array.at(i).linear, out); }});
        continue;
      }
      std::set<std::vector<std::uint32_t>> all;
      const UpdatedChunks& previous = *theirs->second;
      for (size_t i = 0; i < previous.count(); ++i) {
        all.insert(std::vector<std::uint32_t>(previous.coords.begin() + i * previous.ndim,
                                              previous.coords.begin() + (i + 1) * previous.ndim));
      }
      std::uint32_t ndim = previous.ndim;
      if (ours != changes_.chunks.end()) {
        const ArrayChanges& array = ours->second;
        ndim = array.grid().ndim();
        std::vector<std::uint32_t> coords(ndim);
        for (std::uint64_t i = 0; i < array.count(); ++i) {
          array.grid().coords(array.at(i).linear, coords.data());
          all.insert(coords);
        }
      }
      ChunkCoordsList& list = merged_coords.emplace_back();
      list.ndim = ndim;
      for (const auto& coords : all) list.coords.insert(list.coords.end(), coords.begin(), coords.end());
      log.updated_chunks.push_back(UpdatedChunksSource{
          .node_id = id, .ndim = ndim, .count = all.size(),
          .coords_at = [&list](std::uint64_t i, std::uint32_t* out) {
            std::copy_n(list.coords.begin() + static_cast<std::ptrdiff_t>(i * list.ndim), list.ndim, out);
          }});
    }

    // The log goes first and its bytes are released before the manifests are built: the two never
    // share the peak (at 10^7 refs each is tens of MB next to the packed refs).
    Result<io::PutResult> put_log =
        repository_->store().put(repository_->key("transactions/" + name), write_transaction_log_file(log), create_only);
    if (!put_log.ok()) return std::move(put_log).error().add_context("writing the transaction log of " + name);
    merged_coords.clear();

    FLOE_ASSIGN_OR_RETURN(Snapshot snapshot, materialize(*repository_, changes_, *base_, new_id));
    snapshot.flushed_at_us = now_us();
    snapshot.message = message;
    snapshot.metadata = metadata;
    Result<io::PutResult> put_snapshot =
        repository_->store().put(repository_->key("snapshots/" + name), write_snapshot_file(snapshot), create_only);
    if (!put_snapshot.ok()) return std::move(put_snapshot).error().add_context("writing snapshot " + name);

    std::optional<Id12> moved_to;
    const Id12 expected_tip = base_->id;
    Result<RepoInfo> updated = repository_->update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
      Id12 current{};
      bool found = false;
      for (const RefEntry& ref : info.branches) {
        if (ref.name == branch_) {
          current = info.snapshots.at(ref.snapshot_index).id;
          found = true;
        }
      }
      if (!found) return make_error(ErrorCode::kNotFound, "branch {} was deleted", branch_);
      if (current != expected_tip) {
        moved_to = current;
        return make_error(ErrorCode::kConflict, "branch {} moved", branch_);
      }
      SnapshotInfo entry{.id = new_id, .parent_offset = -1, .flushed_at_us = snapshot.flushed_at_us,
                         .message = message, .metadata = metadata, .pruned_ancestor_tx_logs = {}};
      FLOE_RETURN_IF_ERROR(add_commit_to_repo_info(info, std::move(entry), parent, branch_));
      if (options.amend) {
        update = RepoUpdate{.kind = UpdateKind::kCommitAmended, .name = branch_, .previous_snap_id = expected_tip,
                            .new_snap_id = new_id};
      } else {
        update = RepoUpdate{.kind = UpdateKind::kNewCommit, .name = branch_, .new_snap_id = new_id};
      }
      return ok_status();
    });
    if (updated.ok()) {
      FLOE_ASSIGN_OR_RETURN(base_, repository_->snapshot(new_id));
      changes_ = ChangeSet();
      return new_id;
    }
    if (!moved_to) return std::move(updated).error();
    if (options.amend || !options.rebase) {
      return make_error(ErrorCode::kConflict, "conflict: branch {} moved to {} while committing", branch_,
                        to_string(*moved_to));
    }
    // The branch moved between our check and the swap: the next round rebases onto the new tip.
  }
  return make_error(ErrorCode::kConflict, "conflict: gave up committing to branch {} after {} rebase attempts",
                    branch_, options.max_attempts);
}

Status WriteSession::rebase_onto(const Id12& tip) {
  FLOE_ASSIGN_OR_RETURN(std::optional<std::vector<Id12>> theirs, repository_->transaction_logs_since(base_->id, tip));
  if (!theirs) {
    return make_error(ErrorCode::kConflict,
                      "conflict: branch {} was reset to {}, which does not descend from this session's base {}; "
                      "start a new session", branch_, to_string(tip), to_string(base_->id));
  }
  FLOE_ASSIGN_OR_RETURN(auto new_base, repository_->snapshot(tip));
  std::set<Id8> their_deleted, their_updated;
  std::map<Id8, std::vector<const UpdatedChunks*>> their_chunks;
  std::deque<TransactionLog> logs;
  for (const Id12& id : *theirs) {
    FLOE_ASSIGN_OR_RETURN(TransactionLog log, repository_->transaction_log(id));
    logs.push_back(std::move(log));
    const TransactionLog& stored = logs.back();
    their_deleted.insert(stored.deleted_groups.begin(), stored.deleted_groups.end());
    their_deleted.insert(stored.deleted_arrays.begin(), stored.deleted_arrays.end());
    their_updated.insert(stored.updated_groups.begin(), stored.updated_groups.end());
    their_updated.insert(stored.updated_arrays.begin(), stored.updated_arrays.end());
    for (const UpdatedChunks& entry : stored.updated_chunks) their_chunks[entry.node_id].push_back(&entry);
  }
  auto path_of = [&](const Id8& id) -> std::string {
    for (const auto& [path, change] : changes_.put_nodes) if (change.id == id) return path;
    for (const Node& node : base_->nodes) if (node.id == id) return node.path;
    return to_string(id);
  };
  std::vector<std::string> conflicts;
  for (const auto& [path, change] : changes_.put_nodes) {
    if (change.is_new) {
      if (find_node(new_base->nodes, path) != nullptr) conflicts.push_back(fmt::format("{}: created here and by a concurrent commit", path));
    } else if (their_deleted.count(change.id)) {
      conflicts.push_back(fmt::format("{}: changed here, deleted by a concurrent commit", path));
    } else if (their_updated.count(change.id)) {
      conflicts.push_back(fmt::format("{}: zarr metadata changed here and by a concurrent commit", path));
    }
  }
  for (const auto& [path, node] : changes_.deleted_nodes) {
    if (their_updated.count(node.id) || their_chunks.count(node.id)) {
      conflicts.push_back(fmt::format("{}: deleted here, changed by a concurrent commit", path));
    }
  }
  for (const auto& [id, array] : changes_.chunks) {
    if (array.count() == 0) continue;
    const std::string path = path_of(id);
    if (their_deleted.count(id)) {
      conflicts.push_back(fmt::format("{}: chunks written here, array deleted by a concurrent commit", path));
      continue;
    }
    if (their_updated.count(id)) {
      conflicts.push_back(fmt::format("{}: chunks written here, array metadata changed by a concurrent commit", path));
      continue;
    }
    auto chunks = their_chunks.find(id);
    if (chunks == their_chunks.end()) continue;
    for (const UpdatedChunks* entry : chunks->second) {
      for (size_t i = 0; i < entry->count(); ++i) {
        std::span<const std::uint32_t> coords(entry->coords.data() + i * entry->ndim, entry->ndim);
        if (!array.grid().contains(coords)) continue;
        auto linear = array.grid().linear(coords, path);
        if (linear.ok() && array.touches(*linear)) {
          conflicts.push_back(fmt::format("{} chunk {}: written here and by a concurrent commit", path, format_chunk_index(coords)));
        }
      }
    }
  }
  if (!conflicts.empty()) {
    const size_t shown = std::min<size_t>(conflicts.size(), 20);
    std::string listing = fmt::format("{}", fmt::join(conflicts.begin(), conflicts.begin() + static_cast<std::ptrdiff_t>(shown), "; "));
    if (conflicts.size() > shown) listing += fmt::format("; and {} more", conflicts.size() - shown);
    return make_error(ErrorCode::kConflict, "conflict: commit to branch {} cannot be rebased onto {}: {}", branch_,
                      to_string(tip), listing);
  }
  base_ = std::move(new_base);
  return ok_status();
}

}  // namespace floe::icechunk
