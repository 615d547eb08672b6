// Shared by the GRIB tests: decoding a message with floe and comparing with ecCodes' values.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "eccodes_oracle.h"
#include "floe/codecs/grib2/decode.h"
#include "floe/codecs/grib2/grib1_message.h"
#include "floe/codecs/grib2/message.h"

namespace floe::grib_test {

// floe's PackedField for field `index` of a GRIB1 or GRIB2 message (the spans point into
// `message`).
inline Result<codecs::grib::PackedField> packed_field(const MessageBytes& message,
                                                      std::size_t index = 0) {
  if (message.size() > 7 && message[7] == 1) {
    auto parsed = codecs::grib::Grib1Message::parse(message);
    if (!parsed.ok()) return std::move(parsed).error();
    return parsed->packed_field();
  }
  auto parsed = codecs::grib::Grib2Message::parse(message);
  if (!parsed.ok()) return std::move(parsed).error();
  return parsed->packed_field(index);
}

// Decodes field `index` with floe; an error fails the test and returns an empty vector.
template <typename T = float>
std::vector<T> floe_decode(const MessageBytes& message, std::size_t index = 0,
                           const codecs::grib::DecodeOptions& options = {}) {
  auto field = packed_field(message, index);
  EXPECT_TRUE(field.ok()) << (field.ok() ? "" : field.error().to_string());
  if (!field.ok()) return {};
  std::vector<T> out(field->points);
  const Status status = codecs::grib::decode_field(*field, std::span<T>(out), options);
  EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().to_string());
  if (!status.ok()) return {};
  return out;
}

// Every value equal to ecCodes' rounded to float (or its neighbour: the last bit may round
// differently), NaN exactly where ecCodes reports missing.
inline void expect_same_values(const std::vector<float>& actual,
                               const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t mismatches = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const auto want = static_cast<float>(expected[i]);
    const bool same = std::isnan(want)
                          ? std::isnan(actual[i])
                          : (actual[i] == want || std::nextafter(want, actual[i]) == actual[i]);
    if (!same && mismatches++ == 0) first = i;
  }
  EXPECT_EQ(mismatches, 0u) << what << ": first at " << first << ": floe " << actual[first]
                            << ", ecCodes " << expected[first];
}

// The double decode: within a few ulps of ecCodes' double.
inline void expect_same_doubles(const std::vector<double>& actual,
                                const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  std::size_t mismatches = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const bool same = std::isnan(expected[i])
                          ? std::isnan(actual[i])
                          : std::abs(actual[i] - expected[i]) <= 1e-12 * std::abs(expected[i]);
    if (!same && mismatches++ == 0) first = i;
  }
  EXPECT_EQ(mismatches, 0u) << what << ": first at " << first << ": floe " << actual[first]
                            << ", ecCodes " << expected[first];
}

// Decodes every field of `message` with floe (north-up) and compares with ecCodes.
inline void expect_message_matches_eccodes(const MessageBytes& message, const std::string& what) {
  const std::vector<OracleField> fields = eccodes_fields(message);
  ASSERT_FALSE(fields.empty()) << what;
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const OracleField& field = fields[k];
    const std::string label = what + " field " + std::to_string(k) + " (" + field.packing_type +
                              ", scanning " + std::to_string(field.scanning_mode) + ")";
    const std::vector<double> expected =
        field.ni > 0 && field.nj > 0 &&
                field.ni * field.nj == static_cast<long>(field.values.size())
            ? north_up(field.values, field.ni, field.nj, field.scanning_mode)
            : field.values;
    expect_same_values(floe_decode(message, k), expected, label);
  }
}

}  // namespace floe::grib_test
