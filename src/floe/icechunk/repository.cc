// Repository: opening and creating, refs and the repo compare-and-swap, ancestry, diff, caches.
#include "floe/icechunk/repository.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "floe/icechunk/envelope.h"
#include "floe/icechunk/session.h"

namespace floe::icechunk {
namespace {

constexpr size_t kMaxOpsLogEntries = 1000;
constexpr std::uint64_t kBackupEpochMs = 32503680000000ull;  // inverted timestamps sort newest first

Status refuse_spec1_write(const Repository& repository) {
  return make_error(ErrorCode::kUnsupported,
                    "{} is a spec-1 Icechunk repository, which floe reads but does not change; upgrade it with "
                    "icechunk-python (icechunk.upgrade_icechunk_repository) first", repository.url());
}

bool is_not_found(const Error& error) { return error.code() == ErrorCode::kNotFound; }

// Refs and parents by id, so snapshots can be inserted while indices into the sorted list stay right.
struct RepoGraph {
  std::vector<std::pair<std::string, Id12>> branches, tags;
  std::vector<std::optional<Id12>> parents;  // parallel to info.snapshots
};

RepoGraph graph_of(const RepoInfo& info) {
  RepoGraph graph;
  for (const RefEntry& ref : info.branches) graph.branches.emplace_back(ref.name, info.snapshots.at(ref.snapshot_index).id);
  for (const RefEntry& ref : info.tags) graph.tags.emplace_back(ref.name, info.snapshots.at(ref.snapshot_index).id);
  for (const SnapshotInfo& snapshot : info.snapshots) {
    graph.parents.push_back(snapshot.parent_offset < 0 ? std::nullopt
                                                       : std::optional(info.snapshots.at(snapshot.parent_offset).id));
  }
  return graph;
}

Result<std::uint32_t> index_of(const RepoInfo& info, const Id12& id) {
  auto it = std::lower_bound(info.snapshots.begin(), info.snapshots.end(), id,
                             [](const SnapshotInfo& s, const Id12& value) { return s.id < value; });
  if (it == info.snapshots.end() || it->id != id) {
    return make_error(ErrorCode::kNotFound, "snapshot {} is not in the repository", to_string(id));
  }
  return static_cast<std::uint32_t>(it - info.snapshots.begin());
}

// Sorts snapshots by id and recomputes every index from the graph.
Status apply_graph(RepoInfo& info, RepoGraph graph) {
  std::vector<std::pair<SnapshotInfo, std::optional<Id12>>> rows;
  for (size_t i = 0; i < info.snapshots.size(); ++i) rows.emplace_back(std::move(info.snapshots[i]), graph.parents[i]);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
  info.snapshots.clear();
  for (auto& row : rows) info.snapshots.push_back(std::move(row.first));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].second) {
      info.snapshots[i].parent_offset = -1;
      continue;
    }
    FLOE_ASSIGN_OR_RETURN(std::uint32_t parent, index_of(info, *rows[i].second));
    info.snapshots[i].parent_offset = static_cast<std::int32_t>(parent);
  }
  auto refs_of = [&](const std::vector<std::pair<std::string, Id12>>& named) -> Result<std::vector<RefEntry>> {
    std::vector<RefEntry> refs;
    for (const auto& [name, id] : named) {
      FLOE_ASSIGN_OR_RETURN(std::uint32_t index, index_of(info, id));
      refs.push_back(RefEntry{name, index});
    }
    std::sort(refs.begin(), refs.end(), [](const RefEntry& a, const RefEntry& b) { return a.name < b.name; });
    return refs;
  };
  FLOE_ASSIGN_OR_RETURN(info.branches, refs_of(graph.branches));
  FLOE_ASSIGN_OR_RETURN(info.tags, refs_of(graph.tags));
  return ok_status();
}

std::string backup_name(std::uint64_t now_ms) {
  Id12 random = random_id12();
  return fmt::format("repo.{:014d}.{}", kBackupEpochMs - now_ms, encode_crockford(random));
}

