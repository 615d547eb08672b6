// Fuzz target: transpose before big-endian bytes (codec_fuzz_input.h: first byte picks the
// pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "transpose", "configuration": {"order": [2, 0, 1]}}, {"name": "bytes", "configuration": {"endian": "big"}}])",
       "int16",
       {3, 4, 5}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
