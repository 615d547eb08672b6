// HttpStore: read-only objects under an http(s):// base URL (ranged GET and HEAD over HttpTransport).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "floe/io/http_exchange.h"
#include "floe/io/http_transport.h"
#include "floe/io/object_store.h"

namespace floe::io {

class HttpStore final : public ObjectStore {
 public:
  // `base_url` like "https://host/data"; keys are appended after a '/'. An empty key addresses the
  // base URL itself.
  HttpStore(std::shared_ptr<HttpTransport> transport, std::string base_url, RetryPolicy retry = {});

  std::string url_for(std::string_view key) const override;
  Result<Bytes> get(std::string_view key, const GetOptions& options = {}) override;
  std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) override;
  Result<ObjectMeta> head(std::string_view key) override;
  Result<PrefixRead> read_prefix(std::string_view key, uint64_t max_length) override;
  Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options = {}) override;
  Status del(std::string_view key) override;
  Result<ListResult> list(std::string_view prefix, std::string_view delimiter = {}) override;

  uint64_t retries() const { return retries_.load(); }

 private:
  HttpRequest build(std::string_view method, std::string_view key, const GetOptions* preconditions) const;

  std::shared_ptr<HttpTransport> transport_;
  std::string base_url_;
  RetryPolicy retry_;
  std::atomic<uint64_t> retries_{0};
};

}  // namespace floe::io