// Adds each container under its prefix unless the prefix is already configured.
void add_container_entries(Json& config, const std::vector<VirtualChunkContainer>& containers) {
  if (containers.empty()) return;
  Json& entries = config["virtual_chunk_containers"];
  if (!entries.is_object()) entries = Json::object();
  for (const VirtualChunkContainer& container : containers) {
    if (entries.contains(container.url_prefix)) continue;
    entries[container.url_prefix] = Json{{"name", container.name ? Json(*container.name) : Json(nullptr)},
                                         {"url_prefix", container.url_prefix},
                                         {"store", container.store}};
  }
}

Json config_json(const CreateOptions& options) {
  Json config = Json::object();
  config["inline_chunk_threshold_bytes"] = options.inline_chunk_threshold_bytes.value_or(512);
  add_container_entries(config, options.containers);
  return config;
}

template <typename T>
Status to_status(Result<T>&& result) {
  if (!result.ok()) return std::move(result).error();
  return ok_status();
}

}  // namespace

std::uint64_t now_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string format_timestamp_us(std::uint64_t micros) {
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros % 1000000);
}

const SnapshotInfo* find_snapshot_info(const RepoInfo& info, const Id12& id) {
  auto index = index_of(info, id);
  return index.ok() ? &info.snapshots[*index] : nullptr;
}

Status add_commit_to_repo_info(RepoInfo& info, SnapshotInfo snapshot, const std::optional<Id12>& parent,
                               std::string_view branch) {
  RepoGraph graph = graph_of(info);
  if (find_snapshot_info(info, snapshot.id) != nullptr) {
    return make_error(ErrorCode::kConflict, "snapshot {} is already in the repository", to_string(snapshot.id));
  }
  const Id12 id = snapshot.id;
  info.snapshots.push_back(std::move(snapshot));
  graph.parents.push_back(parent);
  auto it = std::find_if(graph.branches.begin(), graph.branches.end(), [&](auto& b) { return b.first == branch; });
  if (it == graph.branches.end()) graph.branches.emplace_back(std::string(branch), id);
  else it->second = id;
  return apply_graph(info, std::move(graph));
}

Repository::Repository(std::shared_ptr<io::ObjectStore> store, std::string prefix,
                       std::shared_ptr<io::StoreRegistry> registry)
    : store_(std::move(store)), prefix_(std::move(prefix)), registry_(std::move(registry)) {
  while (prefix_.size() > 1 && prefix_.ends_with('/')) prefix_.pop_back();
}

std::string Repository::key(std::string_view name) const {
  if (prefix_.empty()) return std::string(name);
  if (prefix_ == "/") return fmt::format("/{}", name);
  return fmt::format("{}/{}", prefix_, name);
}

std::string Repository::url() const { return store_->url_for(prefix_); }

std::uint32_t Repository::inline_chunk_threshold() const {
  auto it = config_.find("inline_chunk_threshold_bytes");
  if (it != config_.end() && it->is_number_unsigned()) return it->get<std::uint32_t>();
  return 512;
}

Status Repository::load_config() {
  if (spec_version_ >= 2) {
    FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
    if (state.info && state.info->config) {
      auto config = flexbuffer_to_json(*state.info->config);
      if (!config.ok()) return std::move(config).error().add_context(fmt::format("config in {}", key("repo")));
      config_ = std::move(config).value();
    }
  } else {
    Result<Bytes> yaml = store_->get(key("config.yaml"));
    if (yaml.ok()) {
      auto config = parse_spec1_config_yaml(yaml->view());
      if (!config.ok()) return std::move(config).error().add_context(store_->url_for(key("config.yaml")));
      config_ = std::move(config).value();
    } else if (!is_not_found(yaml.error())) {
      return std::move(yaml).error();
    }
  }
  if (!config_.is_object()) config_ = Json::object();
  resolver_ = std::make_unique<VirtualChunkResolver>(containers_from_config(config_), registry_);
  return ok_status();
}

