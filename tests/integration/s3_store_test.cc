// S3Store against a real S3 server (versitygw, SigV4 and conditional writes checked) and through the
// fault proxy (503s, resets, truncated bodies).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "floe/io/fetch_scheduler.h"
#include "test_servers.h"

namespace floe::io {
namespace {

using floe::testing::ServerTest;

std::string pattern_bytes(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t state = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1664525u + 1013904223u;
    out[i] = static_cast<char>(state >> 24);
  }
  return out;
}

class S3StoreTest : public ServerTest {
 protected:
  std::string name() const { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }
};

TEST_F(S3StoreTest, PutGetHeadDelete) {
  auto store = fresh_bucket(name());
  std::string data = pattern_bytes(100000, 1);
  auto put = store->put("dir/obj.bin", Bytes::from_string(std::string(data)));
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_FALSE(put->etag.empty());
  auto got = store->get("dir/obj.bin");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->view(), data);
  auto meta = store->head("dir/obj.bin");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->size, data.size());
  EXPECT_EQ(meta->etag, put->etag);
  EXPECT_TRUE(meta->last_modified.has_value());
  GetOptions range;
  range.offset = 99990;
  EXPECT_EQ(store->get("dir/obj.bin", range)->view(), data.substr(99990));
  ASSERT_TRUE(store->del("dir/obj.bin").ok());
  auto missing = store->get("dir/obj.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("s3://" + store->options().bucket + "/dir/obj.bin"), std::string::npos);
  EXPECT_TRUE(store->del("dir/obj.bin").ok());
}

TEST_F(S3StoreTest, BatchedRangedReadsMatchTheObject) {
  auto store = fresh_bucket(name());
  std::string data = pattern_bytes(3 << 20, 2);
  ASSERT_TRUE(store->put("big.bin", Bytes::from_string(std::string(data))).ok());
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (uint64_t i = 0; i < 200; ++i) ranges.emplace_back((i * 15013) % (data.size() - 5000), 1 + (i * 37) % 4999);
  auto results = store->get_ranges("big.bin", ranges);
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().to_string();
    ASSERT_EQ(results[i]->view(), data.substr(ranges[i].first, ranges[i].second)) << i;
  }
  FetchScheduler scheduler;
  std::vector<FetchRequest> requests;
  for (auto& [offset, length] : ranges) requests.push_back({store.get(), "big.bin", offset, length, nullptr});
  FetchStats stats;
  auto fetched = scheduler.fetch(requests, &stats);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(fetched[i].ok());
    ASSERT_EQ(fetched[i]->view(), data.substr(ranges[i].first, ranges[i].second));
  }
  EXPECT_LT(stats.physical_requests, stats.logical_requests);  // overlapping/near ranges coalesced
  auto past_end = store->get_ranges("big.bin", std::vector<std::pair<uint64_t, uint64_t>>{{data.size() - 10, 20}});
  ASSERT_FALSE(past_end[0].ok());
  EXPECT_NE(past_end[0].error().message().find("past the end"), std::string::npos);
}

// One ranged GET gives the first bytes and what a HEAD would: the size from Content-Range, the ETag; a smaller
// object comes whole, an empty one has size 0, a missing one is named.
TEST_F(S3StoreTest, PrefixReadBringsTheSizeAndEtag) {
  auto store = fresh_bucket(name());
  std::string data = pattern_bytes(300000, 3);
  auto put = store->put("obj.bin", Bytes::from_string(std::string(data)));
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  auto prefix = store->read_prefix("obj.bin", 65536);
  ASSERT_TRUE(prefix.ok()) << prefix.error().to_string();
  EXPECT_EQ(prefix->bytes.view(), data.substr(0, 65536));
  EXPECT_EQ(prefix->meta.size, data.size());
  EXPECT_EQ(prefix->meta.etag, put->etag);
  EXPECT_TRUE(prefix->meta.last_modified.has_value());
  auto whole = store->read_prefix("obj.bin", 1 << 20);
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  EXPECT_EQ(whole->bytes.view(), data);
  EXPECT_EQ(whole->meta.size, data.size());
  ASSERT_TRUE(store->put("empty.bin", Bytes()).ok());
  auto empty = store->read_prefix("empty.bin", 4096);
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_EQ(empty->meta.size, 0u);
  EXPECT_TRUE(empty->bytes.empty());
  auto missing = store->read_prefix("absent.bin", 4096);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("s3://" + store->options().bucket + "/absent.bin"), std::string::npos);
}

