// Fuzz target: the read layer's text parsers and plans — CF time units and dates, --isel/--sel
// specs against fixed coordinates, CF decoding plans from attribute JSON. Input lines: units,
// calendar, selection argument, attributes JSON.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "floe/read/cf_decode.h"
#include "floe/read/selection.h"
#include "floe/virtual/cf_time.h"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (out.size() < 3) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) break;
    out.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  out.push_back(text);
  while (out.size() < 4) out.emplace_back();
  return out;
}

void check_selection(const floe::Result<floe::read::DimSelection>& selection,
                     std::uint64_t length) {
  if (!selection.ok()) return;
  check(!selection->ranges.empty(), "a selection keeps something");
  for (const auto& range : selection->ranges) {
    check(range.start < range.stop && range.stop <= length, "ranges inside the dimension");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::read;
  using namespace floe::virt;
  const auto parts = lines(std::string_view(reinterpret_cast<const char*>(data), size));

  std::optional<CfTimeUnits> units;
  if (auto parsed = parse_time_units(parts[0], parts[1]); parsed.ok()) units = *parsed;
  if (units) {
    for (double value : {0.0, 1.0, -1.0, 0.5, 12345.678, -1e7}) {
      auto date = decode_time(*units, value);
      if (!date.ok()) continue;
      check(check_date(*date, units->calendar).ok(), "decoded dates exist in their calendar");
      auto again = encode_time(*units, *date);
      const bool whole_units =
          units->nanoseconds_per_unit % 1000 == 0 && value == static_cast<int>(value);
      if (whole_units) check(again.ok() && *again == value, "whole units round-trip");
    }
  }
  if (auto date = parse_datetime(parts[2]); date.ok()) {
    auto again = parse_datetime(format_datetime(*date));
    check(again.ok() && *again == *date, "formatted dates parse back");
  }

  auto argument = parse_selection_argument(parts[2]);
  const std::string dim = argument.ok() ? argument->dim : "x";
  const std::string spec = argument.ok() ? argument->spec : std::string(parts[2]);
  check_selection(select_by_index(dim, spec, 100), 100);
  std::vector<double> ascending(720);
  for (std::size_t i = 0; i < ascending.size(); ++i) ascending[i] = -180.0 + 0.5 * i;
  const std::vector<double> descending(ascending.rbegin(), ascending.rend());
  CoordinateInfo plain;
  CoordinateInfo longitude;
  longitude.is_longitude = true;
  for (const auto* info : {&plain, &longitude}) {
    check_selection(select_by_value(dim, spec, ascending, *info), ascending.size());
    check_selection(select_by_value(dim, spec, descending, *info), descending.size());
  }
  if (units) {
    CoordinateInfo time;
    time.time_units = *units;
    std::vector<double> steps(50);
    for (std::size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i) * 6;
    check_selection(select_by_value(dim, spec, steps, time), steps.size());
  }

  const auto attributes = nlohmann::json::parse(parts[3], nullptr, false);
  if (!attributes.is_discarded()) {
    for (const char* name : {"int16", "uint8", "float32", "float16", "int64"}) {
      auto type = floe::zarr::DataType::from_json(nlohmann::json(name));
      if (!type.ok()) continue;
      const std::vector<std::uint8_t> fill(type->size, 0);
      auto plan = plan_cf_decoding(*type, attributes, fill);
      if (!plan.ok()) continue;
      std::vector<std::uint8_t> raw(type->size * 37);
      for (std::size_t i = 0; i < raw.size(); ++i)
        raw[i] = static_cast<std::uint8_t>(i * 67 + size);
      std::vector<std::uint8_t> out(plan->output_type().size * 37);
      plan->decode(raw, out);
      (void)plan->decoded_attributes(attributes);
    }
  }
  return 0;
}
