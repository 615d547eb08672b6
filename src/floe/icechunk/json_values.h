// JSON-shaped values as Icechunk stores them: FlexBuffers (spec 2), MessagePack (spec 1), YAML config (spec 1).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "floe/core/result.h"

namespace floe::icechunk {

using Json = nlohmann::json;

// FlexBuffers ↔ JSON: maps ↔ objects, untyped/typed vectors → arrays, ints, uints, floats, bools, null,
// strings and keys → strings, blobs → arrays of byte values. Writing uses maps, untyped vectors and scalars
// only, which is what the Rust `flexbuffers` serde output reads back.
Result<Json> flexbuffer_to_json(std::span<const std::uint8_t> buffer);
std::vector<std::uint8_t> json_to_flexbuffer(const Json& value);

// MessagePack (spec-1 metadata values) → JSON. Bounded recursion; errors are kCorrupt.
Result<Json> msgpack_to_json(std::span<const std::uint8_t> buffer);

// The spec-1 `config.yaml` → the same JSON shape the spec-2 config flexbuffer decodes to, e.g.
// {"inline_chunk_threshold_bytes": 512, "virtual_chunk_containers": {"s3://bucket/": {"name": null,
//  "url_prefix": "s3://bucket/", "store": {"s3_compatible": {"region": ..., "endpoint_url": ...}}}}}.
// YAML tags such as `!s3_compatible` become the externally tagged key. Only the subset Icechunk writes.
Result<Json> parse_spec1_config_yaml(std::string_view text);

}  // namespace floe::icechunk
