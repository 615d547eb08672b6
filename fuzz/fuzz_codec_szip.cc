// Fuzz target: the HDF5 szip framing (libaec) (codec_fuzz_input.h: first byte picks the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "numcodecs.imagecodecs_szip", "configuration": {"options_mask": 141, "pixels_per_block": 32, "bits_per_pixel": 32, "pixels_per_scanline": 256, "header": true}}])",
       "int32",
       {256}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
