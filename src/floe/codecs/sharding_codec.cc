// "sharding_indexed" (Zarr v3 sharding extension, zarr-specs codecs/sharding-indexed): inner chunks
// of chunk_shape, each encoded with "codecs", and an index of (offset, nbytes) uint64 pairs per
// inner chunk in C order, encoded with "index_codecs" (bytes, optionally crc32c) at the start or
// end of the shard. Empty inner chunks are (2^64-1, 2^64-1) and read as the fill value.
#include "floe/codecs/sharding_codec.h"

#include <fmt/ranges.h>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

constexpr const char* kName = "sharding_indexed";

Result<std::vector<std::uint64_t>> inner_shape(const CodecSpec& spec) {
  const Json shape = spec.configuration.value("chunk_shape", Json());
  if (!shape.is_array() || shape.size() != spec.layout.shape.size()) {
    return config_error(kName, "chunk_shape {} does not have the {} dimensions of the shard",
                        shape.dump(), spec.layout.shape.size());
  }
  std::vector<std::uint64_t> out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!shape[d].is_number_unsigned() || shape[d].get<std::uint64_t>() == 0 ||
        spec.layout.shape[d] % shape[d].get<std::uint64_t>() != 0) {
      return config_error(kName, "chunk_shape {} does not divide the shard shape {}", shape.dump(),
                          spec.layout.shape);
    }
    out.push_back(shape[d].get<std::uint64_t>());
  }
  return out;
}

}  // namespace

ShardingCodec::ShardingCodec(ChunkLayout shard_layout, CodecPipeline inner, CodecPipeline index,
                             std::uint64_t index_encoded_size, bool index_at_end)
    : shard_layout_(std::move(shard_layout)),
      inner_(std::move(inner)),
      index_(std::move(index)),
      index_encoded_size_(index_encoded_size),
      index_at_end_(index_at_end) {
  inner_chunk_count_ = 1;
  for (std::size_t d = 0; d < shard_layout_.shape.size(); ++d) {
    chunks_per_shard_.push_back(shard_layout_.shape[d] / inner_.layout().shape[d]);
    inner_chunk_count_ *= chunks_per_shard_.back();
  }
}

Result<AnyCodec> ShardingCodec::create(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(
      config_keys_known(spec, {"chunk_shape", "codecs", "index_codecs", "index_location"}));
  FLOE_ASSIGN_OR_RETURN(std::vector<std::uint64_t> chunk_shape, inner_shape(spec));
  FLOE_ASSIGN_OR_RETURN(std::string location,
                        config_string(spec, "index_location", std::string("end")));
  if (location != "start" && location != "end") {
    return config_error(kName, "index_location \"{}\" is neither \"start\" nor \"end\"", location);
  }
  ChunkLayout inner_layout{spec.layout.data_type, chunk_shape, spec.layout.fill_value};
  auto inner = CodecPipeline::create(spec.registry, spec.configuration.value("codecs", Json()),
                                     inner_layout);
  if (!inner.ok()) return std::move(inner).error().add_context("sharding_indexed inner codecs");

  ChunkLayout index_layout;
  FLOE_ASSIGN_OR_RETURN(index_layout.data_type, zarr::DataType::from_json(Json("uint64")));
  for (std::size_t d = 0; d < chunk_shape.size(); ++d) {
    index_layout.shape.push_back(spec.layout.shape[d] / chunk_shape[d]);
  }
  index_layout.shape.push_back(2);
  auto index = CodecPipeline::create(
      spec.registry, spec.configuration.value("index_codecs", Json()), index_layout);
  if (!index.ok()) return std::move(index).error().add_context("sharding_indexed index_codecs");
  const std::optional<std::uint64_t> index_size = index->encoded_size();
  if (!index_size) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: index_codecs {} do not have a fixed encoded size", kName,
                      index->describe());
  }
  return AnyCodec(std::make_shared<const ShardingCodec>(
      spec.layout, std::move(*inner), std::move(*index), *index_size, location == "end"));
}