Result<std::shared_ptr<Repository>> Repository::open(std::shared_ptr<io::ObjectStore> store, std::string prefix,
                                                     std::shared_ptr<io::StoreRegistry> registry) {
  std::shared_ptr<Repository> repository(new Repository(std::move(store), std::move(prefix), std::move(registry)));
  Result<io::ObjectMeta> repo = repository->store_->head(repository->key("repo"));
  if (repo.ok()) {
    repository->spec_version_ = 2;
  } else if (is_not_found(repo.error())) {
    FLOE_ASSIGN_OR_RETURN(io::ListResult refs, repository->store_->list(repository->key("refs/branch.main/")));
    if (refs.objects.empty()) {
      return make_error(ErrorCode::kNotFound,
                        "no Icechunk repository at {}: neither a `repo` object (spec 2) nor refs/branch.main (spec 1); "
                        "create one with `floe repo init`", repository->url());
    }
    repository->spec_version_ = 1;
  } else {
    return std::move(repo).error().add_context(fmt::format("opening repository {}", repository->url()));
  }
  FLOE_RETURN_IF_ERROR(repository->load_config());
  return repository;
}

Result<std::shared_ptr<Repository>> Repository::create(std::shared_ptr<io::ObjectStore> store, std::string prefix,
                                                       std::shared_ptr<io::StoreRegistry> registry,
                                                       const CreateOptions& options) {
  std::shared_ptr<Repository> repository(new Repository(std::move(store), std::move(prefix), std::move(registry)));
  io::ObjectStore& objects = *repository->store_;
  if (Result<io::ObjectMeta> existing = objects.head(repository->key("repo")); existing.ok()) {
    return make_error(ErrorCode::kConflict, "{} is already an Icechunk repository", repository->url());
  }
  const std::uint64_t now = now_us();
  Json root_metadata = {{"__icechunk", {{"is_root", true}}}};
  Snapshot initial;
  initial.id = kInitialSnapshotId;
  initial.flushed_at_us = now;
  initial.message = "Repository initialized";
  initial.metadata = root_metadata;
  const std::string snapshot_name = to_string(kInitialSnapshotId);
  io::PutOptions create_only;
  create_only.if_none_match = true;
  auto put_once = [&](const std::string& name, Bytes bytes) -> Status {
    Result<io::PutResult> put = objects.put(repository->key(name), std::move(bytes), create_only);
    if (!put.ok() && put.error().code() != ErrorCode::kPreconditionFailed) return std::move(put).error();
    return ok_status();
  };
  FLOE_RETURN_IF_ERROR(put_once("snapshots/" + snapshot_name, write_snapshot_file(initial)));
  TransactionLogToWrite empty_log;
  empty_log.id = kInitialSnapshotId;
  FLOE_RETURN_IF_ERROR(put_once("transactions/" + snapshot_name, write_transaction_log_file(empty_log)));

  RepoInfo info;
  info.spec_version = kWrittenSpecVersion;
  info.snapshots.push_back(SnapshotInfo{.id = kInitialSnapshotId,
                                        .parent_offset = -1,
                                        .flushed_at_us = now,
                                        .message = initial.message,
                                        .metadata = root_metadata,
                                        .pruned_ancestor_tx_logs = {}});
  info.branches.push_back(RefEntry{"main", 0});
  info.status.set_at_us = now;
  info.latest_updates.push_back(RepoUpdate{.kind = UpdateKind::kRepoInitialized, .updated_at_us = now});
  info.config = json_to_flexbuffer(config_json(options));
  Result<io::PutResult> put = objects.put(repository->key("repo"), write_repo_info_file(info), create_only);
  if (!put.ok()) {
    if (put.error().code() == ErrorCode::kPreconditionFailed) {
      return make_error(ErrorCode::kConflict, "{} was created by someone else at the same time", repository->url());
    }
    return std::move(put).error().add_context(fmt::format("creating repository {}", repository->url()));
  }
  repository->spec_version_ = kWrittenSpecVersion;
  FLOE_RETURN_IF_ERROR(repository->load_config());
  return repository;
}

