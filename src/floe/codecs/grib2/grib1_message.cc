// Parsing GRIB edition 1 messages: indicator, product definition, grid description, bitmap and
// binary data sections, each checked against the message length.
#include "floe/codecs/grib2/grib1_message.h"

#include <bit>
#include <cstring>

#include "floe/codecs/grib2/bits.h"

namespace floe::codecs::grib {
namespace {

template <typename... Args>
Error grib1_error(ErrorCode code, std::uint64_t message_offset, fmt::format_string<Args...> format,
                  Args&&... args) {
  return Error(code, fmt::format("GRIB1 message at offset {}: {}", message_offset,
                                 fmt::format(format, std::forward<Args>(args)...)));
}

const std::uint8_t* octet(const std::uint8_t* section, std::size_t n) { return section + n - 1; }

// Number of 1 bits among the first `count` bits.
std::uint64_t count_set_bits(std::span<const std::uint8_t> bitmap, std::uint64_t count) {
  std::uint64_t set = 0;
  const std::uint64_t whole = count / 8;
  for (std::uint64_t k = 0; k < whole; ++k) set += std::popcount(bitmap[k]);
  if (count % 8 != 0) {
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - count % 8));
    set += std::popcount(static_cast<std::uint8_t>(bitmap[whole] & mask));
  }
  return set;
}

}  // namespace

Result<Grib1Message> Grib1Message::parse(std::span<const std::uint8_t> bytes,
                                         std::uint64_t message_offset) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), "GRIB", 4) != 0) {
    return grib1_error(ErrorCode::kCorrupt, message_offset, "no \"GRIB\" indicator");
  }
  if (bytes[7] != 1) {
    return grib1_error(ErrorCode::kInvalidArgument, message_offset, "edition {}, not 1", bytes[7]);
  }
  Grib1Message message;
  message.message_offset_ = message_offset;
  message.total_length_ = be24(bytes.data() + 4);
  if ((message.total_length_ & 0x800000) != 0) {
    return grib1_error(ErrorCode::kUnsupported, message_offset,
                       "total length {} has the ECMWF large-message flag (messages over 8 MiB "
                       "are not supported)",
                       message.total_length_);
  }
  if (message.total_length_ < 8 + 28 + 12 + 4) {
    return grib1_error(ErrorCode::kCorrupt, message_offset,
                       "total length {} is too short for sections 0, 1, 4 and 5",
                       message.total_length_);
  }
  if (bytes.size() < message.total_length_) {
    return grib1_error(ErrorCode::kCorrupt, message_offset,
                       "truncated: section 0 gives a total length of {}, only {} bytes are there",
                       message.total_length_, bytes.size());
  }
  const std::uint8_t* base = bytes.data();
  const std::uint64_t body_end = message.total_length_ - 4;  // where "7777" starts
  std::uint64_t at = 8;
  // Reads the 3-byte length of the section at `at` and checks it lies inside the message.
  auto section_length = [&](int number, std::uint32_t minimum) -> Result<std::uint32_t> {
    if (at + 3 > body_end) {
      return grib1_error(ErrorCode::kCorrupt, message_offset,
                         "section {} (byte {}) starts past the end of the message", number, at);
    }
    const std::uint32_t length = be24(base + at);
    if (length < minimum) {
      return grib1_error(ErrorCode::kCorrupt, message_offset,
                         "section {} (byte {}) gives a length of {}, shorter than its {}-byte "
                         "minimum",
                         number, at, length, minimum);
    }
    if (at + length > body_end) {
      return grib1_error(ErrorCode::kCorrupt, message_offset,
                         "section {} (byte {}) is {} bytes and runs past the end of the message "
                         "({} bytes)",
                         number, at, length, message.total_length_);
    }
    return length;
  };

  FLOE_ASSIGN_OR_RETURN(std::uint32_t pds_length, section_length(1, 28));
  const std::uint8_t* pds = base + at;
  Grib1Product& product = message.product_;
  product.section = {pds, pds_length};
  product.table_version = *octet(pds, 4);
  product.centre = *octet(pds, 5);
  product.generating_process = *octet(pds, 6);
  product.grid_id = *octet(pds, 7);
  product.flags = *octet(pds, 8);
  product.parameter = *octet(pds, 9);
  product.level_type = *octet(pds, 10);
  product.level = be16(octet(pds, 11));
  const std::uint8_t century = *octet(pds, 25);
  product.year =
      static_cast<std::uint16_t>((century > 0 ? century - 1 : 0) * 100 + *octet(pds, 13));
  product.month = *octet(pds, 14);
  product.day = *octet(pds, 15);
  product.hour = *octet(pds, 16);
  product.minute = *octet(pds, 17);
  product.time_unit = *octet(pds, 18);
  product.p1 = *octet(pds, 19);
  product.p2 = *octet(pds, 20);
  product.time_range_indicator = *octet(pds, 21);
  product.subcentre = *octet(pds, 26);
  product.decimal_scale = signed16(octet(pds, 27));
  at += pds_length;

  if ((product.flags & 0x80) != 0) {
    FLOE_ASSIGN_OR_RETURN(std::uint32_t gds_length, section_length(2, 32));
    const std::uint8_t* gds = base + at;
    Grib1Grid& grid = message.grid_;
    grid.present = true;
    grid.section = {gds, gds_length};
    grid.data_representation_type = *octet(gds, 6);
    grid.ni = be16(octet(gds, 7));
    grid.nj = be16(octet(gds, 9));
    grid.first_latitude = signed24(octet(gds, 11));
    grid.first_longitude = signed24(octet(gds, 14));
    grid.resolution_flags = *octet(gds, 17);
    grid.last_latitude = signed24(octet(gds, 18));
    grid.last_longitude = signed24(octet(gds, 21));
    grid.i_increment = be16(octet(gds, 24));
    grid.j_increment = be16(octet(gds, 26));
    grid.scanning.flags = *octet(gds, 28);
    // Octet 5: where the vertical coordinates or the list of points per row start (255: none).
    const std::uint8_t nv = *octet(gds, 4);
    const std::uint8_t list_at = *octet(gds, 5);
    if (grid.is_reduced() && list_at != 255 && list_at != 0) {
      const std::uint64_t start = list_at - 1 + 4ull * nv;
      const std::uint64_t size = 2ull * grid.nj;
      if (start + size > gds_length) {
        return grib1_error(ErrorCode::kCorrupt, message_offset,
                           "section 2 (byte {}): the {} points-per-row counts at octet {} run "
                           "past the section ({} bytes)",
                           at, grid.nj, start + 1, gds_length);
      }
      grid.points_per_row = {gds + start, size};
    }
    at += gds_length;
  }

  if ((product.flags & 0x40) != 0) {
    FLOE_ASSIGN_OR_RETURN(std::uint32_t bms_length, section_length(3, 6));
    const std::uint8_t* bms = base + at;
    message.has_bitmap_ = true;
    message.bitmap_offset_ = at;
    message.bitmap_unused_bits_ = *octet(bms, 4);
    message.bitmap_table_ = be16(octet(bms, 5));
    message.bitmap_ = {bms + 6, bms_length - 6};
    at += bms_length;
  }

  FLOE_ASSIGN_OR_RETURN(std::uint32_t bds_length, section_length(4, 11));
  const std::uint8_t* bds = base + at;
  message.data_section_offset_ = at;
  message.data_flags_ = *octet(bds, 4) & 0xF0;
  message.data_unused_bits_ = *octet(bds, 4) & 0x0F;
  message.binary_scale_ = signed16(octet(bds, 5));
  message.reference_value_ = ibm32(octet(bds, 7));
  message.bits_per_value_ = *octet(bds, 11);
  message.data_ = {bds + 11, bds_length - 11};
  at += bds_length;
  if (at != body_end || std::memcmp(base + body_end, "7777", 4) != 0) {
    return grib1_error(ErrorCode::kCorrupt, message_offset,
                       "no section 5 (\"7777\") at byte {} where section 4 ends", at);
  }
  return message;
}

