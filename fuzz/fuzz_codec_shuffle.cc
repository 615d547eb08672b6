// Fuzz target: numcodecs.shuffle, whole elements and a leftover (codec_fuzz_input.h: first byte
// picks the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}}])",
       "int32",
       {100}},
      {R"([{"name": "bytes"}, {"name": "numcodecs.shuffle", "configuration": {"elementsize": 3}}])",
       "uint8",
       {100}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
