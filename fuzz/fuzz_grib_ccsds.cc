// Fuzz target: decoding GRIB2 CCSDS packing (5.42, libaec) (grib_fuzz_input.h; seeds from
// make_grib_seeds.sh).
#include "grib_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return floe::codecs::grib::fuzz::fuzz_message(data, size, true);
}
