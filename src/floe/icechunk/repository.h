// An Icechunk repository over any ObjectStore: open/create, refs (branches, tags), ancestry, diff, sessions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "floe/core/result.h"
#include "floe/icechunk/format.h"
#include "floe/icechunk/json_values.h"
#include "floe/icechunk/manifest.h"
#include "floe/icechunk/virtual_chunks.h"
#include "floe/io/object_store.h"

namespace floe::icechunk {

class ReadSession;
class WriteSession;

struct CreateOptions {
  std::optional<std::uint32_t> inline_chunk_threshold_bytes;  // default 512 (the official default)
  std::vector<VirtualChunkContainer> containers;
};

// One commit as ancestry and logs show it.
struct SnapshotSummary {
  Id12 id{};
  std::optional<Id12> parent;
  std::uint64_t flushed_at_us = 0;
  std::string message;
  Json metadata = Json::object();
  std::vector<Id12> pruned_ancestor_tx_logs;  // tx logs of expired ancestors folded into this snapshot
};

// The refs and history of a repository at one moment (the decoded `repo` object, or spec-1 refs/).
struct RepoState {
  std::uint8_t spec_version = 2;
  std::map<std::string, Id12> branches;
  std::map<std::string, Id12> tags;
  std::vector<std::string> deleted_tags;
  std::optional<RepoInfo> info;  // spec 2 (and migrated) repositories
  std::string etag;              // version of the `repo` object this state was read from
  Bytes raw;                     // the `repo` object's bytes (for the backup copy)
};

struct Diff {
  std::vector<std::string> new_groups, new_arrays, deleted_groups, deleted_arrays, updated_groups,
      updated_arrays;
  std::map<std::string, std::vector<std::vector<std::uint32_t>>> updated_chunks;
};

struct WriteOptions {
  std::uint64_t max_refs_per_manifest = 250'000;  // larger arrays are split along the first dimension
  std::uint32_t location_compression_min_refs = 1000;  // as the official default
};

class Repository : public std::enable_shared_from_this<Repository> {
 public:
  // `prefix` is the repository's key prefix inside `store` ("" for a bucket root).
  static Result<std::shared_ptr<Repository>> open(std::shared_ptr<io::ObjectStore> store, std::string prefix,
                                                  std::shared_ptr<io::StoreRegistry> registry);
  static Result<std::shared_ptr<Repository>> create(std::shared_ptr<io::ObjectStore> store, std::string prefix,
                                                    std::shared_ptr<io::StoreRegistry> registry,
                                                    const CreateOptions& options);

  std::uint8_t spec_version() const { return spec_version_; }
  std::string url() const;
  const Json& config() const { return config_; }
  std::uint32_t inline_chunk_threshold() const;
  WriteOptions& write_options() { return write_options_; }

  // Re-reads the refs (the `repo` object, or refs/ for spec 1).
  Result<RepoState> fetch_state() const;
  Result<Id12> branch_tip(std::string_view branch) const;
  Result<Id12> tag_target(std::string_view tag) const;
  // "branch:NAME", "tag:NAME", a snapshot id, or a bare branch/tag name.
  Result<Id12> resolve(std::string_view reference) const;

  // Newest first, starting at `snapshot`.
  Result<std::vector<SnapshotSummary>> ancestry(const Id12& snapshot) const;
  // The snapshot ids whose transaction logs lie after `ancestor` up to `descendant` (newest first, with the
  // logs of expired ancestors); nullopt when `ancestor` is not in `descendant`'s ancestry.
  Result<std::optional<std::vector<Id12>>> transaction_logs_since(const Id12& ancestor,
                                                                  const Id12& descendant) const;
  // Changes from `from` (an ancestor) to `to`, from the transaction logs in between.
  Result<Diff> diff(const Id12& from, const Id12& to) const;

  Status create_branch(std::string_view name, const Id12& snapshot);
  Status delete_branch(std::string_view name);
  Status reset_branch(std::string_view name, const Id12& snapshot);
  Status create_tag(std::string_view name, const Id12& snapshot);
  // Adds virtual chunk containers to the configuration (a config change through the repo compare-and-swap);
  // a prefix already present keeps its existing definition. Spec-2 repositories only.
  Status add_containers(const std::vector<VirtualChunkContainer>& containers);
  Status delete_tag(std::string_view name);

  Result<std::unique_ptr<ReadSession>> read_session(const Id12& snapshot);
  Result<std::unique_ptr<WriteSession>> write_session(std::string branch);

  // Virtual chunk reads (containers from the config; nothing is authorized until the caller says so).
  VirtualChunkResolver& virtual_chunks() { return *resolver_; }

  // Object access used by sessions.
  io::ObjectStore& store() const { return *store_; }
  std::string key(std::string_view name) const;
  Result<std::shared_ptr<const Snapshot>> snapshot(const Id12& id) const;
  Result<ManifestView> manifest(const Id12& id, std::uint64_t size_hint) const;
  Result<TransactionLog> transaction_log(const Id12& id) const;

  // The compare-and-swap of the `repo` object (spec 2): `change` edits a fresh copy of the state and may
  // fail (e.g. the branch moved); the backup copy goes to overwritten/ and the ops log gets `update`.
  // Retries on concurrent updates. Returns the state that was written.
  using RepoChange = std::function<Status(RepoInfo& info, RepoUpdate& update)>;
  Result<RepoInfo> update_repo(const RepoChange& change);

 private:
  Repository(std::shared_ptr<io::ObjectStore> store, std::string prefix, std::shared_ptr<io::StoreRegistry> registry);
  Status load_config();

  std::shared_ptr<io::ObjectStore> store_;
  std::string prefix_;
  std::shared_ptr<io::StoreRegistry> registry_;
  std::uint8_t spec_version_ = 2;
  Json config_ = Json::object();
  std::unique_ptr<VirtualChunkResolver> resolver_;
  WriteOptions write_options_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Snapshot>> snapshot_cache_;
  mutable std::unordered_map<std::string, ManifestView> manifest_cache_;
};

// Adds `snapshot` (child of `parent`, or a root) to the repo info and points `branch` at it; indices are
// recomputed. Used by commits and amends.
Status add_commit_to_repo_info(RepoInfo& info, SnapshotInfo snapshot, const std::optional<Id12>& parent,
                               std::string_view branch);

// Lookups shared by sessions and the repository.
const SnapshotInfo* find_snapshot_info(const RepoInfo& info, const Id12& id);
std::string format_timestamp_us(std::uint64_t micros);  // RFC 3339, UTC, microseconds
std::uint64_t now_us();

}  // namespace floe::icechunk
