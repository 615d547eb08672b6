// Complex packing (GRIB2 templates 5.2 and 5.3, data templates 7.2 and 7.3): group references,
// widths and lengths, the groups' packed values with primary and secondary missing values, then
// first- or second-order spatial differencing undone over the values that are not missing.
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
  const std::uint8_t* data = field.data.data();
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

  // Group values: reference + packed value, or missing (regulation 92.9.4 and code table 5.5).
  const unsigned management = complex.missing_value_management;
  const std::uint64_t reference_primary = all_ones(reference_bits);
  const std::uint64_t reference_secondary = reference_primary - 1;
  auto codes = allocate_codes<std::int64_t>(count);
  std::int64_t* out = codes.get();
  std::uint64_t position = values_at;
  for (std::uint64_t g = 0; g < group_count; ++g) {
    const unsigned width = groups.widths[g];
    const std::uint32_t length = groups.lengths[g];
    const std::uint32_t reference = groups.references[g];
    if (width == 0) {
      // With 0-bit references (ecCodes decodes those groups, it does not take R as a constant)
      // no reference can be marked missing.
      const bool missing =
          reference_bits > 0 && ((management >= 1 && reference == reference_primary) ||
                                 (management == 2 && reference == reference_secondary));
      std::fill(out, out + length, missing ? kMissingCode : std::int64_t{reference});
    } else if (management == 0) {
      for (std::uint32_t k = 0; k < length; ++k) {
        out[k] = std::int64_t{reference} + read_at(data, size, position, width);
        position += width;
      }
    } else {
      const std::uint64_t primary = all_ones(width);
      const std::uint64_t secondary = management == 2 ? primary - 1 : primary;
      for (std::uint32_t k = 0; k < length; ++k) {
        const std::uint32_t value = read_at(data, size, position, width);
        position += width;
        out[k] = (value == primary || value == secondary) ? kMissingCode
                                                          : std::int64_t{reference} + value;
      }
    }
    out += length;
  }

  // Spatial differencing is undone over the values that are not missing, in wrapping arithmetic
  // (corrupt data may overflow; it must not be undefined).
  if (order > 0 && count > 0) {
    auto* values = reinterpret_cast<std::uint64_t*>(codes.get());
    const auto bias = static_cast<std::uint64_t>(minimum);
    std::uint64_t seen = 0;
    std::uint64_t previous = 0;
    std::uint64_t before_previous = 0;
    const bool may_be_missing = management != 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (may_be_missing && values[i] == static_cast<std::uint64_t>(kMissingCode)) continue;
      std::uint64_t value;
      if (seen < order) {
        value = static_cast<std::uint64_t>(first_values[seen]);
      } else if (order == 1) {
        value = values[i] + bias + previous;
      } else {
        value = values[i] + bias + 2 * previous - before_previous;
      }
      values[i] = value;
      before_previous = previous;
      previous = value;
      ++seen;
    }
  }
  return ValueSourcePtr<T>(std::make_unique<CodeSource<T, std::int64_t>>(
      std::move(codes), Scaling::of(field), management != 0));
}

template Result<ValueSourcePtr<float>> make_complex_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_complex_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