TEST_F(S3StoreTest, ListsMoreThanOnePageWithContinuation) {
  auto store = fresh_bucket(name());
  constexpr int kKeys = 1050;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kKeys; i += 8) {
        std::string key = fmt::format("many/{:05d}", i);
        if (!store->put(key, Bytes::from_string(std::to_string(i))).ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(store->put("other/x", Bytes::from_string("x")).ok());
  auto listing = store->list("many/");
  ASSERT_TRUE(listing.ok()) << listing.error().to_string();
  ASSERT_EQ(listing->objects.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(listing->objects[i].key, fmt::format("many/{:05d}", i));
  auto top = store->list("", "/");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->common_prefixes, (std::vector<std::string>{"many/", "other/"}));
  EXPECT_TRUE(top->objects.empty());
}

TEST_F(S3StoreTest, MultipartUploadAcrossPartBoundaries) {
  auto store = fresh_bucket(name());
  std::string data = pattern_bytes((12 << 20) + 12345, 3);
  auto put = store->put_multipart("mp.bin", Bytes::from_string(std::string(data)), 5 << 20);
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_NE(put->etag.find("-3"), std::string::npos) << put->etag;
  auto meta = store->head("mp.bin");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->size, data.size());
  std::vector<std::pair<uint64_t, uint64_t>> ranges{{(5 << 20) - 100, 200}, {(10 << 20) - 1, 2}, {0, 10}};
  auto results = store->get_ranges("mp.bin", ranges);
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->view(), data.substr(ranges[i].first, ranges[i].second));
  }
  PutOptions create;
  create.if_none_match = true;
  auto again = store->put_multipart("mp2.bin", Bytes::from_string(data.substr(0, 6 << 20)), 5 << 20, create);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(store->get("mp2.bin")->size(), static_cast<size_t>(6 << 20));
}

