// The GRIB2 and GRIB1 message parsers: key fields of every real message against ecCodes' keys,
// header prefixes, and bad input (truncations at every length, corrupt section lengths, sections
// out of order, unsupported templates) giving errors that name the message, section and template.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "grib_test_support.h"

namespace floe::grib_test {
namespace {

using codecs::grib::Grib1Message;
using codecs::grib::Grib2Message;

long eccodes_long(codes_handle* handle, const char* key) {
  long value = 0;
  EXPECT_EQ(codes_get_long(handle, key, &value), 0) << key;
  return value;
}

bool eccodes_has(codes_handle* handle, const char* key) {
  return codes_is_defined(handle, key) != 0;
}

std::uint32_t be32(const MessageBytes& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
}

void set_be32(MessageBytes& bytes, std::size_t at, std::uint32_t value) {
  for (int k = 3; k >= 0; --k) {
    bytes[at + k] = static_cast<std::uint8_t>(value);
    value >>= 8;
  }
}

// A small GRIB2 message: 5.3 with a bitmap on a 37 x 23 lat/lon grid, PDT 4.11.
MessageBytes small_message(const char* packing = "grid_complex_spatial_differencing") {
  MessageBuilder builder = MessageBuilder::from_sample("regular_ll_sfc_grib2");
  builder.set("Ni", 37L).set("Nj", 23L).set("bitmapPresent", 1L).set("missingValue", 9999.0);
  builder.set("productDefinitionTemplateNumber", 11L);
  std::vector<double> values = test_field(37, 23);
  for (std::size_t i = 0; i < values.size(); i += 9) values[i] = 9999.0;
  builder.set("bitsPerValue", 12L).set_values(values);
  builder.set("packingType", std::string(packing));
  return builder.bytes();
}

std::string error_of(const Result<codecs::grib::PackedField>& result) {
  return result.ok() ? "(no error)" : result.error().message();
}

TEST(Grib2Message, KeyFieldsOfEveryRealMessageMatchEccodes) {
  const std::string directory = testdata_dir() + "/grib";
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    const std::string name = entry.path().string();
    if (!entry.is_regular_file() ||
        !(name.ends_with(".grib2") || name.ends_with(".grb2") || name.ends_with(".grib"))) {
      continue;
    }
    for (const MessageBytes& message : split_messages(read_file(name))) {
      if (message[7] != 2) continue;
      SCOPED_TRACE(name);
      auto parsed = Grib2Message::parse(message);
      ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
      EXPECT_TRUE(parsed->complete());
      EXPECT_EQ(parsed->total_length(), message.size());
      codes_grib_multi_support_on(nullptr);
      MessageBytes copy = message;
      void* data = copy.data();
      std::size_t length = copy.size();
      int error = 0;
      std::size_t index = 0;
      while (codes_handle* handle =
                 codes_grib_handle_new_from_multi_message(nullptr, &data, &length, &error)) {
        ASSERT_LT(index, parsed->fields().size());
        const auto& field = parsed->fields()[index];
        const auto& grid = parsed->grids()[field.grid_index];
        const auto& id = parsed->identification();
        EXPECT_EQ(parsed->discipline(), eccodes_long(handle, "discipline"));
        EXPECT_EQ(id.centre, eccodes_long(handle, "centre"));
        EXPECT_EQ(id.year, eccodes_long(handle, "year"));
        EXPECT_EQ(id.month, eccodes_long(handle, "month"));
        EXPECT_EQ(id.day, eccodes_long(handle, "day"));
        EXPECT_EQ(id.hour, eccodes_long(handle, "hour"));
        EXPECT_EQ(grid.template_number, eccodes_long(handle, "gridDefinitionTemplateNumber"));
        EXPECT_EQ(grid.number_of_points, eccodes_long(handle, "numberOfDataPoints"));
        EXPECT_EQ(grid.ni, eccodes_long(handle, "Ni"));
        EXPECT_EQ(grid.nj, eccodes_long(handle, "Nj"));
        EXPECT_EQ(grid.scanning.flags, eccodes_long(handle, "scanningMode"));
        EXPECT_EQ(grid.shape_of_earth, eccodes_long(handle, "shapeOfTheEarth"));
        EXPECT_EQ(grid.first_latitude, eccodes_long(handle, "latitudeOfFirstGridPoint"));
        EXPECT_EQ(grid.first_longitude, eccodes_long(handle, "longitudeOfFirstGridPoint"));
        if (grid.template_number == 30) {
          EXPECT_EQ(grid.first_standard_parallel, eccodes_long(handle, "Latin1"));
          EXPECT_EQ(grid.second_standard_parallel, eccodes_long(handle, "Latin2"));
          EXPECT_EQ(grid.orientation_longitude, eccodes_long(handle, "LoV"));
          EXPECT_EQ(grid.latitude_of_true_scale, eccodes_long(handle, "LaD"));
          EXPECT_EQ(grid.i_increment, eccodes_long(handle, "Dx"));
          EXPECT_EQ(grid.j_increment, eccodes_long(handle, "Dy"));
        } else if (grid.template_number == 20) {
          EXPECT_EQ(grid.orientation_longitude, eccodes_long(handle, "orientationOfTheGrid"));
          EXPECT_EQ(grid.i_increment, eccodes_long(handle, "Dx"));
          EXPECT_EQ(grid.projection_centre, eccodes_long(handle, "projectionCentreFlag"));
        } else if (grid.template_number == 0) {
          EXPECT_EQ(grid.last_latitude, eccodes_long(handle, "latitudeOfLastGridPoint"));
          EXPECT_EQ(grid.last_longitude, eccodes_long(handle, "longitudeOfLastGridPoint"));
          EXPECT_EQ(grid.i_increment, eccodes_long(handle, "iDirectionIncrement"));
          EXPECT_EQ(grid.j_increment, eccodes_long(handle, "jDirectionIncrement"));
        }
        const auto& product = field.product;
        EXPECT_EQ(product.template_number, eccodes_long(handle, "productDefinitionTemplateNumber"));
        EXPECT_EQ(product.parameter_category, eccodes_long(handle, "parameterCategory"));
        EXPECT_EQ(product.parameter_number, eccodes_long(handle, "parameterNumber"));
        EXPECT_TRUE(product.horizontal_prefix);
        EXPECT_EQ(product.first_surface.type, eccodes_long(handle, "typeOfFirstFixedSurface"));
        EXPECT_EQ(product.time_unit, eccodes_long(handle, "indicatorOfUnitOfTimeRange"));
        EXPECT_EQ(product.forecast_time, eccodes_long(handle, "forecastTime"));
        if (eccodes_has(handle, "perturbationNumber")) {
          ASSERT_TRUE(product.ensemble.has_value());
          EXPECT_EQ(product.ensemble->perturbation_number,
                    eccodes_long(handle, "perturbationNumber"));
        }
        if (eccodes_has(handle, "numberOfTimeRange")) {
          ASSERT_TRUE(product.interval.has_value());
          EXPECT_EQ(product.interval->ranges.size(),
                    static_cast<std::size_t>(eccodes_long(handle, "numberOfTimeRange")));
          EXPECT_EQ(product.interval->ranges[0].statistical_process,
                    eccodes_long(handle, "typeOfStatisticalProcessing"));
          EXPECT_EQ(product.interval->ranges[0].length, eccodes_long(handle, "lengthOfTimeRange"));
          EXPECT_EQ(product.interval->end_hour,
                    eccodes_long(handle, "hourOfEndOfOverallTimeInterval"));
        }
        const auto& representation = field.representation;
        EXPECT_EQ(representation.template_number,
                  eccodes_long(handle, "dataRepresentationTemplateNumber"));
        EXPECT_EQ(representation.value_count, eccodes_long(handle, "numberOfValues"));
        EXPECT_EQ(representation.bits_per_value, eccodes_long(handle, "bitsPerValue"));
        EXPECT_EQ(representation.decimal_scale, eccodes_long(handle, "decimalScaleFactor"));
        EXPECT_EQ(representation.binary_scale, eccodes_long(handle, "binaryScaleFactor"));
        if (representation.template_number == 3) {
          EXPECT_EQ(representation.complex.spatial_differencing_order,
                    eccodes_long(handle, "orderOfSpatialDifferencing"));
          EXPECT_EQ(representation.complex.group_count,
                    eccodes_long(handle, "numberOfGroupsOfDataValues"));
          EXPECT_EQ(representation.complex.missing_value_management,
                    eccodes_long(handle, "missingValueManagementUsed"));
        }
        if (representation.template_number == 42) {
          EXPECT_EQ(representation.ccsds.flags, eccodes_long(handle, "ccsdsFlags"));
          EXPECT_EQ(representation.ccsds.block_size, eccodes_long(handle, "ccsdsBlockSize"));
          EXPECT_EQ(representation.ccsds.reference_sample_interval,
                    eccodes_long(handle, "ccsdsRsi"));
        }
        EXPECT_EQ(field.bitmap_indicator, eccodes_long(handle, "bitMapIndicator"));
        codes_handle_delete(handle);
        ++index;
        ++checked;
      }
      codes_grib_multi_support_off(nullptr);
      EXPECT_EQ(index, parsed->fields().size());
    }
  }
  EXPECT_GE(checked, 40u);
}

TEST(Grib2Message, ProductTemplatesAndGridsOfGeneratedMessages) {
  // 4.1 and 4.8 (4.11 is in small_message), Gaussian, Mercator and polar stereographic grids.
  MessageBuilder ensemble = MessageBuilder::from_sample("regular_ll_sfc_grib2");
  ensemble.set("productDefinitionTemplateNumber", 1L)
      .set("perturbationNumber", 17L)
      .set("numberOfForecastsInEnsemble", 51L)
      .set("typeOfEnsembleForecast", 3L);
  auto parsed = Grib2Message::parse(ensemble.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_TRUE(parsed->fields()[0].product.ensemble.has_value());
  EXPECT_EQ(parsed->fields()[0].product.ensemble->perturbation_number, 17);
  EXPECT_EQ(parsed->fields()[0].product.ensemble->forecasts_in_ensemble, 51);
  EXPECT_EQ(parsed->fields()[0].product.ensemble->type, 3);

  MessageBuilder accumulated = MessageBuilder::from_sample("regular_ll_sfc_grib2");
  accumulated.set("productDefinitionTemplateNumber", 8L)
      .set("typeOfStatisticalProcessing", 1L)
      .set("lengthOfTimeRange", 6L)
      .set("forecastTime", 12L);
  parsed = Grib2Message::parse(accumulated.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const auto& product = parsed->fields()[0].product;
  ASSERT_TRUE(product.interval.has_value());
  ASSERT_EQ(product.interval->ranges.size(), 1u);
  EXPECT_EQ(product.interval->ranges[0].statistical_process, 1);
  EXPECT_EQ(product.interval->ranges[0].length, 6u);
  EXPECT_EQ(product.forecast_time, 12);
  EXPECT_FALSE(product.ensemble.has_value());

  MessageBuilder interval_ensemble = MessageBuilder::from_message(small_message());
  parsed = Grib2Message::parse(interval_ensemble.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->fields()[0].product.template_number, 11);
  EXPECT_TRUE(parsed->fields()[0].product.ensemble.has_value());
  EXPECT_TRUE(parsed->fields()[0].product.interval.has_value());

  MessageBuilder gaussian = MessageBuilder::from_sample("regular_gg_sfc_grib2");
  parsed = Grib2Message::parse(gaussian.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->grids()[0].template_number, 40);
  EXPECT_EQ(parsed->grids()[0].gaussian_parallels, gaussian.get_long("N"));
  EXPECT_EQ(parsed->grids()[0].ni, gaussian.get_long("Ni"));

  MessageBuilder polar = MessageBuilder::from_sample("polar_stereographic_sfc_grib2");
  parsed = Grib2Message::parse(polar.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->grids()[0].template_number, 20);
  EXPECT_EQ(parsed->grids()[0].ni, polar.get_long("Nx"));
  EXPECT_EQ(parsed->grids()[0].nj, polar.get_long("Ny"));
  EXPECT_EQ(parsed->grids()[0].i_increment, polar.get_long("Dx"));

  MessageBuilder mercator = MessageBuilder::from_sample("regular_ll_sfc_grib2");
  mercator.set("gridDefinitionTemplateNumber", 10L)
      .set("Ni", 12L)
      .set("Nj", 9L)
      .set("Di", 4000000L)
      .set("Dj", 3000000L)
      .set("LaD", 20000000L)
      .set("scanningMode", 64L);
  mercator.set("bitsPerValue", 16L).set_values(test_field(12, 9));
  parsed = Grib2Message::parse(mercator.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const auto& grid = parsed->grids()[0];
  EXPECT_EQ(grid.template_number, 10);
  EXPECT_EQ(grid.ni, 12u);
  EXPECT_EQ(grid.nj, 9u);
  EXPECT_EQ(grid.i_increment, 4000000u);
  EXPECT_EQ(grid.j_increment, 3000000u);
  EXPECT_EQ(grid.latitude_of_true_scale, 20000000);
  EXPECT_EQ(grid.scanning.flags, 64);
  expect_message_matches_eccodes(mercator.bytes(), "Mercator");
}

TEST(Grib2Message, HeaderPrefixesParseWithoutTheData) {
  const MessageBytes message = small_message();
  const std::size_t bitmap_at = section_at(message, 6);
  for (std::size_t size = 16; size < message.size(); ++size) {
    auto parsed = Grib2Message::parse_prefix(std::span(message).first(size));
    ASSERT_TRUE(parsed.ok()) << size << ": " << parsed.error().to_string();
    EXPECT_FALSE(parsed->complete());
    const std::size_t fields = parsed->fields().size();
    if (size < bitmap_at) {
      EXPECT_EQ(fields, 0u) << size;
    } else {
      ASSERT_EQ(fields, 1u) << size;
      EXPECT_EQ(parsed->fields()[0].representation.template_number, 3);
      EXPECT_EQ(parsed->grids()[0].ni, 37u);
      // Section 7 ends 4 bytes before the message.
      const bool whole_data = size >= message.size() - 4;
      EXPECT_EQ(parsed->fields()[0].has_data, whole_data) << size;
      EXPECT_EQ(parsed->packed_field(0).ok(), whole_data) << size;
      if (!whole_data) {
        EXPECT_NE(error_of(parsed->packed_field(0)).find("not read"), std::string::npos);
      }
    }
  }
  auto whole = Grib2Message::parse_prefix(message);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->complete());
  EXPECT_TRUE(whole->fields()[0].has_data);
}

// GFS writes the -2 PVU surface as sign and magnitude (WMO regulation 92.1.5, as wgrib2 reads it):
// ecCodes gives the raw 32 bits, floe's value is negative.
TEST(Grib2Message, NegativeFixedSurfacesAreSignAndMagnitude) {
  const MessageBytes file =
      read_file(testdata_dir() + "/grib/gribberish_gfs.t12z.pgrb2.0p25.f023-PV-TMP-missing.grib2");
  auto parsed = Grib2Message::parse(file);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const auto& surface = parsed->fields()[0].product.first_surface;
  codes_handle* handle = codes_handle_new_from_message(nullptr, file.data(), file.size());
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(surface.scaled_value,
            static_cast<std::uint32_t>(eccodes_long(handle, "scaledValueOfFirstFixedSurface")));
  EXPECT_EQ(surface.scale_factor, eccodes_long(handle, "scaleFactorOfFirstFixedSurface"));
  codes_handle_delete(handle);
  EXPECT_NE(surface.scaled_value & 0x80000000u, 0u);
  EXPECT_NEAR(surface.value(), -2e-6, 1e-18);
}

TEST(Grib2Message, EveryTruncationFailsCleanly) {
  const MessageBytes message = small_message();
  for (std::size_t size = 0; size < message.size(); ++size) {
    const MessageBytes prefix(message.begin(), message.begin() + size);
    auto parsed = Grib2Message::parse(prefix);
    ASSERT_FALSE(parsed.ok()) << size;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kCorrupt) << size;
    // The same bytes claiming to be a whole message: the parser meets a section that does not fit.
    if (size >= 16) {
      MessageBytes claimed = prefix;
      set_total_length(claimed, size);
      auto reparsed = Grib2Message::parse(claimed);
      ASSERT_FALSE(reparsed.ok()) << size;
      EXPECT_NE(reparsed.error().message().find("GRIB2 message at offset 0"), std::string::npos)
          << reparsed.error().message();
    }
  }
}

TEST(Grib2Message, CorruptSectionLengthsNameTheSection) {
  const MessageBytes message = small_message();
  const std::size_t grid_at = section_at(message, 3);
  for (std::uint32_t length : {0u, 4u, 13u, 40u, 0xFFFFFFF0u}) {
    MessageBytes corrupt = message;
    set_be32(corrupt, grid_at, length);
    auto parsed = Grib2Message::parse(corrupt, 1234);
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(parsed.error().message().find("GRIB2 message at offset 1234: section"),
              std::string::npos)
        << parsed.error().message();
  }
  // A section 5 too short for its template.
  MessageBytes corrupt = message;
  const std::size_t representation_at = section_at(corrupt, 5);
  const std::uint32_t old_length = be32(corrupt, representation_at);
  corrupt.erase(corrupt.begin() + representation_at + 30,
                corrupt.begin() + representation_at + old_length);
  set_be32(corrupt, representation_at, 30);
  set_total_length(corrupt, corrupt.size());
  auto parsed = Grib2Message::parse(corrupt);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message().find("section 5 (byte " + std::to_string(representation_at) +
                                          ") template 5.3 needs 49 bytes"),
            std::string::npos)
      << parsed.error().message();
  // The end section missing, sections out of order, an unknown section.
  MessageBytes no_end = message;
  no_end[no_end.size() - 1] = '6';
  EXPECT_NE(Grib2Message::parse(no_end).error().message().find("no section 8"), std::string::npos);
  MessageBytes reordered = message;
  reordered[section_at(message, 4) + 4] = 6;
  EXPECT_NE(Grib2Message::parse(reordered).error().message().find("cannot follow section"),
            std::string::npos);
  MessageBytes unknown = message;
  unknown[section_at(message, 4) + 4] = 9;
  EXPECT_NE(Grib2Message::parse(unknown).error().message().find("section number 9"),
            std::string::npos);
  MessageBytes edition3 = message;
  edition3[7] = 3;
  EXPECT_EQ(Grib2Message::parse(edition3).error().code(), ErrorCode::kUnsupported);
  MessageBytes not_grib = message;
  not_grib[0] = 'X';
  EXPECT_NE(Grib2Message::parse(not_grib).error().message().find("no \"GRIB\""), std::string::npos);
}

TEST(Grib2Message, UnsupportedTemplatesAreNamed) {
  const MessageBytes message = small_message();
  MessageBytes representation = message;
  const std::size_t representation_at = section_at(message, 5);
  representation[representation_at + 9] = 0;
  representation[representation_at + 10] = 51;
  auto parsed = Grib2Message::parse(representation);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->fields()[0].representation.template_number, 51);
  auto field = parsed->packed_field(0);
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(field.error().message().rfind("GRIB2 message at offset 0: section 5 (byte " +
                                              std::to_string(representation_at) +
                                              ") template 5.51 not supported",
                                          0),
            0u)
      << field.error().message();

