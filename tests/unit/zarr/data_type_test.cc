// Tests of Zarr v3 data type parsing and fill value decoding against what zarr-python writes.
#include "floe/zarr/data_type.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "floe/core/base64.h"

namespace floe::zarr {
namespace {

DataType parse(const char* text) {
  auto type = DataType::from_json(Json::parse(text));
  EXPECT_TRUE(type.ok()) << (type.ok() ? "" : type.error().to_string());
  return type.ok() ? *type : DataType{};
}

template <typename T>
T fill_as(const DataType& type, const char* fill) {
  auto bytes = fill_value_bytes(type, Json::parse(fill));
  EXPECT_TRUE(bytes.ok()) << (bytes.ok() ? "" : bytes.error().to_string());
  T value{};
  if (bytes.ok() && bytes->size() == sizeof(T)) std::memcpy(&value, bytes->data(), sizeof(T));
  return value;
}

TEST(DataType, NamedTypesHaveSizesAndNumpyDescriptors) {
  EXPECT_EQ(parse(R"("bool")").numpy_descr(), "|b1");
  EXPECT_EQ(parse(R"("int16")").numpy_descr(), "<i2");
  EXPECT_EQ(parse(R"("uint8")").numpy_descr(), "|u1");
  EXPECT_EQ(parse(R"("float16")").size, 2u);
  EXPECT_EQ(parse(R"("complex128")").numpy_descr(), "<c16");
  EXPECT_EQ(parse(R"("r16")").numpy_descr(), "|V2");
  EXPECT_EQ(parse(R"({"name": "fixed_length_utf32", "configuration": {"length_bytes": 16}})")
                .numpy_descr(),
            "<U4");
  EXPECT_EQ(parse(R"({"name": "null_terminated_bytes", "configuration": {"length_bytes": 6}})")
                .numpy_descr(),
            "|S6");
  EXPECT_EQ(
      parse(R"({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 1}})")
          .numpy_descr(),
      "<M8[s]");
}

TEST(DataType, RefusesUnknownAndMalformedTypes) {
  EXPECT_FALSE(DataType::from_json(Json("string")).ok());
  EXPECT_FALSE(DataType::from_json(Json("r7")).ok());
  EXPECT_FALSE(
      DataType::from_json(Json::parse(R"({"name": "fixed_length_utf32", "configuration": {}})"))
          .ok());
  EXPECT_FALSE(DataType::from_json(Json(3)).ok());
}

TEST(FillValue, FloatsSpecialValuesAndHex) {
  EXPECT_TRUE(std::isnan(fill_as<float>(parse(R"("float32")"), R"("NaN")")));
  EXPECT_EQ(fill_as<double>(parse(R"("float64")"), R"("-Infinity")"), -INFINITY);
  EXPECT_EQ(fill_as<std::uint32_t>(parse(R"("float32")"), R"("0x7fc00001")"), 0x7fc00001u);
  EXPECT_EQ(fill_as<float>(parse(R"("float32")"), "9.96921e36"), 9.96921e36f);
  EXPECT_EQ(fill_as<std::uint16_t>(parse(R"("float16")"), "-2.0"), 0xc000u);
  EXPECT_EQ(fill_as<std::uint16_t>(parse(R"("float16")"), R"("-Infinity")"), 0xfc00u);
  const auto complex = fill_value_bytes(parse(R"("complex64")"), Json::parse(R"(["NaN", 1.0])"));
  ASSERT_TRUE(complex.ok());
  float parts[2];
  std::memcpy(parts, complex->data(), 8);
  EXPECT_TRUE(std::isnan(parts[0]));
  EXPECT_EQ(parts[1], 1.0f);
}

TEST(FillValue, IntegersCheckTheirRange) {
  EXPECT_EQ(fill_as<std::int16_t>(parse(R"("int16")"), "-32767"), -32767);
  EXPECT_EQ(fill_as<std::uint64_t>(parse(R"("uint64")"), "18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(fill_value_bytes(parse(R"("uint8")"), Json(256)).ok());
  EXPECT_FALSE(fill_value_bytes(parse(R"("int8")"), Json(-129)).ok());
  EXPECT_FALSE(fill_value_bytes(parse(R"("uint16")"), Json(-1)).ok());
  EXPECT_FALSE(fill_value_bytes(parse(R"("int32")"), Json(1.5)).ok());
  EXPECT_EQ(
      fill_as<std::int64_t>(
          parse(
              R"({"name": "numpy.datetime64", "configuration": {"unit": "s", "scale_factor": 1}})"),
          "-9223372036854775808"),
      INT64_MIN);
}

TEST(FillValue, BytesAndStrings) {
  const auto bytes = fill_value_bytes(
      parse(R"({"name": "null_terminated_bytes", "configuration": {"length_bytes": 6}})"),
      Json("YWI="));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), std::string("ab\0\0\0\0", 6));
  const auto text = fill_value_bytes(
      parse(R"({"name": "fixed_length_utf32", "configuration": {"length_bytes": 8}})"),
      Json("x\xc3\xa9"));
  ASSERT_TRUE(text.ok());
  const std::uint32_t expected[2] = {'x', 0xe9};
  EXPECT_EQ(std::memcmp(text->data(), expected, 8), 0);
  EXPECT_FALSE(fill_value_bytes(parse(R"("r16")"), Json("not base64!")).ok());
  EXPECT_EQ(fill_as<std::uint8_t>(parse(R"("bool")"), "true"), 1);
  EXPECT_EQ(fill_as<std::uint32_t>(parse(R"("float32")"), "null"), 0u);
}

TEST(Base64, RoundTripsAndRejectsMalformedText) {
  for (std::string text : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                           std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(base64_decode(base64_encode(text)).value_or("<none>"), text);
  }
  EXPECT_FALSE(base64_decode("abc").has_value());
  EXPECT_FALSE(base64_decode("a=bc").has_value());
  EXPECT_FALSE(base64_decode("ab*c").has_value());
}

}  // namespace
}  // namespace floe::zarr
