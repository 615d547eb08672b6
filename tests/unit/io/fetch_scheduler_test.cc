// Tests of FetchScheduler planning (coalesce, split, no copies) and BlockCache behaviour, over LocalStore.
#include "floe/io/fetch_scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "floe/io/block_cache.h"
#include "floe/io/local_store.h"
#include "floe/io/store_registry.h"

namespace floe::io {
namespace {

// A store that records every read it is asked for, over a LocalStore.
class RecordingStore final : public ObjectStore {
 public:
  explicit RecordingStore(LocalStore& inner) : inner_(inner) {}
  std::string url_for(std::string_view key) const override { return inner_.url_for(key); }
  Result<Bytes> get(std::string_view key, const GetOptions& options) override { return inner_.get(key, options); }
  std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) override {
    for (const RangeRead& read : reads) ranges.emplace_back(read.offset, read.length);
    ++calls;
    return inner_.read_ranges_into(reads);
  }
  Result<ObjectMeta> head(std::string_view key) override {
    ++heads;
    return inner_.head(key);
  }
  // One request, as HTTP stores make it (a ranged GET whose Content-Range names the size).
  Result<PrefixRead> read_prefix(std::string_view key, uint64_t max_length) override {
    ++prefix_reads;
    ranges.emplace_back(0, max_length);
    return inner_.read_prefix(key, max_length);
  }
  Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options) override {
    return inner_.put(key, std::move(data), options);
  }
  Status del(std::string_view key) override { return inner_.del(key); }
  Result<ListResult> list(std::string_view prefix, std::string_view delimiter) override {
    return inner_.list(prefix, delimiter);
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  int calls = 0;
  int heads = 0;
  int prefix_reads = 0;

 private:
  LocalStore& inner_;
};

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("floe-fetch-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    local_ = std::make_unique<LocalStore>(root_.string());
    std::string content(1 << 20, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    content_ = content;
    ASSERT_TRUE(local_->put("data.bin", Bytes::from_string(std::move(content))).ok());
    store_ = std::make_unique<RecordingStore>(*local_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string expected(uint64_t offset, uint64_t length) const { return content_.substr(offset, length); }

  std::filesystem::path root_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<RecordingStore> store_;
  std::string content_;
};

TEST_F(FetchTest, CoalescesNearRangesAndSlicesWithoutCopying) {
  FetchScheduler scheduler(FetchOptions{100, 1 << 20});
  std::vector<FetchRequest> requests{{store_.get(), "data.bin", 1000, 10, nullptr},
                                     {store_.get(), "data.bin", 0, 10, nullptr},
                                     {store_.get(), "data.bin", 1050, 20, nullptr},  // gap 40 → merged
                                     {store_.get(), "data.bin", 5000, 8, nullptr}};  // far → separate
  FetchStats stats;
  auto results = scheduler.fetch(requests, &stats);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->view(), expected(requests[i].offset, requests[i].length));
  }
  EXPECT_EQ(stats.logical_requests, 4u);
  EXPECT_EQ(stats.physical_requests, 3u);
  EXPECT_EQ(store_->ranges, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 10}, {1000, 70}, {5000, 8}}));
  EXPECT_EQ(results[0]->owner(), results[2]->owner());  // one buffer for the merged span
  EXPECT_EQ(store_->calls, 1);                           // one batch for the store
}

// Gaps within coalesce_gap merge only while the merged read is mostly wanted bytes: values of 8 bytes, one
// per 65,528-byte record (a NetCDF-3 record coordinate), are read one by one instead of as the whole file;
// 64 KiB blocks with gaps of the same size, and small values a few bytes apart, still merge.
TEST_F(FetchTest, CoalescingCapsTheBytesNobodyAskedFor) {
  FetchScheduler scheduler;
  std::vector<FetchRequest> values;
  for (uint64_t i = 0; i < 16; ++i) values.push_back({store_.get(), "data.bin", i * 65528, 8, nullptr});
  FetchStats stats;
  auto results = scheduler.fetch(values, &stats);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(results[i]->view(), expected(i * 65528, 8));
  EXPECT_EQ(stats.physical_requests, 16u);
  EXPECT_EQ(stats.bytes_fetched, 16u * 8);

  std::vector<FetchRequest> blocks;
  for (uint64_t i = 0; i < 4; ++i) blocks.push_back({store_.get(), "data.bin", i * 131072, 65536, nullptr});
  FetchStats block_stats;
  scheduler.fetch(blocks, &block_stats);
  EXPECT_EQ(block_stats.physical_requests, 1u);

  std::vector<FetchRequest> close;
  for (uint64_t i = 0; i < 10; ++i) close.push_back({store_.get(), "data.bin", 1000 + i * 3000, 4, nullptr});
  FetchStats close_stats;
  scheduler.fetch(close, &close_stats);
  EXPECT_EQ(close_stats.physical_requests, 1u) << "gaps under free_gap cost less than a request";

  FetchOptions uncapped;
  uncapped.max_waste_ratio = 1e9;
  FetchStats uncapped_stats;
  FetchScheduler(uncapped).fetch(values, &uncapped_stats);
  EXPECT_EQ(uncapped_stats.physical_requests, 1u);
}

