// Parsing GRIB2 messages section by section (WMO Manual 306, FM 92 GRIB edition 2): locating every
// section inside the message, decoding the key fields of the grid, product and data representation
// templates, and describing a field for the decoders.
#include "floe/codecs/grib2/message.h"

#include <cmath>
#include <cstring>

#include "floe/codecs/grib2/bits.h"

namespace floe::codecs::grib {
namespace {

constexpr std::uint64_t kIndicatorSize = 16;
constexpr std::uint64_t kEndSize = 4;

// Errors start with the message and, where known, the section and its offset.
template <typename... Args>
Error message_error(ErrorCode code, std::uint64_t message_offset,
                    fmt::format_string<Args...> format, Args&&... args) {
  return Error(code, fmt::format("GRIB2 message at offset {}: {}", message_offset,
                                 fmt::format(format, std::forward<Args>(args)...)));
}

std::int64_t signed_angle(const std::uint8_t* p) { return signed32(p); }

// The octet `n` (1-based, as WMO numbers them) of a section starting at `section`.
const std::uint8_t* octet(const std::uint8_t* section, std::size_t n) { return section + n - 1; }

// Minimum section 3 length for the templates whose fields are read.
std::uint32_t grid_template_length(std::uint16_t number) {
  switch (number) {
    case 0:
    case 1:
    case 40:
    case 41:
    case 10:
      return 72;
    case 20:
      return 65;
    case 30:
      return 81;
    default:
      return 0;
  }
}

Status parse_grid(const std::uint8_t* s, std::uint32_t length, std::uint64_t section_offset,
                  std::uint64_t message_offset, Grib2Grid& grid) {
  if (length < 14) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 3 (byte {}) is {} bytes, shorter than its 14-byte header",
                         section_offset, length);
  }
  grid.section_offset = section_offset;
  grid.source = *octet(s, 6);
  grid.number_of_points = be32(octet(s, 7));
  grid.list_octets = *octet(s, 11);
  grid.list_interpretation = *octet(s, 12);
  grid.template_number = be16(octet(s, 13));
  grid.template_bytes = {octet(s, 15), length - 14};
  const std::uint32_t needed = grid_template_length(grid.template_number);
  if (needed == 0) return {};  // recorded, not interpreted; decoding reports it
  if (length < needed) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 3 (byte {}) template 3.{} needs {} bytes, the section has {}",
                         section_offset, grid.template_number, needed, length);
  }
  grid.template_known = true;
  grid.shape_of_earth = *octet(s, 15);
  grid.ni = be32(octet(s, 31));
  grid.nj = be32(octet(s, 35));
  switch (grid.template_number) {
    case 0:  // latitude/longitude (and 3.1 rotated, 3.40 Gaussian, 3.41 rotated Gaussian)
    case 1:
    case 40:
    case 41:
      grid.basic_angle = be32(octet(s, 39));
      grid.basic_angle_subdivisions = be32(octet(s, 43));
      grid.first_latitude = signed32(octet(s, 47));
      grid.first_longitude = signed_angle(octet(s, 51));
      grid.resolution_flags = *octet(s, 55);
      grid.last_latitude = signed32(octet(s, 56));
      grid.last_longitude = signed_angle(octet(s, 60));
      grid.i_increment = be32(octet(s, 64));
      if (grid.template_number == 40 || grid.template_number == 41) {
        grid.gaussian_parallels = be32(octet(s, 68));
      } else {
        grid.j_increment = be32(octet(s, 68));
      }
      grid.scanning.flags = *octet(s, 72);
      break;
    case 10:  // Mercator
      grid.first_latitude = signed32(octet(s, 39));
      grid.first_longitude = signed_angle(octet(s, 43));
      grid.resolution_flags = *octet(s, 47);
      grid.latitude_of_true_scale = signed32(octet(s, 48));
      grid.last_latitude = signed32(octet(s, 52));
      grid.last_longitude = signed_angle(octet(s, 56));
      grid.scanning.flags = *octet(s, 60);
      grid.orientation_longitude = be32(octet(s, 61));
      grid.i_increment = be32(octet(s, 65));
      grid.j_increment = be32(octet(s, 69));
      break;
    case 20:  // polar stereographic
    case 30:  // Lambert conformal
      grid.first_latitude = signed32(octet(s, 39));
      grid.first_longitude = be32(octet(s, 43));
      grid.resolution_flags = *octet(s, 47);
      grid.latitude_of_true_scale = signed32(octet(s, 48));
      grid.orientation_longitude =
          grid.template_number == 20 ? signed_angle(octet(s, 52)) : be32(octet(s, 52));
      grid.i_increment = be32(octet(s, 56));
      grid.j_increment = be32(octet(s, 60));
      grid.projection_centre = *octet(s, 64);
      grid.scanning.flags = *octet(s, 65);
      if (grid.template_number == 30) {
        grid.first_standard_parallel = signed32(octet(s, 66));
        grid.second_standard_parallel = signed32(octet(s, 70));
        grid.south_pole_latitude = signed32(octet(s, 74));
        grid.south_pole_longitude = be32(octet(s, 78));
      }
      break;
    default:
      break;
  }
  if (grid.list_octets != 0) {
    grid.point_counts_list = {s + needed, length - needed};
    if (grid.point_counts_list.size() % grid.list_octets != 0) {
      return message_error(ErrorCode::kCorrupt, message_offset,
                           "section 3 (byte {}): the list of points per row ({} bytes) is not a "
                           "multiple of its {}-byte entries",
                           section_offset, grid.point_counts_list.size(), grid.list_octets);
    }
  }
  return {};
}

