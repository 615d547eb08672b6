// Snapshots, transaction logs and repo info as plain C++ values, and their Icechunk files (spec 1 read, spec 2 read+write).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/icechunk/ids.h"
#include "floe/icechunk/json_values.h"

namespace floe::icechunk {

// ---- snapshot -------------------------------------------------------------------------------------------

struct DimensionShape {
  std::uint64_t array_length = 0;
  std::uint32_t num_chunks = 0;  // spec 1 stores chunk_length; the decoder converts (ceil(len / chunk_length))
};

struct ChunkExtent {  // [from, to) of chunk indexes along one dimension
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  friend bool operator==(const ChunkExtent&, const ChunkExtent&) = default;
};

struct ManifestRef {
  Id12 manifest_id{};
  std::vector<ChunkExtent> extents;  // one per dimension; extents of one array's manifests never overlap
};

enum class NodeKind : std::uint8_t { kGroup, kArray };

struct Node {
  Id8 id{};
  std::string path;       // "/", "/group", "/group/array" (absolute, no trailing slash)
  std::string zarr_json;  // the node's zarr.json, byte for byte
  NodeKind kind = NodeKind::kGroup;
  // Arrays only:
  std::vector<DimensionShape> shape;
  std::vector<std::optional<std::string>> dimension_names;  // empty when the array has none
  std::vector<ManifestRef> manifests;
};

struct ManifestFileInfo {
  Id12 id{};
  std::uint64_t size_bytes = 0;  // exact size of the manifest file on storage (envelope included)
  std::uint32_t num_chunk_refs = 0;
};

struct Snapshot {
  std::uint8_t spec_version = 2;
  Id12 id{};
  std::optional<Id12> parent_id;  // spec 1 only; spec 2 keeps parents in the repo info
  std::vector<Node> nodes;        // sorted by path bytes
  std::uint64_t flushed_at_us = 0;
  std::string message;
  Json metadata = Json::object();  // commit metadata; spec 1 values were MessagePack, spec 2 FlexBuffers
  std::vector<ManifestFileInfo> manifest_files;  // sorted by id bytes
};

// `file` is the whole object (envelope included); `object_name` is used in errors.
Result<Snapshot> read_snapshot_file(const Bytes& file, std::string_view object_name);
// Spec 2; the result is the whole object to store.
Bytes write_snapshot_file(const Snapshot& snapshot);

// ---- transaction log ------------------------------------------------------------------------------------

// A 0-d array has one chunk with no coordinates: `coords` is then {0} when it was updated, else empty.
struct UpdatedChunks {
  Id8 node_id{};
  std::uint32_t ndim = 0;
  std::vector<std::uint32_t> coords;  // flattened, `ndim` values per chunk, chunks in lexicographic order
  size_t count() const { return ndim == 0 ? coords.empty() ? 0 : 1 : coords.size() / ndim; }
};

struct MoveOperation {
  std::string from;
  std::string to;
  Id8 node_id{};
  NodeKind node_kind = NodeKind::kGroup;
};

struct TransactionLog {
  Id12 id{};  // the snapshot's id
  std::vector<Id8> new_groups, new_arrays, deleted_groups, deleted_arrays, updated_arrays, updated_groups;
  std::vector<UpdatedChunks> updated_chunks;  // sorted by node id bytes
  std::vector<MoveOperation> moved_nodes;
};

Result<TransactionLog> read_transaction_log_file(const Bytes& file, std::string_view object_name);

// A source of updated chunk coordinates that is not materialized (10^7 chunks must not cost 10^7 tables
// in memory): `coords_at(i, out)` writes the `ndim` coordinates of chunk i (lexicographic order).
struct UpdatedChunksSource {
  Id8 node_id{};
  std::uint32_t ndim = 0;
  std::uint64_t count = 0;
  std::function<void(std::uint64_t index, std::uint32_t* coords_out)> coords_at;
};

struct TransactionLogToWrite {
  Id12 id{};
  std::vector<Id8> new_groups, new_arrays, deleted_groups, deleted_arrays, updated_arrays, updated_groups;
  std::vector<UpdatedChunksSource> updated_chunks;  // sorted by node id bytes
};

// Spec 2. Memory use does not grow with the number of updated chunks beyond the compressed output.
// Node-id lists and arrays are sorted here; each source must yield its chunks in lexicographic order. The
// flatbuffer costs 16 + 4 * ndim bytes per chunk and must stay under 2 GiB (~70 million 3-d chunks).
Bytes write_transaction_log_file(const TransactionLogToWrite& log);

// ---- repo info (the one mutable object, spec 2) ---------------------------------------------------------

struct RefEntry {
  std::string name;
  std::uint32_t snapshot_index = 0;  // into RepoInfo::snapshots
};

struct SnapshotInfo {
  Id12 id{};
  std::int32_t parent_offset = -1;  // index of the parent in RepoInfo::snapshots, -1 for the root
  std::uint64_t flushed_at_us = 0;
  std::string message;
  Json metadata = Json::object();
  std::vector<Id12> pruned_ancestor_tx_logs;  // spec 2.1, written only when non-empty
};

enum class UpdateKind : std::uint8_t {  // values are the flatbuffers union type codes
  kRepoInitialized = 1,
  kRepoMigrated = 2,
  kConfigChanged = 3,
  kMetadataChanged = 4,
  kTagCreated = 5,
  kTagDeleted = 6,
  kBranchCreated = 7,
  kBranchDeleted = 8,
  kBranchReset = 9,
  kNewCommit = 10,
  kCommitAmended = 11,
  kNewDetachedSnapshot = 12,
  kGcRan = 13,
  kExpirationRan = 14,
  kFeatureFlagChanged = 15,
  kRepoStatusChanged = 16,
};

struct RepoStatus {
  std::uint8_t availability = 0;  // 0 online, 1 read-only, 2 offline
  std::uint64_t set_at_us = 0;
  std::optional<std::string> limited_availability_reason;
};

struct RepoUpdate {
  UpdateKind kind = UpdateKind::kRepoInitialized;
  std::string name;                    // branch (commit, amend, branch ops) or tag name
  std::optional<Id12> previous_snap_id;  // tag/branch deleted, branch reset, commit amended
  std::optional<Id12> new_snap_id;       // new commit, commit amended, detached snapshot
  std::uint8_t from_version = 0, to_version = 0;  // repo migrated
  std::uint16_t flag_id = 0;                      // feature flag changed
  bool flag_new_value = false, flag_is_set = false;
  RepoStatus status;  // repo status changed
  std::uint64_t updated_at_us = 0;
  std::optional<std::string> backup_path;
};

struct RepoInfo {
  std::uint8_t spec_version = 2;
  std::vector<RefEntry> tags;      // sorted by name bytes
  std::vector<RefEntry> branches;  // sorted by name bytes
  std::vector<std::string> deleted_tags;  // sorted
  std::vector<SnapshotInfo> snapshots;    // sorted by id bytes
  RepoStatus status;
  Json metadata = Json::object();
  std::vector<RepoUpdate> latest_updates;  // newest first
  std::optional<std::string> repo_before_updates;
  std::optional<std::vector<std::uint8_t>> config;  // FlexBuffers, kept verbatim
  std::vector<std::uint16_t> enabled_feature_flags, disabled_feature_flags;
};

Result<RepoInfo> read_repo_info_file(const Bytes& file, std::string_view object_name);
Bytes write_repo_info_file(const RepoInfo& info);

}  // namespace floe::icechunk