TEST_F(FetchTest, SplitsHugeRangesIntoOneBuffer) {
  FetchScheduler scheduler(FetchOptions{0, 4096});
  std::vector<FetchRequest> requests{{store_.get(), "data.bin", 100, 10000, nullptr}};
  FetchStats stats;
  auto results = scheduler.fetch(requests, &stats);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->view(), expected(100, 10000));
  EXPECT_EQ(stats.physical_requests, 3u);
  EXPECT_EQ(store_->ranges, (std::vector<std::pair<uint64_t, uint64_t>>{{100, 4096}, {4196, 4096}, {8292, 1808}}));
}

TEST_F(FetchTest, NeverMergesBeyondTheRequestCap) {
  FetchScheduler scheduler(FetchOptions{1 << 20, 1000});
  std::vector<FetchRequest> requests;
  for (uint64_t i = 0; i < 10; ++i) requests.push_back({store_.get(), "data.bin", i * 400, 300, nullptr});
  FetchStats stats;
  auto results = scheduler.fetch(requests, &stats);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(results[i]->view(), expected(i * 400, 300));
  for (auto& [offset, length] : store_->ranges) EXPECT_LE(length, 1000u);
}

TEST_F(FetchTest, ErrorsGoToTheRequestsTheyConcern) {
  FetchScheduler scheduler;
  std::vector<FetchRequest> requests{{store_.get(), "data.bin", 0, 4, nullptr},
                                     {store_.get(), "missing.bin", 0, 4, nullptr},
                                     {store_.get(), "data.bin", (1 << 20) - 2, 4, nullptr}};
  auto results = scheduler.fetch(requests, nullptr);
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(results[2].ok());
}

TEST_F(FetchTest, BlockCacheFetchesEachBlockOnceInBatchedRounds) {
  FetchScheduler scheduler(FetchOptions{0, 1 << 20});
  BlockCache cache(scheduler, BlockCacheOptions{4096, 1 << 20});
  std::vector<BlockCache::Read> reads{{store_.get(), "data.bin", 10, 100},
                                      {store_.get(), "data.bin", 4000, 200},     // spans blocks 0 and 1
                                      {store_.get(), "data.bin", 65536, 16}};
  auto results = cache.read(reads);
  for (size_t i = 0; i < reads.size(); ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->view(), expected(reads[i].offset, reads[i].length));
  }
  EXPECT_EQ(store_->calls, 1);
  EXPECT_EQ(cache.stats().misses, 3u);  // blocks 0, 1, 16
  auto again = cache.read_one(store_.get(), "data.bin", 4090, 10);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->view(), expected(4090, 10));
  EXPECT_EQ(store_->calls, 1);  // served from memory
  EXPECT_EQ(store_->heads, 1);  // size looked up once
  EXPECT_GE(cache.stats().hits, 2u);
}

TEST_F(FetchTest, BlockCacheReleasesAFilesBlocksButKeepsItsSize) {
  FetchScheduler scheduler;
  BlockCache cache(scheduler, BlockCacheOptions{4096, 1 << 20});
  ASSERT_TRUE(cache.read_one(store_.get(), "data.bin", 0, 10000).ok());
  EXPECT_EQ(cache.stats().resident_bytes, 3u * 4096);
  cache.release(store_.get(), "data.bin");
  EXPECT_EQ(cache.stats().resident_bytes, 0u);
  auto again = cache.read_one(store_.get(), "data.bin", 5000, 10);  // fetched again, no second HEAD
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->view(), expected(5000, 10));
  EXPECT_EQ(store_->heads, 1);
  EXPECT_EQ(cache.stats().resident_bytes, 4096u);
  cache.release(store_.get(), "never-read.bin");  // nothing to drop
}

TEST_F(FetchTest, BlockCacheEvictsToItsBudgetAndClampsTheLastBlock) {
  FetchScheduler scheduler;
  BlockCache cache(scheduler, BlockCacheOptions{65536, 3 * 65536});
  for (uint64_t block = 0; block < 8; ++block) {
    auto read = cache.read_one(store_.get(), "data.bin", block * 65536, 10);
    ASSERT_TRUE(read.ok());
  }
  EXPECT_LE(cache.stats().resident_bytes, 3u * 65536);
  EXPECT_EQ(cache.stats().evictions, 5u);
  auto tail = cache.read_one(store_.get(), "data.bin", (1 << 20) - 5, 5);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->view(), expected((1 << 20) - 5, 5));
  auto past = cache.read_one(store_.get(), "data.bin", (1 << 20) - 5, 6);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message().find("past the end"), std::string::npos);
  cache.set_block_size(store_.get(), "data.bin", 8192);  // e.g. the page size of a paged HDF5 file
  store_->ranges.clear();
  ASSERT_TRUE(cache.read_one(store_.get(), "data.bin", 0, 1).ok());
  EXPECT_EQ(store_->ranges.front().second, 8192u);
}

