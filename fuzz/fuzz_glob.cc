// Fuzz target: glob matching; the input is split into pattern and key at the first newline.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "floe/io/glob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  std::string_view pattern = text.substr(0, newline);
  std::string_view key = newline == std::string_view::npos ? text : text.substr(newline + 1);
  bool matched = floe::io::glob_match(pattern, key);
  // A pattern without wildcards matches exactly itself.
  if (!floe::io::has_glob_characters(pattern) && matched != (pattern == key)) std::abort();
  return 0;
}
