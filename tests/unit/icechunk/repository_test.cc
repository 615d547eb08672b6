// Repository and session semantics on local disk: commits of every chunk kind, refs, rebase, conflicts,
// amend, diff, split manifests, virtual chunk authorization and changed sources.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "floe/icechunk/change_set.h"
#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"
#include "floe/io/local_store.h"

namespace floe::icechunk {
namespace {

namespace fs = std::filesystem;

std::string array_json(std::vector<int> shape, std::vector<int> chunks) {
  Json meta{{"zarr_format", 3},
            {"node_type", "array"},
            {"shape", shape},
            {"data_type", "int32"},
            {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", chunks}}}}},
            {"chunk_key_encoding", {{"name", "default"}, {"configuration", {{"separator", "/"}}}}},
            {"fill_value", 0},
            {"codecs", Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})},
            {"dimension_names", {"y", "x"}}};
  return meta.dump();
}

const std::string kGroupJson = R"({"zarr_format":3,"node_type":"group","attributes":{"title":"test"}})";

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fmt::format("floe-repo-test-{}-{}", ::getpid(),
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    store_ = std::make_shared<io::LocalStore>("");
    registry_ = std::make_shared<io::StoreRegistry>(std::make_shared<io::HttpTransport>(io::HttpTransportOptions{}),
                                                    io::Environment{});
  }
  void TearDown() override { fs::remove_all(root_); }

  std::shared_ptr<Repository> create(CreateOptions options = {}) {
    auto repository = Repository::create(store_, (root_ / "repo").string(), registry_, options);
    EXPECT_TRUE(repository.ok()) << repository.error().to_string();
    return *repository;
  }

  std::unique_ptr<WriteSession> session(Repository& repository, const std::string& branch = "main") {
    auto result = repository.write_session(branch);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return std::move(result).value();
  }

  Id12 commit_ok(WriteSession& session, const std::string& message, CommitOptions options = {}) {
    auto id = session.commit(message, Json{{"author", "test"}}, options);
    EXPECT_TRUE(id.ok()) << id.error().to_string();
    return id.ok() ? *id : Id12{};
  }

  std::optional<std::string> read_key(Repository& repository, const Id12& snapshot, const std::string& key) {
    auto read = repository.read_session(snapshot);
    EXPECT_TRUE(read.ok());
    auto bytes = (*read)->get_key(key);
    EXPECT_TRUE(bytes.ok()) << bytes.error().to_string();
    if (!bytes.ok() || !*bytes) return std::nullopt;
    return (*bytes)->to_string();
  }

  fs::path root_;
  std::shared_ptr<io::LocalStore> store_;
  std::shared_ptr<io::StoreRegistry> registry_;
};

TEST_F(RepositoryTest, CreateCommitAndReadEveryChunkKind) {
  const fs::path source = root_ / "source.bin";
  std::ofstream(source) << std::string(64, 'v');
  VirtualChunkContainer container{.name = std::nullopt, .url_prefix = "file://" + root_.string() + "/",
                                  .store = Json{{"local_file_system", root_.string()}}};
  auto repository = create(CreateOptions{.inline_chunk_threshold_bytes = 16, .containers = {container}});
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  ASSERT_TRUE(writer->put_group("/g", kGroupJson).ok());
  const std::string meta = array_json({4, 4}, {2, 2});
  ASSERT_TRUE(writer->put_array("/g/a", meta).ok());
  std::vector<std::uint32_t> i00{0, 0}, i01{0, 1}, i10{1, 0}, i11{1, 1};
  ASSERT_TRUE(writer->write_chunk("/g/a", i00, Bytes::copy_of(std::string_view("small"))).ok());
  const std::string big(100, 'n');
  ASSERT_TRUE(writer->write_chunk("/g/a", i01, Bytes::copy_of(std::string_view(big))).ok());
  ASSERT_TRUE(writer->set_virtual_ref("/g/a", i10, "file://" + source.string(), 8, 16).ok());
  EXPECT_FALSE(writer->write_chunk("/g/a", std::vector<std::uint32_t>{2, 0}, Bytes()).ok());  // outside the grid
  EXPECT_FALSE(writer->put_array("/missing/a", meta).ok());                                   // no parent group
  const Id12 first = commit_ok(*writer, "first");

  EXPECT_EQ(read_key(*repository, first, "g/a/zarr.json"), meta);
  EXPECT_EQ(read_key(*repository, first, "zarr.json"), kGroupJson);
  EXPECT_EQ(read_key(*repository, first, "g/a/c/0/0"), "small");
  EXPECT_EQ(read_key(*repository, first, "g/a/c/0/1"), big);
  EXPECT_EQ(read_key(*repository, first, "g/a/c/1/1"), std::nullopt);

  auto reader = repository->read_session(first);
  ASSERT_TRUE(reader.ok());
  auto node = (*reader)->node("/g/a");
  ASSERT_TRUE(node.ok());
  auto refused = (*reader)->chunk_bytes(**node, i10);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().to_string().find("--authorize"), std::string::npos);
  repository->virtual_chunks().authorize(container.url_prefix);
  EXPECT_EQ(read_key(*repository, first, "g/a/c/1/0"), std::string(16, 'v'));

  // A reopened repository sees the same thing, and the ancestry is initial ← first.
  auto reopened = Repository::open(store_, (root_ / "repo").string(), registry_);
  ASSERT_TRUE(reopened.ok());
  auto history = (*reopened)->ancestry(first);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].message, "first");
  EXPECT_EQ((*history)[0].metadata["author"], "test");
  EXPECT_EQ((*history)[1].id, kInitialSnapshotId);
  EXPECT_TRUE(fs::exists(root_ / "repo" / "overwritten"));
}

