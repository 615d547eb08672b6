// Sessions: read one snapshot (nodes, zarr.json, chunk refs, chunk bytes) or change a branch and commit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/icechunk/change_set.h"
#include "floe/icechunk/format.h"
#include "floe/icechunk/manifest.h"

namespace floe::icechunk {

class Repository;

// The node at `path` in a snapshot's sorted node list (binary search), or nullptr.
const Node* find_node(const std::vector<Node>& nodes, std::string_view path);
// The stored size of a manifest the snapshot lists (0 when it does not list it).
std::uint64_t manifest_size(const Snapshot& snapshot, const Id12& id);

// Absolute, canonical node path: "/", "/a", "/a/b". Accepts "a/b", "/a/b/" and returns "/a/b".
Result<std::string> normalize_node_path(std::string_view path);

class ReadSession {
 public:
  ReadSession(std::shared_ptr<Repository> repository, std::shared_ptr<const Snapshot> snapshot);

  const Snapshot& snapshot() const { return *snapshot_; }
  // For readers that batch their fetches: the chunk store, native chunk keys, virtual chunk sources.
  Repository& repository() const { return *repository_; }
  const std::vector<Node>& nodes() const { return snapshot_->nodes; }
  Result<const Node*> node(std::string_view path) const;  // kNotFound naming the path

  Result<std::optional<ChunkRef>> chunk_ref(const Node& array, std::span<const std::uint32_t> index) const;
  // Every ref of the array, manifest by manifest.
  Status for_each_ref(const Node& array, const std::function<Status(const ChunkRefView&)>& visit) const;
  // Inline bytes, native chunk object range, or the virtual source (authorized, checksum as precondition).
  Result<std::optional<Bytes>> chunk_bytes(const Node& array, std::span<const std::uint32_t> index) const;
  Result<Bytes> resolve_ref(const ChunkRef& ref) const;
  // A Zarr key: "zarr.json", "g/a/zarr.json", "g/a/c/0/1" ("g/a/c" for 0-d arrays). nullopt when absent.
  Result<std::optional<Bytes>> get_key(std::string_view key) const;

 private:
  std::shared_ptr<Repository> repository_;
  std::shared_ptr<const Snapshot> snapshot_;
};

struct CommitOptions {
  bool rebase = true;      // when the branch moved: rebase if nothing conflicts, else fail naming conflicts
  bool amend = false;      // replace the branch tip instead of adding a child
  int max_attempts = 200;  // bound on rebase/retry rounds
};

class WriteSession {
 public:
  WriteSession(std::shared_ptr<Repository> repository, std::string branch, std::shared_ptr<const Snapshot> base);

  const std::string& branch() const { return branch_; }
  const Id12& base_snapshot() const { return base_->id; }

  // Creates the group or array, or replaces its zarr.json when it exists (stored verbatim).
  Status put_group(std::string_view path, std::string zarr_json);
  Status put_array(std::string_view path, std::string zarr_json);
  // Group or array at `path` as this session sees it (base snapshot plus changes), nullopt when absent.
  std::optional<NodeKind> node_kind(std::string_view path) const;
  // Deletes the node and everything under it.
  Status delete_node(std::string_view path);

  // Encoded chunk bytes: inline when at most the repository's threshold, else a native chunk object now.
  Status write_chunk(std::string_view path, std::span<const std::uint32_t> index, Bytes data);
  Status set_chunk_ref(std::string_view path, std::span<const std::uint32_t> index, const ChunkRef& ref);
  Status set_virtual_ref(std::string_view path, std::span<const std::uint32_t> index, std::string_view location,
                         std::uint64_t offset, std::uint64_t length, std::string_view checksum_etag = {},
                         std::uint32_t checksum_last_modified = 0);
  Status delete_chunk(std::string_view path, std::span<const std::uint32_t> index);

  bool has_changes() const { return !changes_.empty(); }
  const ChangeSet& changes() const { return changes_; }

  // Writes manifests, transaction log and snapshot, then moves the branch with the repo compare-and-swap.
  Result<Id12> commit(std::string message, Json metadata = Json::object(), const CommitOptions& options = {});

 private:
  // The base snapshot's node at `path`, unless this session deleted it.
  const Node* base_node(std::string_view path) const;
  // Creates the node or replaces its zarr.json, after checking kind and parent group.
  Result<NodeChange*> put_node(const std::string& path, NodeKind kind, std::string zarr_json);
  Result<ArrayChanges*> array_changes_for(std::string_view path);
  // Checks the commits between the base and `tip` against this change set; on success `tip` is the base.
  Status rebase_onto(const Id12& tip);

  std::shared_ptr<Repository> repository_;
  std::string branch_;
  std::shared_ptr<const Snapshot> base_;
  ChangeSet changes_;
};

}  // namespace floe::icechunk