  MessageBytes grid = message;
  const std::size_t grid_at = section_at(message, 3);
  grid[grid_at + 12] = 0;
  grid[grid_at + 13] = 90;
  parsed = Grib2Message::parse(grid);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_NE(error_of(parsed->packed_field(0))
                .find("section 3 (byte 37) template 3.90 not "
                      "supported"),
            std::string::npos)
      << error_of(parsed->packed_field(0));

  MessageBytes predefined = message;
  predefined[section_at(message, 6) + 5] = 100;
  parsed = Grib2Message::parse(predefined);
  ASSERT_TRUE(parsed.ok());
  EXPECT_NE(error_of(parsed->packed_field(0)).find("predefined bitmap 100"), std::string::npos);

  MessageBytes reuse_first = message;
  reuse_first[section_at(message, 6) + 5] = 254;
  EXPECT_NE(Grib2Message::parse(reuse_first).error().message().find("no earlier field"),
            std::string::npos);

  // Unknown product templates do not stop decoding (ecCodes 2.28 rejects 4.103 and 4.107).
  MessageBytes product = message;
  const std::size_t product_at = section_at(message, 4);
  product[product_at + 7] = 0;
  product[product_at + 8] = 103;
  parsed = Grib2Message::parse(product);
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->fields()[0].product.horizontal_prefix);
  EXPECT_EQ(parsed->fields()[0].product.parameter_category,
            MessageBuilder::from_message(message).get_long("parameterCategory"));
  const std::vector<float> original = floe_decode(message);
  const std::vector<float> relabelled = floe_decode(product);
  ASSERT_EQ(original.size(), relabelled.size());
  EXPECT_EQ(std::memcmp(original.data(), relabelled.data(), original.size() * sizeof(float)), 0);
}

