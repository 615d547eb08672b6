// AWS Signature Version 4 for S3 requests, on OpenSSL (HMAC-SHA256, SHA-256).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "floe/io/credentials.h"
#include "floe/io/http_transport.h"

namespace floe::io {

std::string sha256_hex(std::span<const std::byte> data);
inline std::string sha256_hex(std::string_view text) {
  return sha256_hex(std::as_bytes(std::span(text.data(), text.size())));
}
constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigningInput {
  std::string_view method;
  std::string_view host;            // as sent in the Host header ("127.0.0.1:7070")
  std::string_view canonical_path;  // already URI-encoded, starting with '/'
  std::string_view query;           // already encoded "a=1&b=2" (any order; sorted here)
  std::string_view payload_sha256;  // hex, or "UNSIGNED-PAYLOAD"
  std::string_view amz_date;        // "20130524T000000Z"
  std::string_view region;
  std::string_view service = "s3";
};

struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string authorization;  // the full Authorization header value
};

// Signs `headers` (which must not yet contain host/x-amz-date/x-amz-content-sha256/authorization):
// adds x-amz-date, x-amz-content-sha256, x-amz-security-token (if any) and Authorization. Signs
// host and every x-amz-* header plus content-md5/content-type/range/if-* headers present.
SigningResult sign_request(const SigningInput& input, const Credentials& credentials,
                           HeaderList& headers);

// "20130524T000000Z" for a time in seconds since the epoch.
std::string amz_date(int64_t seconds_since_epoch);

}  // namespace floe::io