Result<std::vector<std::pair<std::uint64_t, std::uint64_t>>> ShardingCodec::decode_index(
    std::span<const std::uint8_t> encoded_index) const {
  if (encoded_index.size() != index_encoded_size_) {
    return codec_error(kName, "the index holds {} bytes, expected {}", encoded_index.size(),
                       index_encoded_size_);
  }
  ScratchBuffer decoded(index_.layout().byte_size());
  if (auto status = index_.decode(encoded_index, decoded.span()); !status.ok()) {
    return std::move(status).error().add_context("sharding_indexed index");
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> entries(inner_chunk_count_);
  const std::uint8_t* at = decoded.span().data();
  for (std::uint64_t i = 0; i < inner_chunk_count_; ++i, at += 16) {
    const std::uint64_t offset = read_le64(at);
    const std::uint64_t nbytes = read_le64(at + 8);
    const bool empty = offset == kEmpty && nbytes == kEmpty;
    if (!empty && (offset == kEmpty || nbytes == kEmpty || offset + nbytes < offset)) {
      return codec_error(kName, "index entry {} (offset {}, nbytes {}) is invalid", i, offset,
                         nbytes);
    }
    entries[i] = {offset, nbytes};
  }
  return entries;
}

std::string ShardingCodec::describe() const {
  return fmt::format("{}(chunk_shape {}, index {}; {})", kName, inner_.layout().shape,
                     index_at_end_ ? "end" : "start", inner_.describe());
}

Status ShardingCodec::decode(std::span<const std::uint8_t> encoded,
                             std::span<std::uint8_t> out) const {
  if (encoded.size() < index_encoded_size_) {
    return codec_error(kName, "the shard holds {} bytes, less than its {}-byte index",
                       encoded.size(), index_encoded_size_);
  }
  const auto index_bytes =
      index_at_end_ ? encoded.last(index_encoded_size_) : encoded.first(index_encoded_size_);
  FLOE_ASSIGN_OR_RETURN(auto entries, decode_index(index_bytes));
  const std::size_t element_size = shard_layout_.data_type.size;
  const std::span<const std::uint64_t> inner_shape = inner_.layout().shape;
  const bool single_chunk = inner_chunk_count_ == 1;
  std::optional<ScratchBuffer> scratch;
  if (!single_chunk) scratch.emplace(inner_.layout().byte_size());
  std::vector<std::uint64_t> chunk_index(chunks_per_shard_.size(), 0);
  std::vector<std::uint64_t> origin(chunks_per_shard_.size(), 0);
  for (std::uint64_t i = 0; i < inner_chunk_count_; ++i) {
    for (std::size_t d = 0; d < origin.size(); ++d) origin[d] = chunk_index[d] * inner_shape[d];
    const auto [offset, nbytes] = entries[i];
    if (offset == kEmpty) {
      fill_block(out, shard_layout_.shape, origin, inner_shape, shard_layout_.fill_value,
                 element_size);
    } else {
      if (offset > encoded.size() || nbytes > encoded.size() - offset) {
        return codec_error(kName,
                           "inner chunk {} (offset {}, nbytes {}) lies outside the {}-byte "
                           "shard",
                           fmt::join(chunk_index, ","), offset, nbytes, encoded.size());
      }
      const auto inner_bytes = encoded.subspan(offset, nbytes);
      const std::span<std::uint8_t> target = single_chunk ? out : scratch->span();
      if (auto status = inner_.decode(inner_bytes, target); !status.ok()) {
        return std::move(status).error().add_context(
            fmt::format("inner chunk {} of the shard", fmt::join(chunk_index, ",")));
      }
      if (!single_chunk) {
        copy_block_into(scratch->span(), inner_shape, out, shard_layout_.shape, origin,
                        element_size);
      }
    }
    for (std::size_t d = chunk_index.size(); d-- > 0;) {
      if (++chunk_index[d] < chunks_per_shard_[d]) break;
      chunk_index[d] = 0;
    }
  }
  return {};
}

}  // namespace floe::codecs
