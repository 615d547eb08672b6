// sharding_indexed (Zarr v3 sharding extension): a shard of inner chunks with an index of (offset,
// nbytes). Exposes the index so a reader can fetch only the inner chunks it needs; decodes whole
// shards too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/codecs/pipeline.h"

namespace floe::codecs {

class ShardingCodec final : public ArrayToBytesCodec {
 public:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};

  static Result<AnyCodec> create(const CodecSpec& spec);

  std::span<const std::uint64_t> inner_chunk_shape() const { return inner_.layout().shape; }
  // Inner chunks per shard along each dimension.
  std::span<const std::uint64_t> chunks_per_shard() const { return chunks_per_shard_; }
  std::uint64_t inner_chunk_count() const { return inner_chunk_count_; }
  // Bytes of the encoded index, found at the start or at the end of the shard.
  std::uint64_t index_encoded_size() const { return index_encoded_size_; }
  bool index_at_end() const { return index_at_end_; }
  // (offset, nbytes) per inner chunk in C order; an empty inner chunk is (kEmpty, kEmpty). Ranges
  // are checked for overflow only: the caller checks them against the shard's size.
  Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> decode_index(
      std::span<const std::uint8_t> encoded_index) const;
  const CodecPipeline& inner() const { return inner_; }

  std::string describe() const override;
  std::optional<std::uint64_t> encoded_size() const override { return std::nullopt; }
  // A whole shard; missing inner chunks become the layout's fill value.
  Status decode(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const override;
  const ShardingCodec* as_sharding() const override { return this; }

  ShardingCodec(ChunkLayout shard_layout, CodecPipeline inner, CodecPipeline index,
                std::uint64_t index_encoded_size, bool index_at_end);

 private:
  ChunkLayout shard_layout_;
  CodecPipeline inner_;
  CodecPipeline index_;
  std::vector<std::uint64_t> chunks_per_shard_;
  std::uint64_t inner_chunk_count_ = 0;
  std::uint64_t index_encoded_size_ = 0;
  bool index_at_end_ = true;
};

}  // namespace floe::codecs