// The first read of an object brings its size (no HEAD) and stays after a switch to a larger block size (the
// page size of a paged HDF5 file): reads it covers are not fetched again, others fetch blocks of the new size.
TEST_F(FetchTest, BlockCacheOpenNeedsNoHeadAndKeepsItsBytesAcrossBlockSizes) {
  FetchScheduler scheduler;
  BlockCache cache(scheduler, BlockCacheOptions{4096, 1 << 20});
  auto meta = cache.open(store_.get(), "data.bin", 10000);  // rounded up to 3 blocks
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  EXPECT_EQ(meta->size, 1u << 20);
  EXPECT_FALSE(meta->etag.empty());
  EXPECT_EQ(store_->prefix_reads, 1);
  EXPECT_EQ(store_->ranges.front().second, 3u * 4096);
  EXPECT_EQ(cache.stats().heads, 0u);
  EXPECT_EQ(cache.stats().requests, 1u);
  EXPECT_EQ(cache.stats().bytes_fetched, 3u * 4096);

  cache.set_block_size(store_.get(), "data.bin", 65536);
  store_->ranges.clear();
  auto covered = cache.read_one(store_.get(), "data.bin", 100, 12000);  // inside the first 12288 bytes
  ASSERT_TRUE(covered.ok());
  EXPECT_EQ(covered->view(), expected(100, 12000));
  EXPECT_TRUE(store_->ranges.empty()) << "the opened bytes were fetched again";
  auto beyond = cache.read_one(store_.get(), "data.bin", 12000, 1000);  // past them: one 64 KiB block
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(beyond->view(), expected(12000, 1000));
  ASSERT_EQ(store_->ranges.size(), 1u);
  EXPECT_EQ(store_->ranges[0], (std::pair<uint64_t, uint64_t>{0, 65536}));
  auto page = cache.read_one(store_.get(), "data.bin", 70000, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->view(), expected(70000, 10));
  EXPECT_EQ(store_->ranges.back(), (std::pair<uint64_t, uint64_t>{65536, 65536}));
  EXPECT_EQ(store_->heads, 0);
  EXPECT_EQ(cache.stats().requests, 3u);

  // An object smaller than the first read is read whole; one whose size is known is read through the blocks.
  ASSERT_TRUE(local_->put("small.bin", Bytes::from_string("tiny")).ok());
  auto small = cache.open(store_.get(), "small.bin", 10000);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->size, 4u);
  EXPECT_EQ(cache.read_one(store_.get(), "small.bin", 1, 3)->view(), "iny");
  auto missing = cache.open(store_.get(), "absent.bin", 10000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(StoreRegistry, LongestPrefixWins) {
  Environment environment;
  environment.variables = {{"AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  StoreRegistry registry(std::make_shared<HttpTransport>(), environment);
  StoreSettings public_data;
  public_data.anonymous = true;
  registry.configure("s3://nsf-ncar-era5/", public_data);
  StoreSettings writer;
  writer.credentials = Credentials{"AKIDWRITER", "w", ""};
  writer.endpoint = "http://127.0.0.1:9";
  registry.configure("s3://", writer);
  StoreSettings narrower = public_data;
  narrower.anonymous = false;
  registry.configure("s3://nsf-ncar-era5/private/", narrower);

  EXPECT_TRUE(registry.settings_for("s3://nsf-ncar-era5/e5/x.nc").anonymous);
  EXPECT_FALSE(registry.settings_for("s3://nsf-ncar-era5/private/x.nc").anonymous);
  EXPECT_EQ(registry.settings_for("s3://my-repos/r").credentials->access_key_id, "AKIDWRITER");

  auto era5 = registry.resolve("s3://nsf-ncar-era5/e5/x.nc");
  ASSERT_TRUE(era5.ok());
  auto* era5_store = dynamic_cast<S3Store*>(era5->store.get());
  ASSERT_NE(era5_store, nullptr);
  EXPECT_FALSE(era5_store->options().credentials.has_value());
  EXPECT_EQ(era5->key, "e5/x.nc");
  auto repo = registry.resolve("s3://my-repos/r/repo");
  auto* repo_store = dynamic_cast<S3Store*>(repo->store.get());
  ASSERT_NE(repo_store, nullptr);
  EXPECT_EQ(repo_store->options().credentials->access_key_id, "AKIDWRITER");
  EXPECT_EQ(repo_store->options().endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(registry.resolve("s3://my-repos/other")->store, repo->store);  // cached per bucket

  auto local = registry.resolve("/tmp/x.nc");
  ASSERT_TRUE(local.ok());
  EXPECT_NE(dynamic_cast<LocalStore*>(local->store.get()), nullptr);
  EXPECT_FALSE(registry.resolve("ftp://x/y").ok());
}

}  // namespace
}  // namespace floe::io
