// Fuzz target: NOAA wgrib2 .idx inventories; what parses must have ordered offsets, lengths inside
// the file, keys without trailing colons and unique (key, occurrence) pairs, and failures must be
// kCorrupt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "floe/formats/grib2/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  using namespace floe::formats::grib2;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The same text with an unknown size and with a GRIB file size taken from the input's length.
  const uint64_t grib_size = static_cast<uint64_t>(size) * 997;
  for (std::optional<uint64_t> file_size :
       {std::optional<uint64_t>(), std::optional<uint64_t>(grib_size)}) {
    auto entries = parse_noaa_idx(text, "mem://fuzz.idx", file_size);
    if (!entries.ok()) {
      if (entries.error().code() != ErrorCode::kCorrupt) std::abort();
      continue;
    }
    std::set<std::pair<std::string, uint32_t>> keys;
    for (size_t i = 0; i < entries->size(); ++i) {
      const NoaaIdxEntry& entry = (*entries)[i];
      if (entry.message == 0) std::abort();
      if (!entry.key.empty() && entry.key.back() == ':') std::abort();
      if (!keys.emplace(entry.key, entry.key_occurrence).second) std::abort();
      if (i > 0 && entry.offset < (*entries)[i - 1].offset) std::abort();
      if (file_size) {
        if (entry.extends_to_end_of_file && !entry.length) std::abort();
        if (entry.length &&
            (entry.offset > *file_size || *entry.length > *file_size - entry.offset)) {
          std::abort();
        }
      }
      if (entry.length && *entry.length == 0) std::abort();
      if (entry.forecast.kind == ForecastTime::Kind::kInterval &&
          entry.forecast.statistic.empty()) {
        std::abort();
      }
      if (entry.level.value2 && !entry.level.value) std::abort();
    }
  }
  // The field parsers on the raw bytes.
  (void)parse_wgrib2_level(text);
  (void)parse_wgrib2_forecast_time(text);
  (void)parse_wgrib2_ensemble(text);
  (void)parse_wgrib2_unknown_parameter(text);
  if (auto seconds = parse_compact_date(text)) {
    if (parse_compact_date(std::string(text.substr(0, 8))) > *seconds) std::abort();
  }
  return 0;
}
