// Simple packing (GRIB2 template 5.0, GRIB1 grid-point simple packing) read at random from the data
// section with one 64-bit load per value and shifts fixed at compile time per bit width, and IEEE
// floating point (template 5.4).
#include <array>
#include <utility>

#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

// Value k of a block of 8 starting on a byte boundary: its bits begin at bit k * kBits.
template <unsigned kBits, unsigned kIndex>
inline std::uint32_t extract(const std::uint8_t* block) {
  constexpr unsigned kBit = kIndex * kBits;
  return static_cast<std::uint32_t>((load_be64(block + kBit / 8) << (kBit % 8)) >> (64 - kBits));
}

template <unsigned kBits, std::size_t... kIndex>
inline void unpack8(const std::uint8_t* block, std::uint32_t* out, std::index_sequence<kIndex...>) {
  ((out[kIndex] = extract<kBits, kIndex>(block)), ...);
}

template <typename T, unsigned kBits>
class SimpleSource final : public ValueSource<T> {
 public:
  SimpleSource(std::span<const std::uint8_t> data, Scaling scaling)
      : data_(data), scaling_(scaling) {}

  bool random_access() const override { return true; }
  void emit(std::uint64_t first, std::uint64_t count, T* out) override {
    const std::uint8_t* data = data_.data();
    const std::uint64_t size = data_.size();
    const std::uint64_t end = first + count;
    // Values whose 8-byte load stays inside the data.
    const std::uint64_t loadable = size >= 8 ? ((size - 8) * 8) / kBits + 1 : 0;
    const std::uint64_t fast_end = std::min(end, loadable);
    std::uint64_t i = first;
    for (; i < fast_end && (i % 8) != 0; ++i) *out++ = scale(read_fast(data, i));
    // Blocks of 8 values start on byte boundaries; unpack a run of blocks, then scale it.
    constexpr std::uint64_t kRun = 256;
    std::array<std::uint32_t, kRun> codes;
    while (i + 8 <= fast_end) {
      const std::uint64_t run = std::min<std::uint64_t>(kRun, (fast_end - i) & ~std::uint64_t{7});
      for (std::uint64_t b = 0; b < run; b += 8) {
        unpack8<kBits>(data + ((i + b) * kBits) / 8, codes.data() + b,
                       std::make_index_sequence<8>());
      }
      for (std::uint64_t k = 0; k < run; ++k) out[k] = scale(codes[k]);
      out += run;
      i += run;
    }
    for (; i < fast_end; ++i) *out++ = scale(read_fast(data, i));
    if (i < end) {
      BitReader reader(data_, i * kBits);
      for (; i < end; ++i) *out++ = scale(reader.read(kBits));
    }
  }

 private:
  static std::uint32_t read_fast(const std::uint8_t* data, std::uint64_t i) {
    const std::uint64_t bit = i * kBits;
    return static_cast<std::uint32_t>((load_be64(data + bit / 8) << (bit % 8)) >> (64 - kBits));
  }
  T scale(std::uint32_t code) const {
    // Codes below 2^31 convert through int32, which vectorizes (cvtdq2pd).
    const double x = kBits < 32 ? static_cast<double>(static_cast<std::int32_t>(code))
                                : static_cast<double>(code);
    return static_cast<T>((x * scaling_.binary + scaling_.reference) * scaling_.decimal);
  }

  std::span<const std::uint8_t> data_;
  Scaling scaling_;
};

template <typename T, unsigned... kBits>
ValueSourcePtr<T> make_for_width(unsigned bits, std::span<const std::uint8_t> data, Scaling scaling,
                                 std::integer_sequence<unsigned, kBits...>) {
  ValueSourcePtr<T> source;
  ((bits == kBits + 1 ? (source = std::make_unique<SimpleSource<T, kBits + 1>>(data, scaling), 0)
                      : 0),
   ...);
  return source;
}

template <typename T>
class IeeeSource final : public ValueSource<T> {
 public:
  IeeeSource(std::span<const std::uint8_t> data, bool double_precision)
      : data_(data), double_precision_(double_precision) {}

  bool random_access() const override { return true; }
  void emit(std::uint64_t first, std::uint64_t count, T* out) override {
    if (double_precision_) {
      const std::uint8_t* p = data_.data() + first * 8;
      for (std::uint64_t i = 0; i < count; ++i) {
        out[i] = static_cast<T>(std::bit_cast<double>(load_be64(p + i * 8)));
      }
      return;
    }
    const std::uint8_t* p = data_.data() + first * 4;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint32_t word;
      std::memcpy(&word, p + i * 4, 4);
      out[i] = static_cast<T>(std::bit_cast<float>(__builtin_bswap32(word)));
    }
  }

 private:
  std::span<const std::uint8_t> data_;
  bool double_precision_;
};

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_simple_source(const PackedField& field) {
  const unsigned bits = field.bits_per_value;
  if (bits == 0)
    return ValueSourcePtr<T>(std::make_unique<ConstantSource<T>>(field.reference_value));
  if (bits > 32) {
    return field_error(field, ErrorCode::kUnsupported,
                       "simple packing with {} bits per value (floe decodes up to 32)", bits);
  }
  const std::uint64_t available = field.data.size() * 8;
  if (field.unused_trailing_bits > available ||
      field.value_count * bits > available - field.unused_trailing_bits) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) holds {} bytes, {} values of {} bits need {}",
                       field.data_offset, field.data.size(), field.value_count, bits,
                       (field.value_count * bits + 7) / 8);
  }
  return make_for_width<T>(bits, field.data, Scaling::of(field),
                           std::make_integer_sequence<unsigned, 32>());
}

template <typename T>
Result<ValueSourcePtr<T>> make_ieee_source(const PackedField& field) {
  if (field.ieee_precision != 1 && field.ieee_precision != 2) {
    return field_error(field, ErrorCode::kUnsupported,
                       "section 5 template 5.4 precision {} not supported (1: 32-bit, 2: 64-bit)",
                       field.ieee_precision);
  }
  const std::uint64_t width = field.ieee_precision == 1 ? 4 : 8;
  if (field.value_count * width > field.data.size()) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) holds {} bytes, {} {}-bit IEEE values need {}",
                       field.data_offset, field.data.size(), field.value_count, width * 8,
                       field.value_count * width);
  }
  return ValueSourcePtr<T>(std::make_unique<IeeeSource<T>>(field.data, width == 8));
}

template Result<ValueSourcePtr<float>> make_simple_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_simple_source<double>(const PackedField&);
template Result<ValueSourcePtr<float>> make_ieee_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_ieee_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
