// Decoding a GRIB field: the packing's values are written line by line (a line is a run of
// consecutive points in storage order) to where the output layout puts them, through the bitmap
// when there is one; rows go straight into the output when no bitmap intervenes.
#include "floe/codecs/grib2/decode.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

// Where the points of storage line `line` go: output index `start`, then `start + step`, ...
struct LineTarget {
  std::int64_t start;
  std::int64_t step;
};

// The storage order of a field as lines, and the output position of each.
class Lines {
 public:
  Lines(const PackedField& field, const DecodeOptions& options) : field_(field) {
    if (!field.rectangular) {
      count_ = 1;
      length_ = field.points;
      mode_ = Mode::kFlat;
    } else if (options.gribberish_layout) {
      count_ = field.nj;
      length_ = field.ni;
      mode_ = Mode::kGribberish;
      flip_rows_ = options.north_up && field.scanning.j_positive();
    } else if (field.scanning.j_consecutive()) {
      count_ = field.ni;
      length_ = field.nj;
      mode_ = Mode::kColumns;
    } else {
      count_ = field.nj;
      length_ = field.ni;
      mode_ = Mode::kRows;
    }
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t length() const { return length_; }

  LineTarget target(std::uint64_t line) const {
    const ScanningMode scanning = field_.scanning;
    const auto ni = static_cast<std::int64_t>(field_.ni);
    const auto nj = static_cast<std::int64_t>(field_.nj);
    const auto s = static_cast<std::int64_t>(line);
    const bool odd = scanning.alternating_rows() && (line % 2) == 1;
    switch (mode_) {
      case Mode::kFlat:
        return {0, 1};
      case Mode::kGribberish:
        return {(flip_rows_ ? nj - 1 - s : s) * ni, 1};
      case Mode::kRows: {
        // Table 3.4: rows run -j (north to south) unless bit 2; points +i unless bit 1, and every
        // other row reversed with bit 4.
        const std::int64_t row = scanning.j_positive() ? nj - 1 - s : s;
        const bool eastward = scanning.i_negative() == odd;
        return {row * ni + (eastward ? 0 : ni - 1), eastward ? 1 : -1};
      }
      case Mode::kColumns: {
        const std::int64_t column = scanning.i_negative() ? ni - 1 - s : s;
        const bool southward = scanning.j_positive() == odd;
        return {(southward ? 0 : (nj - 1) * ni) + column, southward ? ni : -ni};
      }
    }
    return {0, 1};
  }

 private:
  enum class Mode { kFlat, kGribberish, kRows, kColumns };

  const PackedField& field_;
  Mode mode_ = Mode::kFlat;
  std::uint64_t count_ = 0;
  std::uint64_t length_ = 0;
  bool flip_rows_ = false;
};

// The set bits among bits [first, first + count) of a bitmap (most significant bit first).
std::uint64_t count_set_bits(std::span<const std::uint8_t> bitmap, std::uint64_t first,
                             std::uint64_t count) {
  const auto bit_at = [&](std::uint64_t bit) { return (bitmap[bit >> 3] >> (7 - (bit & 7))) & 1; };
  std::uint64_t set = 0;
  std::uint64_t bit = first;
  const std::uint64_t end = first + count;
  for (; bit < end && bit % 8 != 0; ++bit) set += bit_at(bit);
  for (; bit + 8 <= end; bit += 8) set += std::popcount(bitmap[bit >> 3]);
  for (; bit < end; ++bit) set += bit_at(bit);
  return set;
}

template <typename T>
Result<ValueSourcePtr<T>> make_source(const PackedField& field) {
  switch (field.packing) {
    case Packing::kSimple:
      return make_simple_source<T>(field);
    case Packing::kComplex:
      return make_complex_source<T>(field);
    case Packing::kIeee:
      return make_ieee_source<T>(field);
    case Packing::kJpeg2000:
      return make_jpeg2000_source<T>(field);
    case Packing::kPng:
      return make_png_source<T>(field);
    case Packing::kCcsds:
      return make_ccsds_source<T>(field);
  }
  return field_error(field, ErrorCode::kInternal, "unknown packing");
}

// Indexes, not pointers, step through the output: a pointer stepped past either end of it is
// undefined even when never dereferenced.
template <typename T>
void scatter(const T* line, std::uint64_t length, LineTarget target, T* out) {
  std::int64_t at = target.start;
  for (std::uint64_t k = 0; k < length; ++k, at += target.step) out[at] = line[k];
}

template <typename T>
Status decode_into(const PackedField& field, std::span<T> out, const DecodeOptions& options) {
  if (out.size() != field.points) {
    return field_error(field, ErrorCode::kInvalidArgument,
                       "the output holds {} values, the grid has {} points", out.size(),
                       field.points);
  }
  const std::uint64_t present =
      field.has_bitmap ? count_set_bits(field.bitmap, 0, field.points) : field.points;
  if (field.value_count != present) {
    return field_error(field, ErrorCode::kCorrupt,
                       "section 5 gives {} packed values, the {} has {}", field.value_count,
                       field.has_bitmap ? "bitmap" : "grid", present);
  }
  FLOE_ASSIGN_OR_RETURN(ValueSourcePtr<T> source, make_source<T>(field));
  const Lines lines(field, options);
  const std::uint64_t length = lines.length();
  const std::uint64_t count = lines.count();
  // Lines are written in the order they lie in the output where the source allows it: on an output
  // buffer that is not in cache, writing rows from the last one up (grids scanning +j, laid out
  // north-up) takes 2-3 times as long as writing them downward.
  const bool descending = count > 1 && lines.target(count - 1).start < lines.target(0).start;
  T* output = out.data();
  if (!field.has_bitmap) {
    const bool reorder = descending && source->random_access();
    std::vector<T> line_buffer;
    for (std::uint64_t n = 0; n < count; ++n) {
      const std::uint64_t line = reorder ? count - 1 - n : n;
      const LineTarget target = lines.target(line);
      if (target.step == 1) {
        source->emit(line * length, length, output + target.start);
      } else {
        line_buffer.resize(length);
        source->emit(line * length, length, line_buffer.data());
        scatter(line_buffer.data(), length, target, output);
      }
    }
  } else {
    auto packed = allocate_codes<T>(present);
    source->emit(0, present, packed.get());
    // Where each line's values start in `packed`, to take the lines in output order.
    std::vector<std::uint64_t> line_values(descending ? count : 0);
    for (std::uint64_t line = 0, before = 0; line < line_values.size(); ++line) {
      line_values[line] = before;
      before += count_set_bits(field.bitmap, line * length, length);
    }
    const T* next = packed.get();
    const T missing = std::numeric_limits<T>::quiet_NaN();
    const std::uint8_t* bits = field.bitmap.data();
    for (std::uint64_t n = 0; n < count; ++n) {
      const std::uint64_t line = descending ? count - 1 - n : n;
      if (descending) next = packed.get() + line_values[line];
      const LineTarget target = lines.target(line);
      std::int64_t at = target.start;
      std::uint64_t k = line * length;
      for (std::uint64_t p = 0; p < length; ++p, ++k, at += target.step) {
        output[at] = ((bits[k >> 3] >> (7 - (k & 7))) & 1) != 0 ? *next++ : missing;
      }
    }
  }
  if (options.gribberish_layout && options.adjust_longitude_range) {
    const std::uint32_t roll = longitude_roll(field);
    if (roll != 0) {
      for (std::uint64_t row = 0; row < field.nj; ++row) {
        T* begin = output + row * field.ni;
        std::rotate(begin, begin + roll, begin + field.ni);
      }
    }
  }
  return {};
}

}  // namespace

std::uint32_t longitude_roll(const PackedField& field) {
  if (!field.regular_lat_lon || !field.rectangular || field.ni == 0 || field.i_increment <= 0) {
    return 0;
  }
  // A grid spans the globe when Ni increments make 360 degrees, within a quarter increment.
  const double span = field.ni * field.i_increment;
  if (std::abs(span - 360.0) > field.i_increment / 4) return 0;
  std::uint32_t roll = 0;
  double smallest = std::numeric_limits<double>::infinity();
  for (std::uint32_t k = 0; k < field.ni; ++k) {
    double wrapped = std::fmod(field.first_longitude + k * field.i_increment + 180.0, 360.0);
    if (wrapped < 0) wrapped += 360.0;
    wrapped -= 180.0;
    if (wrapped < smallest) {
      smallest = wrapped;
      roll = k;
    }
  }
  return roll;
}

Status decode_field(const PackedField& field, std::span<float> out, const DecodeOptions& options) {
  return decode_into(field, out, options);
}

Status decode_field(const PackedField& field, std::span<double> out, const DecodeOptions& options) {
  return decode_into(field, out, options);
}

}  // namespace floe::codecs::grib
