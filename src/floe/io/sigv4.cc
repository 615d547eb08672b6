// SigV4 canonical request, string to sign and signature (AWS General Reference, "Signature Version 4").
#include "floe/io/sigv4.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <vector>

namespace floe::io {
namespace {

using Digest = std::array<unsigned char, 32>;

std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

Digest hmac(std::span<const unsigned char> key, std::string_view message) {
  Digest out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &length);
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string collapse_spaces(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

bool is_signed_header(std::string_view name) {
  return name == "host" || name.starts_with("x-amz-") || name == "content-md5" ||
         name == "content-type" || name == "range" || name.starts_with("if-");
}

// Query parameters sorted by name then value; each part is already encoded. "uploads" → "uploads=".
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      parameters.emplace_back(std::string(pair), "");
    } else {
      parameters.emplace_back(std::string(pair.substr(0, equals)), std::string(pair.substr(equals + 1)));
    }
  }
  std::sort(parameters.begin(), parameters.end());
  std::string out;
  for (const auto& [name, value] : parameters) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::span<const std::byte> data) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return to_hex(digest);
}

std::string amz_date(int64_t seconds_since_epoch) {
  std::time_t time = static_cast<std::time_t>(seconds_since_epoch);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[32];
  size_t written = std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &parts);
  return std::string(buffer, written);
}

SigningResult sign_request(const SigningInput& input, const Credentials& credentials,
                           HeaderList& headers) {
  headers.emplace_back("x-amz-date", std::string(input.amz_date));
  headers.emplace_back("x-amz-content-sha256", std::string(input.payload_sha256));
  if (!credentials.session_token.empty()) {
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  }

  std::vector<std::pair<std::string, std::string>> signed_headers;
  signed_headers.emplace_back("host", std::string(input.host));
  for (const auto& [name, value] : headers) {
    std::string lowered = lower(name);
    if (lowered != "host" && is_signed_header(lowered)) {
      signed_headers.emplace_back(std::move(lowered), collapse_spaces(value));
    }
  }
  std::sort(signed_headers.begin(), signed_headers.end());

  std::string canonical_headers;
  std::string signed_names;
  for (const auto& [name, value] : signed_headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_names.empty()) signed_names += ';';
    signed_names += name;
  }

  SigningResult result;
  result.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", input.method, input.canonical_path,
                                         canonical_query(input.query), canonical_headers,
                                         signed_names, input.payload_sha256);
  std::string_view date = input.amz_date.substr(0, 8);
  std::string scope = fmt::format("{}/{}/{}/aws4_request", date, input.region, input.service);
  result.string_to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", input.amz_date, scope,
                                      sha256_hex(result.canonical_request));

  std::string secret = "AWS4" + credentials.secret_access_key;
  Digest key = hmac(std::span(reinterpret_cast<const unsigned char*>(secret.data()), secret.size()), date);
  key = hmac(key, input.region);
  key = hmac(key, input.service);
  key = hmac(key, "aws4_request");
  result.signature = to_hex(hmac(key, result.string_to_sign));
  result.authorization = fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                     credentials.access_key_id, scope, signed_names, result.signature);
  headers.emplace_back("Authorization", result.authorization);
  return result;
}

}  // namespace floe::io
