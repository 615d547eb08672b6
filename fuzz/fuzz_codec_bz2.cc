// Fuzz target: numcodecs.bz2 streams (codec_fuzz_input.h: first byte picks the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "numcodecs.bz2"}])",
       "int32",
       {256}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
