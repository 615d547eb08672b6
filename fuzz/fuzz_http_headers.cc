// Fuzz target: Content-Range and HTTP-date parsing, and range-response validation on odd headers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "floe/io/http_exchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto range = floe::io::parse_content_range(text);
  if (range && range->last < range->first) std::abort();
  (void)floe::io::parse_http_date(text);
  floe::io::HttpOutcome outcome;
  outcome.response.status = 206;
  outcome.response.headers = {{"content-range", std::string(text)}};
  outcome.response.body_bytes = size;
  (void)floe::io::check_range_response(outcome, size % 7, size, "fuzz");
  return 0;
}
