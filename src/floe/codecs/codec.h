// The three kinds of Zarr v3 codec (spec 3.0 "Codecs": array -> array, array -> bytes, bytes ->
// bytes) as immutable, thread-safe decoders that write into caller memory, and the registry that
// creates them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "floe/core/result.h"
#include "floe/zarr/data_type.h"

namespace floe::codecs {

using Json = nlohmann::json;

// A decoded chunk: its element type and shape (C order, little-endian elements), and the fill value
// that stands for missing inner chunks of a shard (one element; empty means zeros).
struct ChunkLayout {
  zarr::DataType data_type;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint8_t> fill_value;

  std::uint64_t element_count() const;
  std::uint64_t byte_size() const { return element_count() * data_type.size; }
};

class ShardingCodec;

// Reorders elements (transpose). Created for one decoded layout.
class ArrayToArrayCodec {
 public:
  virtual ~ArrayToArrayCodec() = default;
  virtual std::string describe() const = 0;
  // The layout of the encoded array (what the next codec decodes into).
  virtual const ChunkLayout& encoded_layout() const = 0;
  // `encoded` holds encoded_layout().byte_size() bytes; `out` the decoded layout's byte_size().
  virtual Status decode(std::span<const std::uint8_t> encoded,
                        std::span<std::uint8_t> out) const = 0;
};

// Turns bytes into an array (bytes, sharding_indexed). Created for one decoded layout.
class ArrayToBytesCodec {
 public:
  virtual ~ArrayToBytesCodec() = default;
  virtual std::string describe() const = 0;
  // The encoded size when it depends on the layout alone (bytes: element count x size).
  virtual std::optional<std::uint64_t> encoded_size() const = 0;
  // True when the encoded bytes are the decoded bytes, so earlier stages may decode straight into
  // `out`.
  virtual bool is_identity() const { return false; }
  // Decodes into `out` (the layout's byte_size()). `encoded` may alias `out` when is_identity().
  virtual Status decode(std::span<const std::uint8_t> encoded,
                        std::span<std::uint8_t> out) const = 0;
  virtual const ShardingCodec* as_sharding() const { return nullptr; }
};

// Compressors, checksums and byte filters.
class BytesToBytesCodec {
 public:
  virtual ~BytesToBytesCodec() = default;
  virtual std::string describe() const = 0;
  // The encoded size when it follows from the decoded size (checksums, shuffles); nullopt for
  // compressors.
  virtual std::optional<std::uint64_t> encoded_size(std::uint64_t decoded_size) const = 0;
  // Checksums verify and return the payload inside `encoded` without copying; others return
  // nullopt.
  virtual std::optional<Result<std::span<const std::uint8_t>>> verify_and_strip(
      std::span<const std::uint8_t> encoded) const {
    (void)encoded;
    return std::nullopt;
  }
  // Decodes into exactly `out.size()` bytes; decoded data of any other length is an error.
  virtual Status decode_into(std::span<const std::uint8_t> encoded,
                             std::span<std::uint8_t> out) const = 0;
  // Decodes data whose decoded size is not known beforehand, refusing more than `max_decoded_size`
  // bytes.
  virtual Result<std::vector<std::uint8_t>> decode_bounded(
      std::span<const std::uint8_t> encoded, std::uint64_t max_decoded_size) const = 0;
};

using AnyCodec =
    std::variant<std::shared_ptr<const ArrayToArrayCodec>, std::shared_ptr<const ArrayToBytesCodec>,
                 std::shared_ptr<const BytesToBytesCodec>>;

class CodecRegistry;

// What a codec factory gets: the codec's configuration ({} when absent), the decoded layout that
// reaches it (for bytes -> bytes codecs: the layout of the whole chunk), and the registry (for
// nested pipelines).
struct CodecSpec {
  std::string_view name;
  const Json& configuration;
  const ChunkLayout& layout;
  const CodecRegistry& registry;
};

using CodecFactory = std::function<Result<AnyCodec>(const CodecSpec&)>;

// Codec names -> factories. Filled explicitly (register_builtin_codecs); read-only while decoding.
class CodecRegistry {
 public:
  void add(std::string name, CodecFactory factory);
  const CodecFactory* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, CodecFactory, std::less<>> factories_;
};

// Adds every codec floe reads (see docs/architecture.md "codecs").
void register_builtin_codecs(CodecRegistry& registry);

}  // namespace floe::codecs
