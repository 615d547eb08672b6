// GRIB field decoding checked against ecCodes: messages ecCodes writes for every packing x bitmap x
// scanning mode, hand-packed complex packing with every missing-value management, multi-field
// messages with reused bitmaps, GRIB1, and every message of the real files in testdata/grib.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "grib_test_support.h"

namespace floe::grib_test {
namespace {

constexpr long kNi = 37;
constexpr long kNj = 23;

// A regular lat/lon message of kNi x kNj points in `scanning` mode holding `values` (storage
// order); values equal to 9999 are missing when `bitmap` is set.
MessageBuilder lat_lon_message(long scanning, const std::vector<double>& values, bool bitmap,
                               long bits_per_value, const char* sample = "regular_ll_sfc_grib2") {
  MessageBuilder builder = MessageBuilder::from_sample(sample);
  builder.set("Ni", kNi).set("Nj", kNj);
  const bool i_negative = (scanning & 128) != 0;
  const bool j_positive = (scanning & 64) != 0;
  builder.set("iScansNegatively", long{i_negative}).set("jScansPositively", long{j_positive});
  if (builder.get_long("edition") == 2) {
    builder.set("jPointsAreConsecutive", long{(scanning & 32) != 0})
        .set("alternativeRowScanning", long{(scanning & 16) != 0});
  } else {
    builder.set("jPointsAreConsecutive", long{(scanning & 32) != 0});
  }
  const double south = 10.0;
  const double north = south + 2.0 * (kNj - 1);
  const double west = 20.0;
  const double east = west + 1.5 * (kNi - 1);
  builder.set("latitudeOfFirstGridPointInDegrees", j_positive ? south : north)
      .set("latitudeOfLastGridPointInDegrees", j_positive ? north : south)
      .set("longitudeOfFirstGridPointInDegrees", i_negative ? east : west)
      .set("longitudeOfLastGridPointInDegrees", i_negative ? west : east)
      .set("iDirectionIncrementInDegrees", 1.5)
      .set("jDirectionIncrementInDegrees", 2.0);
  if (bitmap) builder.set("bitmapPresent", 1L).set("missingValue", 9999.0);
  builder.set("bitsPerValue", bits_per_value);
  builder.set_values(values);
  return builder;
}

std::vector<double> with_missing(std::vector<double> values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    // scattered points and a whole run, so some packing groups are all missing
    if (i % 13 == 5 || (i >= 200 && i < 260)) values[i] = 9999.0;
  }
  return values;
}

TEST(GribOracle, NorthUpLayoutMatchesEccodesGeography) {
  // The oracle's table 3.4 layout against ecCodes' own coordinates: after north_up, latitudes fall
  // down the rows and longitudes rise along them, for every scanning mode ecCodes' lat/lon
  // iterator handles.
  for (long scanning : {0L, 64L, 128L, 192L, 32L, 96L, 160L, 224L}) {
    SCOPED_TRACE("scanning mode " + std::to_string(scanning));
    const MessageBytes message = lat_lon_message(scanning, test_field(kNi, kNj), false, 16).bytes();
    std::vector<double> latitudes;
    std::vector<double> longitudes;
    eccodes_coordinates(message, latitudes, longitudes);
    const std::vector<double> lat = north_up(latitudes, kNi, kNj, scanning);
    const std::vector<double> lon = north_up(longitudes, kNi, kNj, scanning);
    for (long r = 0; r < kNj; ++r) {
      for (long c = 0; c < kNi; ++c) {
        ASSERT_NEAR(lat[r * kNi + c], 10.0 + 2.0 * (kNj - 1) - 2.0 * r, 1e-6) << r << "," << c;
        ASSERT_NEAR(lon[r * kNi + c], 20.0 + 1.5 * c, 1e-6) << r << "," << c;
      }
    }
  }
  // Alternate rows (scanning 80, NBM's Lambert grid): ecCodes' iterator returns the values
  // geographically ordered (rows south to north); north_up of the storage order must equal them
  // with the rows reversed.
  const MessageBytes nbm =
      split_messages(read_file(testdata_dir() + "/grib/gribberish_nbm-multilevel-tcdc.grib2"))[0];
  const OracleField field = eccodes_fields(nbm)[0];
  ASSERT_EQ(field.scanning_mode, 80);
  std::vector<double> latitudes;
  std::vector<double> longitudes;
  std::vector<double> iterated(field.values.size());
  {
    MessageBuilder handle = MessageBuilder::from_message(nbm);
    latitudes.resize(iterated.size());
    longitudes.resize(iterated.size());
    ASSERT_EQ(codes_set_double(handle.handle(), "missingValue", -3.0e300), 0);
    ASSERT_EQ(
        codes_grib_get_data(handle.handle(), latitudes.data(), longitudes.data(), iterated.data()),
        0);
  }
  const std::vector<double> expected = north_up(field.values, field.ni, field.nj, 80);
  std::size_t differences = 0;
  for (long r = 0; r < field.nj; ++r) {
    for (long c = 0; c < field.ni; ++c) {
      const double want = iterated[(field.nj - 1 - r) * field.ni + c];
      const double got = expected[r * field.ni + c];
      if (want == -3.0e300 ? !std::isnan(got) : want != got) ++differences;
    }
  }
  EXPECT_EQ(differences, 0u);
}

TEST(GribDecode, EveryPackingBitmapAndScanningModeMatchesEccodes) {
  struct Variant {
    const char* packing;
    long bits;
    long precision;  // grid_ieee: 1 single, 2 double
  };
  const Variant variants[] = {{"grid_simple", 1, 0},
                              {"grid_simple", 7, 0},
                              {"grid_simple", 12, 0},
                              {"grid_simple", 16, 0},
                              {"grid_simple", 24, 0},
                              {"grid_simple", 31, 0},
                              {"grid_simple", 32, 0},
                              {"grid_complex", 12, 0},
                              {"grid_complex", 20, 0},
                              {"grid_complex_spatial_differencing", 12, 0},
                              {"grid_complex_spatial_differencing", 18, 0},
                              {"grid_ieee", 32, 1},
                              {"grid_ieee", 64, 2},
                              {"grid_jpeg", 12, 0},
                              {"grid_jpeg", 16, 0},
                              {"grid_png", 8, 0},
                              {"grid_png", 12, 0},
                              {"grid_png", 16, 0},
                              {"grid_ccsds", 8, 0},
                              {"grid_ccsds", 12, 0},
                              {"grid_ccsds", 16, 0},
                              {"grid_ccsds", 24, 0},
                              {"grid_ccsds", 32, 0}};
  const long scannings[] = {0, 64, 128, 192, 32, 96, 16, 80, 144, 112};
  int messages = 0;
  for (const Variant& variant : variants) {
    for (bool bitmap : {false, true}) {
      for (long scanning : scannings) {
        // ecCodes 2.28's PNG encoder fails an assertion (and aborts) on j-consecutive grids (and
        // on 24-bit fields with a bitmap, so there is no 24-bit PNG variant).
        if (std::string(variant.packing) == "grid_png" && (scanning & 32) != 0) continue;
        const std::string what = std::string(variant.packing) + " " + std::to_string(variant.bits) +
                                 " bits" + (bitmap ? " + bitmap" : "") + " scanning " +
                                 std::to_string(scanning);
        SCOPED_TRACE(what);
        std::vector<double> values = test_field(kNi, kNj);
        if (bitmap) values = with_missing(values);
        MessageBuilder builder =
            lat_lon_message(scanning, values, bitmap, variant.bits > 32 ? 32 : variant.bits);
        builder.set("packingType", std::string(variant.packing));
        if (variant.precision != 0) {
          builder.set("precision", variant.precision);
          builder.set_values(values);  // re-encoded at the new precision
        }
        const MessageBytes message = builder.bytes();
        expect_message_matches_eccodes(message, what);
        ++messages;
      }
    }
  }
  EXPECT_EQ(messages, 23 * 2 * 10 - 3 * 2 * 3);  // less PNG x bitmap x j-consecutive
}

TEST(GribDecode, DoubleOutputMatchesEccodesDoubles) {
  for (const char* packing :
       {"grid_simple", "grid_complex_spatial_differencing", "grid_ccsds", "grid_ieee"}) {
    SCOPED_TRACE(packing);
    MessageBuilder builder = lat_lon_message(64, with_missing(test_field(kNi, kNj)), true, 16);
    builder.set("packingType", std::string(packing));
    const MessageBytes message = builder.bytes();
    const OracleField field = eccodes_fields(message)[0];
    expect_same_doubles(floe_decode<double>(message),
                        north_up(field.values, field.ni, field.nj, field.scanning_mode), packing);
  }
}

TEST(GribDecode, ConstantFieldsAreTheReferenceValue) {
  // ecCodes writes 0 bits per value for a constant field and reads back R without applying D.
  // (It cannot encode constant fields with complex packing; the real GFS RH message is one.)
  for (const char* packing : {"grid_simple", "grid_ccsds", "grid_jpeg", "grid_png"}) {
    for (bool bitmap : {false, true}) {
      SCOPED_TRACE(std::string(packing) + (bitmap ? " + bitmap" : ""));
      std::vector<double> values(kNi * kNj, 273.15);
      if (bitmap) values = with_missing(values);
      MessageBuilder builder = lat_lon_message(0, values, bitmap, 12);
      builder.set("decimalScaleFactor", 2L);
      builder.set_values(values);
      builder.set("packingType", std::string(packing));
      expect_message_matches_eccodes(builder.bytes(), packing);
    }
  }
}

TEST(GribDecode, GaussianAndReducedGaussianGridsMatchEccodes) {
  for (const char* sample : {"regular_gg_sfc_grib2", "reduced_gg_sfc_grib2", "regular_gg_sfc_grib1",
                             "reduced_gg_sfc_grib1", "reduced_gg_sfc_jpeg_grib2"}) {
    SCOPED_TRACE(sample);
    MessageBuilder builder = MessageBuilder::from_sample(sample);
    std::size_t count = 0;
    ASSERT_EQ(codes_get_size(builder.handle(), "values", &count), 0);
    std::vector<double> values(count);
    for (std::size_t i = 0; i < count; ++i) values[i] = 200.0 + std::fmod(i * 0.37, 90.0);
    builder.set("bitsPerValue", 16L);
    builder.set_values(values);
    expect_message_matches_eccodes(builder.bytes(), sample);
  }
}

TEST(GribDecode, MultiFieldMessagesAndReusedBitmaps) {
  std::vector<MessageBytes> fields;
  const char* packings[] = {"grid_simple", "grid_complex_spatial_differencing", "grid_ccsds",
                            "grid_jpeg"};
  for (long k = 0; k < 4; ++k) {
    MessageBuilder builder =
        lat_lon_message(0, with_missing(test_field(kNi, kNj, 100.0 * k)), true, 14);
    builder.set("packingType", std::string(packings[k])).set("parameterNumber", k);
    fields.push_back(builder.bytes());
  }
  const MessageBytes multi = multi_field_message(fields);
  const MessageBytes reused = reuse_previous_bitmaps(multi);
  ASSERT_LT(reused.size(), multi.size());
  for (const MessageBytes* message : {&multi, &reused}) {
    auto parsed = codecs::grib::Grib2Message::parse(*message);
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    ASSERT_EQ(parsed->fields().size(), 4u);
    ASSERT_EQ(parsed->grids().size(), 1u);
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(parsed->fields()[k].product.parameter_number, k);
      EXPECT_EQ(parsed->fields()[k].bitmap_indicator, (message == &reused && k > 0) ? 254 : 0);
    }
    expect_message_matches_eccodes(*message, message == &multi ? "multi-field" : "bitmap 254");
  }
}

