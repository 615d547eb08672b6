// What HTTP-based stores share: retries with jittered exponential backoff, turning responses into
// errors that name the URL and the server's message, and validating ranged-GET bodies.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "floe/core/error.h"
#include "floe/core/result.h"
#include "floe/io/http_transport.h"
#include "floe/io/object_store.h"

namespace floe::io {

struct RetryPolicy {
  int max_attempts = 6;  // first try included
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{4'000};
};

enum class Verdict { kAccept, kRetry };

// Builds request `index` for attempt `attempt` (0-based): signed requests are re-signed each attempt.
using RequestBuilder = std::function<HttpRequest(size_t index, int attempt)>;
// Decides whether an outcome is final. The default retries transport failures, 429 and 5xx.
using OutcomeClassifier = std::function<Verdict(size_t index, const HttpOutcome& outcome)>;

Verdict default_classification(const HttpOutcome& outcome);

struct RetryStats {
  uint64_t retries = 0;
};

// Runs all requests as one batch, then re-runs the retryable ones together after a jittered backoff
// (honouring Retry-After up to max_delay) until they succeed or attempts run out.
std::vector<HttpOutcome> execute_with_retries(HttpTransport& transport, size_t count,
                                              const RequestBuilder& build,
                                              const OutcomeClassifier& classify,
                                              const RetryPolicy& policy, RetryStats* stats = nullptr);

// "GET s3://b/k: HTTP 403 AccessDenied: Access Denied" with the right ErrorCode; `what` is the
// operation and the public URL (never a signed URL or credentials).
Error error_from_outcome(const HttpOutcome& outcome, std::string_view what, int attempts);

// Checks that a ranged GET returned exactly [offset, offset+length): 206 with a matching
// Content-Range, or 200 with the whole (small) object when offset is 0. Short bodies are retryable.
struct RangeCheck {
  Verdict verdict = Verdict::kAccept;
  std::optional<Error> error;  // set when the range is wrong
};
RangeCheck check_range_response(const HttpOutcome& outcome, uint64_t offset, uint64_t length,
                                std::string_view what);

// Reads every range through `transport` (one batch, retried), writing into each read's destination.
// `build(read, attempt)` makes the request without the Range header and destination; `describe(read)`
// names it in errors ("GET s3://b/k").
using RangeRequestBuilder = std::function<HttpRequest(const RangeRead& read, int attempt)>;
std::vector<Status> execute_range_reads(HttpTransport& transport, std::span<const RangeRead> reads,
                                        const RangeRequestBuilder& build,
                                        const std::function<std::string(const RangeRead&)>& describe,
                                        const RetryPolicy& policy, RetryStats* stats = nullptr);

// The first `max_length` bytes of an object and its metadata from one ranged GET (`build` makes the request
// without the Range header): the size comes from the 206's Content-Range, or is the body's length when the
// server sends the whole (small) object with 200; an empty object (416) has size 0. `what` names it in errors.
Result<PrefixRead> execute_prefix_read(HttpTransport& transport, std::string_view key, uint64_t max_length,
                                       const std::function<HttpRequest(int attempt)>& build, std::string_view what,
                                       const RetryPolicy& policy, RetryStats* stats = nullptr);

// "bytes a-b/total" → {a, b, total}; total is -1 when '*'.
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  int64_t total = -1;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

// An ETag without its surrounding double quotes ("\"abc\"" → "abc").
std::string strip_etag_quotes(std::string_view etag);

// Size (Content-Length, 0 when absent), ETag without quotes and Last-Modified of a HEAD/GET answer.
ObjectMeta object_meta_from_response(const HttpResponse& response, std::string_view key);

// Parses an RFC 7231 HTTP-date ("Tue, 15 Nov 1994 08:12:31 GMT") to seconds since the epoch.
std::optional<int64_t> parse_http_date(std::string_view value);
std::string format_http_date(int64_t seconds);

}  // namespace floe::io