Result<RepoState> Repository::fetch_state() const {
  RepoState state;
  state.spec_version = spec_version_;
  if (spec_version_ >= 2) {
    const std::string repo_key = key("repo");
    for (int attempt = 0;; ++attempt) {
      // HEAD then a GET conditioned on that version: the bytes and the etag belong together.
      FLOE_ASSIGN_OR_RETURN(io::ObjectMeta meta, store_->head(repo_key));
      io::GetOptions options;
      options.if_match = meta.etag;
      Result<Bytes> bytes = store_->get(repo_key, options);
      if (!bytes.ok()) {
        if (bytes.error().code() == ErrorCode::kPreconditionFailed && attempt < 20) continue;
        return std::move(bytes).error();
      }
      FLOE_ASSIGN_OR_RETURN(RepoInfo info, read_repo_info_file(*bytes, store_->url_for(repo_key)));
      auto resolve_refs = [&](const std::vector<RefEntry>& refs, std::string_view kind,
                              std::map<std::string, Id12>& out) -> Status {
        for (const RefEntry& ref : refs) {
          if (ref.snapshot_index >= info.snapshots.size()) {
            return make_error(ErrorCode::kCorrupt, "{}: {} {} points at snapshot index {} of {}",
                              store_->url_for(repo_key), kind, ref.name, ref.snapshot_index, info.snapshots.size());
          }
          out[ref.name] = info.snapshots[ref.snapshot_index].id;
        }
        return ok_status();
      };
      FLOE_RETURN_IF_ERROR(resolve_refs(info.branches, "branch", state.branches));
      FLOE_RETURN_IF_ERROR(resolve_refs(info.tags, "tag", state.tags));
      for (const SnapshotInfo& snapshot : info.snapshots) {
        if (snapshot.parent_offset >= static_cast<std::int32_t>(info.snapshots.size())) {
          return make_error(ErrorCode::kCorrupt, "{}: snapshot {} has parent index {} of {}",
                            store_->url_for(repo_key), to_string(snapshot.id), snapshot.parent_offset,
                            info.snapshots.size());
        }
      }
      state.deleted_tags = info.deleted_tags;
      state.info = std::move(info);
      state.etag = meta.etag;
      state.raw = std::move(bytes).value();
      return state;
    }
  }
  // Spec 1: refs/branch.NAME/ref.json and refs/tag.NAME/ref.json(.deleted).
  FLOE_ASSIGN_OR_RETURN(io::ListResult listing, store_->list(key("refs/")));
  const std::string refs_prefix = key("refs/");
  for (const io::ObjectMeta& object : listing.objects) {
    std::string_view rest = std::string_view(object.key).substr(refs_prefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    std::string_view dir = rest.substr(0, slash);
    std::string_view file = rest.substr(slash + 1);
    const bool is_branch = dir.starts_with("branch.");
    const bool is_tag = dir.starts_with("tag.");
    if (!is_branch && !is_tag) continue;
    std::string name(dir.substr(is_branch ? 7 : 4));
    if (is_tag && file == "ref.json.deleted") {
      state.deleted_tags.push_back(name);
      continue;
    }
    if (file != "ref.json") continue;
    FLOE_ASSIGN_OR_RETURN(Bytes bytes, store_->get(object.key));
    Json ref = Json::parse(bytes.view(), nullptr, false);
    if (!ref.is_object() || !ref.contains("snapshot") || !ref["snapshot"].is_string()) {
      return make_error(ErrorCode::kCorrupt, "{}: not a ref ({{\"snapshot\": ID}} expected)", store_->url_for(object.key));
    }
    auto id = parse_id12(ref["snapshot"].get<std::string>());
    if (!id.ok()) return std::move(id).error().add_context(store_->url_for(object.key));
    (is_branch ? state.branches : state.tags)[name] = *id;
  }
  for (const std::string& deleted : state.deleted_tags) state.tags.erase(deleted);
  std::sort(state.deleted_tags.begin(), state.deleted_tags.end());
  return state;
}

Result<Id12> Repository::branch_tip(std::string_view branch) const {
  FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
  auto it = state.branches.find(std::string(branch));
  if (it == state.branches.end()) {
    return make_error(ErrorCode::kNotFound, "{} has no branch \"{}\"", url(), branch);
  }
  return it->second;
}

Result<Id12> Repository::tag_target(std::string_view tag) const {
  FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
  auto it = state.tags.find(std::string(tag));
  if (it == state.tags.end()) return make_error(ErrorCode::kNotFound, "{} has no tag \"{}\"", url(), tag);
  return it->second;
}

Result<Id12> Repository::resolve(std::string_view reference) const {
  if (reference.starts_with("branch:")) return branch_tip(reference.substr(7));
  if (reference.starts_with("tag:")) return tag_target(reference.substr(4));
  if (reference.size() == 20) {
    if (auto id = parse_id12(reference); id.ok()) return id;
  }
  FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
  if (auto it = state.branches.find(std::string(reference)); it != state.branches.end()) return it->second;
  if (auto it = state.tags.find(std::string(reference)); it != state.tags.end()) return it->second;
  return make_error(ErrorCode::kNotFound, "\"{}\" is neither a snapshot id nor a branch or tag of {}", reference, url());
}

Result<std::shared_ptr<const Snapshot>> Repository::snapshot(const Id12& id) const {
  const std::string name = to_string(id);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = snapshot_cache_.find(name); it != snapshot_cache_.end()) return it->second;
  }
  const std::string object_key = key("snapshots/" + name);
  Result<Bytes> bytes = store_->get(object_key);
  if (!bytes.ok()) {
    if (is_not_found(bytes.error())) {
      return make_error(ErrorCode::kCorrupt, "snapshot {} is referenced but {} is missing", name,
                        store_->url_for(object_key));
    }
    return std::move(bytes).error();
  }
  FLOE_ASSIGN_OR_RETURN(Snapshot snapshot, read_snapshot_file(*bytes, store_->url_for(object_key)));
  auto shared = std::make_shared<const Snapshot>(std::move(snapshot));
  std::lock_guard lock(cache_mutex_);
  snapshot_cache_[name] = shared;
  return std::shared_ptr<const Snapshot>(shared);
}