TEST_F(RepositoryTest, VirtualChunkWhoseSourceChangedFailsLoudly) {
  const fs::path source = root_ / "changing.bin";
  std::ofstream(source) << std::string(32, 'a');
  auto meta = store_->head(source.string());
  ASSERT_TRUE(meta.ok());
  VirtualChunkContainer container{.name = std::nullopt, .url_prefix = "file://" + root_.string() + "/",
                                  .store = Json{{"local_file_system", root_.string()}}};
  auto repository = create(CreateOptions{.containers = {container}});
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  ASSERT_TRUE(writer->put_array("/a", array_json({2, 2}, {2, 2})).ok());
  std::vector<std::uint32_t> index{0, 0};
  ASSERT_TRUE(writer->set_virtual_ref("/a", index, "file://" + source.string(), 0, 16, meta->etag).ok());
  const Id12 id = commit_ok(*writer, "virtual");
  repository->virtual_chunks().authorize(container.url_prefix);
  EXPECT_EQ(read_key(*repository, id, "a/c/0/0"), std::string(16, 'a'));
  std::ofstream(source) << std::string(32, 'b');  // rewritten after virtualization
  auto reader = repository->read_session(id);
  auto node = (*reader)->node("/a");
  auto changed = (*reader)->chunk_bytes(**node, index);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_NE(changed.error().to_string().find("changed after it was virtualized"), std::string::npos);
}

TEST_F(RepositoryTest, BranchesAndTags) {
  auto repository = create();
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  const Id12 first = commit_ok(*writer, "first");
  ASSERT_TRUE(repository->create_branch("dev", first).ok());
  EXPECT_EQ(repository->create_branch("dev", first).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(repository->create_tag("v1", first).ok());
  ASSERT_TRUE(repository->delete_tag("v1").ok());
  EXPECT_EQ(repository->create_tag("v1", first).error().code(), ErrorCode::kConflict);  // tags are immutable
  ASSERT_TRUE(repository->reset_branch("dev", kInitialSnapshotId).ok());
  EXPECT_EQ(*repository->branch_tip("dev"), kInitialSnapshotId);
  ASSERT_TRUE(repository->delete_branch("dev").ok());
  EXPECT_FALSE(repository->delete_branch("main").ok());
  auto state = repository->fetch_state();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->branches.size(), 1u);
  EXPECT_EQ(state->deleted_tags, std::vector<std::string>{"v1"});
  // Ops log newest first: branch deleted, reset, tag deleted, tag created, branch created, commit, init.
  ASSERT_GE(state->info->latest_updates.size(), 7u);
  EXPECT_EQ(state->info->latest_updates[0].kind, UpdateKind::kBranchDeleted);
  EXPECT_EQ(state->info->latest_updates.back().kind, UpdateKind::kRepoInitialized);
  for (size_t i = 1; i < state->info->latest_updates.size(); ++i) {
    EXPECT_TRUE(state->info->latest_updates[i].backup_path.has_value());
    EXPECT_GT(state->info->latest_updates[i - 1].updated_at_us, state->info->latest_updates[i].updated_at_us);
  }
}