// Writes big-endian bit fields (the tests' own complex packer).
class BitWriter {
 public:
  void put(std::uint64_t value, unsigned bits) {
    for (unsigned k = bits; k > 0; --k) {
      if (position_ % 8 == 0) bytes_.push_back(0);
      if ((value >> (k - 1)) & 1)
        bytes_.back() |= static_cast<std::uint8_t>(0x80 >> (position_ % 8));
      ++position_;
    }
  }
  void align() { position_ = (position_ + 7) & ~std::uint64_t{7}; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint64_t position_ = 0;
};

unsigned bits_for(std::uint64_t value) {
  unsigned bits = 0;
  while (value >> bits) ++bits;
  return bits;
}

void put_be(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int k = bytes - 1; k >= 0; --k) out.push_back(static_cast<std::uint8_t>(value >> (8 * k)));
}

std::uint64_t sign_magnitude(std::int64_t value, unsigned bits) {
  return value < 0 ? (std::uint64_t{1} << (bits - 1)) | static_cast<std::uint64_t>(-value)
                   : static_cast<std::uint64_t>(value);
}

// Sections 5-7 of a complex-packed field (template 5.2 when order is 0, else 5.3) holding the
// integers `values` (R 0, E 0, D 0), where kind 1 marks primary and kind 2 secondary missing
// values; groups of `group_size` points.
std::vector<std::uint8_t> complex_sections(const std::vector<std::int64_t>& values,
                                           const std::vector<int>& kinds, unsigned order,
                                           unsigned management, std::size_t group_size) {
  const std::size_t count = values.size();
  std::vector<std::int64_t> packed(count, 0);
  std::int64_t first_values[2] = {0, 0};
  std::int64_t minimum = 0;
  {
    std::vector<std::size_t> present;
    for (std::size_t i = 0; i < count; ++i) {
      if (kinds[i] == 0) present.push_back(i);
    }
    std::vector<std::int64_t> differences(present.size());
    for (std::size_t k = 0; k < present.size(); ++k) {
      const std::int64_t v = values[present[k]];
      if (k < order) {
        first_values[k] = v;
        differences[k] = 0;
      } else if (order == 1) {
        differences[k] = v - values[present[k - 1]];
      } else if (order == 2) {
        differences[k] = v - 2 * values[present[k - 1]] + values[present[k - 2]];
      } else {
        differences[k] = v;
      }
    }
    if (order > 0 && present.size() > order) {
      minimum = *std::min_element(differences.begin() + order, differences.end());
      for (std::size_t k = order; k < present.size(); ++k) differences[k] -= minimum;
    }
    for (std::size_t k = 0; k < present.size(); ++k) packed[present[k]] = differences[k];
  }
  // Groups of group_size points: reference = smallest value, width enough for the spread plus the
  // missing codes (all ones, all ones - 1). A group of one missing kind only is 0 bits wide with
  // a missing reference.
  enum class Marker { kNone, kPrimary, kSecondary };
  struct Group {
    std::uint64_t reference = 0;
    unsigned width = 0;
    Marker marker = Marker::kNone;
  };
  std::vector<Group> groups;
  std::uint64_t largest_reference = 0;
  for (std::size_t start = 0; start < count; start += group_size) {
    const std::size_t end = std::min(count, start + group_size);
    std::int64_t low = std::numeric_limits<std::int64_t>::max();
    std::int64_t high = std::numeric_limits<std::int64_t>::min();
    bool primary = false;
    bool secondary = false;
    for (std::size_t i = start; i < end; ++i) {
      primary = primary || kinds[i] == 1;
      secondary = secondary || kinds[i] == 2;
      if (kinds[i] == 0) {
        low = std::min(low, packed[i]);
        high = std::max(high, packed[i]);
      }
    }
    Group group;
    if (high < low) {  // no value
      if (primary && secondary) {
        group.width = bits_for(management);
      } else {
        group.marker = primary ? Marker::kPrimary : Marker::kSecondary;
      }
    } else {
      group.reference = static_cast<std::uint64_t>(low);
      const auto spread = static_cast<std::uint64_t>(high - low);
      group.width = (spread == 0 && !primary && !secondary) ? 0 : bits_for(spread + management);
      largest_reference = std::max(largest_reference, group.reference);
    }
    groups.push_back(group);
  }
  // Reference bits: enough for every reference below the two missing markers.
  const unsigned reference_bits = std::max(1u, bits_for(largest_reference + 2));
  const std::uint64_t ones = (std::uint64_t{1} << reference_bits) - 1;
  unsigned widest = 0;
  for (Group& group : groups) {
    if (group.marker == Marker::kPrimary) group.reference = ones;
    if (group.marker == Marker::kSecondary) group.reference = ones - 1;
    widest = std::max(widest, group.width);
  }
  const unsigned width_bits = bits_for(widest);

  BitWriter data;
  const unsigned descriptor_octets = 4;
  if (order > 0) {
    for (unsigned k = 0; k < order; ++k) data.put(sign_magnitude(first_values[k], 32), 32);
    data.put(sign_magnitude(minimum, 32), 32);
  }
  for (const Group& group : groups) data.put(group.reference, reference_bits);
  data.align();
  for (const Group& group : groups) data.put(group.width, width_bits);
  data.align();
  // Every group but the last has group_size points: lengths take 0 bits.
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::size_t start = g * group_size;
    const std::size_t end = std::min(count, start + group_size);
    const unsigned width = groups[g].width;
    if (width == 0) continue;
    const std::uint64_t primary = (std::uint64_t{1} << width) - 1;
    for (std::size_t i = start; i < end; ++i) {
      if (kinds[i] == 1) {
        data.put(primary, width);
      } else if (kinds[i] == 2) {
        data.put(primary - 1, width);
      } else {
        data.put(static_cast<std::uint64_t>(packed[i]) - groups[g].reference, width);
      }
    }
  }
  std::vector<std::uint8_t> out;
  // section 5
  const std::uint32_t section5_length = order > 0 ? 49 : 47;
  put_be(out, section5_length, 4);
  out.push_back(5);
  put_be(out, count, 4);
  put_be(out, order > 0 ? 3 : 2, 2);
  put_be(out, 0, 4);  // R = 0.0f
  put_be(out, 0, 2);  // E
  put_be(out, 0, 2);  // D
  out.push_back(static_cast<std::uint8_t>(reference_bits));
  out.push_back(1);  // integer values
  out.push_back(1);  // general group splitting
  out.push_back(static_cast<std::uint8_t>(management));
  put_be(out, 9999, 4);
  put_be(out, 9998, 4);
  put_be(out, groups.size(), 4);
  out.push_back(0);  // width reference
  out.push_back(static_cast<std::uint8_t>(width_bits));
  put_be(out, group_size, 4);                                // length reference
  out.push_back(1);                                          // length increment
  put_be(out, count - (groups.size() - 1) * group_size, 4);  // last group
  out.push_back(0);                                          // length bits
  if (order > 0) {
    out.push_back(static_cast<std::uint8_t>(order));
    out.push_back(descriptor_octets);
  }
  // section 6: no bitmap
  put_be(out, 6, 4);
  out.push_back(6);
  out.push_back(255);
  // section 7
  put_be(out, 5 + data.bytes().size(), 4);
  out.push_back(7);
  out.insert(out.end(), data.bytes().begin(), data.bytes().end());
  return out;
}

