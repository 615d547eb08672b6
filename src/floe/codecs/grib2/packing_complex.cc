// Complex packing (GRIB2 templates 5.2 and 5.3, data templates 7.2 and 7.3): group references,
// widths and lengths, the groups' packed values with primary and secondary missing values, and
// first- or second-order spatial differencing undone over the values that are not missing. The
// values are decoded as they are asked for, in one pass, without a field-sized scratch array.
#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

std::uint64_t all_ones(unsigned bits) { return bits == 0 ? 0 : (std::uint64_t{1} << bits) - 1; }

// Reads `bits` (1..32) at bit `position` of `data`: one 64-bit load inside the data, byte by byte
// at its end.
inline std::uint32_t read_at(const std::uint8_t* data, std::uint64_t size, std::uint64_t position,
                             unsigned bits) {
  const std::uint64_t byte = position >> 3;
  std::uint64_t word;
  if (byte + 8 <= size) {
    word = load_be64(data + byte);
  } else {
    word = 0;
    for (std::uint64_t k = 0; k < 8; ++k) {
      word = (word << 8) | (byte + k < size ? data[byte + k] : 0);
    }
  }
  return static_cast<std::uint32_t>((word << (position & 7)) >> (64 - bits));
}

struct Groups {
  std::unique_ptr<std::uint32_t[]> references;
  std::unique_ptr<std::uint8_t[]> widths;
  std::unique_ptr<std::uint32_t[]> lengths;
};

// Everything the value loop needs besides the groups.
struct ComplexLayout {
  std::span<const std::uint8_t> data;
  std::uint64_t group_count = 0;
  std::uint64_t values_at = 0;  // bit position of the first group's values
  unsigned reference_bits = 0;
  unsigned order = 0;
  unsigned management = 0;
  std::int64_t first_values[2] = {0, 0};
  std::int64_t minimum = 0;
  Scaling scaling;
};

template <typename T>
class ComplexSource final : public ValueSource<T> {
 public:
  ComplexSource(Groups groups, const ComplexLayout& layout)
      : groups_(std::move(groups)), layout_(layout) {
    reset();
  }

  void emit(std::uint64_t first, std::uint64_t count, T* out) override {
    if (first != produced_) skip_to(first);
    produced_ += count;
    while (count > 0) {
      while (remaining_ == 0) next_group();
      const std::uint64_t n = std::min(count, remaining_);
      switch (layout_.order * 2 + (layout_.management != 0 ? 1 : 0)) {
        case 0:
          run<0, false>(n, out);
          break;
        case 1:
          run<0, true>(n, out);
          break;
        case 2:
          run<1, false>(n, out);
          break;
        case 3:
          run<1, true>(n, out);
          break;
        case 4:
          run<2, false>(n, out);
          break;
        default:
          run<2, true>(n, out);
          break;
      }
      out += n;
      count -= n;
      remaining_ -= n;
    }
  }

 private:
  void reset() {
    group_ = 0;
    remaining_ = 0;
    position_ = layout_.values_at;
    started_ = false;
    seen_ = 0;
    previous_ = 0;
    before_previous_ = 0;
    produced_ = 0;
  }

  // Only reached if values are asked for out of order.
  void skip_to(std::uint64_t first) {
    if (first < produced_) reset();
    T scratch[256];
    while (produced_ < first) {
      const std::uint64_t n = std::min<std::uint64_t>(256, first - produced_);
      emit(produced_, n, scratch);
    }
  }

  void next_group() {
    if (started_) ++group_;
    started_ = true;
    width_ = groups_.widths[group_];
    reference_ = groups_.references[group_];
    remaining_ = groups_.lengths[group_];
    const std::uint64_t ones = all_ones(width_);
    primary_ = ones;
    secondary_ = layout_.management == 2 ? ones - 1 : ones;
    // A 0-bit group is missing when its reference is all ones (or all ones - 1); with 0-bit
    // references (ecCodes decodes those groups, it does not take R as a constant) none is.
    const std::uint64_t reference_ones = all_ones(layout_.reference_bits);
    group_missing_ = width_ == 0 && layout_.reference_bits > 0 &&
                     ((layout_.management >= 1 && reference_ == reference_ones) ||
                      (layout_.management == 2 && reference_ == reference_ones - 1));
  }