TEST_F(RepositoryTest, ConcurrentSessionsRebaseOrConflict) {
  auto repository = create();
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  ASSERT_TRUE(writer->put_array("/a", array_json({4, 4}, {2, 2})).ok());
  const Id12 base = commit_ok(*writer, "base");
  std::vector<std::uint32_t> i00{0, 0}, i11{1, 1};

  auto one = session(*repository);
  auto two = session(*repository);
  auto three = session(*repository);
  ASSERT_TRUE(one->write_chunk("/a", i00, Bytes::copy_of(std::string_view("one"))).ok());
  ASSERT_TRUE(two->write_chunk("/a", i11, Bytes::copy_of(std::string_view("two"))).ok());
  ASSERT_TRUE(three->write_chunk("/a", i00, Bytes::copy_of(std::string_view("three"))).ok());
  const Id12 after_one = commit_ok(*one, "one");
  const Id12 after_two = commit_ok(*two, "two");  // other chunk: rebased
  auto conflicted = three->commit("three");
  ASSERT_FALSE(conflicted.ok());
  EXPECT_EQ(conflicted.error().code(), ErrorCode::kConflict);
  EXPECT_NE(conflicted.error().to_string().find("/a chunk [0,0]"), std::string::npos) << conflicted.error().to_string();

  EXPECT_EQ(read_key(*repository, after_two, "a/c/0/0"), "one");
  EXPECT_EQ(read_key(*repository, after_two, "a/c/1/1"), "two");
  auto history = repository->ancestry(after_two);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);
  EXPECT_EQ((*history)[1].id, after_one);
  EXPECT_EQ((*history)[2].id, base);

  auto diff = repository->diff(base, after_two);
  ASSERT_TRUE(diff.ok());
  ASSERT_EQ(diff->updated_chunks.count("/a"), 1u);
  EXPECT_EQ(diff->updated_chunks["/a"], (std::vector<std::vector<std::uint32_t>>{{0, 0}, {1, 1}}));
}

TEST_F(RepositoryTest, AmendReplacesTheTip) {
  auto repository = create();
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  const Id12 base = commit_ok(*writer, "base");
  auto first = session(*repository);
  ASSERT_TRUE(first->put_array("/a", array_json({2, 2}, {1, 1})).ok());
  ASSERT_TRUE(first->write_chunk("/a", std::vector<std::uint32_t>{0, 0}, Bytes::copy_of(std::string_view("x"))).ok());
  const Id12 amended = commit_ok(*first, "to be amended");
  auto fix = session(*repository);
  ASSERT_TRUE(fix->write_chunk("/a", std::vector<std::uint32_t>{1, 1}, Bytes::copy_of(std::string_view("y"))).ok());
  const Id12 replacement = commit_ok(*fix, "amended", CommitOptions{.amend = true});
  auto history = repository->ancestry(replacement);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[1].id, base);
  EXPECT_NE((*history)[0].id, amended);
  auto diff = repository->diff(base, replacement);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->new_arrays, std::vector<std::string>{"/a"});
  EXPECT_EQ(diff->updated_chunks["/a"].size(), 2u);
  auto state = repository->fetch_state();
  EXPECT_EQ(state->info->latest_updates[0].kind, UpdateKind::kCommitAmended);
}

TEST_F(RepositoryTest, LargeArraysSplitIntoManifestsByFirstDimension) {
  auto repository = create();
  repository->write_options().max_refs_per_manifest = 25;
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  ASSERT_TRUE(writer->put_array("/big", array_json({100, 100}, {10, 10})).ok());
  for (std::uint32_t y = 0; y < 10; ++y) {
    for (std::uint32_t x = 0; x < 10; ++x) {
      std::vector<std::uint32_t> index{y, x};
      ASSERT_TRUE(writer->set_virtual_ref("/big", index, fmt::format("s3://bucket/file_{:03d}.nc", y * 10 + x),
                                          1000 + x, 400 + y).ok());
    }
  }
  const Id12 first = commit_ok(*writer, "big");
  auto reader = repository->read_session(first);
  auto node = (*reader)->node("/big");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ((*node)->manifests.size(), 4u);  // slabs of 3 rows (30 refs) then 1 row
  for (std::uint32_t y = 0; y < 10; ++y) {
    for (std::uint32_t x = 0; x < 10; ++x) {
      std::vector<std::uint32_t> index{y, x};
      auto ref = (*reader)->chunk_ref(**node, index);
      ASSERT_TRUE(ref.ok() && ref->has_value());
      EXPECT_EQ((*ref)->location, fmt::format("s3://bucket/file_{:03d}.nc", y * 10 + x));
      EXPECT_EQ((*ref)->offset, 1000u + x);
      EXPECT_EQ((*ref)->length, 400u + y);
    }
  }
  // Changing one chunk keeps every other ref.
  auto second = session(*repository);
  ASSERT_TRUE(second->delete_chunk("/big", std::vector<std::uint32_t>{5, 5}).ok());
  const Id12 after = commit_ok(*second, "delete one");
  auto later = repository->read_session(after);
  auto later_node = (*later)->node("/big");
  size_t count = 0;
  ASSERT_TRUE((*later)->for_each_ref(**later_node, [&](const ChunkRefView&) { ++count; return ok_status(); }).ok());
  EXPECT_EQ(count, 99u);
}

