// URL parsing for the schemes floe reads (s3, http, https, file and bare paths) and RFC 3986 encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "floe/core/result.h"

namespace floe::io {

enum class Scheme { kFile, kHttp, kHttps, kS3 };

struct Url {
  Scheme scheme = Scheme::kFile;
  std::string host;  // bucket for s3://, host for http(s)://, empty for files
  int port = 0;      // 0 = scheme default
  std::string path;  // without the leading '/', as written (no decoding); files keep their absolute path
  std::string query; // after '?', http(s) only

  // "s3://bucket/key", "https://host:8443/a/b?x=1", "/abs/path".
  std::string to_string() const;
  // "http://host:port" for http(s); empty otherwise.
  std::string origin() const;
};

// Parses a URL or a local path. Relative paths are kept relative (file scheme).
Result<Url> parse_url(std::string_view text);

// Percent-encodes per RFC 3986 (unreserved: A-Z a-z 0-9 - . _ ~), keeping '/' when keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);
// Decodes %XX escapes; rejects malformed escapes.
Result<std::string> uri_decode(std::string_view text);

}  // namespace floe::io