FixedSurface read_surface(const std::uint8_t* p) {
  FixedSurface surface;
  surface.type = p[0];
  surface.value_missing = p[1] == 0xFF && be32(p + 2) == 0xFFFFFFFF;
  surface.scale_factor = signed8(p[1]);
  surface.scaled_value = be32(p + 2);
  return surface;
}

// Reads the statistical processing block of 4.8/4.11 starting at octet `at` of the section.
Status read_interval(const std::uint8_t* s, std::uint32_t length, std::uint32_t at,
                     std::uint64_t section_offset, std::uint64_t message_offset,
                     std::uint16_t template_number, StatisticalInterval& interval) {
  if (length < at + 11) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 4 (byte {}) template 4.{} is {} bytes, too short for its time "
                         "interval",
                         section_offset, template_number, length);
  }
  interval.end_year = be16(octet(s, at));
  interval.end_month = *octet(s, at + 2);
  interval.end_day = *octet(s, at + 3);
  interval.end_hour = *octet(s, at + 4);
  interval.end_minute = *octet(s, at + 5);
  interval.end_second = *octet(s, at + 6);
  const std::uint8_t range_count = *octet(s, at + 7);
  interval.missing_values = be32(octet(s, at + 8));
  const std::uint32_t ranges_at = at + 12;
  if (length < ranges_at - 1 + 12u * range_count) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 4 (byte {}) template 4.{} lists {} time ranges, the section ({} "
                         "bytes) holds fewer",
                         section_offset, template_number, range_count, length);
  }
  for (std::uint32_t k = 0; k < range_count; ++k) {
    const std::uint8_t* r = octet(s, ranges_at + 12 * k);
    interval.ranges.push_back(TimeRange{r[0], r[1], r[2], be32(r + 3), r[7], be32(r + 8)});
  }
  return {};
}

