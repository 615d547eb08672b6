// Fuzz target: URL parsing and percent-decoding; a parsed URL must print and re-parse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "floe/io/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto url = floe::io::parse_url(text);
  if (url.ok()) {
    auto again = floe::io::parse_url(url->to_string());
    if (!again.ok() && !url->to_string().empty()) {
      std::fprintf(stderr, "re-parse failed: [%s] -> [%s]\n", std::string(text).c_str(), url->to_string().c_str());
      std::abort();
    }
  }
  auto decoded = floe::io::uri_decode(text);
  if (decoded.ok()) {
    auto round = floe::io::uri_decode(floe::io::uri_encode(*decoded, false));
    if (!round.ok() || *round != *decoded) {
      std::fprintf(stderr, "decode round trip failed\n");
      std::abort();
    }
  }
  return 0;
}
