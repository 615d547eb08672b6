// CodecPipeline: a Zarr v3 "codecs" list built once per chunk layout and run in reverse to decode a
// chunk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/core/result.h"

namespace floe::codecs {

class ShardingCodec;

class CodecPipeline {
 public:
  // Builds the codecs of `codecs` (the zarr.json list, in encoding order) for chunks of `layout`.
  // Unknown codecs are kUnsupported naming the codec and listing what floe reads.
  static Result<CodecPipeline> create(const CodecRegistry& registry, const Json& codecs,
                                      const ChunkLayout& layout);

  // Decodes one stored chunk into `out`: exactly layout().byte_size() bytes, little-endian, C
  // order. Thread-safe; scratch memory is allocated per call and bounded by a small multiple of
  // that size.
  Status decode(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const;

  // Non-null when the array -> bytes codec is sharding_indexed.
  const ShardingCodec* sharding() const;
  // True when the stored chunk is the shard itself, so its index and inner chunks can be fetched by
  // range. False when a bytes -> bytes codec follows sharding_indexed (zarr-python 3 adds its
  // default zstd there when a ShardingCodec is passed as serializer without compressors=None): then
  // the whole shard must be fetched and decoded.
  bool shard_ranges_readable() const { return sharding() != nullptr && bytes_to_bytes_.empty(); }
  // "bytes(little) | numcodecs.shuffle(4) | numcodecs.zlib", in encoding order.
  std::string describe() const;
  const ChunkLayout& layout() const { return layout_; }
  // The encoded size when every codec's output size follows from the layout (e.g. a shard index).
  std::optional<std::uint64_t> encoded_size() const;

 private:
  CodecPipeline() = default;

  ChunkLayout layout_;
  std::vector<std::shared_ptr<const ArrayToArrayCodec>> array_to_array_;
  std::shared_ptr<const ArrayToBytesCodec> array_to_bytes_;
  std::vector<std::shared_ptr<const BytesToBytesCodec>> bytes_to_bytes_;
  // Decoded size of bytes_to_bytes_[i] when it follows from the layout, else nullopt
  // (decode_bounded).
  std::vector<std::optional<std::uint64_t>> bytes_decoded_sizes_;
  std::uint64_t max_intermediate_size_ = 0;
};

}  // namespace floe::codecs