Result<ManifestView> Repository::manifest(const Id12& id, std::uint64_t size_hint) const {
  const std::string name = to_string(id);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = manifest_cache_.find(name); it != manifest_cache_.end()) return it->second;
  }
  const std::string object_key = key("manifests/" + name);
  io::GetOptions options;
  if (size_hint > 0) {
    options.offset = 0;
    options.length = size_hint;
  }
  Result<Bytes> bytes = store_->get(object_key, options);
  if (!bytes.ok()) {
    if (is_not_found(bytes.error())) {
      return make_error(ErrorCode::kCorrupt, "manifest {} is referenced by a snapshot but {} is missing", name,
                        store_->url_for(object_key));
    }
    return std::move(bytes).error();
  }
  FLOE_ASSIGN_OR_RETURN(ManifestView view, ManifestView::open(*bytes, store_->url_for(object_key)));
  std::lock_guard lock(cache_mutex_);
  if (manifest_cache_.size() > 64) manifest_cache_.clear();  // bounded: large manifests are big
  manifest_cache_.emplace(name, view);
  return view;
}

Result<TransactionLog> Repository::transaction_log(const Id12& id) const {
  const std::string object_key = key("transactions/" + to_string(id));
  Result<Bytes> bytes = store_->get(object_key);
  if (!bytes.ok()) {
    if (is_not_found(bytes.error())) {
      return make_error(ErrorCode::kCorrupt, "transaction log of snapshot {} is missing: {}", to_string(id),
                        store_->url_for(object_key));
    }
    return std::move(bytes).error();
  }
  return read_transaction_log_file(*bytes, store_->url_for(object_key));
}

Result<std::vector<SnapshotSummary>> Repository::ancestry(const Id12& start) const {
  std::vector<SnapshotSummary> history;
  if (spec_version_ >= 2) {
    FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
    const RepoInfo& info = *state.info;
    FLOE_ASSIGN_OR_RETURN(std::uint32_t index, index_of(info, start));
    std::int32_t current = static_cast<std::int32_t>(index);
    while (current >= 0 && history.size() <= info.snapshots.size()) {
      const SnapshotInfo& snapshot = info.snapshots[current];
      SnapshotSummary summary{snapshot.id, std::nullopt, snapshot.flushed_at_us, snapshot.message, snapshot.metadata,
                              snapshot.pruned_ancestor_tx_logs};
      if (snapshot.parent_offset >= 0) summary.parent = info.snapshots[snapshot.parent_offset].id;
      history.push_back(std::move(summary));
      current = snapshot.parent_offset;
    }
    return history;
  }
  std::optional<Id12> current = start;
  while (current && history.size() < 1'000'000) {
    FLOE_ASSIGN_OR_RETURN(auto snapshot, this->snapshot(*current));
    history.push_back(SnapshotSummary{snapshot->id, snapshot->parent_id, snapshot->flushed_at_us, snapshot->message,
                                      snapshot->metadata, {}});
    current = snapshot->parent_id;
  }
  return history;
}