TEST_F(S3StoreTest, ConditionalPutRacesHaveExactlyOneWinner) {
  // The optimistic-concurrency race as writers see it: both saw the same state, both write
  // conditionally, exactly one wins and the other gets a precondition error.
  auto store = fresh_bucket(name());
  auto writer_a = s3(store->options().bucket);
  auto writer_b = s3(store->options().bucket);
  PutOptions create;
  create.if_none_match = true;
  ASSERT_TRUE(writer_a->put("repo", Bytes::from_string("a"), create).ok());
  auto lost_create = writer_b->put("repo", Bytes::from_string("b"), create);
  ASSERT_FALSE(lost_create.ok());
  EXPECT_EQ(lost_create.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(exit_status(lost_create.error().code()), 2);

  auto seen_by_both = store->head("repo");
  ASSERT_TRUE(seen_by_both.ok());
  PutOptions swap;
  swap.if_match = seen_by_both->etag;
  ASSERT_TRUE(writer_b->put("repo", Bytes::from_string("b wins"), swap).ok());
  auto lost_swap = writer_a->put("repo", Bytes::from_string("a loses"), swap);
  ASSERT_FALSE(lost_swap.ok());
  EXPECT_EQ(lost_swap.error().code(), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(store->get("repo")->view(), "b wins");
}

TEST_F(S3StoreTest, SimultaneousConditionalPutsLeaveOneWinnersBytes) {
  // Eight writers released at once. S3 (and Ceph RGW) let exactly one win; versitygw 1.7.0's posix
  // backend checks and writes non-atomically, so several may be told they won. Whatever the server
  // does, the object must hold one writer's complete bytes and every loser must get a precondition
  // error, never anything else.
  auto store = fresh_bucket(name());
  constexpr int kWriters = 8;
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto mine = s3(store->options().bucket);
      PutOptions options;
      options.if_none_match = true;
      ++ready;
      while (ready.load() < kWriters) std::this_thread::yield();
      auto result = mine->put("repo", Bytes::from_string(std::string(4096, static_cast<char>('A' + w))), options);
      if (result.ok()) ++created;
      else if (result.error().code() == ErrorCode::kPreconditionFailed) ++refused;
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_GE(created.load(), 1);
  EXPECT_EQ(created.load() + refused.load(), kWriters);
  if (created.load() > 1) {
    std::fprintf(stderr, "note: the S3 server let %d of %d simultaneous If-None-Match writers win\n",
                 created.load(), kWriters);
  }
  auto content = store->get("repo");
  ASSERT_TRUE(content.ok());
  ASSERT_EQ(content->size(), 4096u);
  EXPECT_EQ(content->view(), std::string(4096, content->view()[0]));
}

TEST_F(S3StoreTest, CompareAndSwapWithEachEtagQuoting) {
  auto store = fresh_bucket(name());
  for (EtagQuoting quoting : {EtagQuoting::kQuoted, EtagQuoting::kAuto}) {
    S3StoreOptions options = store->options();
    options.etag_quoting = quoting;
    auto writer = S3Store::create(transport_, options);
    ASSERT_TRUE(writer.ok());
    auto first = (*writer)->put("cas", Bytes::from_string("one"));
    ASSERT_TRUE(first.ok());
    PutOptions swap;
    swap.if_match = first->etag;
    auto second = (*writer)->put("cas", Bytes::from_string("two"), swap);
    ASSERT_TRUE(second.ok()) << second.error().to_string();
    auto stale = (*writer)->put("cas", Bytes::from_string("three"), swap);
    ASSERT_FALSE(stale.ok());
    EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
    EXPECT_EQ(store->get("cas")->view(), "two");
  }
  PutOptions absent;
  absent.if_match = "0123456789abcdef0123456789abcdef";
  EXPECT_FALSE(store->put("never-written", Bytes::from_string("x"), absent).ok());
}

TEST_F(S3StoreTest, SessionTokenTravelsSigned) {
  auto store = fresh_bucket(name());
  Credentials temporary = credentials();
  temporary.session_token = "FwoGZXIvYXdzEXAMPLETOKEN/with+and=";
  auto with_token = s3(store->options().bucket, false, temporary);
  auto put = with_token->put("token.txt", Bytes::from_string("signed with a token"));
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_EQ(with_token->get("token.txt")->view(), "signed with a token");
}

TEST_F(S3StoreTest, WrongCredentialsNameTheUrlAndNeverTheSecret) {
  auto store = fresh_bucket(name());
  ASSERT_TRUE(store->put("k", Bytes::from_string("v")).ok());
  Credentials wrong_secret = credentials();
  wrong_secret.secret_access_key = "definitely-not-the-secret";
  auto denied = s3(store->options().bucket, false, wrong_secret)->get("k");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermissionDenied);
  std::string message = denied.error().to_string();
  EXPECT_NE(message.find("s3://" + store->options().bucket + "/k"), std::string::npos) << message;
  EXPECT_NE(message.find("HTTP 403"), std::string::npos) << message;
  EXPECT_NE(message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << message;
  EXPECT_EQ(message.find("definitely-not-the-secret"), std::string::npos);

  Credentials wrong_key{"NOSUCHKEYID", "whatever", ""};
  auto unknown = s3(store->options().bucket, false, wrong_key)->get("k");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(S3StoreTest, AnonymousAccessOnlyWhereThePolicyAllows) {
  auto store = fresh_bucket(name());
  ASSERT_TRUE(store->put("public/data.nc", Bytes::from_string("open data")).ok());
  auto anonymous = s3(store->options().bucket, false, std::nullopt, true);
  auto refused = anonymous->get("public/data.nc");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message().find("--anonymous"), std::string::npos);

  std::string policy = fmt::format(
      R"({{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{}/*"]}}]}})",
      store->options().bucket);
  auto set = store->put_bucket_policy(policy);
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  auto opened = anonymous->get("public/data.nc");
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->view(), "open data");
  EXPECT_EQ(anonymous->put("public/x", Bytes::from_string("no")).error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(S3StoreTest, ReadPreconditionsCatchAChangedSource) {
  auto store = fresh_bucket(name());
  auto put = store->put("source.nc", Bytes::from_string("version 1 of the file"));
  ASSERT_TRUE(put.ok());
  GetOptions options;
  options.if_match = put->etag;
  options.offset = 0;
  options.length = 7;
  EXPECT_EQ(store->get("source.nc", options)->view(), "version");
  ASSERT_TRUE(store->put("source.nc", Bytes::from_string("version 2 of the file")).ok());
  auto stale = store->get("source.nc", options);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code(), ErrorCode::kPreconditionFailed);
}

// --- through the fault proxy ---

