// Icechunk object ids (12-byte snapshot/manifest/chunk ids, 8-byte node ids) and their Crockford base32 names.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "floe/core/result.h"

namespace floe::icechunk {

using Id12 = std::array<std::uint8_t, 12>;  // snapshots, manifests, chunks
using Id8 = std::array<std::uint8_t, 8>;    // nodes (groups and arrays), stable for the node's lifetime

// The fixed id of every repository's first snapshot, "1CECHNKREP0F1RSTCMT0".
inline constexpr Id12 kInitialSnapshotId = {0x0b, 0x1c, 0xc8, 0xd6, 0x78, 0x75,
                                            0x80, 0xf0, 0xe3, 0x3a, 0x65, 0x34};

// Crockford base32, upper case, no padding, trailing bits zero (12 bytes → 20 chars, 8 bytes → 13 chars).
std::string encode_crockford(std::span<const std::uint8_t> bytes);
std::string to_string(const Id12& id);
std::string to_string(const Id8& id);
// Accepts upper or lower case; refuses wrong lengths and characters outside the alphabet.
Result<Id12> parse_id12(std::string_view text);
Result<Id8> parse_id8(std::string_view text);

// Cryptographically random ids (OpenSSL RAND_bytes).
Id12 random_id12();
Id8 random_id8();

}  // namespace floe::icechunk
