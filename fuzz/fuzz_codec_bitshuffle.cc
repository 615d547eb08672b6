// Fuzz target: the HDF5 bitshuffle framing: none, lz4, zstd (codec_fuzz_input.h: first byte picks
// the pipeline).
#include "codec_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto pipelines = floe::codecs::fuzz::make_pipelines({
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "floe.hdf5_bitshuffle", "configuration": {"elementsize": 4, "compression": "none"}}])",
       "int32",
       {257}},
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "floe.hdf5_bitshuffle", "configuration": {"elementsize": 4, "compression": "lz4"}}])",
       "int32",
       {257}},
      {R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "floe.hdf5_bitshuffle", "configuration": {"elementsize": 4, "compression": "zstd"}}])",
       "int32",
       {257}},
  });
  return floe::codecs::fuzz::decode_one(pipelines, data, size);
}