// Sections 0-4 of `base` followed by `sections_5_to_7` and "7777".
MessageBytes splice_field(const MessageBytes& base, const std::vector<std::uint8_t>& tail) {
  MessageBytes out(base.begin(), base.begin() + section_at(base, 5));
  out.insert(out.end(), tail.begin(), tail.end());
  end_message(out);
  return out;
}

TEST(GribDecode, ComplexPackingMissingValueManagementMatchesEccodes) {
  // ecCodes never writes missing values inside complex packing (it uses a bitmap), NCEP does: the
  // tests pack them by hand and ecCodes decodes them as the oracle.
  const MessageBytes base = lat_lon_message(0, test_field(kNi, kNj), false, 16).bytes();
  const std::size_t count = kNi * kNj;
  std::vector<std::int64_t> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = static_cast<std::int64_t>(std::llround(test_field(kNi, kNj)[i] * 10.0)) - 2000;
  }
  for (unsigned management : {0u, 1u, 2u}) {
    for (unsigned order : {0u, 1u, 2u}) {
      for (bool leading_missing : {false, true}) {
        std::vector<int> kinds(count, 0);
        if (management > 0) {
          for (std::size_t i = 0; i < count; ++i) {
            if (i % 17 == 3 || (i >= 300 && i < 340)) kinds[i] = 1;
            if (management == 2 && (i % 23 == 7 || (i >= 500 && i < 530))) kinds[i] = 2;
            if (leading_missing && i < 11) kinds[i] = 1 + static_cast<int>(i % management);
          }
        }
        const std::string what = "management " + std::to_string(management) + " order " +
                                 std::to_string(order) + (leading_missing ? " leading" : "");
        SCOPED_TRACE(what);
        const MessageBytes message =
            splice_field(base, complex_sections(values, kinds, order, management, 10));
        const std::vector<OracleField> oracle = eccodes_fields(message);
        ASSERT_EQ(oracle.size(), 1u);
        std::size_t missing = 0;
        for (int kind : kinds) missing += kind != 0;
        EXPECT_EQ(static_cast<std::size_t>(oracle[0].number_of_missing), missing);
        for (std::size_t i = 0; i < count; ++i) {
          if (kinds[i] == 0) {
            ASSERT_EQ(oracle[0].values[i], values[i]) << "own packer, point " << i;
          }
        }
        expect_message_matches_eccodes(message, what);
      }
    }
  }
}

