// HttpStore and HttpTransport against nginx (ranges, ETags, 403/404) and through the fault proxy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "floe/io/fetch_scheduler.h"
#include "floe/io/http_store.h"
#include "test_servers.h"

namespace floe::io {
namespace {

using floe::testing::ServerTest;

class HttpStoreTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    std::string root = var("FLOE_TEST_HTTP_ROOT");
    ASSERT_FALSE(root.empty());
    directory_ = "it-" + std::to_string(::getpid());
    std::filesystem::create_directories(root + "/" + directory_);
    content_.resize(2 << 20);
    for (size_t i = 0; i < content_.size(); ++i) content_[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
    std::ofstream(root + "/" + directory_ + "/data.bin", std::ios::binary) << content_;
  }
  void TearDown() override { std::filesystem::remove_all(var("FLOE_TEST_HTTP_ROOT") + "/" + directory_); }

  std::string directory_;
  std::string content_;
};

TEST_F(HttpStoreTest, RangedAndWholeReadsAndHead) {
  HttpStore store(transport_, var("FLOE_TEST_HTTP_ENDPOINT"));
  std::string key = directory_ + "/data.bin";
  auto meta = store.head(key);
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  EXPECT_EQ(meta->size, content_.size());
  EXPECT_FALSE(meta->etag.empty());
  EXPECT_TRUE(meta->last_modified.has_value());
  EXPECT_EQ(store.get(key)->view(), content_);
  GetOptions range;
  range.offset = 1000;
  range.length = 24;
  EXPECT_EQ(store.get(key, range)->view(), content_.substr(1000, 24));
  range.if_match = meta->etag;
  EXPECT_TRUE(store.get(key, range).ok());
  range.if_match = "\"stale-etag\"";
  auto stale = store.get(key, range);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
}

// One ranged GET gives the first bytes and what a HEAD would: the size from Content-Range, the ETag.
TEST_F(HttpStoreTest, PrefixReadBringsTheSizeAndEtag) {
  HttpStore store(transport_, var("FLOE_TEST_HTTP_ENDPOINT"));
  std::string key = directory_ + "/data.bin";
  auto head = store.head(key);
  ASSERT_TRUE(head.ok()) << head.error().to_string();
  auto prefix = store.read_prefix(key, 5000);
  ASSERT_TRUE(prefix.ok()) << prefix.error().to_string();
  EXPECT_EQ(prefix->bytes.view(), content_.substr(0, 5000));
  EXPECT_EQ(prefix->meta.size, content_.size());
  EXPECT_EQ(prefix->meta.etag, head->etag);
  auto whole = store.read_prefix(key, content_.size() + 12345);  // larger than the object
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  EXPECT_EQ(whole->bytes.view(), content_);
  EXPECT_EQ(whole->meta.size, content_.size());
  auto missing = store.read_prefix(directory_ + "/nope.nc", 5000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(HttpStoreTest, MissingAndForbiddenAreNamed) {
  HttpStore store(transport_, var("FLOE_TEST_HTTP_ENDPOINT"));
  auto missing = store.get(directory_ + "/nope.nc");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find(var("FLOE_TEST_HTTP_ENDPOINT") + "/" + directory_ + "/nope.nc"),
            std::string::npos);
  EXPECT_NE(missing.error().message().find("HTTP 404"), std::string::npos);
  auto forbidden = store.head("private/secret.nc");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(store.put("x", Bytes::from_string("y")).error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(store.list("").error().code(), ErrorCode::kUnsupported);
  std::vector<std::pair<uint64_t, uint64_t>> past_end{{content_.size() - 4, 8}};
  auto clamped = store.get_ranges(directory_ + "/data.bin", past_end);
  ASSERT_FALSE(clamped[0].ok());
  EXPECT_NE(clamped[0].error().message().find("past the end"), std::string::npos);
}

TEST_F(HttpStoreTest, BatchesCoalesceAndReuseConnections) {
  HttpStore store(transport_, var("FLOE_TEST_HTTP_PROXY"));
  ServerTest::add_fault("FLOE_TEST_HTTP_PROXY", R"({"match":"/never-matches/","action":"503","count":1})");
  io::HttpRequest reset;
  reset.method = "POST";
  reset.url = var("FLOE_TEST_HTTP_PROXY") + "/__faultproxy/stats/reset";
  ASSERT_TRUE(transport_->execute_one(std::move(reset)).completed());
  auto before = transport_->stats();

  FetchScheduler scheduler(FetchOptions{4096, 1 << 20});
  std::vector<FetchRequest> requests;
  for (uint64_t i = 0; i < 400; ++i) {
    // Pairs of ranges 1 KiB apart (coalesced), pairs 64 KiB apart (separate).
    uint64_t base = (i / 2) * 10000;
    requests.push_back({&store, directory_ + "/data.bin", base + (i % 2) * 1500, 500, nullptr});
  }
  FetchStats stats;
  auto results = scheduler.fetch(requests, &stats);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().to_string();
    ASSERT_EQ(results[i]->view(), content_.substr(requests[i].offset, 500));
  }
  EXPECT_EQ(stats.physical_requests, 200u);
  auto after = transport_->stats();
  EXPECT_EQ(after.requests - before.requests, 200u);
  EXPECT_LE(after.connections_opened - before.connections_opened, 64u);  // keep-alive reuse

  io::HttpRequest read_stats;
  read_stats.url = var("FLOE_TEST_HTTP_PROXY") + "/__faultproxy/stats";
  auto counted = transport_->execute_one(std::move(read_stats));
  ASSERT_TRUE(counted.completed());
  EXPECT_NE(counted.response.body.view().find("\"requests\":200"), std::string::npos)
      << counted.response.body.view();
}

TEST_F(HttpStoreTest, RetriesThroughFaults) {
  HttpStore store(transport_, var("FLOE_TEST_HTTP_PROXY"),
                  RetryPolicy{6, std::chrono::milliseconds(5), std::chrono::milliseconds(50)});
  std::string key = directory_ + "/data.bin";
  add_fault("FLOE_TEST_HTTP_PROXY", fmt::format(R"({{"match":"{}","action":"503","count":2}})", key));
  add_fault("FLOE_TEST_HTTP_PROXY", fmt::format(R"({{"match":"{}","action":"reset","count":2}})", key));
  add_fault("FLOE_TEST_HTTP_PROXY",
            fmt::format(R"({{"match":"{}","action":"truncate","count":2,"truncate_bytes":100}})", key));
  std::vector<std::pair<uint64_t, uint64_t>> ranges{{0, 300000}, {1 << 20, 4000}};
  auto results = store.get_ranges(key, ranges);
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().to_string();
    EXPECT_EQ(results[i]->view(), content_.substr(ranges[i].first, ranges[i].second));
  }
  EXPECT_GE(store.retries(), 3u);  // resets on reused connections may be re-sent by libcurl itself
}

}  // namespace
}  // namespace floe::io