Status parse_product(const std::uint8_t* s, std::uint32_t length, std::uint64_t section_offset,
                     std::uint64_t message_offset, Grib2Product& product) {
  if (length < 11) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 4 (byte {}) is {} bytes, shorter than its 11-byte minimum",
                         section_offset, length);
  }
  product.section_offset = section_offset;
  product.coordinate_values = be16(octet(s, 6));
  product.template_number = be16(octet(s, 8));
  // NV coordinate values (4 bytes each) end the section.
  const std::uint64_t coordinates = 4ull * product.coordinate_values;
  if (coordinates > length - 9) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 4 (byte {}) lists {} coordinate values, more than its {} bytes "
                         "hold",
                         section_offset, product.coordinate_values, length);
  }
  const auto template_end = static_cast<std::uint32_t>(length - coordinates);
  product.template_bytes = {octet(s, 10), template_end - 9};
  product.parameter_category = *octet(s, 10);
  product.parameter_number = *octet(s, 11);
  if (product.template_number > 15 || template_end < 34) return {};
  product.horizontal_prefix = true;
  product.generating_process_type = *octet(s, 12);
  product.background_process = *octet(s, 13);
  product.generating_process = *octet(s, 14);
  product.time_unit = *octet(s, 18);
  product.forecast_time = signed32(octet(s, 19));
  product.first_surface = read_surface(octet(s, 23));
  product.second_surface = read_surface(octet(s, 29));
  auto too_short = [&](std::uint32_t needed) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 4 (byte {}) template 4.{} needs {} bytes, the template has {}",
                         section_offset, product.template_number, needed, template_end);
  };
  switch (product.template_number) {
    case 1:
    case 11:
      if (template_end < 37) return too_short(37);
      product.ensemble = EnsembleMember{*octet(s, 35), *octet(s, 36), *octet(s, 37)};
      if (product.template_number == 11) {
        product.interval.emplace();
        FLOE_RETURN_IF_ERROR(read_interval(s, template_end, 38, section_offset, message_offset,
                                           product.template_number, *product.interval));
      }
      break;
    case 8:
      product.interval.emplace();
      FLOE_RETURN_IF_ERROR(read_interval(s, template_end, 35, section_offset, message_offset,
                                         product.template_number, *product.interval));
      break;
    default:
      break;
  }
  return {};
}

Status parse_representation(const std::uint8_t* s, std::uint32_t length,
                            std::uint64_t section_offset, std::uint64_t message_offset,
                            Grib2Representation& representation) {
  if (length < 11) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 5 (byte {}) is {} bytes, shorter than its 11-byte minimum",
                         section_offset, length);
  }
  representation.section_offset = section_offset;
  representation.value_count = be32(octet(s, 6));
  representation.template_number = be16(octet(s, 10));
  representation.template_bytes = {octet(s, 12), length - 11};
  std::uint32_t needed = 0;
  switch (representation.template_number) {
    case 0:
    case 41:
      needed = 21;
      break;
    case 2:
      needed = 47;
      break;
    case 3:
      needed = 49;
      break;
    case 4:
      needed = 12;
      break;
    case 40:
      needed = 23;
      break;
    case 42:
      needed = 25;
      break;
    default:
      return {};  // recorded, not interpreted; decoding reports it
  }
  if (length < needed) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 5 (byte {}) template 5.{} needs {} bytes, the section has {}",
                         section_offset, representation.template_number, needed, length);
  }
  representation.template_supported = true;
  if (representation.template_number == 4) {
    representation.ieee_precision = *octet(s, 12);
    return {};
  }
  representation.reference_value = ieee32(octet(s, 12));
  representation.binary_scale = signed16(octet(s, 16));
  representation.decimal_scale = signed16(octet(s, 18));
  representation.bits_per_value = *octet(s, 20);
  representation.original_type = *octet(s, 21);
  switch (representation.template_number) {
    case 2:
    case 3: {
      ComplexPacking& complex = representation.complex;
      complex.group_splitting_method = *octet(s, 22);
      complex.missing_value_management = *octet(s, 23);
      complex.primary_missing_substitute = be32(octet(s, 24));
      complex.secondary_missing_substitute = be32(octet(s, 28));
      complex.group_count = be32(octet(s, 32));
      complex.group_width_reference = *octet(s, 36);
      complex.group_width_bits = *octet(s, 37);
      complex.group_length_reference = be32(octet(s, 38));
      complex.group_length_increment = *octet(s, 42);
      complex.last_group_length = be32(octet(s, 43));
      complex.group_length_bits = *octet(s, 47);
      if (representation.template_number == 3) {
        complex.spatial_differencing_order = *octet(s, 48);
        complex.extra_descriptor_octets = *octet(s, 49);
      }
      break;
    }
    case 40:
      representation.compression_type = *octet(s, 22);
      representation.target_compression = *octet(s, 23);
      break;
    case 42:
      representation.ccsds.flags = *octet(s, 22);
      representation.ccsds.block_size = *octet(s, 23);
      representation.ccsds.reference_sample_interval = be16(octet(s, 24));
      break;
    default:
      break;
  }
  return {};
}

}  // namespace

