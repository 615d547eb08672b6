// S3Store: Amazon S3 and compatible servers over HttpTransport, signed with SigV4 or anonymous.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "floe/io/credentials.h"
#include "floe/io/http_exchange.h"
#include "floe/io/http_transport.h"
#include "floe/io/object_store.h"
#include "floe/io/url.h"

namespace floe::io {

enum class Addressing { kAuto, kPath, kVirtualHosted };
// How If-Match carries the ETag: AWS and versitygw take it quoted, Ceph RGW only unquoted. kAuto
// starts quoted and switches when a 412 turns out to be a quoting mismatch.
enum class EtagQuoting { kAuto, kQuoted, kUnquoted };

struct S3StoreOptions {
  std::string bucket;
  std::string prefix;    // key prefix inside the bucket, without a trailing '/'
  std::string region = "us-east-1";
  std::string endpoint;  // "http://127.0.0.1:7070"; empty means AWS
  Addressing addressing = Addressing::kAuto;
  std::optional<Credentials> credentials;  // nullopt: anonymous, unsigned requests
  EtagQuoting etag_quoting = EtagQuoting::kAuto;
  RetryPolicy retry;
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
  int list_page_size = 1000;
};

class S3Store final : public ObjectStore {
 public:
  static Result<std::unique_ptr<S3Store>> create(std::shared_ptr<HttpTransport> transport,
                                                 S3StoreOptions options);

  std::string url_for(std::string_view key) const override;
  Result<Bytes> get(std::string_view key, const GetOptions& options = {}) override;
  std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) override;
  Result<ObjectMeta> head(std::string_view key) override;
  Result<PrefixRead> read_prefix(std::string_view key, uint64_t max_length) override;
  Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options = {}) override;
  Status del(std::string_view key) override;
  Result<ListResult> list(std::string_view prefix, std::string_view delimiter = {}) override;
  Result<PutResult> put_multipart(std::string_view key, Bytes data, uint64_t part_size,
                                  const PutOptions& options = {}) override;

  // Creates the bucket (for tests and `floe repo init` on a fresh server).
  Status create_bucket();
  // Sets a bucket policy document (JSON); used to publish a bucket for anonymous readers.
  Status put_bucket_policy(std::string_view policy_json);
  const S3StoreOptions& options() const { return options_; }
  uint64_t retries() const { return retries_.load(); }

 private:
  S3Store(std::shared_ptr<HttpTransport> transport, S3StoreOptions options, Url endpoint,
          bool virtual_hosted);

  struct Target {
    std::string url;
    std::string host;
    std::string canonical_path;
  };
  Target target_for(std::string_view object_key, std::string_view query) const;
  std::string full_key(std::string_view key) const;
  // Builds a request for the bucket-relative `object_key` ("" for the bucket itself), signed if
  // credentials are set. `query` is already encoded.
  HttpRequest build(std::string_view method, std::string_view object_key, std::string_view query,
                    HeaderList headers, Bytes body, std::string_view payload_sha256 = {}) const;
  HttpOutcome send(const std::function<HttpRequest(int attempt)>& build_attempt, bool retry_transport);
  std::string format_if_match(std::string_view etag, bool quoted) const;
  // If-Match (quoted, as GET preconditions take it everywhere) and If-Unmodified-Since of a read.
  HeaderList precondition_headers(const GetOptions& options) const;
  Result<PutResult> put_once(std::string_view key, const Bytes& data, const PutOptions& options,
                             bool quoted);

  std::shared_ptr<HttpTransport> transport_;
  S3StoreOptions options_;
  Url endpoint_;
  bool virtual_hosted_;
  std::atomic<int> quoting_{0};  // 0 unknown, 1 quoted works, 2 unquoted works
  std::atomic<uint64_t> retries_{0};
};

}  // namespace floe::io