TEST(GribDecode, Grib1SimplePackingMatchesEccodes) {
  for (const char* sample : {"regular_ll_sfc_grib1", "regular_ll_pl_grib1"}) {
    for (long bits : {8L, 12L, 16L, 24L}) {
      for (bool bitmap : {false, true}) {
        for (long scanning : {0L, 64L, 128L, 32L}) {
          const std::string what = std::string(sample) + " " + std::to_string(bits) + " bits" +
                                   (bitmap ? " + bitmap" : "") + " scanning " +
                                   std::to_string(scanning);
          SCOPED_TRACE(what);
          std::vector<double> values = test_field(kNi, kNj);
          if (bitmap) values = with_missing(values);
          const MessageBytes message =
              lat_lon_message(scanning, values, bitmap, bits, sample).bytes();
          ASSERT_EQ(message[7], 1);
          expect_message_matches_eccodes(message, what);
        }
      }
    }
  }
  // A GRIB2 field converted to GRIB1 by ecCodes (how ERA5 reaches most users).
  for (const char* file : {"gribberish_ecmwf-ifs-oper-surface.grib2",
                           "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2"}) {
    const MessageBytes grib2 = split_messages(read_file(testdata_dir() + "/grib/" + file))[0];
    std::vector<double> values = eccodes_fields(grib2)[0].values;
    for (double& value : values) value = std::isnan(value) ? 9999.0 : value;
    MessageBuilder converted = MessageBuilder::from_message(grib2);
    converted.set("packingType", std::string("grid_simple"));
    converted.set("bitmapPresent", 1L).set("missingValue", 9999.0).set("bitsPerValue", 16L);
    converted.set_values(values);  // re-encoded with simple packing
    converted.set("edition", 1L);
    const MessageBytes grib1 = converted.bytes();
    ASSERT_EQ(grib1[7], 1);
    expect_message_matches_eccodes(grib1, std::string(file) + " converted to GRIB1");
  }
}

TEST(GribDecode, EveryMessageOfTheRealFilesMatchesEccodes) {
  const std::string directory = testdata_dir() + "/grib";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    const std::string name = entry.path().string();
    if (entry.is_regular_file() && (name.ends_with(".grib2") || name.ends_with(".grb2") ||
                                    name.ends_with(".grib") || name.ends_with(".grb"))) {
      files.push_back(name);
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 15u) << "testdata/grib looks incomplete";
  std::size_t messages = 0;
  for (const std::string& file : files) {
    const std::vector<MessageBytes> split = split_messages(read_file(file));
    EXPECT_FALSE(split.empty()) << file;
    for (std::size_t m = 0; m < split.size(); ++m) {
      expect_message_matches_eccodes(split[m], file + " message " + std::to_string(m));
      ++messages;
    }
  }
  EXPECT_GE(messages, 40u);
}

}  // namespace
}  // namespace floe::grib_test
