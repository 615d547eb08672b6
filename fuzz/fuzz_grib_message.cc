// Fuzz target: the GRIB2 message parser alone — sections, templates, multi-field messages, bitmap
// reuse and header prefixes (grib_fuzz_input.h; seeds from make_grib_seeds.sh).
#include "grib_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return floe::codecs::grib::fuzz::fuzz_message(data, size, false);
}