  // Decodes n values of the current group. Arithmetic wraps (corrupt data may overflow; it must
  // not be undefined).
  template <unsigned kOrder, bool kMissing>
  void run(std::uint64_t n, T* out) {
    const T missing = std::numeric_limits<T>::quiet_NaN();
    if (kMissing && group_missing_) {
      std::fill(out, out + n, missing);
      return;
    }
    const std::uint8_t* data = layout_.data.data();
    const std::uint64_t size = layout_.data.size();
    const unsigned width = width_;
    const std::uint64_t reference = reference_;
    const auto bias = static_cast<std::uint64_t>(layout_.minimum);
    const double binary = layout_.scaling.binary;
    const double offset = layout_.scaling.reference;
    const double decimal = layout_.scaling.decimal;
    std::uint64_t position = position_;
    std::uint64_t previous = previous_;
    std::uint64_t before_previous = before_previous_;
    std::uint64_t seen = seen_;
    for (std::uint64_t k = 0; k < n; ++k) {
      std::uint64_t raw = 0;
      if (width != 0) {
        raw = read_at(data, size, position, width);
        position += width;
        if (kMissing && (raw == primary_ || raw == secondary_)) {
          out[k] = missing;
          continue;
        }
      }
      std::uint64_t value = reference + raw;
      if constexpr (kOrder > 0) {
        if (seen < kOrder) {
          value = static_cast<std::uint64_t>(layout_.first_values[seen]);
        } else if constexpr (kOrder == 1) {
          value += bias + previous;
        } else {
          value += bias + 2 * previous - before_previous;
        }
        before_previous = previous;
        previous = value;
        ++seen;
      }
      out[k] = static_cast<T>(
          (static_cast<double>(static_cast<std::int64_t>(value)) * binary + offset) * decimal);
    }
    position_ = position;
    previous_ = previous;
    before_previous_ = before_previous;
    seen_ = seen;
  }

