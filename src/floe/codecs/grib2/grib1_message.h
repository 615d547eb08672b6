// Grib1Message: a bounded GRIB edition 1 message parser (WMO FM 92 GRIB edition 1): the product
// definition, grid description types 0 (latitude/longitude) and 4 (Gaussian) and their rotated
// forms 10 and 14, the bitmap section and a grid-point binary data section with simple packing
// (what ERA5 from the Climate Data Store uses). Results hold spans into the message bytes.
#pragma once

#include <cstdint>
#include <span>

#include "floe/codecs/grib2/packed_field.h"
#include "floe/core/result.h"

namespace floe::codecs::grib {

// Section 1 (product definition) fields that identify a field.
struct Grib1Product {
  std::uint8_t table_version = 0;
  std::uint8_t centre = 0;
  std::uint8_t generating_process = 0;
  std::uint8_t grid_id = 0;
  std::uint8_t flags = 0;  // 0x80 a grid description follows, 0x40 a bitmap follows
  std::uint8_t parameter = 0;
  std::uint8_t level_type = 0;
  std::uint16_t level = 0;  // octets 11-12 (two one-byte values for layers)
  std::uint16_t year = 0;   // (century - 1) * 100 + year of century
  std::uint8_t month = 0;
  std::uint8_t day = 0;
  std::uint8_t hour = 0;
  std::uint8_t minute = 0;
  std::uint8_t time_unit = 0;  // code table 4
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  std::uint8_t time_range_indicator = 0;  // code table 5
  std::uint8_t subcentre = 0;
  std::int16_t decimal_scale = 0;         // D
  std::span<const std::uint8_t> section;  // the whole section, local extensions included
};

// Section 2 (grid description) for types 0, 4, 10, 14. Angles in millidegrees.
struct Grib1Grid {
  static constexpr std::uint16_t kMissing = 0xFFFF;

  bool present = false;
  std::uint8_t data_representation_type = 0;  // code table 6
  std::uint16_t ni = 0;
  std::uint16_t nj = 0;
  std::int32_t first_latitude = 0;
  std::int32_t first_longitude = 0;
  std::uint8_t resolution_flags = 0;
  std::int32_t last_latitude = 0;
  std::int32_t last_longitude = 0;
  std::uint16_t i_increment = 0;
  std::uint16_t j_increment = 0;  // type 4: N, parallels between a pole and the equator
  ScanningMode scanning;
  std::span<const std::uint8_t> points_per_row;  // reduced grids: Nj 2-byte counts
  std::span<const std::uint8_t> section;

  bool is_reduced() const { return ni == kMissing; }
};

class Grib1Message {
 public:
  // Parses one whole message, "GRIB" to "7777". `message_offset` only labels errors.
  static Result<Grib1Message> parse(std::span<const std::uint8_t> bytes,
                                    std::uint64_t message_offset = 0);

  std::uint64_t message_offset() const { return message_offset_; }
  std::uint64_t total_length() const { return total_length_; }
  const Grib1Product& product() const { return product_; }
  const Grib1Grid& grid() const { return grid_; }
  bool has_bitmap() const { return has_bitmap_; }
  std::uint8_t data_flags() const { return data_flags_; }  // BDS octet 4, high nibble
  std::int16_t binary_scale() const { return binary_scale_; }
  double reference_value() const { return reference_value_; }
  std::uint8_t bits_per_value() const { return bits_per_value_; }

  // What decoding the field needs (the message holds one). Errors name the message, section and
  // what cannot be decoded (predefined grids or bitmaps, spherical harmonics, second-order
  // packing).
  Result<PackedField> packed_field() const;

 private:
  std::uint64_t message_offset_ = 0;
  std::uint64_t total_length_ = 0;
  Grib1Product product_;
  Grib1Grid grid_;
  bool has_bitmap_ = false;
  std::uint16_t bitmap_table_ = 0;
  std::uint8_t bitmap_unused_bits_ = 0;
  std::span<const std::uint8_t> bitmap_;
  std::uint64_t bitmap_offset_ = 0;
  std::uint64_t data_section_offset_ = 0;
  std::uint8_t data_flags_ = 0;
  std::uint8_t data_unused_bits_ = 0;
  std::int16_t binary_scale_ = 0;
  double reference_value_ = 0;
  std::uint8_t bits_per_value_ = 0;
  std::span<const std::uint8_t> data_;
};

}  // namespace floe::codecs::grib