TEST_F(RepositoryTest, DeletingNodesAndOpeningMissingRepositories) {
  auto missing = Repository::open(store_, (root_ / "nothing").string(), registry_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto repository = create();
  EXPECT_EQ(Repository::create(store_, (root_ / "repo").string(), registry_, {}).error().code(), ErrorCode::kConflict);
  auto writer = session(*repository);
  ASSERT_TRUE(writer->put_group("/", kGroupJson).ok());
  ASSERT_TRUE(writer->put_group("/g", kGroupJson).ok());
  ASSERT_TRUE(writer->put_array("/g/a", array_json({2, 2}, {1, 1})).ok());
  const Id12 first = commit_ok(*writer, "tree");
  auto deleter = session(*repository);
  ASSERT_TRUE(deleter->delete_node("/g").ok());
  const Id12 second = commit_ok(*deleter, "delete");
  auto reader = repository->read_session(second);
  EXPECT_EQ((*reader)->nodes().size(), 1u);
  auto diff = repository->diff(first, second);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->deleted_groups, std::vector<std::string>{"/g"});
  EXPECT_EQ(diff->deleted_arrays, std::vector<std::string>{"/g/a"});
}

// Rectilinear grids (zarr-extensions): icechunk-python 2.3 stores num_chunks [3] for a zarr-python
// array created with chunks [[4, 4, 4]] and resized from 12 to 6 (chunk_shapes [[[4, 3]]]): every
// declared chunk counts, the one wholly past the end too.
TEST(ArrayGeometry, RectilinearGridsCountEveryDeclaredChunk) {
  auto geometry_of = [](std::string_view shape, std::string_view chunk_shapes) {
    return array_geometry_from_zarr_json(
        fmt::format(R"({{"zarr_format": 3, "node_type": "array", "shape": {}, "chunk_grid":
            {{"name": "rectilinear", "configuration": {{"kind": "inline", "chunk_shapes": {}}}}}}})",
                    shape, chunk_shapes),
        "/r");
  };
  auto shrunk = geometry_of("[6]", "[[[4, 3]]]");
  ASSERT_TRUE(shrunk.ok()) << shrunk.error().to_string();
  ASSERT_EQ(shrunk->shape.size(), 1u);
  EXPECT_EQ(shrunk->shape[0].num_chunks, 3u);
  EXPECT_EQ(shrunk->shape[0].array_length, 6u);
  auto mixed = geometry_of("[120, 10, 7]", "[[31, 28, 31, 30], 4, [[1, 2], 5]]");
  ASSERT_TRUE(mixed.ok()) << mixed.error().to_string();
  EXPECT_EQ(mixed->shape[0].num_chunks, 4u);
  EXPECT_EQ(mixed->shape[1].num_chunks, 3u);
  EXPECT_EQ(mixed->shape[2].num_chunks, 3u);
  // The same rules as zarr::ArrayMetadata::parse: edges short of the shape and zero runs refused.
  EXPECT_EQ(geometry_of("[10]", "[[3, 3]]").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(geometry_of("[10]", "[[[5, 0], 10]]").error().code(), ErrorCode::kInvalidArgument);
  // Counting never expands the edges: 2^31 chunks of one element are counted, not listed.
  auto many = geometry_of("[2147483648]", "[1]");
  ASSERT_TRUE(many.ok()) << many.error().to_string();
  EXPECT_EQ(many->shape[0].num_chunks, 2147483648u);
}

}  // namespace
}  // namespace floe::icechunk