TEST(GribDecodeErrors, CorruptDataSectionsFailCleanly) {
  for (const char* packing : {"grid_simple", "grid_complex", "grid_complex_spatial_differencing",
                              "grid_ieee", "grid_jpeg", "grid_png", "grid_ccsds"}) {
    SCOPED_TRACE(packing);
    const MessageBytes message = small_message(packing);
    const std::size_t data_at = section_at(message, 7);
    const std::uint32_t data_length = be32(message, data_at);
    // The data section cut to a few lengths, the message kept consistent.
    for (std::uint32_t keep : {5u, 6u, 9u, data_length / 3, data_length - 1}) {
      MessageBytes cut(message.begin(), message.begin() + data_at + keep);
      set_be32(cut, data_at, keep);
      end_message(cut);
      auto field = packed_field(cut);
      ASSERT_TRUE(field.ok()) << field.error().to_string();
      std::vector<float> out(field->points);
      const Status status = codecs::grib::decode_field(*field, std::span<float>(out));
      if (!status.ok()) {
        EXPECT_TRUE(status.error().code() == ErrorCode::kCorrupt ||
                    status.error().code() == ErrorCode::kUnsupported)
            << status.error().to_string();
        EXPECT_EQ(status.error().message().rfind("GRIB2 message at offset 0", 0), 0u)
            << status.error().message();
      } else {
        // CCSDS cannot tell (an AEC stream has no end marker), nor PNG cut inside its IEND
        // chunk after the image data.
        const bool png_end = std::string(packing) == "grid_png" && keep + 12 >= data_length;
        EXPECT_TRUE(std::string(packing) == "grid_ccsds" || png_end) << packing << " " << keep;
      }
    }
    // Scrambled data bytes decode or fail, never crash.
    MessageBytes scrambled = message;
    for (std::size_t i = data_at + 5; i < scrambled.size() - 4; i += 3) scrambled[i] ^= 0x5A;
    auto field = packed_field(scrambled);
    ASSERT_TRUE(field.ok());
    std::vector<float> out(field->points);
    (void)codecs::grib::decode_field(*field, std::span<float>(out));
    // The wrong output size.
    std::vector<float> small(3);
    EXPECT_EQ(
        codecs::grib::decode_field(*packed_field(message), std::span<float>(small)).error().code(),
        ErrorCode::kInvalidArgument);
  }
}