Result<GribIndicator> read_indicator(std::span<const std::uint8_t> bytes,
                                     std::uint64_t message_offset) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), "GRIB", 4) != 0) {
    return make_error(ErrorCode::kCorrupt,
                      "GRIB message at offset {}: no \"GRIB\" indicator (is the offset right?)",
                      message_offset);
  }
  GribIndicator indicator;
  indicator.edition = bytes[7];
  if (indicator.edition == 1) {
    indicator.total_length = be24(bytes.data() + 4);
    return indicator;
  }
  if (indicator.edition != 2) {
    return make_error(ErrorCode::kUnsupported,
                      "GRIB message at offset {}: edition {} (floe reads GRIB editions 1 and 2)",
                      message_offset, indicator.edition);
  }
  if (bytes.size() < kIndicatorSize) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "{} bytes cannot hold the 16-byte section 0", bytes.size());
  }
  indicator.discipline = bytes[6];
  indicator.total_length = be64(bytes.data() + 8);
  return indicator;
}

double FixedSurface::value() const {
  if (value_missing) return std::nan("");
  // WMO regulation 92.1.5: negative integers are sign and magnitude (GFS writes -2 PVU so; wgrib2 reads it so,
  // ecCodes as unsigned).
  const double magnitude = static_cast<double>(scaled_value & 0x7fffffffu);
  return ((scaled_value & 0x80000000u) != 0 ? -magnitude : magnitude) * std::pow(10.0, -scale_factor);
}

double Grib2Grid::angle_unit() const {
  if (basic_angle == 0 || basic_angle == kMissing || basic_angle_subdivisions == 0 ||
      basic_angle_subdivisions == kMissing) {
    return 1e-6;
  }
  return static_cast<double>(basic_angle) / basic_angle_subdivisions;
}

Result<Grib2Message> Grib2Message::parse(std::span<const std::uint8_t> bytes,
                                         std::uint64_t message_offset) {
  return parse_impl(bytes, message_offset, false);
}

Result<Grib2Message> Grib2Message::parse_prefix(std::span<const std::uint8_t> prefix,
                                                std::uint64_t message_offset) {
  return parse_impl(prefix, message_offset, true);
}

