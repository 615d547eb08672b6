// Tests of LocalStore: reads, ranges, listing, and conditional writes that hold between processes.
#include "floe/io/local_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace floe::io {
namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("floe-local-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    store_ = std::make_unique<LocalStore>(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, PutGetHeadDelete) {
  auto put = store_->put("a/b/c.bin", Bytes::from_string("0123456789"));
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  auto got = store_->get("a/b/c.bin");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->view(), "0123456789");
  GetOptions range;
  range.offset = 2;
  range.length = 3;
  EXPECT_EQ(store_->get("a/b/c.bin", range)->view(), "234");
  auto meta = store_->head("a/b/c.bin");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->size, 10u);
  EXPECT_EQ(meta->etag, put->etag);
  ASSERT_TRUE(store_->del("a/b/c.bin").ok());
  EXPECT_EQ(store_->get("a/b/c.bin").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->del("a/b/c.bin").ok());  // idempotent, as in S3
}

TEST_F(LocalStoreTest, ReadsPastTheEndAreErrorsNamingTheFile) {
  ASSERT_TRUE(store_->put("f", Bytes::from_string("abc")).ok());
  std::pair<uint64_t, uint64_t> ranges[] = {{0, 2}, {1, 5}};
  auto results = store_->get_ranges("f", ranges);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->view(), "ab");
  ASSERT_FALSE(results[1].ok());
  EXPECT_NE(results[1].error().message().find((root_ / "f").string()), std::string::npos);
  EXPECT_NE(results[1].error().message().find("past the end"), std::string::npos);
}

TEST_F(LocalStoreTest, CreateIfAbsentAndCompareAndSwap) {
  PutOptions create;
  create.if_none_match = true;
  auto first = store_->put("repo", Bytes::from_string("v1"), create);
  ASSERT_TRUE(first.ok());
  auto second = store_->put("repo", Bytes::from_string("v2"), create);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(store_->get("repo")->view(), "v1");

  PutOptions swap;
  swap.if_match = first->etag;
  auto swapped = store_->put("repo", Bytes::from_string("v2"), swap);
  ASSERT_TRUE(swapped.ok());
  EXPECT_NE(swapped->etag, first->etag);
  auto stale = store_->put("repo", Bytes::from_string("v3"), swap);  // first->etag is stale now
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(store_->get("repo")->view(), "v2");

  PutOptions missing;
  missing.if_match = "whatever";
  EXPECT_EQ(store_->put("absent", Bytes::from_string("x"), missing).error().code(),
            ErrorCode::kPreconditionFailed);
}

TEST_F(LocalStoreTest, ExactlyOneProcessWinsEachRace) {
  // Eight processes race create-if-absent on one key, then compare-and-swap on another.
  auto base = store_->put("cas", Bytes::from_string("base"));
  ASSERT_TRUE(base.ok());
  constexpr int kWriters = 8;
  std::vector<pid_t> children;
  for (int i = 0; i < kWriters; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      LocalStore store(root_.string());
      PutOptions create;
      create.if_none_match = true;
      bool created = store.put("race", Bytes::from_string("w" + std::to_string(i)), create).ok();
      PutOptions swap;
      swap.if_match = base->etag;
      bool swapped = store.put("cas", Bytes::from_string("s" + std::to_string(i)), swap).ok();
      ::_exit((created ? 1 : 0) | (swapped ? 2 : 0));
    }
    children.push_back(pid);
  }
  int created = 0;
  int swapped = 0;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    created += WEXITSTATUS(status) & 1;
    swapped += (WEXITSTATUS(status) & 2) >> 1;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(swapped, 1);
  // No temporary files are left behind or listed.
  auto listing = store_->list("");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->objects.size(), 2u);
  size_t files = 0;
  for (auto& entry : std::filesystem::recursive_directory_iterator(root_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 2u);
}

TEST_F(LocalStoreTest, ListsWithPrefixAndDelimiter) {
  for (const char* key : {"a/1", "a/2", "a/b/3", "ab", "c"}) ASSERT_TRUE(store_->put(key, Bytes::from_string("x")).ok());
  auto all = store_->list("a");
  ASSERT_TRUE(all.ok());
  std::vector<std::string> keys;
  for (auto& meta : all->objects) keys.push_back(meta.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "a/b/3", "ab"}));
  auto shallow = store_->list("a/", "/");
  ASSERT_TRUE(shallow.ok());
  EXPECT_EQ(shallow->objects.size(), 2u);
  EXPECT_EQ(shallow->common_prefixes, std::vector<std::string>{"a/b/"});
  EXPECT_TRUE(store_->list("zzz/")->objects.empty());
}

// Links keep their own names: a linked file, a linked directory (followed), a link back to an ancestor (not
// followed twice) and a dangling link (skipped).
TEST_F(LocalStoreTest, ListsSymbolicLinksUnderTheirOwnNames) {
  ASSERT_TRUE(store_->put("data/real/x.grib2", Bytes::from_string("xyz")).ok());
  ASSERT_TRUE(store_->put("elsewhere/y.grib2", Bytes::from_string("yy")).ok());
  std::filesystem::create_directories(root_ / "runs");
  std::filesystem::create_symlink(root_ / "data/real/x.grib2", root_ / "runs/linked.grib2");
  std::filesystem::create_directory_symlink(root_ / "elsewhere", root_ / "runs/day");
  std::filesystem::create_directory_symlink(root_ / "runs", root_ / "runs/day/back");
  std::filesystem::create_symlink(root_ / "nowhere", root_ / "runs/dangling.grib2");
  auto listed = store_->list("runs/");
  ASSERT_TRUE(listed.ok()) << listed.error().to_string();
  std::vector<std::string> keys;
  for (auto& meta : listed->objects) keys.push_back(meta.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"runs/day/y.grib2", "runs/linked.grib2"}));
  EXPECT_EQ(listed->objects.back().size, 3u);
}

TEST_F(LocalStoreTest, PreconditionsOnReadsCatchChangedFiles) {
  auto put = store_->put("source.nc", Bytes::from_string("original"));
  ASSERT_TRUE(put.ok());
  GetOptions options;
  options.if_match = put->etag;
  EXPECT_TRUE(store_->get("source.nc", options).ok());
  ASSERT_TRUE(store_->put("source.nc", Bytes::from_string("replaced")).ok());
  auto stale = store_->get("source.nc", options);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
}

}  // namespace
}  // namespace floe::io
