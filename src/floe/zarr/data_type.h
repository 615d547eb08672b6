// Zarr v3 data types: what zarr.json names, how many bytes an element takes, and fill values as
// element bytes.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "floe/core/result.h"

namespace floe::zarr {

using Json = nlohmann::json;

enum class TypeKind {
  kBool,         // "bool", 1 byte
  kInt,          // "int8" .. "int64"
  kUInt,         // "uint8" .. "uint64"
  kFloat,        // "float16", "float32", "float64"
  kComplex,      // "complex64", "complex128" (two floats of size/2)
  kRawBytes,     // "r8", "r16", ...: opaque bytes
  kFixedUtf32,   // {"name": "fixed_length_utf32", ...}: size/4 code points, numpy "<U"
  kFixedBytes,   // {"name": "null_terminated_bytes"} and friends: numpy "|S"
  kDateTime64,   // {"name": "numpy.datetime64", ...}: int64 counts of a unit
  kTimeDelta64,  // {"name": "numpy.timedelta64", ...}
};

// One element as it sits in memory after decoding: little-endian, C order.
struct DataType {
  TypeKind kind = TypeKind::kFloat;
  std::uint32_t size = 8;   // bytes per element
  std::string unit;         // datetime64/timedelta64: "s", "ms", "ns", ...
  std::uint32_t scale = 1;  // datetime64/timedelta64 scale factor
  Json json;                // the "data_type" value as written, for messages and for writing back

  // Parses the "data_type" member of a Zarr v3 array's zarr.json.
  static Result<DataType> from_json(const Json& data_type);
  // "float32", "uint8", "r16", "fixed_length_utf32[4]" ... for messages and `floe info`.
  std::string name() const;
  // The numpy array-protocol string: "<f4", "|b1", "<c8", "|V2", "<U4", "|S10", "<M8[s]".
  std::string numpy_descr() const;
  bool is_floating() const { return kind == TypeKind::kFloat || kind == TypeKind::kComplex; }
  bool is_numeric() const;  // bool, ints, floats, complex
};

// The fill value of zarr.json decoded to `type.size` little-endian bytes: numbers, true/false,
// "NaN", "Infinity", "-Infinity", hex forms ("0x7fc00000"), [re, im] pairs, base64 for raw/fixed
// bytes, strings for fixed_length_utf32. null gives zeros. Errors name the value and the type.
Result<std::vector<std::uint8_t>> fill_value_bytes(const DataType& type, const Json& fill_value);

// An IEEE binary16 element ("float16") widened to float: exact for every value, NaN payloads kept. Inline
// because decoders call it per element.
inline float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0 && mantissa != 0) {  // subnormal: mantissa * 2^-24, exact in float
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  std::uint32_t bits = sign;
  if (exponent == 0x1f) bits |= 0x7f800000u | (mantissa << 13);
  else if (exponent != 0) bits |= ((exponent + 112) << 23) | (mantissa << 13);
  return std::bit_cast<float>(bits);
}

}  // namespace floe::zarr
