// Big-endian integers, GRIB's sign-and-magnitude and IBM floating-point numbers, and reading bit
// fields of up to 32 bits from a bounded buffer with one 64-bit load each.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>

namespace floe::codecs::grib {

static_assert(std::endian::native == std::endian::little,
              "the GRIB decoders assume a little-endian host");

inline std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((std::uint16_t{p[0]} << 8) | p[1]);
}
inline std::uint32_t be24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline std::uint64_t be64(const std::uint8_t* p) {
  return (std::uint64_t{be32(p)} << 32) | be32(p + 4);
}
// Eight bytes as one big-endian word; the caller guarantees they are readable.
inline std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return __builtin_bswap64(word);
}

// GRIB negative numbers set the top bit and keep the magnitude in the others (GRIB2 regulation
// 92.1.5; GRIB1 the same).
inline std::int32_t sign_magnitude(std::uint32_t raw, unsigned bits) {
  const std::uint32_t sign = std::uint32_t{1} << (bits - 1);
  const auto magnitude = static_cast<std::int32_t>(raw & (sign - 1));
  return (raw & sign) != 0 ? -magnitude : magnitude;
}
inline std::int16_t signed16(const std::uint8_t* p) {
  return static_cast<std::int16_t>(sign_magnitude(be16(p), 16));
}
inline std::int32_t signed24(const std::uint8_t* p) { return sign_magnitude(be24(p), 24); }
inline std::int32_t signed32(const std::uint8_t* p) { return sign_magnitude(be32(p), 32); }
inline std::int8_t signed8(std::uint8_t raw) {
  return static_cast<std::int8_t>(sign_magnitude(raw, 8));
}

// An IEEE 754 single (GRIB2 reference values, template 5.4).
inline float ieee32(const std::uint8_t* p) { return std::bit_cast<float>(be32(p)); }

// An IBM System/360 single: sign, 7-bit base-16 exponent excess 64, 24-bit fraction (GRIB1
// reference values). Exact in a double.
inline double ibm32(const std::uint8_t* p) {
  const std::uint32_t raw = be32(p);
  const std::uint32_t fraction = raw & 0xFFFFFF;
  if (fraction == 0) return 0.0;
  const int exponent = static_cast<int>((raw >> 24) & 0x7F) - 64;
  const double magnitude = std::ldexp(static_cast<double>(fraction), 4 * exponent - 24);
  return (raw & 0x80000000u) != 0 ? -magnitude : magnitude;
}

// 10^-scale as ecCodes computes it (codes_power: repeated division or multiplication), so that
// values scaled here round to the same doubles as ecCodes'.
inline double decimal_factor(int decimal_scale) {
  double factor = 1.0;
  for (int n = decimal_scale; n > 0; --n) factor /= 10.0;
  for (int n = decimal_scale; n < 0; ++n) factor *= 10.0;
  return factor;
}

// Reads big-endian bit fields of 0..32 bits from a buffer; reads past the end give zero bits and
// set overrun() (callers check sizes beforehand; this only keeps a corrupt count harmless).
class BitReader {
 public:
  BitReader(std::span<const std::uint8_t> bytes, std::uint64_t bit_position = 0)
      : data_(bytes.data()), size_(bytes.size()), position_(bit_position) {}

  std::uint32_t read(unsigned bits) {
    if (bits == 0) return 0;
    const std::uint64_t byte = position_ >> 3;
    const unsigned shift = static_cast<unsigned>(position_ & 7);
    position_ += bits;
    std::uint64_t word;
    if (byte + 8 <= size_) {
      word = load_be64(data_ + byte);
    } else {
      word = 0;
      for (std::uint64_t k = 0; k < 8; ++k) {
        word <<= 8;
        if (byte + k < size_) word |= data_[byte + k];
      }
      if (position_ > size_ * 8) overrun_ = true;
    }
    return static_cast<std::uint32_t>((word << shift) >> (64 - bits));
  }
  void align_to_byte() { position_ = (position_ + 7) & ~std::uint64_t{7}; }
  std::uint64_t position() const { return position_; }
  bool overrun() const { return overrun_; }

 private:
  const std::uint8_t* data_;
  std::uint64_t size_;
  std::uint64_t position_;
  bool overrun_ = false;
};

}  // namespace floe::codecs::grib