Result<Grib2Message> Grib2Message::parse_impl(std::span<const std::uint8_t> bytes,
                                              std::uint64_t message_offset, bool prefix_only) {
  FLOE_ASSIGN_OR_RETURN(GribIndicator indicator, read_indicator(bytes, message_offset));
  if (indicator.edition != 2) {
    return message_error(ErrorCode::kInvalidArgument, message_offset,
                         "this is a GRIB edition {} message", indicator.edition);
  }
  if (indicator.total_length < kIndicatorSize + kEndSize) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "section 0 gives a total length of {}, less than the 20 bytes of "
                         "sections 0 and 8",
                         indicator.total_length);
  }
  if (!prefix_only && bytes.size() < indicator.total_length) {
    return message_error(ErrorCode::kCorrupt, message_offset,
                         "truncated: section 0 gives a total length of {}, only {} bytes are "
                         "there",
                         indicator.total_length, bytes.size());
  }
  Grib2Message message;
  message.message_offset_ = message_offset;
  message.discipline_ = indicator.discipline;
  message.total_length_ = indicator.total_length;
  // Sections past the total length are not part of this message.
  const std::uint64_t end = std::min<std::uint64_t>(bytes.size(), indicator.total_length);
  const std::uint8_t* base = bytes.data();

  std::uint8_t previous = 0;  // the last section number seen
  std::optional<Grib2Field> field;
  std::span<const std::uint8_t> last_bitmap;
  bool have_bitmap = false;
  std::uint64_t at = kIndicatorSize;
  while (true) {
    if (at + 4 <= end && std::memcmp(base + at, "7777", 4) == 0) {
      if (previous != 7) {
        return message_error(ErrorCode::kCorrupt, message_offset,
                             "section 8 (byte {}) follows section {}; a field's sections 4-7 are "
                             "incomplete",
                             at, previous);
      }
      if (at + kEndSize != indicator.total_length) {
        return message_error(ErrorCode::kCorrupt, message_offset,
                             "section 8 (byte {}) ends at {}, but section 0 gives a total length "
                             "of {}",
                             at, at + kEndSize, indicator.total_length);
      }
      message.complete_ = true;
      break;
    }
    if (at + 5 > end) {
      if (prefix_only && end < indicator.total_length) break;
      return message_error(ErrorCode::kCorrupt, message_offset,
                           "no section 8 (\"7777\") at byte {}, {} bytes before the end of the "
                           "message",
                           at, indicator.total_length - at);
    }
    const std::uint32_t length = be32(base + at);
    const std::uint8_t number = base[at + 4];
    if (length < 5) {
      return message_error(ErrorCode::kCorrupt, message_offset,
                           "section {} (byte {}) gives a length of {}, shorter than its header",
                           number, at, length);
    }
    if (at + length > indicator.total_length - kEndSize) {
      return message_error(ErrorCode::kCorrupt, message_offset,
                           "section {} (byte {}) is {} bytes and runs past the end of the message "
                           "({} bytes with section 8)",
                           number, at, length, indicator.total_length);
    }
    if (at + length > end) break;  // only in prefix mode: the section lies past the bytes read
    const std::uint8_t* section = base + at;
    // Section order (regulation 92.3): 0, 1, then repetitions of [2] [3] 4 5 6 7, then 8.
    auto out_of_order = [&]() {
      return message_error(ErrorCode::kCorrupt, message_offset,
                           "section {} (byte {}) cannot follow section {}", number, at, previous);
    };
    switch (number) {
      case 1: {
        if (previous != 0) return out_of_order();
        if (length < 21) {
          return message_error(ErrorCode::kCorrupt, message_offset,
                               "section 1 (byte {}) is {} bytes, shorter than its 21-byte minimum",
                               at, length);
        }
        Grib2Identification& id = message.identification_;
        id.centre = be16(octet(section, 6));
        id.subcentre = be16(octet(section, 8));
        id.master_tables_version = *octet(section, 10);
        id.local_tables_version = *octet(section, 11);
        id.reference_time_significance = *octet(section, 12);
        id.year = be16(octet(section, 13));
        id.month = *octet(section, 15);
        id.day = *octet(section, 16);
        id.hour = *octet(section, 17);
        id.minute = *octet(section, 18);
        id.second = *octet(section, 19);
        id.production_status = *octet(section, 20);
        id.data_type = *octet(section, 21);
        break;
      }
      case 2:
        if (previous != 1 && previous != 7) return out_of_order();
        break;
      case 3: {
        if (previous != 1 && previous != 2 && previous != 7) return out_of_order();
        Grib2Grid grid;
        FLOE_RETURN_IF_ERROR(parse_grid(section, length, at, message_offset, grid));
        message.grids_.push_back(grid);
        break;
      }
      case 4:
        if ((previous != 3 && previous != 7) || message.grids_.empty()) return out_of_order();
        field.emplace();
        field->grid_index = message.grids_.size() - 1;
        FLOE_RETURN_IF_ERROR(parse_product(section, length, at, message_offset, field->product));
        break;
      case 5:
        if (previous != 4) return out_of_order();
        FLOE_RETURN_IF_ERROR(
            parse_representation(section, length, at, message_offset, field->representation));
        break;
      case 6:
        if (previous != 5) return out_of_order();
        if (length < 6) {
          return message_error(ErrorCode::kCorrupt, message_offset,
                               "section 6 (byte {}) is {} bytes, shorter than its 6-byte header",
                               at, length);
        }
        field->bitmap_section_offset = at;
        field->bitmap_indicator = *octet(section, 6);
        if (field->bitmap_indicator == 0) {
          last_bitmap = {octet(section, 7), length - 6};
          have_bitmap = true;
          field->bitmap = last_bitmap;
        } else if (field->bitmap_indicator == 254) {
          if (!have_bitmap) {
            return message_error(ErrorCode::kCorrupt, message_offset,
                                 "section 6 (byte {}) reuses the previous bitmap (indicator 254), "
                                 "but no earlier field of the message has one",
                                 at);
          }
          field->bitmap = last_bitmap;
        }
        break;
      case 7:
        if (previous != 6) return out_of_order();
        field->data_section_offset = at;
        field->data = {section + 5, length - 5};
        field->has_data = true;
        message.fields_.push_back(std::move(*field));
        field.reset();
        break;
      default:
        return message_error(ErrorCode::kCorrupt, message_offset,
                             "section number {} at byte {} (GRIB2 has sections 0-8)", number, at);
    }
    previous = number;
    at += length;
  }
  // A prefix may end inside a field: keep it when its data representation was read.
  if (field && (previous == 5 || previous == 6)) message.fields_.push_back(std::move(*field));
  return message;
}

