// Fuzz target: crc32c over bytes (codec_fuzz_input.h: first byte picks the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes"}, {"name": "crc32c"}])", "uint8", {64}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