Result<std::optional<std::vector<Id12>>> Repository::transaction_logs_since(const Id12& ancestor,
                                                                          const Id12& descendant) const {
  FLOE_ASSIGN_OR_RETURN(std::vector<SnapshotSummary> history, ancestry(descendant));
  std::vector<Id12> logs;
  for (const SnapshotSummary& summary : history) {
    if (summary.id == ancestor) return std::optional(std::move(logs));
    logs.push_back(summary.id);
    // Expired ancestors (spec 2.1) lie between a surviving snapshot and its parent.
    logs.insert(logs.end(), summary.pruned_ancestor_tx_logs.begin(), summary.pruned_ancestor_tx_logs.end());
  }
  return std::optional<std::vector<Id12>>();
}

Result<Diff> Repository::diff(const Id12& from, const Id12& to) const {
  FLOE_ASSIGN_OR_RETURN(std::optional<std::vector<Id12>> between, transaction_logs_since(from, to));
  if (!between) {
    return make_error(ErrorCode::kInvalidArgument, "snapshot {} is not an ancestor of {}; diff needs FROM before TO",
                      to_string(from), to_string(to));
  }
  FLOE_ASSIGN_OR_RETURN(auto from_snapshot, snapshot(from));
  FLOE_ASSIGN_OR_RETURN(auto to_snapshot, snapshot(to));
  std::map<Id8, const Node*> old_nodes, new_nodes;
  for (const Node& node : from_snapshot->nodes) old_nodes[node.id] = &node;
  for (const Node& node : to_snapshot->nodes) new_nodes[node.id] = &node;
  std::set<Id8> created, deleted, updated;
  std::map<Id8, std::set<std::vector<std::uint32_t>>> chunks;
  for (const Id12& id : *between) {
    FLOE_ASSIGN_OR_RETURN(TransactionLog log, transaction_log(id));
    for (const auto* list : {&log.new_groups, &log.new_arrays}) created.insert(list->begin(), list->end());
    for (const auto* list : {&log.deleted_groups, &log.deleted_arrays}) deleted.insert(list->begin(), list->end());
    for (const auto* list : {&log.updated_groups, &log.updated_arrays}) updated.insert(list->begin(), list->end());
    for (const UpdatedChunks& entry : log.updated_chunks) {
      auto& set = chunks[entry.node_id];
      for (size_t i = 0; i < entry.count(); ++i) {
        set.insert(std::vector<std::uint32_t>(entry.coords.begin() + i * entry.ndim,
                                              entry.coords.begin() + (i + 1) * entry.ndim));
      }
    }
  }
  Diff result;
  for (const Id8& id : created) {
    if (auto it = new_nodes.find(id); it != new_nodes.end() && !old_nodes.count(id)) {
      (it->second->kind == NodeKind::kGroup ? result.new_groups : result.new_arrays).push_back(it->second->path);
    }
  }
  for (const Id8& id : deleted) {
    if (auto it = old_nodes.find(id); it != old_nodes.end() && !new_nodes.count(id)) {
      (it->second->kind == NodeKind::kGroup ? result.deleted_groups : result.deleted_arrays).push_back(it->second->path);
    }
  }
  for (const Id8& id : updated) {
    if (auto it = new_nodes.find(id); it != new_nodes.end() && old_nodes.count(id)) {
      (it->second->kind == NodeKind::kGroup ? result.updated_groups : result.updated_arrays).push_back(it->second->path);
    }
  }
  for (auto& [id, set] : chunks) {
    auto it = new_nodes.find(id);
    if (it == new_nodes.end() || set.empty()) continue;
    result.updated_chunks[it->second->path] = std::vector<std::vector<std::uint32_t>>(set.begin(), set.end());
  }
  for (auto* list : {&result.new_groups, &result.new_arrays, &result.deleted_groups, &result.deleted_arrays,
                     &result.updated_groups, &result.updated_arrays}) {
    std::sort(list->begin(), list->end());
  }
  return result;
}