TEST_F(S3StoreTest, RetriesInjected503sAndResets) {
  auto direct = fresh_bucket(name());
  std::string data = pattern_bytes(1 << 20, 4);
  ASSERT_TRUE(direct->put("flaky.bin", Bytes::from_string(std::string(data))).ok());
  auto store = s3(direct->options().bucket, true);
  std::string match = direct->options().bucket + "/flaky.bin";
  add_fault("FLOE_TEST_S3_PROXY", fmt::format(R"({{"match":"{}","action":"503","count":3}})", match));
  auto got = store->get("flaky.bin");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->view(), data);
  EXPECT_GE(store->retries(), 3u);

  add_fault("FLOE_TEST_S3_PROXY", fmt::format(R"({{"match":"{}","action":"reset","count":4}})", match));
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (uint64_t i = 0; i < 16; ++i) ranges.emplace_back(i * 65536, 1000);
  auto results = store->get_ranges("flaky.bin", ranges);
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().to_string();
    EXPECT_EQ(results[i]->view(), data.substr(ranges[i].first, 1000));
  }
  // libcurl itself re-sends once on a reused connection that died before answering, so not every
  // reset shows up as a retry of ours.
  EXPECT_GE(store->retries(), 4u);

  add_fault("FLOE_TEST_S3_PROXY", fmt::format(R"({{"match":"{}","action":"429","count":2}})", match));
  EXPECT_TRUE(store->head("flaky.bin").ok());
}

TEST_F(S3StoreTest, ShortBodiesAreDetectedAndRetried) {
  auto direct = fresh_bucket(name());
  std::string data = pattern_bytes(1 << 20, 5);
  ASSERT_TRUE(direct->put("short.bin", Bytes::from_string(std::string(data))).ok());
  auto store = s3(direct->options().bucket, true);
  std::string match = direct->options().bucket + "/short.bin";
  add_fault("FLOE_TEST_S3_PROXY", fmt::format(R"({{"match":"{}","action":"truncate","count":2,"truncate_bytes":1000}})", match));
  auto ranges = std::vector<std::pair<uint64_t, uint64_t>>{{4096, 500000}};
  auto recovered = store->get_ranges("short.bin", ranges);
  ASSERT_TRUE(recovered[0].ok()) << recovered[0].error().to_string();
  EXPECT_EQ(recovered[0]->view(), data.substr(4096, 500000));

  // A server that always dies mid-transfer: a clear error after the bounded retries.
  add_fault("FLOE_TEST_S3_PROXY", fmt::format(R"({{"match":"{}","action":"truncate","count":50,"truncate_bytes":1000}})", match));
  auto failed = store->get_ranges("short.bin", ranges);
  ASSERT_FALSE(failed[0].ok());
  EXPECT_EQ(failed[0].error().code(), ErrorCode::kIo);
  std::string message = failed[0].error().to_string();
  EXPECT_NE(message.find("s3://" + direct->options().bucket + "/short.bin bytes=4096-504095"), std::string::npos) << message;
  EXPECT_NE(message.find("attempts"), std::string::npos) << message;
  io::HttpRequest clear;
  clear.method = "DELETE";
  clear.url = var("FLOE_TEST_S3_PROXY") + "/__faultproxy/rules";
  (void)transport_->execute_one(std::move(clear));
}

TEST_F(S3StoreTest, PersistentServerErrorsEndInAnIoError) {
  auto direct = fresh_bucket(name());
  ASSERT_TRUE(direct->put("down.bin", Bytes::from_string("x")).ok());
  auto store = s3(direct->options().bucket, true);
  add_fault("FLOE_TEST_S3_PROXY",
            fmt::format(R"({{"match":"{}/down.bin","action":"503","count":6}})", direct->options().bucket));
  auto failed = store->get("down.bin");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kIo);
  EXPECT_NE(failed.error().message().find("HTTP 503"), std::string::npos) << failed.error().to_string();
  EXPECT_EQ(exit_status(failed.error().code()), 3);
}

TEST_F(S3StoreTest, UnreachableServerIsAClearIoError) {
  S3StoreOptions options;
  options.bucket = "nowhere";
  options.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens
  options.credentials = credentials();
  options.retry.max_attempts = 2;
  options.retry.base_delay = std::chrono::milliseconds(1);
  auto store = S3Store::create(transport_, options);
  auto failed = (*store)->get("k");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kIo);
  EXPECT_NE(failed.error().message().find("s3://nowhere/k"), std::string::npos) << failed.error().to_string();
}

}  // namespace
}  // namespace floe::io
