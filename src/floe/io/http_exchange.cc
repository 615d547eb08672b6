// Retry loop, error mapping and range validation shared by HttpStore and S3Store.
#include "floe/io/http_exchange.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <random>
#include <thread>

#include "floe/io/s3_xml.h"

namespace floe::io {
namespace {

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Verdict default_classification(const HttpOutcome& outcome) {
  if (outcome.body_overflow) return Verdict::kAccept;  // a misbehaving server; retrying won't help
  if (outcome.curl_code != CURLE_OK) {
    switch (outcome.curl_code) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_PEER_FAILED_VERIFICATION: return Verdict::kAccept;
      default: return Verdict::kRetry;  // resets, timeouts, partial bodies, refused connections
    }
  }
  return retryable_status(outcome.response.status) ? Verdict::kRetry : Verdict::kAccept;
}

std::vector<HttpOutcome> execute_with_retries(HttpTransport& transport, size_t count,
                                              const RequestBuilder& build,
                                              const OutcomeClassifier& classify,
                                              const RetryPolicy& policy, RetryStats* stats) {
  std::vector<HttpOutcome> outcomes(count);
  std::vector<size_t> todo(count);
  for (size_t i = 0; i < count; ++i) todo[i] = i;
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 0; !todo.empty(); ++attempt) {
    std::vector<HttpRequest> requests;
    requests.reserve(todo.size());
    for (size_t index : todo) requests.push_back(build(index, attempt));
    std::vector<HttpOutcome> results = transport.execute(std::move(requests));
    std::vector<size_t> again;
    std::chrono::milliseconds server_hint{0};
    for (size_t i = 0; i < todo.size(); ++i) {
      size_t index = todo[i];
      Verdict verdict = classify(index, results[i]);
      if (verdict == Verdict::kRetry && attempt + 1 < policy.max_attempts) {
        again.push_back(index);
        if (auto retry_after = results[i].response.header("retry-after")) {
          if (auto seconds = parse_unsigned(*retry_after)) {
            server_hint = std::max(server_hint, std::chrono::milliseconds(*seconds * 1000));
          }
        }
      }
      outcomes[index] = std::move(results[i]);
    }
    if (again.empty()) break;
    if (stats) stats->retries += again.size();
    // Full jitter: a uniform delay in [delay/2, delay], delay doubling per attempt up to the cap.
    auto ceiling = std::min<int64_t>(policy.max_delay.count(),
                                     policy.base_delay.count() << std::min(attempt, 20));
    std::uniform_int_distribution<int64_t> pick(ceiling / 2, std::max<int64_t>(ceiling, 1));
    auto delay = std::max(std::chrono::milliseconds(pick(random)),
                          std::min(server_hint, policy.max_delay));
    std::this_thread::sleep_for(delay);
    todo = std::move(again);
  }
  return outcomes;
}

Error error_from_outcome(const HttpOutcome& outcome, std::string_view what, int attempts) {
  std::string tries = attempts > 1 ? fmt::format(" (after {} attempts)", attempts) : "";
  if (outcome.body_overflow) {
    return make_error(ErrorCode::kIo,
                      "{}: the server sent more bytes than requested (it may have ignored the Range "
                      "header); refusing to read further{}", what, tries);
  }
  if (outcome.curl_code != CURLE_OK) {
    return make_error(ErrorCode::kIo, "{}: {}{}; check that the server is reachable", what,
                      outcome.transport_error, tries);
  }
  long status = outcome.response.status;
  std::string detail;
  S3ErrorDocument document = parse_s3_error(outcome.response.body.view());
  if (!document.code.empty()) {
    detail = document.code + (document.message.empty() ? "" : ": " + document.message);
  } else if (!outcome.response.body.empty()) {
    std::string_view body = outcome.response.body.view().substr(0, 200);
    detail = std::string(body);
    std::replace(detail.begin(), detail.end(), '\n', ' ');
  }
  ErrorCode code = ErrorCode::kIo;
  std::string advice;
  // Some servers answer an unknown key with 404 (versitygw: XAdminUserNotFound); the code decides.
  static constexpr std::string_view kCredentialCodes[] = {
      "SignatureDoesNotMatch", "InvalidAccessKeyId", "XAdminUserNotFound", "ExpiredToken",
      "InvalidToken", "TokenRefreshRequired"};
  bool credential_problem = std::find(std::begin(kCredentialCodes), std::end(kCredentialCodes),
                                      document.code) != std::end(kCredentialCodes);
  if (credential_problem) {
    code = ErrorCode::kPermissionDenied;
    advice = "; check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or AWS_PROFILE)";
  } else if (status == 404) {
    code = ErrorCode::kNotFound;
  } else if (status == 401 || status == 403) {
    code = ErrorCode::kPermissionDenied;
    advice = "; check the credentials, or use --anonymous for public data";
  } else if (status == 412 || (status == 409 && document.code == "ConditionalRequestConflict")) {
    code = ErrorCode::kPreconditionFailed;
  } else if (status == 400 || status == 405 || status == 411 || status == 416) {
    code = ErrorCode::kInvalidArgument;
  }
  return make_error(code, "{}: HTTP {}{}{}{}{}", what, status, detail.empty() ? "" : " ", detail,
                    advice, tries);
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  if (!value.starts_with("bytes ")) return std::nullopt;
  value.remove_prefix(6);
  size_t dash = value.find('-');
  size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = parse_unsigned(value.substr(0, dash));
  auto last = parse_unsigned(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange range{*first, *last, -1};
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    auto parsed = parse_unsigned(total);
    if (!parsed || *parsed <= *last) return std::nullopt;
    range.total = static_cast<int64_t>(*parsed);
  }
  return range;
}