Result<RepoInfo> Repository::update_repo(const RepoChange& change) {
  if (spec_version_ < 2) return refuse_spec1_write(*this).error();
  std::mt19937_64 jitter(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    FLOE_ASSIGN_OR_RETURN(RepoState state, fetch_state());
    RepoInfo info = std::move(*state.info);
    if (info.status.availability != 0) {
      return make_error(ErrorCode::kPermissionDenied, "{} is {} ({}); it refuses changes", url(),
                        info.status.availability == 1 ? "read-only" : "offline",
                        info.status.limited_availability_reason.value_or("no reason given"));
    }
    RepoUpdate update;
    FLOE_RETURN_IF_ERROR(change(info, update));
    const std::uint64_t now = now_us();
    update.updated_at_us = now;
    if (!info.latest_updates.empty() && info.latest_updates.front().updated_at_us >= now) {
      update.updated_at_us = info.latest_updates.front().updated_at_us + 1;  // strictly newer, always
    }
    const std::string backup = backup_name(update.updated_at_us / 1000);
    if (!info.latest_updates.empty()) info.latest_updates.front().backup_path = backup;
    info.latest_updates.insert(info.latest_updates.begin(), std::move(update));
    if (info.latest_updates.size() > kMaxOpsLogEntries) {
      info.latest_updates.resize(kMaxOpsLogEntries);
      info.repo_before_updates = backup;  // the backup holds the full older log
    }
    io::PutOptions create_only;
    create_only.if_none_match = true;
    Result<io::PutResult> backup_put = store_->put(key("overwritten/" + backup), state.raw, create_only);
    if (!backup_put.ok()) {
      return std::move(backup_put).error().add_context(fmt::format("backing up {} before changing it", url()));
    }
    io::PutOptions swap;
    swap.if_match = state.etag;
    Result<io::PutResult> put = store_->put(key("repo"), write_repo_info_file(info), swap);
    if (put.ok()) return info;
    if (put.error().code() != ErrorCode::kPreconditionFailed) {
      return std::move(put).error().add_context(fmt::format("updating {}", store_->url_for(key("repo"))));
    }
    // Someone else changed the repo object first: back off (jittered) and redo the change on the new state.
    const int exponent = std::min(attempt, 8);
    std::uniform_int_distribution<int> sleep_ms(0, attempt < 5 ? 5 : (1 << exponent));
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms(jitter)));
  }
  return make_error(ErrorCode::kConflict, "{}: gave up after 1000 concurrent updates of the repo object", url());
}

Status Repository::create_branch(std::string_view name, const Id12& snapshot) {
  if (name.empty() || name.find('/') != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, "\"{}\" is not a valid branch name", name);
  }
  return to_status(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    RepoGraph graph = graph_of(info);
    for (const auto& [existing, id] : graph.branches) {
      if (existing == name) return make_error(ErrorCode::kConflict, "branch \"{}\" already exists in {}", name, url());
    }
    FLOE_RETURN_IF_ERROR(index_of(info, snapshot));
    graph.branches.emplace_back(std::string(name), snapshot);
    update = RepoUpdate{.kind = UpdateKind::kBranchCreated, .name = std::string(name)};
    return apply_graph(info, std::move(graph));
  }));
}

Status Repository::delete_branch(std::string_view name) {
  if (name == "main") return make_error(ErrorCode::kInvalidArgument, "the main branch cannot be deleted");
  return to_status(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    RepoGraph graph = graph_of(info);
    auto it = std::find_if(graph.branches.begin(), graph.branches.end(), [&](auto& b) { return b.first == name; });
    if (it == graph.branches.end()) return make_error(ErrorCode::kNotFound, "{} has no branch \"{}\"", url(), name);
    update = RepoUpdate{.kind = UpdateKind::kBranchDeleted, .name = std::string(name), .previous_snap_id = it->second};
    graph.branches.erase(it);
    return apply_graph(info, std::move(graph));
  }));
}