Result<PackedField> Grib1Message::packed_field() const {
  PackedField packed;
  packed.origin = fmt::format("GRIB1 message at offset {}", message_offset_);
  packed.edition = 1;
  if (!grid_.present) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: no grid description section (predefined grid {} not supported)",
                      packed.origin, product_.grid_id);
  }
  const std::uint8_t type = grid_.data_representation_type;
  if (type != 0 && type != 4 && type != 10 && type != 14) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 2 data representation type {} not supported (floe decodes "
                      "types 0, 4, 10, 14)",
                      packed.origin, type);
  }
  packed.scanning = grid_.scanning;
  if (grid_.is_reduced()) {
    if (grid_.points_per_row.empty()) {
      return make_error(ErrorCode::kCorrupt,
                        "{}: section 2 has a missing Ni but no list of points per row",
                        packed.origin);
    }
    if ((grid_.scanning.flags & 0xE0) != 0) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: reduced grid with scanning mode {} (floe decodes reduced grids in "
                        "scanning mode 0 only)",
                        packed.origin, grid_.scanning.flags);
    }
    packed.rectangular = false;
    for (std::size_t k = 0; k < grid_.points_per_row.size(); k += 2) {
      packed.points += be16(grid_.points_per_row.data() + k);
    }
  } else {
    packed.ni = grid_.ni;
    packed.nj = grid_.nj;
    packed.points = std::uint64_t{grid_.ni} * grid_.nj;
  }
  // GRIB1 has no alternating-row flag: bit 4 onwards are reserved.
  packed.scanning.flags &= 0xE0;
  if (type == 0 && !packed.scanning.i_negative()) {
    packed.regular_lat_lon = true;
    packed.first_longitude = grid_.first_longitude * 1e-3;
    packed.i_increment = grid_.i_increment * 1e-3;
  }

  if ((data_flags_ & 0x80) != 0) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 4 (byte {}) holds spherical harmonic coefficients (not "
                      "supported)",
                      packed.origin, data_section_offset_);
  }
  if ((data_flags_ & 0x40) != 0) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: section 4 (byte {}) uses complex (second-order) packing (floe "
                      "decodes GRIB1 simple packing)",
                      packed.origin, data_section_offset_);
  }
  packed.packing = Packing::kSimple;
  packed.template_number = 0;
  packed.reference_value = reference_value_;
  packed.binary_scale = binary_scale_;
  packed.decimal_scale = product_.decimal_scale;
  packed.bits_per_value = bits_per_value_;
  packed.unused_trailing_bits = data_unused_bits_;

  if (has_bitmap_) {
    if (bitmap_table_ != 0) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: section 3 (byte {}) predefined bitmap {} not supported", packed.origin,
                        bitmap_offset_, bitmap_table_);
    }
    if (bitmap_.size() * 8 < packed.points) {
      return make_error(ErrorCode::kCorrupt,
                        "{}: section 3 (byte {}) bitmap of {} bytes is too short for {} points",
                        packed.origin, bitmap_offset_, bitmap_.size(), packed.points);
    }
    packed.has_bitmap = true;
    packed.bitmap = bitmap_;
    packed.value_count = count_set_bits(bitmap_, packed.points);
  } else {
    packed.value_count = packed.points;
  }
  packed.data = data_;
  packed.data_offset = data_section_offset_ + 11;
  return packed;
}

}  // namespace floe::codecs::grib
