// Internal to the GRIB decoders: a ValueSource yields a field's scaled packed values in storage
// order, range by range, so that the layout step can write rows straight into the output without a
// field-sized scratch array; one factory per data representation (packing_*.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

#include "floe/codecs/grib2/bits.h"
#include "floe/codecs/grib2/packed_field.h"
#include "floe/core/result.h"

namespace floe::codecs::grib {

template <typename T>
class ValueSource {
 public:
  virtual ~ValueSource() = default;
  // Writes packed values [first, first + count) to `out`; the range lies within value_count.
  // Unless the source has random_access(), decoding asks for consecutive ranges from 0 upward.
  virtual void emit(std::uint64_t first, std::uint64_t count, T* out) = 0;
  // True when ranges may be asked for in any order (the layout step then takes rows in the order
  // they lie in the output).
  virtual bool random_access() const { return false; }
};

template <typename T>
using ValueSourcePtr = std::unique_ptr<ValueSource<T>>;

// Y = (X * 2^E + R) * 10^-D, evaluated in this order in double precision as ecCodes does.
struct Scaling {
  double reference = 0;
  double binary = 1;
  double decimal = 1;

  static Scaling of(const PackedField& field) {
    return {field.reference_value, std::ldexp(1.0, field.binary_scale),
            decimal_factor(field.decimal_scale)};
  }
  double apply(double code) const { return (code * binary + reference) * decimal; }
};

// An array of decoded integer codes (JPEG2000, PNG, CCSDS), scaled on emit.
template <typename T, typename Code>
class CodeSource final : public ValueSource<T> {
 public:
  CodeSource(std::unique_ptr<Code[]> codes, Scaling scaling)
      : codes_(std::move(codes)), scaling_(scaling) {}

  bool random_access() const override { return true; }
  void emit(std::uint64_t first, std::uint64_t count, T* out) override {
    const Code* codes = codes_.get() + first;
    const double binary = scaling_.binary;
    const double reference = scaling_.reference;
    const double decimal = scaling_.decimal;
    for (std::uint64_t i = 0; i < count; ++i) {
      out[i] = static_cast<T>((static_cast<double>(codes[i]) * binary + reference) * decimal);
    }
  }

 private:
  std::unique_ptr<Code[]> codes_;
  Scaling scaling_;
};

// The reference value everywhere: simple, JPEG2000, PNG and CCSDS packing with 0 bits per value
// (ecCodes returns R itself, without the decimal scale factor; so does gribberish). Complex packing
// decodes its groups even then, as ecCodes does.
template <typename T>
class ConstantSource final : public ValueSource<T> {
 public:
  explicit ConstantSource(double value) : value_(static_cast<T>(value)) {}
  bool random_access() const override { return true; }
  void emit(std::uint64_t, std::uint64_t count, T* out) override {
    std::fill(out, out + count, value_);
  }

 private:
  T value_;
};

template <typename Code>
std::unique_ptr<Code[]> allocate_codes(std::uint64_t count) {
  return std::make_unique_for_overwrite<Code[]>(count == 0 ? 1 : count);
}

// Factories, one per data representation. They check the data section against the packing
// parameters and decode what cannot be read at random (complex packing, JPEG2000, PNG, CCSDS).
template <typename T>
Result<ValueSourcePtr<T>> make_simple_source(const PackedField& field);
template <typename T>
Result<ValueSourcePtr<T>> make_ieee_source(const PackedField& field);
template <typename T>
Result<ValueSourcePtr<T>> make_complex_source(const PackedField& field);
template <typename T>
Result<ValueSourcePtr<T>> make_jpeg2000_source(const PackedField& field);
template <typename T>
Result<ValueSourcePtr<T>> make_png_source(const PackedField& field);
template <typename T>
Result<ValueSourcePtr<T>> make_ccsds_source(const PackedField& field);

template <typename... Args>
Error field_error(const PackedField& field, ErrorCode code, fmt::format_string<Args...> format,
                  Args&&... args) {
  return Error(
      code, fmt::format("{}: {}", field.origin, fmt::format(format, std::forward<Args>(args)...)));
}

}  // namespace floe::codecs::grib