Status Repository::reset_branch(std::string_view name, const Id12& snapshot) {
  return to_status(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    RepoGraph graph = graph_of(info);
    auto it = std::find_if(graph.branches.begin(), graph.branches.end(), [&](auto& b) { return b.first == name; });
    if (it == graph.branches.end()) return make_error(ErrorCode::kNotFound, "{} has no branch \"{}\"", url(), name);
    FLOE_RETURN_IF_ERROR(index_of(info, snapshot));
    update = RepoUpdate{.kind = UpdateKind::kBranchReset, .name = std::string(name), .previous_snap_id = it->second};
    it->second = snapshot;
    return apply_graph(info, std::move(graph));
  }));
}

Status Repository::create_tag(std::string_view name, const Id12& snapshot) {
  if (name.empty() || name.find('/') != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument, "\"{}\" is not a valid tag name", name);
  }
  return to_status(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    RepoGraph graph = graph_of(info);
    for (const auto& [existing, id] : graph.tags) {
      if (existing == name) return make_error(ErrorCode::kConflict, "tag \"{}\" already exists in {}", name, url());
    }
    if (std::binary_search(info.deleted_tags.begin(), info.deleted_tags.end(), std::string(name))) {
      return make_error(ErrorCode::kConflict, "tag \"{}\" was deleted from {}; tags cannot be re-created", name, url());
    }
    FLOE_RETURN_IF_ERROR(index_of(info, snapshot));
    graph.tags.emplace_back(std::string(name), snapshot);
    update = RepoUpdate{.kind = UpdateKind::kTagCreated, .name = std::string(name)};
    return apply_graph(info, std::move(graph));
  }));
}

Status Repository::add_containers(const std::vector<VirtualChunkContainer>& containers) {
  if (spec_version_ < 2) {
    return make_error(ErrorCode::kUnsupported, "{} is a spec-1 repository, which floe only reads", url());
  }
  Json written;
  FLOE_RETURN_IF_ERROR(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    Json config = Json::object();
    if (info.config) {
      FLOE_ASSIGN_OR_RETURN(config, flexbuffer_to_json(*info.config));
      if (!config.is_object()) config = Json::object();
    }
    add_container_entries(config, containers);
    info.config = json_to_flexbuffer(config);
    update = RepoUpdate{.kind = UpdateKind::kConfigChanged};
    written = std::move(config);
    return ok_status();
  }));
  config_ = std::move(written);
  resolver_ = std::make_unique<VirtualChunkResolver>(containers_from_config(config_), registry_);
  return ok_status();
}

Status Repository::delete_tag(std::string_view name) {
  return to_status(update_repo([&](RepoInfo& info, RepoUpdate& update) -> Status {
    RepoGraph graph = graph_of(info);
    auto it = std::find_if(graph.tags.begin(), graph.tags.end(), [&](auto& t) { return t.first == name; });
    if (it == graph.tags.end()) return make_error(ErrorCode::kNotFound, "{} has no tag \"{}\"", url(), name);
    update = RepoUpdate{.kind = UpdateKind::kTagDeleted, .name = std::string(name), .previous_snap_id = it->second};
    graph.tags.erase(it);
    info.deleted_tags.push_back(std::string(name));
    std::sort(info.deleted_tags.begin(), info.deleted_tags.end());
    return apply_graph(info, std::move(graph));
  }));
}

Result<std::unique_ptr<ReadSession>> Repository::read_session(const Id12& id) {
  FLOE_ASSIGN_OR_RETURN(auto snap, snapshot(id));
  return std::make_unique<ReadSession>(shared_from_this(), std::move(snap));
}

Result<std::unique_ptr<WriteSession>> Repository::write_session(std::string branch) {
  if (spec_version_ < 2) return refuse_spec1_write(*this).error();
  FLOE_ASSIGN_OR_RETURN(Id12 tip, branch_tip(branch));
  FLOE_ASSIGN_OR_RETURN(auto snap, snapshot(tip));
  return std::make_unique<WriteSession>(shared_from_this(), std::move(branch), std::move(snap));
}

}  // namespace floe::icechunk
