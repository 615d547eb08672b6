// PackedField: what decoding one GRIB field needs, whichever edition it came from: the grid's
// shape and scanning mode, the packing and its parameters, the bitmap and the packed data (spans
// into the message).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace floe::codecs::grib {

// GRIB2 code table 3.4 (GRIB1 table 8 has the same first three flags).
struct ScanningMode {
  std::uint8_t flags = 0;

  // Bit 1: points of a row scan in the -i direction (east to west).
  bool i_negative() const { return (flags & 0x80) != 0; }
  // Bit 2: rows scan in the +j direction (south to north).
  bool j_positive() const { return (flags & 0x40) != 0; }
  // Bit 3: adjacent points in the j direction are consecutive (column-major storage).
  bool j_consecutive() const { return (flags & 0x20) != 0; }
  // Bit 4: adjacent rows scan in opposite directions (boustrophedon).
  bool alternating_rows() const { return (flags & 0x10) != 0; }
};

// Data representation templates (GRIB2 code table 5.0). GRIB1 simple packing is kSimple.
enum class Packing {
  kSimple,    // 5.0
  kComplex,   // 5.2, and 5.3 with spatial differencing
  kIeee,      // 5.4
  kJpeg2000,  // 5.40
  kPng,       // 5.41
  kCcsds,     // 5.42
};

// Templates 5.2 and 5.3 (complex packing, with spatial differencing for 5.3).
struct ComplexPacking {
  std::uint8_t group_splitting_method = 0;
  std::uint8_t missing_value_management = 0;       // 0 none, 1 primary, 2 primary and secondary
  std::uint32_t primary_missing_substitute = 0;    // raw 32 bits (float or integer, octet 21)
  std::uint32_t secondary_missing_substitute = 0;  // raw 32 bits
  std::uint32_t group_count = 0;
  std::uint8_t group_width_reference = 0;
  std::uint8_t group_width_bits = 0;
  std::uint32_t group_length_reference = 0;
  std::uint8_t group_length_increment = 0;
  std::uint32_t last_group_length = 0;
  std::uint8_t group_length_bits = 0;
  std::uint8_t spatial_differencing_order = 0;  // 0 (template 5.2), 1 or 2
  std::uint8_t extra_descriptor_octets = 0;
};

// Template 5.42 (CCSDS recommended lossless compression, decoded by libaec).
struct CcsdsParameters {
  std::uint8_t flags = 0;
  std::uint8_t block_size = 0;
  std::uint16_t reference_sample_interval = 0;
};

struct PackedField {
  // "GRIB2 message at offset 1234, field 2": the start of every error about this field.
  std::string origin;
  std::uint8_t edition = 2;

  // The grid: `points` values; rows of `ni` points times `nj` rows when `rectangular`, otherwise
  // (reduced grids) `points` values in storage order.
  std::uint64_t points = 0;
  std::uint32_t ni = 0;
  std::uint32_t nj = 0;
  bool rectangular = true;
  ScanningMode scanning;
  // Set for regular latitude/longitude grids (GRIB2 3.0, GRIB1 type 0): the longitude of the
  // first point and the i increment, in degrees (gribberish's adjust_longitude_range needs them).
  bool regular_lat_lon = false;
  double first_longitude = 0;
  double i_increment = 0;

  // The packing: `value_count` packed values, each (R + X * 2^E) * 10^-D.
  Packing packing = Packing::kSimple;
  std::uint16_t template_number = 0;  // GRIB2 5.x (GRIB1 simple packing reports 0)
  std::uint64_t value_count = 0;
  double reference_value = 0;
  int binary_scale = 0;
  int decimal_scale = 0;
  std::uint8_t bits_per_value = 0;
  ComplexPacking complex;
  std::uint8_t ieee_precision = 0;  // 5.4: 1 single, 2 double, 3 quadruple
  CcsdsParameters ccsds;

  // The bitmap in force (1 = a packed value follows, 0 = missing); empty when there is none.
  bool has_bitmap = false;
  std::span<const std::uint8_t> bitmap;
  // The packed data (GRIB2 section 7 after its header, GRIB1 the BDS after octet 11) and where it
  // starts in the message.
  std::span<const std::uint8_t> data;
  std::uint64_t data_offset = 0;
  // GRIB1: unused bits at the end of the data.
  std::uint8_t unused_trailing_bits = 0;
};

}  // namespace floe::codecs::grib
