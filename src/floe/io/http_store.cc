// HttpStore requests: GET, ranged GET with preconditions, HEAD; writes and listings are refused.
#include "floe/io/http_store.h"

namespace floe::io {

HttpStore::HttpStore(std::shared_ptr<HttpTransport> transport, std::string base_url, RetryPolicy retry)
    : transport_(std::move(transport)), base_url_(std::move(base_url)), retry_(retry) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string HttpStore::url_for(std::string_view key) const {
  return key.empty() ? base_url_ : base_url_ + "/" + std::string(key);
}

HttpRequest HttpStore::build(std::string_view method, std::string_view key,
                             const GetOptions* preconditions) const {
  HttpRequest request;
  request.method = std::string(method);
  request.url = url_for(key);
  request.follow_redirects = true;
  if (preconditions && preconditions->if_match) {
    std::string etag = *preconditions->if_match;
    if (!etag.starts_with('"') && !etag.starts_with("W/")) etag = "\"" + etag + "\"";
    request.headers.emplace_back("If-Match", etag);
  }
  if (preconditions && preconditions->if_unmodified_since) {
    request.headers.emplace_back("If-Unmodified-Since", format_http_date(*preconditions->if_unmodified_since));
  }
  return request;
}

Result<Bytes> HttpStore::get(std::string_view key, const GetOptions& options) {
  if (options.offset || options.length) return get_range(key, options);
  RetryStats stats;
  auto outcomes = execute_with_retries(
      *transport_, 1,
      [&](size_t, int) {
        HttpRequest request = build("GET", key, &options);
        request.max_body_bytes = uint64_t{1} << 40;
        return request;
      },
      [](size_t, const HttpOutcome& outcome) { return default_classification(outcome); }, retry_, &stats);
  retries_ += stats.retries;
  HttpOutcome& outcome = outcomes.front();
  if (!outcome.completed() || outcome.response.status != 200) {
    return error_from_outcome(outcome, "GET " + url_for(key), 1 + static_cast<int>(stats.retries));
  }
  return std::move(outcome.response.body);
}

std::vector<Status> HttpStore::read_ranges_into(std::span<const RangeRead> reads) {
  RetryStats stats;
  auto statuses = execute_range_reads(
      *transport_, reads, [&](const RangeRead& read, int) { return build("GET", read.key, read.preconditions); },
      [&](const RangeRead& read) { return "GET " + url_for(read.key); }, retry_, &stats);
  retries_ += stats.retries;
  return statuses;
}

Result<ObjectMeta> HttpStore::head(std::string_view key) {
  RetryStats stats;
  auto outcomes = execute_with_retries(
      *transport_, 1, [&](size_t, int) { return build("HEAD", key, nullptr); },
      [](size_t, const HttpOutcome& outcome) { return default_classification(outcome); }, retry_, &stats);
  retries_ += stats.retries;
  HttpOutcome& outcome = outcomes.front();
  if (!outcome.completed() || outcome.response.status != 200) {
    return error_from_outcome(outcome, "HEAD " + url_for(key), 1 + static_cast<int>(stats.retries));
  }
  if (!outcome.response.header("content-length")) {
    return make_error(ErrorCode::kUnsupported, "HEAD {}: the server did not send Content-Length",
                      url_for(key));
  }
  return object_meta_from_response(outcome.response, key);
}

Result<PrefixRead> HttpStore::read_prefix(std::string_view key, uint64_t max_length) {
  RetryStats stats;
  auto prefix = execute_prefix_read(
      *transport_, key, max_length, [&](int) { return build("GET", key, nullptr); }, "GET " + url_for(key), retry_,
      &stats);
  retries_ += stats.retries;
  return prefix;
}

Result<PutResult> HttpStore::put(std::string_view key, Bytes, const PutOptions&) {
  return make_error(ErrorCode::kUnsupported,
                    "cannot write {}: HTTP stores are read-only; write to s3:// or a local path",
                    url_for(key));
}

Status HttpStore::del(std::string_view key) {
  return make_error(ErrorCode::kUnsupported, "cannot delete {}: HTTP stores are read-only", url_for(key));
}

Result<ListResult> HttpStore::list(std::string_view prefix, std::string_view) {
  return make_error(ErrorCode::kUnsupported,
                    "cannot list {}: plain HTTP has no listing; name the files explicitly or use s3://",
                    url_for(prefix));
}

}  // namespace floe::io