RangeCheck check_range_response(const HttpOutcome& outcome, uint64_t offset, uint64_t length,
                                std::string_view what) {
  const HttpResponse& response = outcome.response;
  if (!outcome.completed()) {
    return {default_classification(outcome), error_from_outcome(outcome, what, 1)};
  }
  if (response.status == 206) {
    auto header = response.header("content-range");
    auto range = header ? parse_content_range(*header) : std::nullopt;
    if (!range) {
      return {Verdict::kAccept, make_error(ErrorCode::kIo, "{}: 206 response without a valid "
                                                           "Content-Range ('{}')",
                                           what, header.value_or(""))};
    }
    uint64_t promised = range->last - range->first + 1;
    if (range->first != offset) {
      return {Verdict::kAccept,
              make_error(ErrorCode::kIo, "{}: asked for bytes from {} but the server sent {}-{}", what,
                         offset, range->first, range->last)};
    }
    if (promised < length) {
      if (range->total >= 0 && range->last + 1 == static_cast<uint64_t>(range->total)) {
        return {Verdict::kAccept,
                make_error(ErrorCode::kInvalidArgument,
                           "{}: range {}-{} runs past the end of the object ({} bytes)", what, offset,
                           offset + length - 1, range->total)};
      }
      return {Verdict::kAccept, make_error(ErrorCode::kIo, "{}: the server sent range {}-{}, shorter "
                                                           "than the {} bytes asked for",
                                           what, range->first, range->last, length)};
    }
    if (response.body_bytes != length) {
      return {Verdict::kRetry,
              make_error(ErrorCode::kIo, "{}: short body: {} of {} bytes arrived", what,
                         response.body_bytes, length)};
    }
    return {};
  }
  if (response.status == 200) {
    // The server ignored Range; acceptable only if what arrived is exactly the range (offset 0).
    if (offset == 0 && response.body_bytes == length) return {};
    return {Verdict::kAccept,
            make_error(ErrorCode::kIo, "{}: the server ignored the Range header (200 with {} bytes)",
                       what, response.body_bytes)};
  }
  if (response.status == 416) {
    return {Verdict::kAccept,
            make_error(ErrorCode::kInvalidArgument, "{}: range {}-{} is outside the object", what,
                       offset, offset + length - 1)};
  }
  return {default_classification(outcome), error_from_outcome(outcome, what, 1)};
}

std::vector<Status> execute_range_reads(HttpTransport& transport, std::span<const RangeRead> reads,
                                        const RangeRequestBuilder& build,
                                        const std::function<std::string(const RangeRead&)>& describe,
                                        const RetryPolicy& policy, RetryStats* stats) {
  std::vector<Status> statuses(reads.size());
  std::vector<size_t> nonempty;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].length > 0) nonempty.push_back(i);
  }
  std::vector<int> attempts(reads.size(), 0);
  auto make = [&](size_t index, int attempt) {
    const RangeRead& read = reads[nonempty[index]];
    attempts[nonempty[index]] = attempt + 1;
    HttpRequest request = build(read, attempt);
    request.headers.emplace_back("Range",
                                 fmt::format("bytes={}-{}", read.offset, read.offset + read.length - 1));
    request.destination = read.destination;
    request.destination_capacity = read.length;
    return request;
  };
  auto classify = [&](size_t index, const HttpOutcome& outcome) {
    const RangeRead& read = reads[nonempty[index]];
    return check_range_response(outcome, read.offset, read.length, "").verdict;
  };
  std::vector<HttpOutcome> outcomes =
      execute_with_retries(transport, nonempty.size(), make, classify, policy, stats);
  for (size_t i = 0; i < nonempty.size(); ++i) {
    const RangeRead& read = reads[nonempty[i]];
    std::string what = fmt::format("{} bytes={}-{}", describe(read), read.offset,
                                   read.offset + read.length - 1);
    RangeCheck check = check_range_response(outcomes[i], read.offset, read.length, what);
    if (check.error) {
      Error error = std::move(*check.error);
      if (attempts[nonempty[i]] > 1) {
        error.add_context(fmt::format("after {} attempts", attempts[nonempty[i]]));
      }
      statuses[nonempty[i]] = std::move(error);
    }
  }
  return statuses;
}

