// Grib2Message: a bounded GRIB2 message parser (WMO Manual 306, FM 92 GRIB edition 2). Sections 0,
// 1, 3, 4, 5, 6 and 7 are located, every length is checked against the message, and the key fields
// of the templates that dimension and identify a field are decoded: grids 3.0, 3.10, 3.20, 3.30,
// 3.40; products 4.0, 4.1, 4.8, 4.11 (and the common 4.0 prefix of 4.2-4.15); data representations
// 5.0, 5.2, 5.3, 5.4, 5.40, 5.41, 5.42; bitmaps 0, 254 and 255. Messages holding several fields
// (sections 2-7 or 3-7 or 4-7 repeated) are addressed by field index. Results hold spans into the
// message bytes, which must outlive them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "floe/codecs/grib2/packed_field.h"
#include "floe/core/result.h"

namespace floe::codecs::grib {

// Section 0 of either edition: enough to step from message to message in a file.
struct GribIndicator {
  std::uint8_t edition = 0;
  std::uint64_t total_length = 0;
  std::uint8_t discipline = 0;  // GRIB2 only
};

// Reads the indicator section at the start of `bytes` (8 bytes for GRIB1, 16 for GRIB2).
// `message_offset` only labels errors.
Result<GribIndicator> read_indicator(std::span<const std::uint8_t> bytes,
                                     std::uint64_t message_offset = 0);

// Section 1.
struct Grib2Identification {
  std::uint16_t centre = 0;
  std::uint16_t subcentre = 0;
  std::uint8_t master_tables_version = 0;
  std::uint8_t local_tables_version = 0;
  std::uint8_t reference_time_significance = 0;  // code table 1.2
  std::uint16_t year = 0;
  std::uint8_t month = 0;
  std::uint8_t day = 0;
  std::uint8_t hour = 0;
  std::uint8_t minute = 0;
  std::uint8_t second = 0;
  std::uint8_t production_status = 0;  // code table 1.3
  std::uint8_t data_type = 0;          // code table 1.4
};

// Section 3. Angles are in micro-degrees unless the template gives a basic angle (3.0/3.40),
// lengths (Dx, Dy) in millimetres. Fields a template does not have stay zero.
struct Grib2Grid {
  static constexpr std::uint32_t kMissing = 0xFFFFFFFF;

  std::uint64_t section_offset = 0;
  std::uint16_t template_number = 0;
  bool template_known = false;  // one of 3.0, 3.10, 3.20, 3.30, 3.40
  std::uint8_t source = 0;      // code table 3.0
  std::uint32_t number_of_points = 0;
  std::uint8_t list_octets = 0;          // octets per entry of the optional list (reduced grids)
  std::uint8_t list_interpretation = 0;  // code table 3.11
  std::span<const std::uint8_t> point_counts_list;  // the optional list, raw
  std::span<const std::uint8_t> template_bytes;     // octet 15 to the end of the section

  std::uint8_t shape_of_earth = 0;  // code table 3.2
  std::uint32_t ni = 0;             // Ni (Nx for projections); kMissing for reduced grids
  std::uint32_t nj = 0;             // Nj (Ny)
  std::uint32_t basic_angle = 0;    // 3.0/3.40: 0 or kMissing = micro-degrees
  std::uint32_t basic_angle_subdivisions = 0;
  std::int32_t first_latitude = 0;
  std::int64_t first_longitude = 0;
  std::int32_t last_latitude = 0;     // 3.0, 3.10, 3.40
  std::int64_t last_longitude = 0;    // 3.0, 3.10, 3.40
  std::uint8_t resolution_flags = 0;  // code table 3.3
  std::uint32_t i_increment = 0;      // Di (3.0, 3.40 in angle units, 3.10 in mm); Dx (3.20, 3.30)
  std::uint32_t j_increment = 0;      // Dj (3.0, 3.10); Dy (3.20, 3.30)
  std::uint32_t gaussian_parallels = 0;  // 3.40: N, parallels between a pole and the equator
  ScanningMode scanning;
  std::int32_t latitude_of_true_scale = 0;    // LaD (3.10, 3.20, 3.30)
  std::int64_t orientation_longitude = 0;     // LoV (3.20, 3.30); grid orientation (3.10)
  std::uint8_t projection_centre = 0;         // code table 3.5 (3.20, 3.30)
  std::int32_t first_standard_parallel = 0;   // Latin1 (3.30)
  std::int32_t second_standard_parallel = 0;  // Latin2 (3.30)
  std::int32_t south_pole_latitude = 0;       // 3.30
  std::int64_t south_pole_longitude = 0;      // 3.30

  // Reduced grids (Ni missing and a list of points per row) have no rectangular shape.
  bool is_reduced() const { return ni == kMissing || nj == kMissing || !point_counts_list.empty(); }
  // Degrees per unit of the first/last point angles and Di/Dj (3.0, 3.40).
  double angle_unit() const;
};

// A horizontal level or layer boundary (code table 4.5 and its scaled value).
struct FixedSurface {
  std::uint8_t type = 255;
  std::int8_t scale_factor = 0;
  std::uint32_t scaled_value = 0;
  bool value_missing = true;  // scale factor and value all ones

