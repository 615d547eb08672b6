// Fuzz target: ECMWF open-data .index JSON lines; what parses must hold non-overlapping non-empty
// ranges inside the file and parsed steps in order, and failures must be kCorrupt.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "floe/formats/grib2/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  using namespace floe::formats::grib2;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const uint64_t grib_size = static_cast<uint64_t>(size) * 997;
  for (std::optional<uint64_t> file_size :
       {std::optional<uint64_t>(), std::optional<uint64_t>(grib_size)}) {
    auto entries = parse_ecmwf_index(text, "mem://fuzz.index", file_size);
    if (!entries.ok()) {
      if (entries.error().code() != ErrorCode::kCorrupt) std::abort();
      continue;
    }
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const EcmwfIndexEntry& entry : *entries) {
      if (entry.length == 0 || entry.step.end_seconds < entry.step.start_seconds) std::abort();
      if (file_size && (entry.offset > *file_size || entry.length > *file_size - entry.offset))
        std::abort();
      if (entry.param.empty() && entry.keys.find("param") == entry.keys.end()) std::abort();
      (void)entry.key();
      (void)entry.member();
      ranges.emplace_back(entry.offset, entry.length);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      if (ranges[i - 1].first + ranges[i - 1].second > ranges[i].first) std::abort();
    }
  }
  (void)parse_ecmwf_step(text);
  (void)detect_sidecar_format(text);
  return 0;
}