Result<PrefixRead> execute_prefix_read(HttpTransport& transport, std::string_view key, uint64_t max_length,
                                       const std::function<HttpRequest(int attempt)>& build, std::string_view what,
                                       const RetryPolicy& policy, RetryStats* stats) {
  if (max_length == 0) {
    return make_error(ErrorCode::kInvalidArgument, "{}: a prefix read needs a length above 0", what);
  }
  auto make = [&](size_t, int attempt) {
    HttpRequest request = build(attempt);
    request.headers.emplace_back("Range", fmt::format("bytes=0-{}", max_length - 1));
    request.max_body_bytes = max_length;
    return request;
  };
  auto classify = [](size_t, const HttpOutcome& outcome) {
    if (outcome.completed() && outcome.response.status == 206) {
      auto header = outcome.response.header("content-range");
      auto range = header ? parse_content_range(*header) : std::nullopt;
      if (range && outcome.response.body_bytes != range->last - range->first + 1) return Verdict::kRetry;
      return Verdict::kAccept;
    }
    return default_classification(outcome);
  };
  RetryStats local_stats;
  std::vector<HttpOutcome> outcomes = execute_with_retries(transport, 1, make, classify, policy, &local_stats);
  if (stats) stats->retries += local_stats.retries;
  HttpOutcome& outcome = outcomes.front();
  const std::string described = fmt::format("{} bytes=0-{}", what, max_length - 1);
  const int attempts = 1 + static_cast<int>(local_stats.retries);
  PrefixRead prefix;
  if (outcome.completed() && outcome.response.status == 416) {
    prefix.meta.key = std::string(key);  // an empty object has no first byte to send
    return prefix;
  }
  if (!outcome.completed() || (outcome.response.status != 206 && outcome.response.status != 200)) {
    if (outcome.body_overflow) {
      return make_error(ErrorCode::kIo, "{}: the server ignored the Range header and sent more than {} bytes",
                        described, max_length);
    }
    return error_from_outcome(outcome, described, attempts);
  }
  prefix.meta = object_meta_from_response(outcome.response, key);
  if (outcome.response.status == 206) {
    auto header = outcome.response.header("content-range");
    auto range = header ? parse_content_range(*header) : std::nullopt;
    if (!range || range->first != 0 || range->total < 0) {
      return make_error(ErrorCode::kIo, "{}: 206 response without a Content-Range naming the object size ('{}')",
                        described, header.value_or(""));
    }
    if (outcome.response.body_bytes != range->last + 1) {
      return make_error(ErrorCode::kIo, "{}: short body: {} of {} bytes arrived", described,
                        outcome.response.body_bytes, range->last + 1);
    }
    prefix.meta.size = static_cast<uint64_t>(range->total);
  } else {
    prefix.meta.size = outcome.response.body_bytes;  // 200: the whole object (it fit in max_length)
  }
  prefix.bytes = std::move(outcome.response.body);
  return prefix;
}

std::string strip_etag_quotes(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

ObjectMeta object_meta_from_response(const HttpResponse& response, std::string_view key) {
  ObjectMeta meta;
  meta.key = std::string(key);
  if (auto length = response.header("content-length")) meta.size = parse_unsigned(*length).value_or(0);
  meta.etag = strip_etag_quotes(response.header("etag").value_or(""));
  if (auto modified = response.header("last-modified")) meta.last_modified = parse_http_date(*modified);
  return meta;
}

std::optional<int64_t> parse_http_date(std::string_view value) {
  std::tm parts{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (!end) end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);  // S3 listings (ISO 8601)
  if (!end) return std::nullopt;
  return static_cast<int64_t>(timegm(&parts));
}

std::string format_http_date(int64_t seconds) {
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[64];
  size_t written = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return std::string(buffer, written);
}

}  // namespace floe::io