  // scaled_value (sign and magnitude) * 10^-scale_factor; NaN when missing.
  double value() const;
};

// One time range of a statistically processed product (templates 4.8, 4.11).
struct TimeRange {
  std::uint8_t statistical_process = 0;  // code table 4.10
  std::uint8_t increment_type = 0;       // code table 4.11
  std::uint8_t length_unit = 0;          // code table 4.4
  std::uint32_t length = 0;
  std::uint8_t increment_unit = 0;
  std::uint32_t increment = 0;
};

struct StatisticalInterval {
  std::uint16_t end_year = 0;
  std::uint8_t end_month = 0;
  std::uint8_t end_day = 0;
  std::uint8_t end_hour = 0;
  std::uint8_t end_minute = 0;
  std::uint8_t end_second = 0;
  std::uint32_t missing_values = 0;
  std::vector<TimeRange> ranges;
};

struct EnsembleMember {
  std::uint8_t type = 0;  // code table 4.6
  std::uint8_t perturbation_number = 0;
  std::uint8_t forecasts_in_ensemble = 0;
};

// Section 4.
struct Grib2Product {
  std::uint64_t section_offset = 0;
  std::uint16_t template_number = 0;
  // True when octets 10-34 have the layout of template 4.0 (templates 4.0-4.15); otherwise only
  // the parameter category and number are read.
  bool horizontal_prefix = false;
  std::uint16_t coordinate_values = 0;  // NV
  std::uint8_t parameter_category = 0;
  std::uint8_t parameter_number = 0;
  std::uint8_t generating_process_type = 0;  // code table 4.3
  std::uint8_t background_process = 0;
  std::uint8_t generating_process = 0;
  std::uint8_t time_unit = 0;  // code table 4.4
  std::int64_t forecast_time = 0;
  FixedSurface first_surface;
  FixedSurface second_surface;
  std::optional<EnsembleMember> ensemble;        // 4.1, 4.11
  std::optional<StatisticalInterval> interval;   // 4.8, 4.11
  std::span<const std::uint8_t> template_bytes;  // octet 10 to the coordinate values
};

// Section 5.
struct Grib2Representation {
  std::uint64_t section_offset = 0;
  std::uint16_t template_number = 0;
  bool template_supported = false;  // 5.0, 5.2, 5.3, 5.4, 5.40, 5.41, 5.42
  std::uint32_t value_count = 0;    // packed values (grid points with a value)
  double reference_value = 0;       // R, an IEEE single widened
  std::int16_t binary_scale = 0;    // E
  std::int16_t decimal_scale = 0;   // D
  std::uint8_t bits_per_value = 0;
  std::uint8_t original_type = 0;       // code table 5.1: 0 floating point, 1 integer
  ComplexPacking complex;               // 5.2, 5.3
  std::uint8_t ieee_precision = 0;      // 5.4
  std::uint8_t compression_type = 0;    // 5.40: code table 5.40
  std::uint8_t target_compression = 0;  // 5.40
  CcsdsParameters ccsds;                // 5.42
  std::span<const std::uint8_t> template_bytes;
};

// Sections 4-7 of one field and the grid (section 3) it refers to.
struct Grib2Field {
  std::size_t grid_index = 0;  // into Grib2Message::grids()
  Grib2Product product;
  Grib2Representation representation;
  // Code table 6.0: 0 a bitmap follows, 254 the previous bitmap of this message applies, 255 no
  // bitmap, 1-253 predefined.
  std::uint8_t bitmap_indicator = 255;
  std::uint64_t bitmap_section_offset = 0;
  std::span<const std::uint8_t> bitmap;  // the bits in force (254 resolved), empty if none
  std::uint64_t data_section_offset = 0;
  std::span<const std::uint8_t> data;  // section 7 after its 5-byte header
  bool has_data = false;               // false when parse_prefix stopped before section 7
};

class Grib2Message {
 public:
  // Parses one whole message, "GRIB" to "7777". `message_offset` (where it sits in its file) only
  // labels errors: "GRIB2 message at offset N: section 5 (byte 123): ...".
  static Result<Grib2Message> parse(std::span<const std::uint8_t> bytes,
                                    std::uint64_t message_offset = 0);
  // Parses the sections that lie wholly inside `prefix`, the first bytes of a message (a ranged
  // read of its header): fields cut before section 7 come back with has_data false, and a field
  // whose section 5 is cut is left out. Lengths are still checked against section 0's total.
  static Result<Grib2Message> parse_prefix(std::span<const std::uint8_t> prefix,
                                           std::uint64_t message_offset = 0);

  std::uint64_t message_offset() const { return message_offset_; }
  std::uint8_t discipline() const { return discipline_; }
  std::uint64_t total_length() const { return total_length_; }
  const Grib2Identification& identification() const { return identification_; }
  const std::vector<Grib2Grid>& grids() const { return grids_; }
  const std::vector<Grib2Field>& fields() const { return fields_; }
  // True when parsing reached the end section.
  bool complete() const { return complete_; }

  // What decoding field `field_index` needs. Errors name the message, field, section and template
  // that cannot be decoded (unknown grid or data representation templates, predefined bitmaps,
  // missing data sections).
  Result<PackedField> packed_field(std::size_t field_index) const;

 private:
  static Result<Grib2Message> parse_impl(std::span<const std::uint8_t> bytes,
                                         std::uint64_t message_offset, bool prefix_only);

  std::uint64_t message_offset_ = 0;
  std::uint8_t discipline_ = 0;
  std::uint64_t total_length_ = 0;
  Grib2Identification identification_;
  std::vector<Grib2Grid> grids_;
  std::vector<Grib2Field> fields_;
  bool complete_ = false;
};

}  // namespace floe::codecs::grib
