// Shared by the GRIB fuzz targets: the input is one message of either edition. Every field is
// described (packed_field) and, when `decode` is set and its grid has at most kMaxPoints points,
// decoded north-up to float32 and in gribberish's layout to float64. Failures must be kCorrupt,
// kUnsupported or kInvalidArgument (a header prefix, the other edition); never a crash or overrun.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "floe/codecs/grib2/decode.h"
#include "floe/codecs/grib2/grib1_message.h"
#include "floe/codecs/grib2/message.h"

namespace floe::codecs::grib::fuzz {

inline constexpr std::uint64_t kMaxPoints = std::uint64_t{1} << 18;
inline constexpr std::size_t kMaxFields = 8;

inline void expect_clean_failure(const Error& error) {
  const ErrorCode code = error.code();
  if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported &&
      code != ErrorCode::kInvalidArgument) {
    std::abort();
  }
}

inline void decode_checked(const PackedField& field) {
  if (field.points > kMaxPoints) return;
  std::vector<float> north_up(field.points);
  const Status status = decode_field(field, std::span<float>(north_up));
  if (!status.ok()) {
    expect_clean_failure(status.error());
    return;
  }
  std::vector<double> gribberish(field.points);
  const Status again =
      decode_field(field, std::span<double>(gribberish), DecodeOptions{true, true, true});
  if (!again.ok()) std::abort();  // the same field cannot fail in another layout
}

inline int fuzz_message(const std::uint8_t* data, std::size_t size, bool decode) {
  // The input gets its own allocation so that reads past its end are caught by ASan.
  const std::vector<std::uint8_t> bytes(data, data + size);
  auto indicator = read_indicator(bytes);
  if (!indicator.ok()) {
    expect_clean_failure(indicator.error());
    return 0;
  }
  std::vector<PackedField> fields;
  if (indicator->edition == 1) {
    auto message = Grib1Message::parse(bytes);
    if (!message.ok()) {
      expect_clean_failure(message.error());
      return 0;
    }
    auto field = message->packed_field();
    if (!field.ok()) {
      expect_clean_failure(field.error());
      return 0;
    }
    fields.push_back(*field);
  } else {
    auto prefix = Grib2Message::parse_prefix(std::span(bytes).first(bytes.size() / 2));
    if (!prefix.ok()) expect_clean_failure(prefix.error());
    auto message = Grib2Message::parse(bytes);
    if (!message.ok()) {
      expect_clean_failure(message.error());
      return 0;
    }
    for (std::size_t k = 0; k < message->fields().size() && k < kMaxFields; ++k) {
      auto field = message->packed_field(k);
      if (!field.ok()) {
        expect_clean_failure(field.error());
        continue;
      }
      fields.push_back(*field);
    }
  }
  if (decode) {
    for (const PackedField& field : fields) decode_checked(field);
  }
  return 0;
}

}  // namespace floe::codecs::grib::fuzz