Result<PackedField> Grib2Message::packed_field(std::size_t field_index) const {
  const std::string origin = fields_.size() > 1
                                 ? fmt::format("GRIB2 message at offset {}, field {} of {}",
                                               message_offset_, field_index, fields_.size())
                                 : fmt::format("GRIB2 message at offset {}", message_offset_);
  if (field_index >= fields_.size()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: no field {} (the message has {})", origin,
                      field_index, fields_.size());
  }
  const Grib2Field& field = fields_[field_index];
  const Grib2Grid& grid = grids_[field.grid_index];
  const Grib2Representation& representation = field.representation;
  PackedField packed;
  packed.origin = origin;
  packed.edition = 2;
  if (!grid.template_known) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 3 (byte {}) template 3.{} not supported (floe decodes grids "
                      "3.0, 3.1, 3.10, 3.20, 3.30, 3.40, 3.41)",
                      origin, grid.section_offset, grid.template_number);
  }
  packed.points = grid.number_of_points;
  packed.scanning = grid.scanning;
  if (grid.is_reduced()) {
    packed.rectangular = false;
    if ((grid.scanning.flags & 0xF0) != 0) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: section 3 (byte {}) reduced grid with scanning mode {} (floe "
                        "decodes reduced grids in scanning mode 0 only)",
                        origin, grid.section_offset, grid.scanning.flags);
    }
  } else {
    if (std::uint64_t{grid.ni} * grid.nj != grid.number_of_points) {
      return make_error(ErrorCode::kCorrupt,
                        "{}: section 3 (byte {}) gives Ni {} x Nj {} but {} data points", origin,
                        grid.section_offset, grid.ni, grid.nj, grid.number_of_points);
    }
    packed.ni = grid.ni;
    packed.nj = grid.nj;
  }
  if (grid.template_number == 0 && !packed.scanning.i_negative()) {
    packed.regular_lat_lon = true;
    packed.first_longitude = static_cast<double>(grid.first_longitude) * grid.angle_unit();
    packed.i_increment = static_cast<double>(grid.i_increment) * grid.angle_unit();
  }

  if (!representation.template_supported) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 5 (byte {}) template 5.{} not supported (floe decodes 5.0, "
                      "5.2, 5.3, 5.4, 5.40, 5.41, 5.42)",
                      origin, representation.section_offset, representation.template_number);
  }
  switch (representation.template_number) {
    case 0:
      packed.packing = Packing::kSimple;
      break;
    case 2:
    case 3:
      packed.packing = Packing::kComplex;
      break;
    case 4:
      packed.packing = Packing::kIeee;
      break;
    case 40:
      packed.packing = Packing::kJpeg2000;
      break;
    case 41:
      packed.packing = Packing::kPng;
      break;
    default:
      packed.packing = Packing::kCcsds;
      break;
  }
  packed.template_number = representation.template_number;
  packed.value_count = representation.value_count;
  packed.reference_value = representation.reference_value;
  packed.binary_scale = representation.binary_scale;
  packed.decimal_scale = representation.decimal_scale;
  packed.bits_per_value = representation.bits_per_value;
  packed.complex = representation.complex;
  packed.ieee_precision = representation.ieee_precision;
  packed.ccsds = representation.ccsds;

  if (field.bitmap_indicator != 255 && field.bitmap_indicator != 0 &&
      field.bitmap_indicator != 254) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 6 (byte {}) predefined bitmap {} not supported", origin,
                      field.bitmap_section_offset, field.bitmap_indicator);
  }
  if (!field.has_data) {
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: sections 6-7 were not read (a header prefix only)", origin);
  }
  packed.has_bitmap = field.bitmap_indicator != 255;
  packed.bitmap = field.bitmap;
  if (packed.has_bitmap && packed.bitmap.size() * 8 < packed.points) {
    return make_error(ErrorCode::kCorrupt,
                      "{}: section 6 (byte {}) bitmap of {} bytes is too short for {} points",
                      origin, field.bitmap_section_offset, packed.bitmap.size(), packed.points);
  }
  packed.data = field.data;
  packed.data_offset = field.data_section_offset + 5;
  return packed;
}

}  // namespace floe::codecs::grib
