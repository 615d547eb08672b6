// Tests for the Icechunk file formats: ids, envelope, snapshots, transaction logs, repo info, manifests.
#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "floe/icechunk/envelope.h"
#include "floe/icechunk/format.h"
#include "floe/icechunk/ids.h"
#include "floe/icechunk/manifest.h"
#include "floe/icechunk/schema/manifest_generated.h"
#include "floe/icechunk/schema/snapshot_generated.h"
#include "floe/icechunk/schema/transaction_log_generated.h"

namespace floe::icechunk {
namespace {

namespace fs = std::filesystem;

fs::path testdata_root() {
  const char* override_root = std::getenv("FLOE_TESTDATA");
  return fs::path(override_root != nullptr ? override_root : FLOE_TESTDATA_DEFAULT) / "icechunk";
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return Bytes::from_string(content.str());
}

std::vector<fs::path> files_under(const fs::path& directory) {
  std::vector<fs::path> files;
  if (!fs::is_directory(directory)) return files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

#define SKIP_WITHOUT_FIXTURES()                                                           \
  if (!fs::is_directory(testdata_root())) {                                               \
    GTEST_SKIP() << "no Icechunk fixtures at " << testdata_root() << " (set FLOE_TESTDATA)"; \
  }

Id12 id12(std::string_view text) { return parse_id12(text).value(); }

// Inflates a sealed file back to its flatbuffer for direct verification in tests.
std::string inflate(const Bytes& file) {
  auto payload = open_envelope(file, FileType::kTransactionLog, "test");
  if (!payload.ok()) {
    payload = open_envelope(file, FileType::kManifest, "test");
  }
  return payload.ok() ? payload->to_string() : std::string();
}

// ---- ids -----------------------------------------------------------------------------------------------

TEST(Ids, CrockfordTestVector) {
  Id12 id{};
  for (int i = 0; i < 12; ++i) id[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(to_string(id), "000G40R40M30E209185G");
  EXPECT_EQ(parse_id12("000G40R40M30E209185G").value(), id);
}

TEST(Ids, InitialSnapshotId) {
  EXPECT_EQ(to_string(kInitialSnapshotId), "1CECHNKREP0F1RSTCMT0");
  EXPECT_EQ(parse_id12("1CECHNKREP0F1RSTCMT0").value(), kInitialSnapshotId);
  EXPECT_EQ(parse_id12("1cechnkrep0f1rstcmt0").value(), kInitialSnapshotId);
}

TEST(Ids, RefusesMalformedNames) {
  EXPECT_EQ(parse_id12("1CECHNKREP0F1RSTCMT").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_id12("1CECHNKREP0F1RSTCMTU").error().code(), ErrorCode::kInvalidArgument);  // U not in alphabet
  EXPECT_EQ(parse_id12("1CECHNKREP0F1RSTCMT1").error().code(), ErrorCode::kInvalidArgument);  // padding bits set
  EXPECT_EQ(parse_id8("").error().code(), ErrorCode::kInvalidArgument);
}

TEST(Ids, RandomIdsRoundTrip) {
  Id8 node = random_id8();
  Id12 object = random_id12();
  EXPECT_EQ(to_string(node).size(), 13u);
  EXPECT_EQ(parse_id8(to_string(node)).value(), node);
  EXPECT_EQ(parse_id12(to_string(object)).value(), object);
  EXPECT_NE(random_id12(), random_id12());
}

// ---- envelope ------------------------------------------------------------------------------------------

TEST(Envelope, SealAndOpen) {
  std::vector<std::uint8_t> payload(5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
  Bytes file = seal_envelope(FileType::kManifest, payload);
  EXPECT_EQ(file.view().substr(12, 24), "floe-0.1.0              ");
  EXPECT_EQ(static_cast<std::uint8_t>(file.view()[36]), 2);
  EXPECT_EQ(static_cast<std::uint8_t>(file.view()[37]), 2);
  EXPECT_EQ(static_cast<std::uint8_t>(file.view()[38]), 1);
  FileHeader header;
  auto opened = open_envelope(file, FileType::kManifest, "manifests/X", &header);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->view(), std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  EXPECT_EQ(header.implementation, "floe-0.1.0");
  EXPECT_EQ(header.spec_version, 2);
}

Bytes with_byte(const Bytes& file, size_t position, std::uint8_t value) {
  std::string copy = file.to_string();
  copy[position] = static_cast<char>(value);
  return Bytes::from_string(std::move(copy));
}

TEST(Envelope, RefusesBadHeaders) {
  std::vector<std::uint8_t> payload(100, 42);
  Bytes file = seal_envelope(FileType::kSnapshot, payload);
  auto wrong_magic = open_envelope(with_byte(file, 0, 'X'), FileType::kSnapshot, "snapshots/A");
  EXPECT_EQ(wrong_magic.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(wrong_magic.error().message().find("snapshots/A"), std::string::npos);

  auto wrong_type = open_envelope(file, FileType::kManifest, "manifests/B");
  EXPECT_EQ(wrong_type.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(wrong_type.error().message().find("expected a manifest"), std::string::npos);
  EXPECT_NE(wrong_type.error().message().find("found snapshot"), std::string::npos);

  auto version3 = open_envelope(with_byte(file, 36, 3), FileType::kSnapshot, "snapshots/C");
  EXPECT_EQ(version3.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(version3.error().message().find("spec version 3"), std::string::npos);
  EXPECT_NE(version3.error().message().find("snapshots/C"), std::string::npos);

  EXPECT_TRUE(open_envelope(with_byte(file, 36, 1), FileType::kSnapshot, "v1").ok());
  EXPECT_EQ(open_envelope(with_byte(file, 38, 0), FileType::kSnapshot, "raw").error().code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(open_envelope(file.slice(0, 20), FileType::kSnapshot, "short").error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(open_envelope(Bytes(), FileType::kSnapshot, "empty").error().code(), ErrorCode::kCorrupt);
}

TEST(Envelope, TruncatedAndOversizedPayloads) {
  std::vector<std::uint8_t> payload(100000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  Bytes file = seal_envelope(FileType::kSnapshot, payload);
  for (size_t cut = kEnvelopeSize; cut < file.size(); cut += 97) {
    EXPECT_FALSE(open_envelope(file.slice(0, cut), FileType::kSnapshot, "cut").ok()) << cut;
  }
  auto limited = open_envelope(file, FileType::kSnapshot, "limited", nullptr, 1000);
  EXPECT_EQ(limited.error().code(), ErrorCode::kCorrupt);
  std::string trailing = file.to_string() + "garbage";
  EXPECT_FALSE(open_envelope(Bytes::from_string(std::move(trailing)), FileType::kSnapshot, "trailing").ok());
}

TEST(Envelope, StreamedFrameWithoutContentSize) {
  std::string payload(300000, 'a');
  for (size_t i = 0; i < payload.size(); i += 11) payload[i] = static_cast<char>('a' + i % 26);
  ZSTD_CCtx* context = ZSTD_createCCtx();
  std::string frame(ZSTD_compressBound(payload.size()), '\0');
  ZSTD_inBuffer in{payload.data(), payload.size(), 0};
  ZSTD_outBuffer out{frame.data(), frame.size(), 0};
  ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);  // like a writer that streams without a size
  ASSERT_EQ(ZSTD_compressStream2(context, &out, &in, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(context);
  frame.resize(out.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  Bytes file = Bytes::from_string(envelope_header(FileType::kRepoInfo) + frame);
  auto opened = open_envelope(file, FileType::kRepoInfo, "repo");
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->view(), payload);
  EXPECT_EQ(open_envelope(file, FileType::kRepoInfo, "repo", nullptr, 1000).error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(open_envelope(file.slice(0, file.size() - 5), FileType::kRepoInfo, "repo").error().code(),
            ErrorCode::kCorrupt);
}

// ---- every fixture file --------------------------------------------------------------------------------

struct FixtureCounts {
  int snapshots = 0, manifests = 0, transaction_logs = 0, repo_infos = 0, refs = 0;
  std::vector<std::string> failures;
};

FixtureCounts read_every_fixture() {
  FixtureCounts counts;
  std::vector<fs::path> repos;
  for (const auto& entry : fs::directory_iterator(testdata_root())) {
    if (entry.is_directory()) repos.push_back(entry.path());
  }
  std::sort(repos.begin(), repos.end());
  for (const fs::path& repo : repos) {
    auto fail = [&](const fs::path& path, const Error& error) {
      counts.failures.push_back(fs::relative(path, testdata_root()).string() + ": " + error.to_string());
    };
    for (const fs::path& path : files_under(repo / "snapshots")) {
      auto snapshot = read_snapshot_file(read_file(path), path.string());
      if (!snapshot.ok()) {
        fail(path, snapshot.error());
      } else if (to_string(snapshot->id) != path.filename().string()) {
        fail(path, Error(ErrorCode::kCorrupt, "id mismatch"));
      }
      ++counts.snapshots;
    }
    for (const fs::path& path : files_under(repo / "transactions")) {
      auto log = read_transaction_log_file(read_file(path), path.string());
      if (!log.ok()) {
        fail(path, log.error());
      } else if (to_string(log->id) != path.filename().string()) {
        fail(path, Error(ErrorCode::kCorrupt, "id mismatch"));
      }
      ++counts.transaction_logs;
    }
    for (const fs::path& path : files_under(repo / "manifests")) {
      ++counts.manifests;
      auto manifest = ManifestView::open(read_file(path), path.string());
      if (!manifest.ok()) {
        fail(path, manifest.error());
        continue;
      }
      if (to_string(manifest->id()) != path.filename().string()) fail(path, Error(ErrorCode::kCorrupt, "id mismatch"));
      for (const Id8& node : manifest->array_ids()) {
        Status visited = manifest->for_each_ref(node, [&](const ChunkRefView& ref) -> Status {
          ++counts.refs;
          auto found = manifest->find(node, ref.index);
          if (!found.ok()) return found.error();
          if (!found->has_value() || (*found)->kind != ref.kind) {
            return make_error(ErrorCode::kCorrupt, "find disagrees with for_each_ref");
          }
          return ok_status();
        });
        if (!visited.ok()) fail(path, visited.error());
      }
    }
    std::vector<fs::path> repo_files = files_under(repo / "overwritten");
    if (fs::exists(repo / "repo")) repo_files.push_back(repo / "repo");
    for (const fs::path& path : repo_files) {
      auto info = read_repo_info_file(read_file(path), path.string());
      if (!info.ok()) fail(path, info.error());
      ++counts.repo_infos;
    }
  }
  return counts;
}

TEST(Fixtures, EveryMetadataFileDecodes) {
  SKIP_WITHOUT_FIXTURES();
  FixtureCounts counts = read_every_fixture();
  for (const std::string& failure : counts.failures) ADD_FAILURE() << failure;
  EXPECT_TRUE(counts.failures.empty());
  EXPECT_GT(counts.snapshots, 50);
  EXPECT_GT(counts.manifests, 50);
  EXPECT_GT(counts.transaction_logs, 40);
  EXPECT_GT(counts.repo_infos, 40);
  EXPECT_GT(counts.refs, 50);
  std::printf("fixtures: %d snapshots, %d manifests (%d refs), %d transaction logs, %d repo infos\n",
              counts.snapshots, counts.manifests, counts.refs, counts.transaction_logs, counts.repo_infos);
}

TEST(Fixtures, TestRepoV2KnownValues) {
  SKIP_WITHOUT_FIXTURES();
  fs::path repo = testdata_root() / "test-repo-v2";
  auto initial = read_snapshot_file(read_file(repo / "snapshots" / "1CECHNKREP0F1RSTCMT0"), "initial");
  ASSERT_TRUE(initial.ok()) << initial.error().to_string();
  EXPECT_EQ(initial->id, kInitialSnapshotId);
  EXPECT_EQ(initial->spec_version, 2);
  EXPECT_FALSE(initial->parent_id.has_value());
  EXPECT_TRUE(initial->nodes.empty());  // the root group is created by the first user commit
  EXPECT_TRUE(initial->manifest_files.empty());
  EXPECT_EQ(initial->metadata["__icechunk"]["is_root"], true) << initial->metadata.dump();

  auto info = read_repo_info_file(read_file(repo / "repo"), "repo");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->spec_version, 2);
  std::vector<std::string> branches;
  for (const RefEntry& ref : info->branches) branches.push_back(ref.name);
  EXPECT_EQ(branches, (std::vector<std::string>{"main", "my-branch"}));
  std::vector<std::string> tags;
  for (const RefEntry& ref : info->tags) tags.push_back(ref.name);
  EXPECT_EQ(tags, (std::vector<std::string>{"it also works!", "it works!"}));
  EXPECT_EQ(info->deleted_tags, (std::vector<std::string>{"deleted"}));
  EXPECT_EQ(info->snapshots.size(), 6u);
  EXPECT_TRUE(std::is_sorted(info->snapshots.begin(), info->snapshots.end(),
                             [](const auto& a, const auto& b) { return a.id < b.id; }));
  bool has_initial = false;
  for (const SnapshotInfo& snapshot : info->snapshots) {
    if (snapshot.id == kInitialSnapshotId) {
      has_initial = true;
      EXPECT_EQ(snapshot.parent_offset, -1);
    } else {
      EXPECT_GE(snapshot.parent_offset, 0);
    }
  }
  EXPECT_TRUE(has_initial);
  ASSERT_FALSE(info->latest_updates.empty());
  EXPECT_EQ(info->latest_updates.back().kind, UpdateKind::kRepoInitialized);
  ASSERT_TRUE(info->config.has_value());
  auto config = flexbuffer_to_json(*info->config);
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->contains("virtual_chunk_containers")) << config->dump();

  // The virtual ref: s3://testbucket/can_read_old/chunk-1 with a last-modified checksum.
  bool saw_virtual = false, saw_inline = false, saw_native = false;
  for (const fs::path& path : files_under(repo / "manifests")) {
    auto manifest = ManifestView::open(read_file(path), path.string());
    ASSERT_TRUE(manifest.ok()) << manifest.error().to_string();
    for (const Id8& node : manifest->array_ids()) {
      ASSERT_TRUE(manifest
                      ->for_each_ref(node,
                                     [&](const ChunkRefView& ref) -> Status {
                                       if (ref.kind == ChunkKind::kVirtual) {
                                         saw_virtual = true;
                                         EXPECT_EQ(ref.location, "s3://testbucket/can_read_old/chunk-1");
                                         EXPECT_NE(ref.checksum_last_modified, 0u);
                                       }
                                       saw_inline |= ref.kind == ChunkKind::kInline;
                                       saw_native |= ref.kind == ChunkKind::kNative;
                                       return ok_status();
                                     })
                      .ok());
    }
  }
  EXPECT_TRUE(saw_virtual);
  EXPECT_TRUE(saw_inline);
  EXPECT_TRUE(saw_native);
}

TEST(Fixtures, SpecOneSnapshotsHaveParentsAndChunkCounts) {
  SKIP_WITHOUT_FIXTURES();
  fs::path repo = testdata_root() / "test-repo-v1";
  int with_parent = 0, arrays = 0;
  for (const fs::path& path : files_under(repo / "snapshots")) {
    auto snapshot = read_snapshot_file(read_file(path), path.string());
    ASSERT_TRUE(snapshot.ok()) << snapshot.error().to_string();
    EXPECT_EQ(snapshot->spec_version, 1);
    with_parent += snapshot->parent_id.has_value();
    for (const Node& node : snapshot->nodes) {
      if (node.kind != NodeKind::kArray) continue;
      ++arrays;
      for (const DimensionShape& dimension : node.shape) {
        if (dimension.array_length > 0) {
          EXPECT_GT(dimension.num_chunks, 0u) << node.path;
        }
      }
    }
  }
  EXPECT_EQ(with_parent, static_cast<int>(files_under(repo / "snapshots").size()) - 1);
  EXPECT_GT(arrays, 0);
}

TEST(Fixtures, PrunedAncestorTxLogsInExpiredRepo) {
  SKIP_WITHOUT_FIXTURES();
  auto info = read_repo_info_file(read_file(testdata_root() / "expire-repo-v2-by-working-copy" / "repo"), "repo");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  size_t pruned = 0;
  for (const SnapshotInfo& snapshot : info->snapshots) pruned += snapshot.pruned_ancestor_tx_logs.size();
  EXPECT_GT(pruned, 0u);
}

// ---- round trips ---------------------------------------------------------------------------------------

void expect_same_snapshot(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.flushed_at_us, b.flushed_at_us);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.zarr_json, y.zarr_json);
    EXPECT_EQ(x.kind, y.kind);
    ASSERT_EQ(x.shape.size(), y.shape.size());
    for (size_t d = 0; d < x.shape.size(); ++d) {
      EXPECT_EQ(x.shape[d].array_length, y.shape[d].array_length);
      EXPECT_EQ(x.shape[d].num_chunks, y.shape[d].num_chunks);
    }
    EXPECT_EQ(x.dimension_names, y.dimension_names);
    ASSERT_EQ(x.manifests.size(), y.manifests.size());
    for (size_t m = 0; m < x.manifests.size(); ++m) {
      EXPECT_EQ(x.manifests[m].manifest_id, y.manifests[m].manifest_id);
      EXPECT_EQ(x.manifests[m].extents, y.manifests[m].extents);
    }
  }
  ASSERT_EQ(a.manifest_files.size(), b.manifest_files.size());
  for (size_t i = 0; i < a.manifest_files.size(); ++i) {
    EXPECT_EQ(a.manifest_files[i].id, b.manifest_files[i].id);
    EXPECT_EQ(a.manifest_files[i].size_bytes, b.manifest_files[i].size_bytes);
    EXPECT_EQ(a.manifest_files[i].num_chunk_refs, b.manifest_files[i].num_chunk_refs);
  }
}

TEST(RoundTrip, FixtureSnapshotsSpec2) {
  SKIP_WITHOUT_FIXTURES();
  int checked = 0;
  for (const char* repo : {"test-repo-v2", "split-repo-v2"}) {
    for (const fs::path& path : files_under(testdata_root() / repo / "snapshots")) {
      auto original = read_snapshot_file(read_file(path), path.string());
      ASSERT_TRUE(original.ok()) << original.error().to_string();
      Bytes written = write_snapshot_file(*original);
      auto reread = read_snapshot_file(written, "rewritten " + path.string());
      ASSERT_TRUE(reread.ok()) << reread.error().to_string();
      expect_same_snapshot(*original, *reread);
      ++checked;
    }
  }
  EXPECT_GT(checked, 5);
}

TEST(RoundTrip, SpecOneSnapshotWrittenAsSpecTwo) {
  SKIP_WITHOUT_FIXTURES();
  for (const fs::path& path : files_under(testdata_root() / "test-repo-v1" / "snapshots")) {
    auto original = read_snapshot_file(read_file(path), path.string());
    ASSERT_TRUE(original.ok());
    auto reread = read_snapshot_file(write_snapshot_file(*original), "rewritten");
    ASSERT_TRUE(reread.ok()) << reread.error().to_string();
    EXPECT_EQ(reread->spec_version, 2);
    EXPECT_FALSE(reread->parent_id.has_value());
    expect_same_snapshot(*original, *reread);
  }
}

TEST(RoundTrip, SnapshotSortsNodesAndManifestFiles) {
  Snapshot snapshot;
  snapshot.id = random_id12();
  for (const char* path : {"/ab", "/a/b", "/", "/a-b", "/a"}) {
    Node node;
    node.id = random_id8();
    node.path = path;
    node.zarr_json = R"({"zarr_format":3,"node_type":"group"})";
    snapshot.nodes.push_back(node);
  }
  Node array;
  array.id = random_id8();
  array.path = "/a/b/c";
  array.kind = NodeKind::kArray;
  array.shape = {{10, 4}, {0, 0}};
  array.dimension_names = {std::string("x"), std::nullopt};
  array.manifests = {{random_id12(), {{0, 3}, {0, 0}}}};
  snapshot.nodes.push_back(array);
  snapshot.manifest_files = {{id12("ZZZZZZZZZZZZZZZZZZZG"), 100, 3}, {id12("00000000000000000000"), 50, 1}};
  snapshot.metadata = {{"b", 1}, {"a", {{"nested", "x"}}}};
  auto reread = read_snapshot_file(write_snapshot_file(snapshot), "sorted");
  ASSERT_TRUE(reread.ok()) << reread.error().to_string();
  std::vector<std::string> paths;
  for (const Node& node : reread->nodes) paths.push_back(node.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/", "/a", "/a-b", "/a/b", "/a/b/c", "/ab"}));
  EXPECT_EQ(to_string(reread->manifest_files[0].id), "00000000000000000000");
  EXPECT_EQ(reread->metadata, snapshot.metadata);
  const Node& c = reread->nodes[4];
  EXPECT_EQ(c.kind, NodeKind::kArray);
  EXPECT_EQ(c.shape[0].num_chunks, 4u);
  EXPECT_EQ(c.dimension_names, array.dimension_names);
  EXPECT_EQ(c.manifests[0].extents, array.manifests[0].extents);
}

void expect_same_repo_info(const RepoInfo& a, const RepoInfo& b) {
  EXPECT_EQ(a.spec_version, b.spec_version);
  auto ref_names = [](const std::vector<RefEntry>& refs, const RepoInfo& info) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const RefEntry& ref : refs) out.emplace_back(ref.name, to_string(info.snapshots[ref.snapshot_index].id));
    return out;
  };
  EXPECT_EQ(ref_names(a.tags, a), ref_names(b.tags, b));
  EXPECT_EQ(ref_names(a.branches, a), ref_names(b.branches, b));
  EXPECT_EQ(a.deleted_tags, b.deleted_tags);
  ASSERT_EQ(a.snapshots.size(), b.snapshots.size());
  for (size_t i = 0; i < a.snapshots.size(); ++i) {
    EXPECT_EQ(a.snapshots[i].id, b.snapshots[i].id);
    EXPECT_EQ(a.snapshots[i].parent_offset, b.snapshots[i].parent_offset);
    EXPECT_EQ(a.snapshots[i].flushed_at_us, b.snapshots[i].flushed_at_us);
    EXPECT_EQ(a.snapshots[i].message, b.snapshots[i].message);
    EXPECT_EQ(a.snapshots[i].metadata, b.snapshots[i].metadata);
    EXPECT_EQ(a.snapshots[i].pruned_ancestor_tx_logs, b.snapshots[i].pruned_ancestor_tx_logs);
  }
  EXPECT_EQ(a.status.availability, b.status.availability);
  EXPECT_EQ(a.status.set_at_us, b.status.set_at_us);
  EXPECT_EQ(a.status.limited_availability_reason, b.status.limited_availability_reason);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.latest_updates.size(), b.latest_updates.size());
  for (size_t i = 0; i < a.latest_updates.size(); ++i) {
    const RepoUpdate& x = a.latest_updates[i];
    const RepoUpdate& y = b.latest_updates[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.previous_snap_id, y.previous_snap_id);
    EXPECT_EQ(x.new_snap_id, y.new_snap_id);
    EXPECT_EQ(x.from_version, y.from_version);
    EXPECT_EQ(x.to_version, y.to_version);
    EXPECT_EQ(x.flag_id, y.flag_id);
    EXPECT_EQ(x.flag_new_value, y.flag_new_value);
    EXPECT_EQ(x.flag_is_set, y.flag_is_set);
    EXPECT_EQ(x.status.availability, y.status.availability);
    EXPECT_EQ(x.updated_at_us, y.updated_at_us);
    EXPECT_EQ(x.backup_path, y.backup_path);
  }
  EXPECT_EQ(a.repo_before_updates, b.repo_before_updates);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.enabled_feature_flags, b.enabled_feature_flags);
  EXPECT_EQ(a.disabled_feature_flags, b.disabled_feature_flags);
}

TEST(RoundTrip, FixtureRepoInfos) {
  SKIP_WITHOUT_FIXTURES();
  int checked = 0;
  for (const char* repo : {"test-repo-v2", "split-repo-v2", "test-repo-v2-migrated", "expire-repo-v2-by-working-copy"}) {
    std::vector<fs::path> files = files_under(testdata_root() / repo / "overwritten");
    files.push_back(testdata_root() / repo / "repo");
    for (const fs::path& path : files) {
      auto original = read_repo_info_file(read_file(path), path.string());
      ASSERT_TRUE(original.ok()) << original.error().to_string();
      auto reread = read_repo_info_file(write_repo_info_file(*original), "rewritten " + path.string());
      ASSERT_TRUE(reread.ok()) << reread.error().to_string();
      expect_same_repo_info(*original, *reread);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(RoundTrip, RepoInfoSortsSnapshotsAndRemapsIndexes) {
  RepoInfo info;
  SnapshotInfo root;
  root.id = id12("ZZZZZZZZZZZZZZZZZZZG");
  root.message = "root";
  SnapshotInfo child;
  child.id = id12("00000000000000000000");
  child.parent_offset = 0;
  child.message = "child";
  child.metadata = {{"k", "v"}};
  info.snapshots = {root, child};
  info.branches = {{"main", 1}, {"a-branch", 0}};
  info.tags = {{"v1", 0}};
  RepoUpdate update;
  update.kind = UpdateKind::kNewCommit;
  update.name = "main";
  update.new_snap_id = child.id;
  update.updated_at_us = 2;
  update.backup_path = "repo.123.X";
  RepoUpdate status_change;
  status_change.kind = UpdateKind::kRepoStatusChanged;
  status_change.status.availability = 1;
  status_change.status.limited_availability_reason = "maintenance";
  RepoUpdate flag;
  flag.kind = UpdateKind::kFeatureFlagChanged;
  flag.flag_id = 4;
  flag.flag_new_value = true;
  flag.flag_is_set = true;
  info.latest_updates = {update, status_change, flag};
  info.enabled_feature_flags = {5, 3};
  auto reread = read_repo_info_file(write_repo_info_file(info), "repo");
  ASSERT_TRUE(reread.ok()) << reread.error().to_string();
  EXPECT_EQ(reread->snapshots[0].message, "child");
  EXPECT_EQ(reread->snapshots[0].parent_offset, 1);
  EXPECT_EQ(reread->snapshots[1].parent_offset, -1);
  EXPECT_EQ(reread->branches[0].name, "a-branch");
  EXPECT_EQ(reread->branches[0].snapshot_index, 1u);
  EXPECT_EQ(reread->branches[1].snapshot_index, 0u);
  EXPECT_EQ(reread->snapshots[0].metadata, child.metadata);
  EXPECT_EQ(reread->latest_updates[1].status.limited_availability_reason, "maintenance");
  EXPECT_EQ(reread->latest_updates[2].flag_id, 4);
  EXPECT_EQ(reread->enabled_feature_flags, (std::vector<std::uint16_t>{3, 5}));
  EXPECT_FALSE(reread->config.has_value());
}

// ---- transaction logs ----------------------------------------------------------------------------------

struct UpdatedChunksSpec {
  std::uint32_t ndim;
  std::uint64_t count;
};

TransactionLogToWrite make_log(const std::vector<UpdatedChunksSpec>& arrays) {
  TransactionLogToWrite log;
  log.id = random_id12();
  log.new_groups = {random_id8(), random_id8()};
  log.new_arrays = {random_id8()};
  log.updated_groups = {random_id8(), random_id8(), random_id8()};
  for (const UpdatedChunksSpec& spec : arrays) {
    UpdatedChunksSource source;
    source.node_id = random_id8();
    source.ndim = spec.ndim;
    source.count = spec.count;
    std::uint32_t ndim = spec.ndim;
    // Chunk i has coordinates (i / 7^(ndim-1-d)) % 7 per dimension, except the first which is unbounded.
    source.coords_at = [ndim](std::uint64_t index, std::uint32_t* coords) {
      for (std::uint32_t d = ndim; d-- > 0;) {
        coords[d] = d == 0 ? static_cast<std::uint32_t>(index) : static_cast<std::uint32_t>(index % 7);
        index /= 7;
      }
    };
    log.updated_chunks.push_back(source);
  }
  return log;
}

void expect_log_matches(const TransactionLogToWrite& written, const TransactionLog& read) {
  EXPECT_EQ(read.id, written.id);
  auto sorted = [](std::vector<Id8> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(read.new_groups, sorted(written.new_groups));
  EXPECT_EQ(read.new_arrays, sorted(written.new_arrays));
  EXPECT_EQ(read.updated_groups, sorted(written.updated_groups));
  EXPECT_TRUE(read.deleted_groups.empty());
  EXPECT_TRUE(read.deleted_arrays.empty());
  EXPECT_TRUE(read.updated_arrays.empty());
  EXPECT_TRUE(read.moved_nodes.empty());
  std::map<Id8, const UpdatedChunksSource*> sources;
  for (const auto& source : written.updated_chunks) sources[source.node_id] = &source;
  ASSERT_EQ(read.updated_chunks.size(), sources.size());
  auto expected = sources.begin();
  for (const UpdatedChunks& chunks : read.updated_chunks) {
    const UpdatedChunksSource& source = *(expected++)->second;
    EXPECT_EQ(chunks.node_id, source.node_id);
    if (source.count == 0) {
      EXPECT_EQ(chunks.count(), 0u);
      continue;
    }
    EXPECT_EQ(chunks.ndim, source.ndim);
    EXPECT_EQ(chunks.count(), source.ndim == 0 ? 1u : source.count);
    std::vector<std::uint32_t> coords(source.ndim);
    for (std::uint64_t i = 0; i < source.count && source.ndim > 0; ++i) {
      source.coords_at(i, coords.data());
      ASSERT_TRUE(std::equal(coords.begin(), coords.end(), chunks.coords.begin() + i * source.ndim)) << i;
    }
  }
}

TEST(TransactionLog, HandLaidLayoutVerifiesAndRoundTrips) {
  std::vector<std::vector<UpdatedChunksSpec>> cases = {
      {},                                          // no updated chunks at all
      {{1, 0}},                                    // an array with 0 chunks
      {{0, 1}},                                    // a 0-d array
      {{1, 5}},                                    // 1-d
      {{3, 1000}, {1, 3}, {0, 1}, {2, 0}},         // mixed, unsorted node ids
  };
  for (const auto& spec : cases) {
    TransactionLogToWrite log = make_log(spec);
    Bytes file = write_transaction_log_file(log);
    std::string payload = inflate(file);
    ASSERT_FALSE(payload.empty());
    const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
    flatbuffers::Verifier verifier(data, payload.size());
    EXPECT_TRUE(verifier.VerifyBuffer<fb::TransactionLog>("Ichk"));
    EXPECT_EQ(std::string_view(payload).substr(4, 4), "Ichk");
    auto read = read_transaction_log_file(file, "transactions/X");
    ASSERT_TRUE(read.ok()) << read.error().to_string();
    expect_log_matches(log, *read);
  }
}

TEST(TransactionLog, LargeLogStreams) {
  TransactionLogToWrite log = make_log({{3, 300000}});
  Bytes file = write_transaction_log_file(log);
  EXPECT_LT(file.size(), size_t{3} << 20);  // 300k 3-d chunks are ~7 MB of flatbuffer before zstd
  auto read = read_transaction_log_file(file, "transactions/big");
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  expect_log_matches(log, *read);
}

TEST(TransactionLog, FixtureLogsHaveChunks) {
  SKIP_WITHOUT_FIXTURES();
  auto initial = read_transaction_log_file(
      read_file(testdata_root() / "test-repo-v2" / "transactions" / "1CECHNKREP0F1RSTCMT0"), "initial");
  ASSERT_TRUE(initial.ok()) << initial.error().to_string();
  EXPECT_TRUE(initial->new_groups.empty());
  EXPECT_TRUE(initial->updated_chunks.empty());
  size_t chunks = 0;
  for (const fs::path& path : files_under(testdata_root() / "test-repo-v2" / "transactions")) {
    auto log = read_transaction_log_file(read_file(path), path.string());
    ASSERT_TRUE(log.ok());
    for (const UpdatedChunks& updated : log->updated_chunks) chunks += updated.count();
  }
  EXPECT_GT(chunks, 0u);
}

// ---- manifests -----------------------------------------------------------------------------------------

std::string location_for(int i) { return fmt::format("s3://bucket/path/to/data/file_{:05}.nc", i); }

struct BuiltManifest {
  Bytes file;
  Id8 inline_node, native_node, virtual_node;
};

BuiltManifest build_manifest(const ManifestBuilderOptions& options, int virtual_refs) {
  BuiltManifest built;
  std::array<Id8, 3> nodes = {random_id8(), random_id8(), random_id8()};
  std::sort(nodes.begin(), nodes.end());
  built.inline_node = nodes[0];
  built.native_node = nodes[1];
  built.virtual_node = nodes[2];
  ManifestBuilder builder(id12("1CECHNKREP0F1RSTCMT0"), options);
  const std::uint8_t inline_bytes[] = {1, 2, 3, 4};

  EXPECT_TRUE(builder.begin_array(built.inline_node).ok());
  for (std::uint32_t i = 0; i < 3; ++i) {
    std::uint32_t index[] = {i};
    ChunkRefView ref;
    ref.index = index;
    ref.kind = ChunkKind::kInline;
    ref.inline_data = inline_bytes;
    EXPECT_TRUE(builder.add_ref(ref).ok());
  }
  EXPECT_TRUE(builder.end_array().ok());

  EXPECT_TRUE(builder.begin_array(built.native_node).ok());
  for (std::uint32_t i = 0; i < 4; ++i) {
    std::uint32_t index[] = {i / 2, i % 2};
    ChunkRefView ref;
    ref.index = index;
    ref.kind = ChunkKind::kNative;
    ref.chunk_id = id12("000G40R40M30E209185G");
    ref.chunk_id[11] = static_cast<std::uint8_t>(i);
    ref.offset = 10 * i;
    ref.length = 10;
    EXPECT_TRUE(builder.add_ref(ref).ok());
  }
  EXPECT_TRUE(builder.end_array().ok());

  EXPECT_TRUE(builder.begin_array(built.virtual_node).ok());
  for (int i = 0; i < virtual_refs; ++i) {
    std::uint32_t index[] = {static_cast<std::uint32_t>(i)};
    std::string location = location_for(i / 2);  // every location twice: exercises sharing
    std::string etag = fmt::format("\"etag-{}\"", i / 2);
    ChunkRefView ref;
    ref.index = index;
    ref.kind = ChunkKind::kVirtual;
    ref.location = location;
    ref.offset = 1000 * static_cast<std::uint64_t>(i);
    ref.length = 1000;
    if (i % 2 == 0) {
      ref.checksum_etag = etag;
    } else {
      ref.checksum_last_modified = 1700000000u + static_cast<std::uint32_t>(i);
    }
    EXPECT_TRUE(builder.add_ref(ref).ok());
  }
  EXPECT_TRUE(builder.end_array().ok());
  EXPECT_EQ(builder.num_refs(), 7u + static_cast<std::uint64_t>(virtual_refs));
  auto file = builder.finish();
  EXPECT_TRUE(file.ok());
  built.file = file.ok() ? *file : Bytes();
  return built;
}

void check_manifest(const BuiltManifest& built, int virtual_refs) {
  auto manifest = ManifestView::open(built.file, "manifests/built");
  ASSERT_TRUE(manifest.ok()) << manifest.error().to_string();
  EXPECT_EQ(manifest->num_arrays(), 3u);
  EXPECT_EQ(manifest->num_refs(built.inline_node), 3u);
  EXPECT_EQ(manifest->num_refs(built.native_node), 4u);
  EXPECT_EQ(manifest->num_refs(built.virtual_node), static_cast<size_t>(virtual_refs));
  EXPECT_EQ(manifest->num_refs(Id8{}), 0u);

  std::uint32_t inline_index[] = {2};
  auto inline_ref = manifest->find(built.inline_node, inline_index);
  ASSERT_TRUE(inline_ref.ok() && inline_ref->has_value());
  EXPECT_EQ((*inline_ref)->kind, ChunkKind::kInline);
  EXPECT_EQ((*inline_ref)->inline_data.view(), std::string_view("\x01\x02\x03\x04", 4));

  std::uint32_t native_index[] = {1, 0};
  auto native_ref = manifest->find(built.native_node, native_index);
  ASSERT_TRUE(native_ref.ok() && native_ref->has_value());
  EXPECT_EQ((*native_ref)->kind, ChunkKind::kNative);
  EXPECT_EQ((*native_ref)->chunk_id[11], 2);
  EXPECT_EQ((*native_ref)->offset, 20u);
  EXPECT_EQ((*native_ref)->length, 10u);

  std::uint32_t missing[] = {1};  // a prefix of existing indexes, absent itself
  auto absent = manifest->find(built.native_node, missing);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  for (int i : {0, 1, virtual_refs / 2, virtual_refs - 1}) {
    std::uint32_t index[] = {static_cast<std::uint32_t>(i)};
    auto ref = manifest->find(built.virtual_node, index);
    ASSERT_TRUE(ref.ok()) << ref.error().to_string();
    ASSERT_TRUE(ref->has_value()) << i;
    EXPECT_EQ((*ref)->kind, ChunkKind::kVirtual);
    EXPECT_EQ((*ref)->location, location_for(i / 2));
    EXPECT_EQ((*ref)->offset, 1000u * static_cast<std::uint64_t>(i));
    if (i % 2 == 0) {
      EXPECT_EQ((*ref)->checksum_etag, fmt::format("\"etag-{}\"", i / 2));
      EXPECT_EQ((*ref)->checksum_last_modified, 0u);
    } else {
      EXPECT_EQ((*ref)->checksum_etag, "");
      EXPECT_EQ((*ref)->checksum_last_modified, 1700000000u + static_cast<std::uint32_t>(i));
    }
  }
  int visited = 0;
  ASSERT_TRUE(manifest
                  ->for_each_ref(built.virtual_node,
                                 [&](const ChunkRefView& ref) -> Status {
                                   EXPECT_EQ(ref.index[0], static_cast<std::uint32_t>(visited));
                                   EXPECT_EQ(ref.location, location_for(visited / 2));
                                   ++visited;
                                   return ok_status();
                                 })
                  .ok());
  EXPECT_EQ(visited, virtual_refs);
  auto stopped = manifest->for_each_ref(built.native_node, [](const ChunkRefView&) -> Status {
    return make_error(ErrorCode::kCancelled, "stop");
  });
  EXPECT_EQ(stopped.error().code(), ErrorCode::kCancelled);
}

const fb::Manifest* manifest_root(const std::string& payload) {
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), 64,
                                 100'000'000);
  EXPECT_TRUE(verifier.VerifyBuffer<fb::Manifest>("Ichk"));
  return flatbuffers::GetRoot<fb::Manifest>(payload.data());
}

TEST(Manifest, BuilderRoundTripPlainLocations) {
  constexpr int kVirtualRefs = 2000;
  BuiltManifest built = build_manifest({}, kVirtualRefs);
  check_manifest(built, kVirtualRefs);
  std::string payload = inflate(built.file);
  const fb::Manifest* root = manifest_root(payload);
  // The schema default is 1 (compressed): 0 must be in the buffer, not implied.
  EXPECT_TRUE(reinterpret_cast<const flatbuffers::Table*>(root)->CheckField(fb::Manifest::VT_COMPRESSION_ALGORITHM));
  EXPECT_EQ(root->compression_algorithm(), 0);
  EXPECT_EQ(root->location_dictionary(), nullptr);
  // Shared strings: each location is stored once although two refs use it.
  const auto* refs = root->arrays()->Get(2)->refs();
  EXPECT_EQ(refs->Get(0)->location(), refs->Get(1)->location());
  EXPECT_NE(refs->Get(1)->location(), refs->Get(2)->location());
}

TEST(Manifest, BuilderRoundTripDictionaryCompressedLocations) {
  constexpr int kVirtualRefs = 2400;
  std::vector<std::string> locations;
  for (int i = 0; i < 1200; ++i) locations.push_back(location_for(i));
  std::vector<std::string_view> samples(locations.begin(), locations.end());
  auto dictionary = train_location_dictionary(samples);
  ASSERT_TRUE(dictionary.has_value());
  EXPECT_LE(dictionary->size(), 2048u);
  ManifestBuilderOptions options;
  options.location_dictionary = dictionary;
  BuiltManifest built = build_manifest(options, kVirtualRefs);
  check_manifest(built, kVirtualRefs);
  std::string payload = inflate(built.file);
  const fb::Manifest* root = manifest_root(payload);
  EXPECT_EQ(root->compression_algorithm(), 1);
  ASSERT_NE(root->location_dictionary(), nullptr);
  EXPECT_EQ(root->location_dictionary()->size(), dictionary->size());
  const auto* refs = root->arrays()->Get(2)->refs();
  EXPECT_EQ(refs->Get(0)->location(), nullptr);
  ASSERT_NE(refs->Get(0)->compressed_location(), nullptr);
  EXPECT_LT(refs->Get(0)->compressed_location()->size(), location_for(0).size());
  EXPECT_EQ(refs->Get(0)->compressed_location(), refs->Get(1)->compressed_location());  // interned

  BuiltManifest plain = build_manifest({}, kVirtualRefs);
  EXPECT_LT(built.file.size(), plain.file.size() * 2);  // sanity: compression does not blow up the file
}

TEST(Manifest, TrainingNeedsSamples) {
  std::vector<std::string_view> few = {"s3://a/1", "s3://a/2"};
  EXPECT_FALSE(train_location_dictionary(few).has_value());
}

TEST(Manifest, BuilderRefusesDisorder) {
  ManifestBuilder builder(random_id12(), {});
  Id8 low{}, high{};
  high[0] = 9;
  std::uint32_t one[] = {1};
  std::uint32_t zero[] = {0};
  std::uint32_t two_dims[] = {2, 0};
  ChunkRefView ref;
  ref.kind = ChunkKind::kNative;
  ref.length = 5;
  ref.index = one;
  EXPECT_EQ(builder.add_ref(ref).error().code(), ErrorCode::kInvalidArgument);  // outside an array
  ASSERT_TRUE(builder.begin_array(high).ok());
  ASSERT_TRUE(builder.add_ref(ref).ok());
  ref.index = zero;
  EXPECT_EQ(builder.add_ref(ref).error().code(), ErrorCode::kInvalidArgument);
  ref.index = one;
  EXPECT_EQ(builder.add_ref(ref).error().code(), ErrorCode::kInvalidArgument);  // duplicate
  ref.index = two_dims;
  EXPECT_EQ(builder.add_ref(ref).error().code(), ErrorCode::kInvalidArgument);  // dimension count changed
  ref.index = std::span<const std::uint32_t>(two_dims, 1);
  ref.length = 0;
  EXPECT_EQ(builder.add_ref(ref).error().code(), ErrorCode::kInvalidArgument);  // zero length
  EXPECT_EQ(builder.finish().error().code(), ErrorCode::kInvalidArgument);      // array still open
  ASSERT_TRUE(builder.end_array().ok());
  EXPECT_EQ(builder.begin_array(low).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(builder.begin_array(high).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(builder.finish().ok());
}

TEST(Manifest, EmptyManifest) {
  ManifestBuilder builder(random_id12(), {});
  auto file = builder.finish();
  ASSERT_TRUE(file.ok());
  auto manifest = ManifestView::open(*file, "empty");
  ASSERT_TRUE(manifest.ok()) << manifest.error().to_string();
  EXPECT_EQ(manifest->num_arrays(), 0u);
}

// ---- corruption ----------------------------------------------------------------------------------------

// Every reader on every truncation and on single-byte flips of a file: errors, never a crash.
template <typename Reader>
void torture(const Bytes& file, Reader read, bool flips_may_pass = true) {
  for (size_t cut = 0; cut < file.size(); cut += std::max<size_t>(1, file.size() / 97)) {
    EXPECT_FALSE(read(file.slice(0, cut))) << "truncated at " << cut;
  }
  for (size_t position = 0; position < file.size(); ++position) {
    for (std::uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string copy = file.to_string();
      copy[position] = static_cast<char>(copy[position] ^ mask);
      bool ok = read(Bytes::from_string(std::move(copy)));
      if (!flips_may_pass && position < 12) {
        EXPECT_FALSE(ok);
      }
    }
  }
}

TEST(Corruption, FixtureFilesNeverCrashReaders) {
  SKIP_WITHOUT_FIXTURES();
  fs::path repo = testdata_root() / "test-repo-v2";
  torture(read_file(repo / "snapshots" / "1CECHNKREP0F1RSTCMT0"),
          [](const Bytes& file) { return read_snapshot_file(file, "s").ok(); }, false);
  for (const fs::path& path : files_under(repo / "manifests")) {
    torture(read_file(path), [](const Bytes& file) {
      auto manifest = ManifestView::open(file, "m");
      if (!manifest.ok()) return false;
      for (const Id8& node : manifest->array_ids()) {
        (void)manifest->for_each_ref(node, [](const ChunkRefView&) { return ok_status(); });
      }
      return true;
    }, false);
  }
  torture(read_file(repo / "repo"), [](const Bytes& file) { return read_repo_info_file(file, "r").ok(); }, false);
  for (const fs::path& path : files_under(repo / "transactions")) {
    torture(read_file(path), [](const Bytes& file) { return read_transaction_log_file(file, "t").ok(); }, false);
  }
}

TEST(Corruption, ReadersRefuseWrongTypes) {
  SKIP_WITHOUT_FIXTURES();
  fs::path repo = testdata_root() / "test-repo-v2";
  Bytes snapshot = read_file(repo / "snapshots" / "1CECHNKREP0F1RSTCMT0");
  EXPECT_EQ(read_repo_info_file(snapshot, "repo").error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(read_transaction_log_file(snapshot, "tx").error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(ManifestView::open(snapshot, "m").error().code(), ErrorCode::kCorrupt);
  auto version3 = read_snapshot_file(with_byte(snapshot, 36, 3), "snapshots/1CECHNKREP0F1RSTCMT0");
  EXPECT_EQ(version3.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(version3.error().to_string().find("snapshots/1CECHNKREP0F1RSTCMT0"), std::string::npos);
}

TEST(Corruption, UnknownNodeDataTypeIsCorrupt) {
  Snapshot snapshot;
  snapshot.id = random_id12();
  Node group;
  group.id = random_id8();
  group.path = "/";
  snapshot.nodes.push_back(group);
  Bytes file = write_snapshot_file(snapshot);
  auto payload = open_envelope(file, FileType::kSnapshot, "s");
  ASSERT_TRUE(payload.ok());
  std::string buffer = payload->to_string();
  // Find the union type byte (Group = 2) through the generated accessors, then set an unknown type.
  const auto* root = flatbuffers::GetRoot<fb::Snapshot>(buffer.data());
  const fb::NodeSnapshot* node = root->nodes()->Get(0);
  auto* type_byte = const_cast<std::uint8_t*>(
      reinterpret_cast<const std::uint8_t*>(node) +
      reinterpret_cast<const flatbuffers::Table*>(node)->GetOptionalFieldOffset(fb::NodeSnapshot::VT_NODE_DATA_TYPE));
  ASSERT_EQ(*type_byte, 2);
  *type_byte = 7;
  Bytes tampered = seal_envelope(FileType::kSnapshot,
                                 std::span(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size()));
  auto read = read_snapshot_file(tampered, "snapshots/tampered");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(read.error().message().find("unknown node data type 7"), std::string::npos);
}

}  // namespace
}  // namespace floe::icechunk
