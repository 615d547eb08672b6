// Building a codec pipeline from zarr.json's "codecs" list and decoding chunks through it in
// reverse.
#include "floe/codecs/pipeline.h"

#include <fmt/ranges.h>

#include "floe/codecs/codec_support.h"
#include "floe/codecs/sharding_codec.h"

namespace floe::codecs {
namespace {

// Intermediate results of unknown size (a compressor after a compressor, a shard) may reach this
// many times the decoded chunk, plus some slack for headers and shard indexes.
constexpr std::uint64_t kIntermediateSizeFactor = 4;
constexpr std::uint64_t kIntermediateSizeSlack = std::uint64_t{1} << 20;

}  // namespace

Result<CodecPipeline> CodecPipeline::create(const CodecRegistry& registry, const Json& codecs,
                                            const ChunkLayout& layout) {
  if (!codecs.is_array() || codecs.empty()) {
    return make_error(ErrorCode::kCorrupt, "codecs {} is not a non-empty list", codecs.dump());
  }
  CodecPipeline pipeline;
  pipeline.layout_ = layout;
  ChunkLayout current = layout;
  const Json empty_configuration = Json::object();
  for (const Json& entry : codecs) {
    std::string name;
    const Json* configuration = &empty_configuration;
    if (entry.is_string()) {
      name = entry.get<std::string>();
    } else if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
      name = entry["name"].get<std::string>();
      if (entry.contains("configuration")) {
        if (!entry["configuration"].is_object()) {
          return make_error(ErrorCode::kCorrupt, "codec {}: configuration is not an object",
                            entry.dump());
        }
        configuration = &entry["configuration"];
      }
    } else {
      return make_error(ErrorCode::kCorrupt, "codec {} has no name", entry.dump());
    }
    const CodecFactory* factory = registry.find(name);
    if (factory == nullptr) {
      return make_error(ErrorCode::kUnsupported, "codec \"{}\" is not supported; floe reads {}",
                        name, fmt::join(registry.names(), ", "));
    }
    FLOE_ASSIGN_OR_RETURN(AnyCodec codec,
                          (*factory)(CodecSpec{name, *configuration, current, registry}));
    if (auto* array_to_array = std::get_if<0>(&codec)) {
      if (pipeline.array_to_bytes_) {
        return make_error(ErrorCode::kCorrupt,
                          "codecs: {} (array -> array) comes after the array -> bytes codec", name);
      }
      current = (*array_to_array)->encoded_layout();
      pipeline.array_to_array_.push_back(std::move(*array_to_array));
    } else if (auto* array_to_bytes = std::get_if<1>(&codec)) {
      if (pipeline.array_to_bytes_) {
        return make_error(ErrorCode::kCorrupt, "codecs: {} is a second array -> bytes codec", name);
      }
      pipeline.array_to_bytes_ = std::move(*array_to_bytes);
    } else {
      if (!pipeline.array_to_bytes_) {
        return make_error(ErrorCode::kCorrupt,
                          "codecs: {} (bytes -> bytes) comes before the array -> bytes codec",
                          name);
      }
      pipeline.bytes_to_bytes_.push_back(std::move(std::get<2>(codec)));
    }
  }
  if (!pipeline.array_to_bytes_) {
    return make_error(ErrorCode::kCorrupt,
                      "codecs {} have no array -> bytes codec (bytes or sharding_indexed)",
                      codecs.dump());
  }
  std::optional<std::uint64_t> size = pipeline.array_to_bytes_->encoded_size();
  for (const auto& codec : pipeline.bytes_to_bytes_) {
    pipeline.bytes_decoded_sizes_.push_back(size);
    if (size) size = codec->encoded_size(*size);
  }
  pipeline.max_intermediate_size_ =
      layout.byte_size() * kIntermediateSizeFactor + kIntermediateSizeSlack;
  return pipeline;
}

Status CodecPipeline::decode(std::span<const std::uint8_t> encoded,
                             std::span<std::uint8_t> out) const {
  if (out.size() != layout_.byte_size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "decode into {} bytes, but a chunk of this array decodes to {} bytes",
                      out.size(), layout_.byte_size());
  }
  // Decoded stages live in at most two scratch buffers at a time; `current` points at the latest.
  std::span<const std::uint8_t> current = encoded;
  std::optional<ScratchBuffer> scratch[2];
  std::vector<std::uint8_t> bounded[2];
  int next = 0;
  const bool bytes_are_output = array_to_array_.empty() && array_to_bytes_->is_identity();
  for (std::size_t i = bytes_to_bytes_.size(); i-- > 0;) {
    const BytesToBytesCodec& codec = *bytes_to_bytes_[i];
    if (auto stripped = codec.verify_and_strip(current)) {
      if (!stripped->ok()) return std::move(*stripped).error();
      current = **stripped;
      continue;
    }
    if (const auto& size = bytes_decoded_sizes_[i]) {
      std::span<std::uint8_t> target;
      if (i == 0 && bytes_are_output) {
        target = out;
      } else {
        scratch[next].emplace(*size);
        target = scratch[next]->span();
      }
      FLOE_RETURN_IF_ERROR(codec.decode_into(current, target));
      current = target;
    } else {
      FLOE_ASSIGN_OR_RETURN(bounded[next], codec.decode_bounded(current, max_intermediate_size_));
      current = bounded[next];
    }
    next ^= 1;
  }
  if (array_to_array_.empty()) return array_to_bytes_->decode(current, out);

  std::optional<ScratchBuffer> array_scratch[2];
  int array_next = 0;
  const ChunkLayout& innermost = array_to_array_.back()->encoded_layout();
  array_scratch[array_next].emplace(innermost.byte_size());
  FLOE_RETURN_IF_ERROR(array_to_bytes_->decode(current, array_scratch[array_next]->span()));
  std::span<const std::uint8_t> array = array_scratch[array_next]->span();
  for (std::size_t i = array_to_array_.size(); i-- > 0;) {
    std::span<std::uint8_t> target;
    if (i == 0) {
      target = out;
    } else {
      array_next ^= 1;
      array_scratch[array_next].emplace(array_to_array_[i - 1]->encoded_layout().byte_size());
      target = array_scratch[array_next]->span();
    }
    FLOE_RETURN_IF_ERROR(array_to_array_[i]->decode(array, target));
    array = target;
  }
  return {};
}

const ShardingCodec* CodecPipeline::sharding() const { return array_to_bytes_->as_sharding(); }

std::string CodecPipeline::describe() const {
  std::vector<std::string> parts;
  for (const auto& codec : array_to_array_) parts.push_back(codec->describe());
  parts.push_back(array_to_bytes_->describe());
  for (const auto& codec : bytes_to_bytes_) parts.push_back(codec->describe());
  return fmt::format("{}", fmt::join(parts, " | "));
}

std::optional<std::uint64_t> CodecPipeline::encoded_size() const {
  std::optional<std::uint64_t> size = array_to_bytes_->encoded_size();
  for (const auto& codec : bytes_to_bytes_) {
    if (size) size = codec->encoded_size(*size);
  }
  return size;
}

}  // namespace floe::codecs