  Groups groups_;
  ComplexLayout layout_;
  std::uint64_t group_ = 0;
  bool started_ = false;
  std::uint64_t remaining_ = 0;
  unsigned width_ = 0;
  std::uint64_t reference_ = 0;
  std::uint64_t primary_ = 0;
  std::uint64_t secondary_ = 0;
  bool group_missing_ = false;
  std::uint64_t position_ = 0;
  std::uint64_t seen_ = 0;
  std::uint64_t previous_ = 0;
  std::uint64_t before_previous_ = 0;
  std::uint64_t produced_ = 0;
};

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_complex_source(const PackedField& field) {
  const ComplexPacking& complex = field.complex;
  const unsigned reference_bits = field.bits_per_value;
  const std::uint64_t count = field.value_count;
  const std::uint64_t group_count = complex.group_count;
  if (complex.missing_value_management > 2) {
    return field_error(field, ErrorCode::kUnsupported,
                       "section 5 template 5.{}: missing value management {} not supported",
                       field.template_number, complex.missing_value_management);
  }
  // ecCodes 2.28 writes template 5.3 with order 0 and no descriptors, and reads it as 5.2.
  const unsigned order = complex.spatial_differencing_order;
  if (field.template_number == 3 && order > 2) {
    return field_error(field, ErrorCode::kUnsupported,
                       "section 5 template 5.3: spatial differencing of order {} not supported "
                       "(1 or 2)",
                       order);
  }
  const unsigned extra_octets = order > 0 ? complex.extra_descriptor_octets : 0;
  if (reference_bits > 32 || complex.group_width_bits > 32 || complex.group_length_bits > 32 ||
      extra_octets > 4) {
    return field_error(field, ErrorCode::kUnsupported,
                       "section 5 template 5.{}: {} bits per group reference, {} per width, {} "
                       "per length, {} octets per descriptor (floe decodes up to 32 bits, 4 "
                       "octets)",
                       field.template_number, reference_bits, complex.group_width_bits,
                       complex.group_length_bits, extra_octets);
  }
  if (group_count > count || (group_count == 0 && count != 0)) {
    return field_error(field, ErrorCode::kCorrupt,
                       "section 5 template 5.{}: {} groups for {} values", field.template_number,
                       group_count, count);
  }
  const std::uint64_t size = field.data.size();
  // Descriptors and the three group arrays, each padded to a byte (data template 7.2/7.3).
  const std::uint64_t descriptor_bits = 8ull * extra_octets * (order + 1);
  auto padded = [](std::uint64_t bits) { return (bits + 7) & ~std::uint64_t{7}; };
  const std::uint64_t references_at = descriptor_bits;
  const std::uint64_t widths_at = references_at + padded(group_count * reference_bits);
  const std::uint64_t lengths_at = widths_at + padded(group_count * complex.group_width_bits);
  const std::uint64_t values_at = lengths_at + padded(group_count * complex.group_length_bits);
  if (values_at > size * 8) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) holds {} bytes, its {} group descriptions need {}",
                       field.data_offset, size, group_count, values_at / 8);
  }

  // The spatial differencing descriptors: first value(s) and the minimum, sign and magnitude.
  std::int64_t first_values[2] = {0, 0};
  std::int64_t minimum = 0;
  if (extra_octets > 0) {
    const unsigned bits = 8 * extra_octets;
    BitReader reader(field.data);
    for (unsigned k = 0; k < order; ++k) first_values[k] = sign_magnitude(reader.read(bits), bits);
    minimum = sign_magnitude(reader.read(bits), bits);
  }

  Groups groups{allocate_codes<std::uint32_t>(group_count),
                allocate_codes<std::uint8_t>(group_count),
                allocate_codes<std::uint32_t>(group_count)};
  std::uint64_t total_length = 0;
  std::uint64_t total_bits = 0;
  {
    BitReader references(field.data, references_at);
    BitReader widths(field.data, widths_at);
    BitReader lengths(field.data, lengths_at);
    for (std::uint64_t g = 0; g < group_count; ++g) {
      groups.references[g] = references.read(reference_bits);
      const std::uint64_t width =
          std::uint64_t{complex.group_width_reference} + widths.read(complex.group_width_bits);
      const std::uint64_t length =
          g + 1 == group_count
              ? complex.last_group_length
              : complex.group_length_reference + std::uint64_t{complex.group_length_increment} *
                                                     lengths.read(complex.group_length_bits);
      if (width > 32) {
        return field_error(field, ErrorCode::kCorrupt,
                           "group {} of {} is {} bits wide (at most 32)", g, group_count, width);
      }
      total_length += length;
      if (total_length > count) {
        return field_error(field, ErrorCode::kCorrupt,
                           "the group lengths add up to more than the {} values of section 5",
                           count);
      }
      total_bits += width * length;
      groups.widths[g] = static_cast<std::uint8_t>(width);
      groups.lengths[g] = static_cast<std::uint32_t>(length);
    }
  }
  if (total_length != count) {
    return field_error(field, ErrorCode::kCorrupt,
                       "the group lengths add up to {}, section 5 gives {} values", total_length,
                       count);
  }
  if (total_bits > size * 8 - values_at) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) holds {} bytes, its packed values need {}",
                       field.data_offset, size, (values_at + total_bits + 7) / 8);
  }

  ComplexLayout layout;
  layout.data = field.data;
  layout.group_count = group_count;
  layout.values_at = values_at;
  layout.reference_bits = reference_bits;
  layout.order = order;
  layout.management = complex.missing_value_management;
  layout.first_values[0] = first_values[0];
  layout.first_values[1] = first_values[1];
  layout.minimum = minimum;
  layout.scaling = Scaling::of(field);
  return ValueSourcePtr<T>(std::make_unique<ComplexSource<T>>(std::move(groups), layout));
}

template Result<ValueSourcePtr<float>> make_complex_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_complex_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
