// Parsing Zarr v3 data types and decoding their fill values into element bytes.
#include "floe/zarr/data_type.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "floe/core/base64.h"

namespace floe::zarr {
namespace {

struct NamedType {
  const char* name;
  TypeKind kind;
  std::uint32_t size;
};

constexpr NamedType kNamedTypes[] = {
    {"bool", TypeKind::kBool, 1},         {"int8", TypeKind::kInt, 1},
    {"int16", TypeKind::kInt, 2},         {"int32", TypeKind::kInt, 4},
    {"int64", TypeKind::kInt, 8},         {"uint8", TypeKind::kUInt, 1},
    {"uint16", TypeKind::kUInt, 2},       {"uint32", TypeKind::kUInt, 4},
    {"uint64", TypeKind::kUInt, 8},       {"float16", TypeKind::kFloat, 2},
    {"float32", TypeKind::kFloat, 4},     {"float64", TypeKind::kFloat, 8},
    {"complex64", TypeKind::kComplex, 8}, {"complex128", TypeKind::kComplex, 16},
};

Error bad_fill(const DataType& type, const Json& fill_value, std::string_view why) {
  return make_error(ErrorCode::kCorrupt, "fill_value {} is not a valid {}: {}", fill_value.dump(),
                    type.name(), why);
}

void put_le(std::vector<std::uint8_t>& out, std::size_t at, std::uint64_t bits,
            std::uint32_t size) {
  for (std::uint32_t i = 0; i < size; ++i) out[at + i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

// IEEE half from a double, round to nearest even (enough for fill values).
std::uint16_t to_half(double value) {
  const float f = static_cast<float>(value);
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t exponent = (x >> 23) & 0xffu;
  std::uint32_t mantissa = x & 0x7fffffu;
  if (exponent == 0xff)
    return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0u));
  const int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<std::uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - e;
    std::uint32_t half = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  std::uint32_t half = (static_cast<std::uint32_t>(e) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(sign | half);
}

// One float component (size 2, 4 or 8) from a JSON number, "NaN", "Infinity", "-Infinity" or
// "0x..." bits.
Status put_float(const DataType& type, const Json& fill_value, const Json& component,
                 std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t size) {
  double value = 0;
  if (component.is_number()) {
    value = component.get<double>();
  } else if (component.is_string()) {
    const auto& text = component.get_ref<const std::string&>();
    if (text == "NaN") {
      value = std::numeric_limits<double>::quiet_NaN();
    } else if (text == "Infinity") {
      value = std::numeric_limits<double>::infinity();
    } else if (text == "-Infinity") {
      value = -std::numeric_limits<double>::infinity();
    } else if (text.size() == 2 + 2 * size && (text.starts_with("0x") || text.starts_with("0X"))) {
      std::uint64_t bits = 0;
      for (std::size_t i = 2; i < text.size(); ++i) {
        const char c = text[i];
        int digit = -1;
        if (c >= '0' && c <= '9') digit = c - '0';
        if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        if (digit < 0) return bad_fill(type, fill_value, "bad hex digit");
        bits = (bits << 4) | static_cast<std::uint64_t>(digit);
      }
      put_le(out, at, bits, size);
      return {};
    } else {
      return bad_fill(type, fill_value,
                      "expected a number, NaN, Infinity, -Infinity or 0x hex bits");
    }
  } else {
    return bad_fill(type, fill_value, "expected a number or string");
  }
  std::uint64_t bits = 0;
  if (size == 8) bits = std::bit_cast<std::uint64_t>(value);
  if (size == 4) bits = std::bit_cast<std::uint32_t>(static_cast<float>(value));
  if (size == 2) bits = to_half(value);
  put_le(out, at, bits, size);
  return {};
}

}  // namespace

Result<DataType> DataType::from_json(const Json& data_type) {
  DataType type;
  type.json = data_type;
  if (data_type.is_string()) {
    const auto& name = data_type.get_ref<const std::string&>();
    for (const auto& named : kNamedTypes) {
      if (name == named.name) {
        type.kind = named.kind;
        type.size = named.size;
        return type;
      }
    }
    if (name.size() > 1 && name[0] == 'r') {
      std::uint64_t bits = 0;
      for (std::size_t i = 1; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9' || bits > (1u << 24))
          return make_error(ErrorCode::kUnsupported, "data type {} is not a valid raw type", name);
        bits = bits * 10 + static_cast<std::uint64_t>(name[i] - '0');
      }
      if (bits == 0 || bits % 8 != 0)
        return make_error(ErrorCode::kUnsupported,
                          "data type {}: raw bits must be a positive multiple of 8", name);
      type.kind = TypeKind::kRawBytes;
      type.size = static_cast<std::uint32_t>(bits / 8);
      return type;
    }
    return make_error(ErrorCode::kUnsupported,
                      "data type {} is not supported (variable-length types are not readable yet)",
                      name);
  }
  if (!data_type.is_object() || !data_type.contains("name") || !data_type["name"].is_string()) {
    return make_error(ErrorCode::kCorrupt,
                      "data_type {} is neither a name nor an object with a name", data_type.dump());
  }
  const std::string name = data_type["name"].get<std::string>();
  const Json configuration = data_type.value("configuration", Json::object());
  if (name == "fixed_length_utf32" || name == "null_terminated_bytes" || name == "raw_bytes" ||
      name == "fixed_length_bytes") {
    const Json length = configuration.value("length_bytes", Json());
    if (!length.is_number_unsigned() || length.get<std::uint64_t>() == 0 ||
        length.get<std::uint64_t>() > (1u << 24)) {
      return make_error(ErrorCode::kCorrupt,
                        "data type {} needs a positive configuration.length_bytes",
                        data_type.dump());
    }
    type.size = length.get<std::uint32_t>();
    type.kind = name == "fixed_length_utf32"      ? TypeKind::kFixedUtf32
                : name == "null_terminated_bytes" ? TypeKind::kFixedBytes
                                                  : TypeKind::kRawBytes;
    if (type.kind == TypeKind::kFixedUtf32 && type.size % 4 != 0) {
      return make_error(ErrorCode::kCorrupt, "data type {}: length_bytes must be a multiple of 4",
                        data_type.dump());
    }
    return type;
  }
  if (name == "numpy.datetime64" || name == "numpy.timedelta64") {
    type.kind = name == "numpy.datetime64" ? TypeKind::kDateTime64 : TypeKind::kTimeDelta64;
    type.size = 8;
    type.unit = configuration.value("unit", std::string("generic"));
    const Json scale = configuration.value("scale_factor", Json(1));
    if (!scale.is_number_unsigned() || scale.get<std::uint64_t>() == 0 ||
        scale.get<std::uint64_t>() > 0xffffffffu) {
      return make_error(ErrorCode::kCorrupt,
                        "data type {}: scale_factor must be a positive integer", data_type.dump());
    }
    type.scale = scale.get<std::uint32_t>();
    return type;
  }
  return make_error(ErrorCode::kUnsupported, "data type {} is not supported", data_type.dump());
}

std::string DataType::name() const {
  switch (kind) {
    case TypeKind::kRawBytes:
      return fmt::format("r{}", size * 8);
    case TypeKind::kFixedUtf32:
      return fmt::format("fixed_length_utf32[{}]", size / 4);
    case TypeKind::kFixedBytes:
      return fmt::format("null_terminated_bytes[{}]", size);
    case TypeKind::kDateTime64:
      return fmt::format("datetime64[{}{}]", scale == 1 ? "" : std::to_string(scale), unit);
    case TypeKind::kTimeDelta64:
      return fmt::format("timedelta64[{}{}]", scale == 1 ? "" : std::to_string(scale), unit);
    default:
      return json.is_string() ? json.get<std::string>() : json.dump();
  }
}

std::string DataType::numpy_descr() const {
  switch (kind) {
    case TypeKind::kBool:
      return "|b1";
    case TypeKind::kInt:
      return size == 1 ? "|i1" : fmt::format("<i{}", size);
    case TypeKind::kUInt:
      return size == 1 ? "|u1" : fmt::format("<u{}", size);
    case TypeKind::kFloat:
      return fmt::format("<f{}", size);
    case TypeKind::kComplex:
      return fmt::format("<c{}", size);
    case TypeKind::kRawBytes:
      return fmt::format("|V{}", size);
    case TypeKind::kFixedUtf32:
      return fmt::format("<U{}", size / 4);
    case TypeKind::kFixedBytes:
      return fmt::format("|S{}", size);
    case TypeKind::kDateTime64:
      return fmt::format("<M8[{}{}]", scale == 1 ? "" : std::to_string(scale), unit);
    case TypeKind::kTimeDelta64:
      return fmt::format("<m8[{}{}]", scale == 1 ? "" : std::to_string(scale), unit);
  }
  return "|V" + std::to_string(size);
}

bool DataType::is_numeric() const {
  return kind == TypeKind::kBool || kind == TypeKind::kInt || kind == TypeKind::kUInt ||
         kind == TypeKind::kFloat || kind == TypeKind::kComplex;
}

Result<std::vector<std::uint8_t>> fill_value_bytes(const DataType& type, const Json& fill_value) {
  std::vector<std::uint8_t> out(type.size, 0);
  if (fill_value.is_null()) return out;
  switch (type.kind) {
    case TypeKind::kBool:
      if (!fill_value.is_boolean()) return bad_fill(type, fill_value, "expected true or false");
      out[0] = fill_value.get<bool>() ? 1 : 0;
      return out;
    case TypeKind::kInt:
    case TypeKind::kUInt:
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64: {
      if (fill_value.is_string() && type.kind != TypeKind::kInt && type.kind != TypeKind::kUInt &&
          fill_value.get<std::string>() == "NaT") {
        put_le(out, 0, std::bit_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min()), 8);
        return out;
      }
      if (!fill_value.is_number_integer()) return bad_fill(type, fill_value, "expected an integer");
      std::uint64_t bits = 0;
      if (fill_value.is_number_unsigned()) {
        bits = fill_value.get<std::uint64_t>();
        if (type.kind == TypeKind::kInt && type.size < 8 && bits >> (8 * type.size - 1))
          return bad_fill(type, fill_value, "out of range");
        if (type.kind == TypeKind::kUInt && type.size < 8 && bits >> (8 * type.size))
          return bad_fill(type, fill_value, "out of range");
        if (type.kind != TypeKind::kUInt && type.size == 8 && bits >> 63)
          return bad_fill(type, fill_value, "out of range");
      } else {
        const std::int64_t value = fill_value.get<std::int64_t>();
        if (type.kind == TypeKind::kUInt) return bad_fill(type, fill_value, "negative");
        if (type.size < 8) {
          const std::int64_t limit = std::int64_t{1} << (8 * type.size - 1);
          if (value < -limit || value >= limit) return bad_fill(type, fill_value, "out of range");
        }
        bits = static_cast<std::uint64_t>(value);
      }
      put_le(out, 0, bits, type.size);
      return out;
    }
    case TypeKind::kFloat:
      if (auto status = put_float(type, fill_value, fill_value, out, 0, type.size); !status)
        return std::move(status).error();
      return out;
    case TypeKind::kComplex:
      if (!fill_value.is_array() || fill_value.size() != 2)
        return bad_fill(type, fill_value, "expected [real, imaginary]");
      for (std::size_t part = 0; part < 2; ++part) {
        if (auto status = put_float(type, fill_value, fill_value[part], out, part * type.size / 2,
                                    type.size / 2);
            !status) {
          return std::move(status).error();
        }
      }
      return out;
    case TypeKind::kRawBytes:
    case TypeKind::kFixedBytes: {
      if (!fill_value.is_string()) return bad_fill(type, fill_value, "expected base64 text");
      auto decoded = base64_decode(fill_value.get<std::string>());
      if (!decoded) return bad_fill(type, fill_value, "not base64");
      if (decoded->size() > type.size) return bad_fill(type, fill_value, "longer than the type");
      std::memcpy(out.data(), decoded->data(), decoded->size());
      return out;
    }
    case TypeKind::kFixedUtf32: {
      if (!fill_value.is_string()) return bad_fill(type, fill_value, "expected a string");
      const auto& text = fill_value.get_ref<const std::string&>();
      std::size_t at = 0;
      for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<std::uint8_t>(text[i]);
        const std::size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
        if (i + length > text.size()) return bad_fill(type, fill_value, "invalid UTF-8");
        std::uint32_t code = length == 1 ? lead : lead & (0x7fu >> length);
        for (std::size_t k = 1; k < length; ++k)
          code = (code << 6) | (static_cast<std::uint8_t>(text[i + k]) & 0x3fu);
        if (at + 4 > out.size()) return bad_fill(type, fill_value, "longer than the type");
        put_le(out, at, code, 4);
        at += 4;
        i += length;
      }
      return out;
    }
  }
  return out;
}

}  // namespace floe::zarr