TEST(Grib1Message, ParsesAndRejectsCorruptMessages) {
  MessageBuilder builder = MessageBuilder::from_sample("regular_ll_sfc_grib1");
  builder.set("bitsPerValue", 16L).set_values(test_field(16, 31));
  const MessageBytes message = builder.bytes();
  auto parsed = Grib1Message::parse(message);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->grid().ni, builder.get_long("Ni"));
  EXPECT_EQ(parsed->grid().nj, builder.get_long("Nj"));
  EXPECT_EQ(parsed->product().parameter, builder.get_long("indicatorOfParameter"));
  EXPECT_EQ(parsed->product().decimal_scale, builder.get_long("decimalScaleFactor"));
  EXPECT_EQ(parsed->bits_per_value(), 16);
  for (std::size_t size = 0; size < message.size(); ++size) {
    MessageBytes prefix(message.begin(), message.begin() + size);
    ASSERT_FALSE(Grib1Message::parse(prefix).ok()) << size;
    if (size >= 8) {
      prefix[4] = static_cast<std::uint8_t>(size >> 16);
      prefix[5] = static_cast<std::uint8_t>(size >> 8);
      prefix[6] = static_cast<std::uint8_t>(size);
      auto reparsed = Grib1Message::parse(prefix);
      ASSERT_FALSE(reparsed.ok()) << size;
      EXPECT_EQ(reparsed.error().message().rfind("GRIB1 message at offset 0", 0), 0u);
    }
  }
  // Sections 1 and 2 (no bitmap), then the binary data section: its flags are octet 4.
  MessageBytes harmonics = message;
  auto length_at = [&](std::size_t at) {
    return std::size_t{message[at]} << 16 | std::size_t{message[at + 1]} << 8 | message[at + 2];
  };
  const std::size_t grid_at = 8 + length_at(8);
  const std::size_t data_at = grid_at + length_at(grid_at);
  harmonics[data_at + 3] |= 0x80;
  parsed = Grib1Message::parse(harmonics);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_NE(error_of(parsed->packed_field()).find("spherical harmonic"), std::string::npos)
      << error_of(parsed->packed_field());
}

}  // namespace
}  // namespace floe::grib_test
