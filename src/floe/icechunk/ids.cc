// Crockford base32 names of Icechunk object ids, and random id generation.
#include "floe/icechunk/ids.h"

#include <openssl/rand.h>

#include <random>

#include "floe/core/error.h"

namespace floe::icechunk {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int crockford_value(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  size_t position = kAlphabet.find(c);
  return position == std::string_view::npos ? -1 : static_cast<int>(position);
}

// Decodes exactly bytes.size() bytes; the unused trailing bits must be zero so every id has one name.
Status decode_crockford(std::string_view text, std::span<std::uint8_t> bytes, std::string_view what) {
  size_t expected_chars = (bytes.size() * 8 + 4) / 5;
  if (text.size() != expected_chars) {
    return make_error(ErrorCode::kInvalidArgument, "{} \"{}\" has {} characters, expected {}", what,
                      text, text.size(), expected_chars);
  }
  std::uint32_t buffer = 0;
  int bits = 0;
  size_t out = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = crockford_value(text[i]);
    if (value < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{} \"{}\" has '{}' at position {}, not a Crockford base32 character", what,
                        text, text[i], i);
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = static_cast<std::uint8_t>(buffer >> bits);
      buffer &= (1u << bits) - 1;
    }
  }
  if (buffer != 0) {
    return make_error(ErrorCode::kInvalidArgument, "{} \"{}\" has non-zero padding bits", what, text);
  }
  return ok_status();
}

template <size_t N>
std::array<std::uint8_t, N> random_bytes() {
  std::array<std::uint8_t, N> id{};
  if (RAND_bytes(id.data(), static_cast<int>(N)) != 1) {
    // OpenSSL's generator is unavailable (should not happen); the OS generator is still unpredictable.
    std::random_device device;
    for (auto& byte : id) byte = static_cast<std::uint8_t>(device());
  }
  return id;
}

}  // namespace

std::string encode_crockford(std::span<const std::uint8_t> bytes) {
  std::string text;
  text.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text.push_back(kAlphabet[(buffer >> bits) & 31]);
    }
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) text.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return text;
}

std::string to_string(const Id12& id) { return encode_crockford(id); }
std::string to_string(const Id8& id) { return encode_crockford(id); }

Result<Id12> parse_id12(std::string_view text) {
  Id12 id{};
  FLOE_RETURN_IF_ERROR(decode_crockford(text, id, "object id"));
  return id;
}

Result<Id8> parse_id8(std::string_view text) {
  Id8 id{};
  FLOE_RETURN_IF_ERROR(decode_crockford(text, id, "node id"));
  return id;
}

Id12 random_id12() { return random_bytes<12>(); }
Id8 random_id8() { return random_bytes<8>(); }

}  // namespace floe::icechunk
