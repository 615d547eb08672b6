// Shared by the codec fuzz targets: the first input byte picks one of the target's pipelines, the
// rest is the stored chunk. Decoding must succeed or fail as kCorrupt/kUnsupported, never crash or
// overrun.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "floe/codecs/pipeline.h"
#include "floe/codecs/sharding_codec.h"

namespace floe::codecs::fuzz {

struct FuzzPipeline {
  const char* codecs;
  const char* data_type;
  std::vector<std::uint64_t> shape;
};

inline std::vector<CodecPipeline> make_pipelines(const std::vector<FuzzPipeline>& specs) {
  CodecRegistry registry;
  register_builtin_codecs(registry);
  std::vector<CodecPipeline> pipelines;
  for (const FuzzPipeline& spec : specs) {
    auto type = zarr::DataType::from_json(Json(spec.data_type));
    if (!type.ok()) std::abort();
    auto pipeline = CodecPipeline::create(registry, Json::parse(spec.codecs),
                                          ChunkLayout{*type, spec.shape, {}});
    if (!pipeline.ok()) std::abort();  // the target's own pipelines must build
    pipelines.push_back(std::move(*pipeline));
  }
  return pipelines;
}

inline void expect_clean_failure(const Status& status) {
  if (status.ok()) return;
  const ErrorCode code = status.error().code();
  if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported) std::abort();
}

inline int decode_one(const std::vector<CodecPipeline>& pipelines, const uint8_t* data,
                      size_t size) {
  if (size == 0) return 0;
  const CodecPipeline& pipeline = pipelines[data[0] % pipelines.size()];
  // The input is copied to its own allocation so that reads past its end are caught by ASan.
  const std::vector<std::uint8_t> encoded(data + 1, data + size);
  std::vector<std::uint8_t> out(pipeline.layout().byte_size());
  expect_clean_failure(pipeline.decode(encoded, out));
  if (const ShardingCodec* sharding = pipeline.sharding()) {
    const std::size_t index_size = sharding->index_encoded_size();
    if (encoded.size() >= index_size) {
      auto entries = sharding->decode_index(std::span(encoded).last(index_size));
      if (!entries.ok()) {
        expect_clean_failure(std::move(entries).error());
      } else if (entries->size() != sharding->inner_chunk_count()) {
        std::abort();
      }
    }
  }
  return 0;
}

}  // namespace floe::codecs::fuzz
