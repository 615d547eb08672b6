// Fuzz target: the AWS credentials/config INI parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "floe/io/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)floe::io::parse_credentials_file(text, "default", "fuzz");
  (void)floe::io::parse_credentials_file(text, "writer", "fuzz");
  (void)floe::io::parse_config_region(text, "writer");
  return 0;
}
