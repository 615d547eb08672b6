// Fuzz target: sharding_indexed shards and their index, then the unknown-size path of zstd after a
// shard (codec_fuzz_input.h: first byte picks the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [4, 4], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd"}], "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}], "index_location": "end"}}])",
       "int16",
       {8, 8}},
      {R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [4, 4], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "index_location": "start"}}])",
       "int16",
       {8, 8}},
      {R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [4, 2], "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}], "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}, {"name": "zstd"}])",
       "uint32",
       {8, 8}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
