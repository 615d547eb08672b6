// Parsing and printing of URLs, and percent-encoding as SigV4 requires it.
#include "floe/io/url.h"

#include <charconv>

namespace floe::io {
namespace {

Result<Url> parse_authority_url(std::string_view text, Scheme scheme, std::string_view rest) {
  Url url;
  url.scheme = scheme;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (authority.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "URL '{}' has no {}", text,
                      scheme == Scheme::kS3 ? "bucket name" : "host");
  }
  if (authority.find('@') != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "URL '{}' carries credentials; pass them through the environment instead",
                      "(redacted)");
  }
  if (scheme != Scheme::kS3) {
    size_t question = path.find('?');
    if (question != std::string_view::npos) {
      url.query = std::string(path.substr(question + 1));
      path = path.substr(0, question);
    }
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
      std::string_view port_text = authority.substr(colon + 1);
      int port = 0;
      auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc() || end != port_text.data() + port_text.size() || port <= 0 || port > 65535) {
        return make_error(ErrorCode::kInvalidArgument, "URL '{}' has an invalid port '{}'", text, port_text);
      }
      url.port = port;
      authority = authority.substr(0, colon);
    }
  }
  url.host = std::string(authority);
  url.path = std::string(path);
  return url;
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
  if (text.empty()) return make_error(ErrorCode::kInvalidArgument, "empty URL");
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    Url url;
    url.scheme = Scheme::kFile;
    url.path = std::string(text);
    return url;
  }
  std::string_view scheme = text.substr(0, sep);
  std::string_view rest = text.substr(sep + 3);
  if (scheme == "s3") return parse_authority_url(text, Scheme::kS3, rest);
  if (scheme == "http") return parse_authority_url(text, Scheme::kHttp, rest);
  if (scheme == "https") return parse_authority_url(text, Scheme::kHttps, rest);
  if (scheme == "file") {
    if (!rest.empty() && rest.front() != '/') {
      return make_error(ErrorCode::kInvalidArgument,
                        "file URL '{}' must be file:///absolute/path (host names are not supported)", text);
    }
    Url url;
    url.scheme = Scheme::kFile;
    url.path = std::string(rest);
    return url;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "URL '{}' has unsupported scheme '{}'; use s3://, http://, https://, file:// or a path",
                    text, scheme);
}

std::string Url::origin() const {
  if (scheme != Scheme::kHttp && scheme != Scheme::kHttps) return {};
  std::string out = scheme == Scheme::kHttp ? "http://" : "https://";
  out += host;
  if (port) out += ":" + std::to_string(port);
  return out;
}

std::string Url::to_string() const {
  switch (scheme) {
    case Scheme::kFile: return path.find("://") == std::string::npos ? path : "file://" + path;
    case Scheme::kS3: return "s3://" + host + "/" + path;
    case Scheme::kHttp:
    case Scheme::kHttps: return origin() + "/" + path + (query.empty() ? "" : "?" + query);
  }
  return path;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> uri_decode(std::string_view text) {
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return make_error(ErrorCode::kInvalidArgument, "malformed percent escape at {} in '{}'", i, text);
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace floe::io
