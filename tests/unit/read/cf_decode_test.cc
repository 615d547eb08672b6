// Tests of CF decoding against xarray (Zarr v3 arrays written and opened with zarr-python and
// xarray by make_cf_decode_vectors.py at test time), plus the cases where floe decodes what xarray
// refuses, the refusals, and long runs through the vectorized loops.
#include "floe/read/cf_decode.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "floe/core/base64.h"
#include "read_test_support.h"

namespace floe::read {
namespace {

using nlohmann::json;

zarr::DataType type_named(const char* name) {
  auto type = zarr::DataType::from_json(json(name));
  EXPECT_TRUE(type.ok());
  return type.ok() ? *type : zarr::DataType{};
}

template <typename T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <typename T>
std::vector<T> decode_as(const CfDecoding& plan, const std::vector<std::uint8_t>& raw) {
  const std::size_t count = raw.size() / plan.input_type().size;
  EXPECT_EQ(plan.output_type().size, sizeof(T));
  std::vector<T> out(count);
  plan.decode(raw, std::span(reinterpret_cast<std::uint8_t*>(out.data()), count * sizeof(T)));
  return out;
}

CfDecoding plan_for(const char* type, const json& attributes) {
  auto plan = plan_cf_decoding(type_named(type), attributes, {});
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().to_string());
  return plan.ok() ? *plan : CfDecoding{};
}

// Same value: equal bits, or both NaN (any payload).
bool same_element(const std::uint8_t* a, const std::uint8_t* b, const zarr::DataType& type) {
  if (type.kind == zarr::TypeKind::kFloat) {
    if (type.size == 8) {
      double x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      if (std::isnan(x) && std::isnan(y)) return true;
    } else if (type.size == 4) {
      float x, y;
      std::memcpy(&x, a, 4);
      std::memcpy(&y, b, 4);
      if (std::isnan(x) && std::isnan(y)) return true;
    } else {
      std::uint16_t x, y;
      std::memcpy(&x, a, 2);
      std::memcpy(&y, b, 2);
      auto is_nan = [](std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; };
      if (is_nan(x) && is_nan(y)) return true;
    }
  }
  return std::memcmp(a, b, type.size) == 0;
}

TEST(CfDecode, MatchesXarrayOnZarrV3Arrays) {
  static const json vectors = testing::run_oracle(FLOE_CF_DECODE_VECTOR_SCRIPT, "cf_decode");
  ASSERT_TRUE(vectors.is_array()) << "make_cf_decode_vectors.py failed";
  ASSERT_GT(vectors.size(), 30u);
  for (const auto& c : vectors) {
    SCOPED_TRACE(c["name"].get<std::string>() + " " + c["attributes"].dump());
    auto type = zarr::DataType::from_json(c["data_type"]);
    ASSERT_TRUE(type.ok());
    auto fill = zarr::fill_value_bytes(*type, c["fill_value"]);
    ASSERT_TRUE(fill.ok());
    CfDecodingOptions options;
    options.use_zarr_fill_value_as_mask = c["use_zarr_fill_value_as_mask"].get<bool>();
    auto plan = plan_cf_decoding(*type, c["attributes"], *fill, options);
    ASSERT_TRUE(plan.ok()) << plan.error().to_string();
    EXPECT_EQ(plan->output_type().name(), c["expected_type"].get<std::string>()) << plan->summary();
    const auto raw = base64_decode(c["raw"].get<std::string>());
    const auto expected = base64_decode(c["expected"].get<std::string>());
    ASSERT_TRUE(raw && expected);
    std::vector<std::uint8_t> out(expected->size(), 0xAB);
    plan->decode(std::span(reinterpret_cast<const std::uint8_t*>(raw->data()), raw->size()), out);
    const std::size_t size = plan->output_type().size;
    for (std::size_t at = 0; at + size <= out.size(); at += size) {
      EXPECT_TRUE(same_element(out.data() + at,
                               reinterpret_cast<const std::uint8_t*>(expected->data()) + at,
                               plan->output_type()))
          << "element " << at / size << " (" << plan->summary() << ")";
    }
  }
}

TEST(CfDecode, NoAttributesIsACopy) {
  const auto plan = plan_for("int16", json::object());
  EXPECT_TRUE(plan.is_identity());
  EXPECT_EQ(plan.output_type().name(), "int16");
  const std::vector<std::int16_t> values = {1, -2, 3};
  EXPECT_EQ(decode_as<std::int16_t>(plan, bytes_of(values)), values);
}

TEST(CfDecode, DecodesWhatXarrayRefuses) {
  // _FillValue 255 with _Unsigned "false" on uint8: xarray raises OverflowError; floe masks -1.
  const auto signed_fill = plan_for("uint8", json{{"_Unsigned", "false"}, {"_FillValue", 255}});
  EXPECT_EQ(signed_fill.output_type().name(), "float32");
  const auto values =
      decode_as<float>(signed_fill, bytes_of(std::vector<std::uint8_t>{1, 255, 128}));
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_TRUE(std::isnan(values[1]));
  EXPECT_EQ(values[2], -128.0f);
  // A plain-number _FillValue on floats (xarray wants base64).
  const auto plain = plan_for("float32", json{{"_FillValue", -999.0}});
  EXPECT_TRUE(std::isnan(decode_as<float>(plain, bytes_of(std::vector<float>{-999.0f}))[0]));
  // A one-element list as scale_factor (xarray makes an object array).
  const auto listed = plan_for("int16", json{{"scale_factor", json::array({0.5})}});
  EXPECT_EQ(listed.output_type().name(), "float64");
  EXPECT_EQ(decode_as<double>(listed, bytes_of(std::vector<std::int16_t>{3}))[0], 1.5);
}

TEST(CfDecode, RefusalsNameTheAttribute) {
  const auto text_scale = plan_cf_decoding(type_named("int16"), json{{"scale_factor", "abc"}}, {});
  ASSERT_FALSE(text_scale.ok());
  EXPECT_NE(text_scale.error().to_string().find("scale_factor"), std::string::npos);
  EXPECT_FALSE(
      plan_cf_decoding(type_named("int16"), json{{"scale_factor", json::array({1, 2})}}, {}).ok());
  EXPECT_FALSE(plan_cf_decoding(type_named("int16"), json{{"_FillValue", "abc"}}, {}).ok());
  EXPECT_FALSE(
      plan_cf_decoding(type_named("float32"), json{{"_FillValue", "not base64"}}, {}).ok());
  EXPECT_FALSE(
      plan_cf_decoding(type_named("int16"), json{{"missing_value", json::array({1, "x"})}}, {})
          .ok());
  const auto complex = plan_cf_decoding(type_named("complex64"), json{{"scale_factor", 2.0}}, {});
  ASSERT_FALSE(complex.ok());
  EXPECT_EQ(complex.error().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(plan_cf_decoding(type_named("int16"),
                                json{{"missing_value", json::array({1, 2, 3, 4, 5, 6, 7, 8, 9})}},
                                {})
                   .ok());
  EXPECT_FALSE(
      plan_cf_decoding(type_named("int16"), json{{"scale_factor", 2}, {"_FillValue", -1}}, {})
          .ok());
  // Strings without CF attributes are left alone.
  auto text = zarr::DataType::from_json(
      json::parse(R"({"name": "fixed_length_utf32", "configuration": {"length_bytes": 8}})"));
  ASSERT_TRUE(text.ok());
  auto identity = plan_cf_decoding(*text, json{{"long_name", "station"}}, {});
  ASSERT_TRUE(identity.ok());
  EXPECT_TRUE(identity->is_identity());
}

TEST(CfDecode, DecodedAttributesDropWhatWasApplied) {
  const json attributes = {{"scale_factor", 0.01}, {"add_offset", 273.15},
                           {"_FillValue", -32767}, {"missing_value", -32768},
                           {"_Unsigned", "false"}, {"units", "K"},
                           {"valid_min", 0}};
  const auto plan = plan_for("int16", attributes);
  EXPECT_EQ(plan.decoded_attributes(attributes), (json{{"units", "K"}, {"valid_min", 0}}));
  EXPECT_NE(plan.summary().find("273.15"), std::string::npos) << plan.summary();
}

// Long runs from unaligned memory, every length up to a few vector widths: the same as the formula
// written out element by element.
TEST(CfDecode, LongUnalignedRunsMatchTheScalarFormula) {
  const auto plan = plan_for("int16", json{{"scale_factor", 0.01},
                                           {"add_offset", 273.15},
                                           {"_FillValue", -32767},
                                           {"missing_value", -32768}});
  std::vector<std::int16_t> values(100'003);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<std::int16_t>((i * 7919) % 65536 - 32768);
  }
  const auto raw = bytes_of(values);
  std::vector<std::uint8_t> shifted(raw.size() + 1);
  std::memcpy(shifted.data() + 1, raw.data(), raw.size());
  for (std::size_t count :
       {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{33}, values.size()}) {
    std::vector<std::uint8_t> out(count * 8 + 1);
    plan.decode(std::span(shifted.data() + 1, count * 2), std::span(out.data() + 1, count * 8));
    for (std::size_t i = 0; i < count; ++i) {
      double got;
      std::memcpy(&got, out.data() + 1 + i * 8, 8);
      if (values[i] == -32767 || values[i] == -32768) {
        EXPECT_TRUE(std::isnan(got)) << i;
      } else {
        const double scaled = static_cast<double>(values[i]) * 0.01;
        EXPECT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(scaled + 273.15))
            << i;
      }
    }
  }
}

}  // namespace
}  // namespace floe::read
