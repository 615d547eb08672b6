// HttpTransport: one libcurl-multi event loop that runs batches of HTTP requests concurrently on
// reused connections, with a cap on requests in flight (total and per host).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "floe/core/bytes.h"

namespace floe::io {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  Bytes body;
  bool follow_redirects = false;
  // When set, a 2xx body is written straight here; more than `destination_capacity` bytes is an error.
  std::byte* destination = nullptr;
  uint64_t destination_capacity = 0;
  // Cap for bodies kept in memory (listings, error documents).
  uint64_t max_body_bytes = 64ull << 20;
};

struct HttpResponse {
  long status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  Bytes body;          // empty when the body went to the request's destination
  uint64_t body_bytes = 0;

  std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct HttpOutcome {
  int curl_code = 0;            // CURLE_OK when the exchange completed
  std::string transport_error;  // curl's description when it did not
  bool body_overflow = false;   // the server sent more than the destination or cap allows
  HttpResponse response;

  bool completed() const { return curl_code == 0 && !body_overflow; }
};

struct HttpTransportOptions {
  size_t max_in_flight = 64;
  size_t max_per_host = 64;
  long connect_timeout_ms = 10'000;
  long stall_timeout_s = 30;  // abort a transfer that moves < 1 byte/s for this long
  bool http2 = true;          // negotiated over TLS where the server offers it
  std::string user_agent = "floe/0.1";
};

struct HttpTransportStats {
  uint64_t requests = 0;
  uint64_t bytes_received = 0;
  uint64_t connections_opened = 0;
};

class HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Runs every request (at most max_in_flight at once) and returns outcomes in request order.
  // Safe to call from several threads; their requests share the connection pool and the caps.
  std::vector<HttpOutcome> execute(std::vector<HttpRequest> requests);
  HttpOutcome execute_one(HttpRequest request);

  HttpTransportStats stats() const;
  const HttpTransportOptions& options() const { return options_; }

 private:
  struct Loop;
  HttpTransportOptions options_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace floe::io
