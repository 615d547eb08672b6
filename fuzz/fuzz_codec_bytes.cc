// Fuzz target: the bytes codec in both byte orders (codec_fuzz_input.h: first byte picks the
// pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}])", "int32", {8, 8}},
      {R"([{"name": "bytes", "configuration": {"endian": "big"}}])", "float64", {5, 3}},
      {R"([{"name": "bytes"}])", "uint8", {7}},
      {R"([{"name": "bytes", "configuration": {"endian": "big"}}])", "complex64", {4}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
