// S3 requests: addressing, signing, conditional writes, listing with continuation, multipart upload.
#include "floe/io/s3_store.h"

#include <chrono>

#include "floe/io/s3_xml.h"
#include "floe/io/sigv4.h"

namespace floe::io {
namespace {

bool dns_compatible(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<S3Store>> S3Store::create(std::shared_ptr<HttpTransport> transport,
                                                 S3StoreOptions options) {
  if (options.bucket.empty()) return make_error(ErrorCode::kInvalidArgument, "S3 store needs a bucket");
  while (!options.prefix.empty() && options.prefix.back() == '/') options.prefix.pop_back();
  std::string endpoint_text = options.endpoint.empty()
                                  ? fmt::format("https://s3.{}.amazonaws.com", options.region)
                                  : options.endpoint;
  FLOE_ASSIGN_OR_RETURN(Url endpoint, parse_url(endpoint_text));
  if (endpoint.scheme != Scheme::kHttp && endpoint.scheme != Scheme::kHttps) {
    return make_error(ErrorCode::kInvalidArgument, "S3 endpoint '{}' must be http:// or https://",
                      endpoint_text);
  }
  bool virtual_hosted = options.addressing == Addressing::kVirtualHosted ||
                        (options.addressing == Addressing::kAuto && options.endpoint.empty() &&
                         dns_compatible(options.bucket));
  auto store = std::unique_ptr<S3Store>(
      new S3Store(std::move(transport), std::move(options), std::move(endpoint), virtual_hosted));
  if (store->options_.etag_quoting == EtagQuoting::kQuoted) store->quoting_ = 1;
  if (store->options_.etag_quoting == EtagQuoting::kUnquoted) store->quoting_ = 2;
  return store;
}

S3Store::S3Store(std::shared_ptr<HttpTransport> transport, S3StoreOptions options, Url endpoint,
                 bool virtual_hosted)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      endpoint_(std::move(endpoint)),
      virtual_hosted_(virtual_hosted) {}

std::string S3Store::full_key(std::string_view key) const {
  if (options_.prefix.empty()) return std::string(key);
  if (key.empty()) return options_.prefix;
  return options_.prefix + "/" + std::string(key);
}

std::string S3Store::url_for(std::string_view key) const {
  return "s3://" + options_.bucket + "/" + full_key(key);
}

S3Store::Target S3Store::target_for(std::string_view object_key, std::string_view query) const {
  bool default_port = endpoint_.port == 0 || (endpoint_.scheme == Scheme::kHttp && endpoint_.port == 80) ||
                      (endpoint_.scheme == Scheme::kHttps && endpoint_.port == 443);
  std::string host = virtual_hosted_ ? options_.bucket + "." + endpoint_.host : endpoint_.host;
  if (!default_port) host += ":" + std::to_string(endpoint_.port);
  Target target;
  target.host = host;
  std::string encoded_key = uri_encode(object_key, true);
  std::string base_path = endpoint_.path.empty() ? "" : "/" + endpoint_.path;
  while (!base_path.empty() && base_path.back() == '/') base_path.pop_back();
  if (virtual_hosted_) {
    target.canonical_path = base_path + "/" + encoded_key;
  } else {
    target.canonical_path = base_path + "/" + options_.bucket + (object_key.empty() ? "" : "/" + encoded_key);
  }
  target.url = (endpoint_.scheme == Scheme::kHttps ? "https://" : "http://") + host +
               target.canonical_path + (query.empty() ? "" : "?" + std::string(query));
  return target;
}

HttpRequest S3Store::build(std::string_view method, std::string_view object_key, std::string_view query,
                           HeaderList headers, Bytes body, std::string_view payload_sha256) const {
  Target target = target_for(object_key, query);
  HttpRequest request;
  request.method = std::string(method);
  request.url = target.url;
  request.headers = std::move(headers);
  if (options_.credentials) {
    std::string payload_hash =
        !payload_sha256.empty() ? std::string(payload_sha256)
                                : (body.empty() ? std::string(kEmptyPayloadSha256) : sha256_hex(body.span()));
    std::string date = amz_date(now_seconds());
    SigningInput input{method, target.host, target.canonical_path, query, payload_hash, date,
                       options_.region};
    sign_request(input, *options_.credentials, request.headers);
  }
  request.body = std::move(body);
  return request;
}

HttpOutcome S3Store::send(const std::function<HttpRequest(int attempt)>& build_attempt,
                          bool retry_transport) {
  RetryStats stats;
  auto outcomes = execute_with_retries(
      *transport_, 1, [&](size_t, int attempt) { return build_attempt(attempt); },
      [&](size_t, const HttpOutcome& outcome) {
        // A write whose response was lost may have been applied: only retry it when the server
        // answered that it did not apply it (429/5xx), never after a transport failure.
        if (!retry_transport && outcome.curl_code != 0) return Verdict::kAccept;
        return default_classification(outcome);
      },
      options_.retry, &stats);
  retries_ += stats.retries;
  return std::move(outcomes.front());
}

HeaderList S3Store::precondition_headers(const GetOptions& options) const {
  HeaderList headers;
  if (options.if_match) headers.emplace_back("If-Match", format_if_match(*options.if_match, true));
  if (options.if_unmodified_since) {
    headers.emplace_back("If-Unmodified-Since", format_http_date(*options.if_unmodified_since));
  }
  return headers;
}

Result<Bytes> S3Store::get(std::string_view key, const GetOptions& options) {
  if (options.offset || options.length) return get_range(key, options);
  std::string object_key = full_key(key);
  HeaderList headers = precondition_headers(options);
  HttpOutcome outcome = send(
      [&](int) {
        HttpRequest request = build("GET", object_key, "", headers, {});
        request.max_body_bytes = uint64_t{1} << 40;
        return request;
      },
      true);
  if (!outcome.completed() || outcome.response.status != 200) {
    return error_from_outcome(outcome, "GET " + url_for(key), 1);
  }
  return std::move(outcome.response.body);
}

std::vector<Status> S3Store::read_ranges_into(std::span<const RangeRead> reads) {
  RetryStats stats;
  auto statuses = execute_range_reads(
      *transport_, reads,
      [&](const RangeRead& read, int) {
        HeaderList headers = read.preconditions ? precondition_headers(*read.preconditions) : HeaderList{};
        return build("GET", full_key(read.key), "", std::move(headers), {});
      },
      [&](const RangeRead& read) { return "GET " + url_for(read.key); }, options_.retry, &stats);
  retries_ += stats.retries;
  return statuses;
}

Result<ObjectMeta> S3Store::head(std::string_view key) {
  std::string object_key = full_key(key);
  HttpOutcome outcome = send([&](int) { return build("HEAD", object_key, "", {}, {}); }, true);
  if (!outcome.completed() || outcome.response.status != 200) {
    return error_from_outcome(outcome, "HEAD " + url_for(key), 1);
  }
  return object_meta_from_response(outcome.response, key);
}

Result<PrefixRead> S3Store::read_prefix(std::string_view key, uint64_t max_length) {
  std::string object_key = full_key(key);
  RetryStats stats;
  auto prefix = execute_prefix_read(
      *transport_, key, max_length, [&](int) { return build("GET", object_key, "", {}, {}); }, "GET " + url_for(key),
      options_.retry, &stats);
  retries_ += stats.retries;
  return prefix;
}

std::string S3Store::format_if_match(std::string_view etag, bool quoted) const {
  std::string bare = strip_etag_quotes(etag);
  return quoted ? "\"" + bare + "\"" : bare;
}

Result<PutResult> S3Store::put_once(std::string_view key, const Bytes& data, const PutOptions& options,
                                    bool quoted) {
  std::string object_key = full_key(key);
  HeaderList headers;
  if (options.if_none_match) headers.emplace_back("If-None-Match", "*");
  if (options.if_match) headers.emplace_back("If-Match", format_if_match(*options.if_match, quoted));
  std::string payload_hash = data.empty() ? std::string(kEmptyPayloadSha256) : sha256_hex(data.span());
  bool conditional = options.if_none_match || options.if_match.has_value();
  HttpOutcome outcome =
      send([&](int) { return build("PUT", object_key, "", headers, data, payload_hash); }, !conditional);
  if (!outcome.completed() || outcome.response.status / 100 != 2) {
    Error error = error_from_outcome(outcome, "PUT " + url_for(key), 1);
    if (conditional && outcome.curl_code != 0) {
      error.add_context("the conditional write's outcome is unknown; re-read the object before retrying");
    }
    return error;
  }
  return PutResult{strip_etag_quotes(outcome.response.header("etag").value_or(""))};
}

Result<PutResult> S3Store::put(std::string_view key, Bytes data, const PutOptions& options) {
  if (data.size() > options_.multipart_threshold) {
    return put_multipart(key, std::move(data), options_.part_size, options);
  }
  if (!options.if_match) return put_once(key, data, options, true);
  int known = quoting_.load();
  bool quoted = known != 2;
  auto result = put_once(key, data, options, quoted);
  if (result.ok()) {
    if (known == 0) quoting_ = quoted ? 1 : 2;
    return result;
  }
  if (result.error().code() != ErrorCode::kPreconditionFailed || known != 0 ||
      options_.etag_quoting != EtagQuoting::kAuto) {
    return result;
  }
  // Was it a real mismatch or a server that wants the other quoting? The current ETag decides.
  auto current = head(key);
  if (!current.ok() || strip_etag_quotes(current->etag) != strip_etag_quotes(*options.if_match)) return result;
  auto second = put_once(key, data, options, !quoted);
  if (second.ok()) quoting_ = quoted ? 2 : 1;
  return second;
}

Status S3Store::del(std::string_view key) {
  std::string object_key = full_key(key);
  HttpOutcome outcome = send([&](int) { return build("DELETE", object_key, "", {}, {}); }, true);
  if (outcome.completed() && (outcome.response.status / 100 == 2 || outcome.response.status == 404)) {
    return ok_status();
  }
  return error_from_outcome(outcome, "DELETE " + url_for(key), 1);
}

Result<ListResult> S3Store::list(std::string_view prefix, std::string_view delimiter) {
  std::string full_prefix = full_key(prefix);
  if (!prefix.empty() || !options_.prefix.empty()) {
    if (prefix.empty()) full_prefix += "/";
  }
  size_t strip = options_.prefix.empty() ? 0 : options_.prefix.size() + 1;
  ListResult result;
  std::string token;
  for (int page_number = 0;; ++page_number) {
    std::string query = fmt::format("list-type=2&max-keys={}", options_.list_page_size);
    if (!full_prefix.empty()) query += "&prefix=" + uri_encode(full_prefix, false);
    if (!delimiter.empty()) query += "&delimiter=" + uri_encode(delimiter, false);
    if (!token.empty()) query += "&continuation-token=" + uri_encode(token, false);
    HttpOutcome outcome = send([&](int) { return build("GET", "", query, {}, {}); }, true);
    std::string what = fmt::format("LIST s3://{}/{}", options_.bucket, full_prefix);
    if (!outcome.completed() || outcome.response.status != 200) return error_from_outcome(outcome, what, 1);
    auto page = parse_list_objects_v2(outcome.response.body.view());
    if (!page.ok()) return std::move(page).error().add_context(fmt::format("{} page {}", what, page_number));
    for (ObjectMeta& meta : page->objects) {
      meta.key = meta.key.size() >= strip ? meta.key.substr(strip) : meta.key;
      result.objects.push_back(std::move(meta));
    }
    for (std::string& common : page->common_prefixes) {
      result.common_prefixes.push_back(common.size() >= strip ? common.substr(strip) : common);
    }
    if (!page->truncated) break;
    if (page->next_continuation_token == token) {
      return make_error(ErrorCode::kCorrupt, "{}: the server repeated continuation token '{}'", what, token);
    }
    token = page->next_continuation_token;
  }
  return result;
}

Result<PutResult> S3Store::put_multipart(std::string_view key, Bytes data, uint64_t part_size,
                                         const PutOptions& options) {
  constexpr uint64_t kMinimumPart = 5ull << 20;
  part_size = std::max(part_size, kMinimumPart);
  std::string object_key = full_key(key);
  std::string what = "multipart upload to " + url_for(key);
  HttpOutcome started = send([&](int) { return build("POST", object_key, "uploads=", {}, {}); }, true);
  if (!started.completed() || started.response.status != 200) return error_from_outcome(started, what, 1);
  FLOE_ASSIGN_OR_RETURN(std::string upload_id, parse_initiate_multipart_upload(started.response.body.view()));
  std::string encoded_id = uri_encode(upload_id, false);
  auto abort_upload = [&] {
    (void)send([&](int) { return build("DELETE", object_key, "uploadId=" + encoded_id, {}, {}); }, true);
  };

  size_t part_count = std::max<size_t>(1, (data.size() + part_size - 1) / part_size);
  std::vector<Bytes> parts(part_count);
  std::vector<std::string> hashes(part_count);
  for (size_t i = 0; i < part_count; ++i) {
    parts[i] = data.slice(i * part_size, part_size);
    hashes[i] = sha256_hex(parts[i].span());
  }
  RetryStats stats;
  auto outcomes = execute_with_retries(
      *transport_, part_count,
      [&](size_t index, int) {
        std::string query = fmt::format("partNumber={}&uploadId={}", index + 1, encoded_id);
        return build("PUT", object_key, query, {}, parts[index], hashes[index]);
      },
      [](size_t, const HttpOutcome& outcome) { return default_classification(outcome); }, options_.retry,
      &stats);
  retries_ += stats.retries;
  std::vector<CompletedPart> completed;
  for (size_t i = 0; i < part_count; ++i) {
    if (!outcomes[i].completed() || outcomes[i].response.status != 200) {
      abort_upload();
      return error_from_outcome(outcomes[i], fmt::format("{} part {}", what, i + 1), 1);
    }
    completed.push_back({static_cast<int>(i + 1), std::string(outcomes[i].response.header("etag").value_or(""))});
  }

  HeaderList headers;
  if (options.if_none_match) headers.emplace_back("If-None-Match", "*");
  if (options.if_match) headers.emplace_back("If-Match", format_if_match(*options.if_match, quoting_ != 2));
  Bytes body = Bytes::from_string(complete_multipart_upload_body(completed));
  HttpOutcome finished = send(
      [&](int) { return build("POST", object_key, "uploadId=" + encoded_id, headers, body); }, false);
  if (!finished.completed() || finished.response.status != 200) {
    abort_upload();
    return error_from_outcome(finished, what + " (complete)", 1);
  }
  if (auto error = complete_multipart_error(finished.response.body.view())) {
    abort_upload();
    return make_error(ErrorCode::kIo, "{} (complete): {}: {}", what, error->code, error->message);
  }
  auto document = parse_xml(finished.response.body.view());
  std::string etag = document.ok() ? strip_etag_quotes(document->child_text("ETag")) : "";
  if (etag.empty()) {
    FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, head(key));  // some servers answer with an empty ETag
    etag = meta.etag;
  }
  return PutResult{etag};
}

Status S3Store::create_bucket() {
  HttpOutcome outcome = send([&](int) { return build("PUT", "", "", {}, {}); }, true);
  if (outcome.completed() && outcome.response.status == 200) return ok_status();
  auto document = parse_s3_error(outcome.response.body.view());
  if (document.code == "BucketAlreadyOwnedByYou") return ok_status();
  return error_from_outcome(outcome, "create bucket s3://" + options_.bucket, 1);
}

Status S3Store::put_bucket_policy(std::string_view policy_json) {
  Bytes body = Bytes::copy_of(policy_json);
  HttpOutcome outcome = send(
      [&](int) {
        return build("PUT", "", "policy=", {{"Content-Type", "application/json"}}, body);
      },
      true);
  if (outcome.completed() && outcome.response.status / 100 == 2) return ok_status();
  return error_from_outcome(outcome, "set policy of s3://" + options_.bucket, 1);
}

}  // namespace floe::io
