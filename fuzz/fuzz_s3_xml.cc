// Fuzz target: the XML reader and the S3 document parsers (listings, errors, multipart).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "floe/io/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)floe::io::parse_xml(text);
  (void)floe::io::parse_list_objects_v2(text);
  (void)floe::io::parse_s3_error(text);
  (void)floe::io::parse_initiate_multipart_upload(text);
  (void)floe::io::complete_multipart_error(text);
  return 0;
}
