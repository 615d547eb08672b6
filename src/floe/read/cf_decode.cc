// CF decoding plans (xarray's mask and scale/offset rules) and their element-wise kernels.
// Built with -ffp-contract=off (CMakeLists.txt): x * scale + offset must round twice, as numpy
// does.
#include "floe/read/cf_decode.h"

#include <fmt/format.h>

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "floe/core/base64.h"

namespace floe::read {
namespace {

using Json = nlohmann::json;
using zarr::DataType;
using zarr::TypeKind;

constexpr int kMaxFills = CfFloatKernelParameters::kMaxFills;

// --- kernels ------------------------------------------------------------------------------------

struct Float16 {
  std::uint16_t bits;
};

// IEEE binary16 nearest to a double, ties to even (numpy's npy_double_to_half).
std::uint16_t double_to_half(double value) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 48) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 52) & 0x7ffu);
  const std::uint64_t mantissa = bits & 0xfffffffffffffull;
  if (exponent == 0x7ff) {
    return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa != 0 ? 0x200u : 0u));
  }
  const int half_exponent = exponent - 1023 + 15;
  if (half_exponent >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00u);
  const std::uint64_t full = mantissa | (std::uint64_t{1} << 52);
  int shift = 42;  // 52 - 10 mantissa bits
  std::uint64_t result_exponent = static_cast<std::uint64_t>(half_exponent);
  if (half_exponent <= 0) {
    shift += 1 - half_exponent;
    result_exponent = 0;
    if (shift > 53) return sign;
  }
  std::uint64_t half = full >> shift;
  const std::uint64_t rest = full & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t halfway = std::uint64_t{1} << (shift - 1);
  if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
  // A normal number keeps its implicit bit in `half`; adding the exponent carries correctly into
  // it.
  const std::uint64_t combined = result_exponent == 0 ? half : ((result_exponent - 1) << 10) + half;
  return static_cast<std::uint16_t>(sign | combined);
}

template <typename T>
T load(const std::uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename Out, typename Raw>
Out to_output(Raw raw) {
  if constexpr (std::is_same_v<Raw, Float16>) {
    return static_cast<Out>(zarr::half_to_float(raw.bits));
  } else {
    return static_cast<Out>(raw);
  }
}

// Where a raw value is compared with the fill values. numpy compares the converted data with
// float64 fills (xarray's fills are np.ravel'd attributes), i.e. double(value) == fill; the same
// answer comes from the raw integer (<= 32 bits: double holds it exactly) or the float, given only
// fills that type holds exactly (fill_can_match), and those compares vectorize where 64-bit ones do
// not (SSE2).
template <typename Raw>
struct CompareDomain {
  using Type = Raw;
};
template <>
struct CompareDomain<Float16> {
  using Type = float;
};
template <>
struct CompareDomain<std::int64_t> {
  using Type = double;
};
template <>
struct CompareDomain<std::uint64_t> {
  using Type = double;
};

// One loop per (raw type, output type, fill slots): convert, scale, offset, and overwrite with NaN
// where the raw value equals a fill (fill slots padded with repeats of the first: 0, 2 or 8
// compares). The mask is built with integer ops and applied with and/or on the bits: GCC 12
// if-converts and vectorizes that (a ternary on floats stays a branch), at -O3 with two or more
// compares.
template <typename Raw, typename Out, int kFills>
void float_kernel(const std::uint8_t* __restrict raw, std::uint8_t* __restrict out,
                  std::size_t count, const CfFloatKernelParameters& parameters) {
  using Compare = typename CompareDomain<Raw>::Type;
  using Bits = std::conditional_t<sizeof(Out) == 4, std::uint32_t, std::uint64_t>;
  using SignedBits = std::make_signed_t<Bits>;
  using Mask = std::conditional_t<sizeof(Compare) <= 4, std::int32_t, std::int64_t>;
  const Out scale = static_cast<Out>(parameters.scale);
  const Out offset = static_cast<Out>(parameters.offset);
  Compare fills[kFills > 0 ? kFills : 1] = {};
  for (int k = 0; k < kFills; ++k) {
    fills[k] = static_cast<Compare>(parameters.fills[k < parameters.fill_count ? k : 0]);
  }
  const Bits not_a_number = std::bit_cast<Bits>(std::numeric_limits<Out>::quiet_NaN());
  for (std::size_t i = 0; i < count; ++i) {
    const Raw loaded = load<Raw>(raw + i * sizeof(Raw));
    const Out value = to_output<Out>(loaded);
    const Out scaled = value * scale;
    const Out decoded = scaled + offset;
    const Compare compared = to_output<Compare>(loaded);
    Mask mask = 0;
    for (int k = 0; k < kFills; ++k) mask |= -static_cast<Mask>(compared == fills[k]);
    const auto wide_mask = static_cast<Bits>(static_cast<SignedBits>(mask));
    const Bits result = (std::bit_cast<Bits>(decoded) & ~wide_mask) | (not_a_number & wide_mask);
    std::memcpy(out + i * sizeof(Out), &result, sizeof(Out));
  }
}

template <typename Out, int kFills>
CfDecoding::FloatKernel float_kernel_for_raw(TypeKind kind, std::uint32_t size) {
  if (kind == TypeKind::kInt) {
    switch (size) {
      case 1:
        return &float_kernel<std::int8_t, Out, kFills>;
      case 2:
        return &float_kernel<std::int16_t, Out, kFills>;
      case 4:
        return &float_kernel<std::int32_t, Out, kFills>;
      default:
        return &float_kernel<std::int64_t, Out, kFills>;
    }
  }
  if (kind == TypeKind::kUInt) {
    switch (size) {
      case 1:
        return &float_kernel<std::uint8_t, Out, kFills>;
      case 2:
        return &float_kernel<std::uint16_t, Out, kFills>;
      case 4:
        return &float_kernel<std::uint32_t, Out, kFills>;
      default:
        return &float_kernel<std::uint64_t, Out, kFills>;
    }
  }
  switch (size) {
    case 2:
      return &float_kernel<Float16, Out, kFills>;
    case 4:
      return &float_kernel<float, Out, kFills>;
    default:
      return &float_kernel<double, Out, kFills>;
  }
}

template <typename Out>
CfDecoding::FloatKernel float_kernel_for_fills(TypeKind kind, std::uint32_t size, int fills) {
  if (fills == 0) return float_kernel_for_raw<Out, 0>(kind, size);
  if (fills <= 2) return float_kernel_for_raw<Out, 2>(kind, size);
  return float_kernel_for_raw<Out, kMaxFills>(kind, size);
}

template <typename Raw>
void time_mask_kernel(const std::uint8_t* __restrict raw, std::uint8_t* __restrict out,
                      std::size_t count, const std::vector<std::int64_t>& fills) {
  constexpr std::int64_t kNotATime = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < count; ++i) {
    const auto value = static_cast<std::int64_t>(load<Raw>(raw + i * sizeof(Raw)));
    bool masked = false;
    for (const std::int64_t fill : fills) masked |= value == fill;
    const std::int64_t result = masked ? kNotATime : value;
    std::memcpy(out + i * sizeof(std::int64_t), &result, sizeof(result));
  }
}

template <typename Raw>
void integer_scale_kernel(const std::uint8_t* __restrict raw, std::uint8_t* __restrict out,
                          std::size_t count, std::int64_t scale) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto value =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(load<Raw>(raw + i * sizeof(Raw))));
    // numpy's int64 multiply wraps; unsigned arithmetic wraps without undefined behaviour.
    const auto result = static_cast<std::int64_t>(value * static_cast<std::uint64_t>(scale));
    std::memcpy(out + i * sizeof(std::int64_t), &result, sizeof(result));
  }
}

template <template <typename> class Kernel, typename... Args>
void dispatch_integer(TypeKind kind, std::uint32_t size, Args&&... args) {
  if (kind == TypeKind::kInt) {
    switch (size) {
      case 1:
        return Kernel<std::int8_t>::run(std::forward<Args>(args)...);
      case 2:
        return Kernel<std::int16_t>::run(std::forward<Args>(args)...);
      case 4:
        return Kernel<std::int32_t>::run(std::forward<Args>(args)...);
      default:
        return Kernel<std::int64_t>::run(std::forward<Args>(args)...);
    }
  }
  switch (size) {
    case 1:
      return Kernel<std::uint8_t>::run(std::forward<Args>(args)...);
    case 2:
      return Kernel<std::uint16_t>::run(std::forward<Args>(args)...);
    case 4:
      return Kernel<std::uint32_t>::run(std::forward<Args>(args)...);
    default:
      return Kernel<std::uint64_t>::run(std::forward<Args>(args)...);
  }
}

template <typename Raw>
struct TimeMask {
  static void run(const std::uint8_t* raw, std::uint8_t* out, std::size_t count,
                  const std::vector<std::int64_t>& fills) {
    time_mask_kernel<Raw>(raw, out, count, fills);
  }
};

template <typename Raw>
struct IntegerScale {
  static void run(const std::uint8_t* raw, std::uint8_t* out, std::size_t count,
                  std::int64_t scale) {
    integer_scale_kernel<Raw>(raw, out, count, scale);
  }
};

void half_mask_kernel(const std::uint8_t* __restrict raw, std::uint8_t* __restrict out,
                      std::size_t count, const std::uint16_t* fills, int fill_count) {
  constexpr std::uint16_t kHalfNaN = 0x7e00;  // numpy's float16 NaN
  for (std::size_t i = 0; i < count; ++i) {
    const auto bits = load<std::uint16_t>(raw + i * 2);
    const bool is_nan = (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu) != 0;
    bool masked = false;
    for (int k = 0; k < fill_count; ++k) {
      const bool both_zero = ((bits | fills[k]) & 0x7fffu) == 0;
      masked |= !is_nan && (bits == fills[k] || both_zero);
    }
    const std::uint16_t result = masked ? kHalfNaN : bits;
    std::memcpy(out + i * 2, &result, 2);
  }
}

// --- attributes ---------------------------------------------------------------------------------

// A number as Python holds a JSON attribute: an int (numpy int64 when a dtype is asked for) or a
// float.
struct AttributeNumber {
  bool integer = false;
  long double value = 0;  // exact for every int64 and uint64

  bool is_nan() const { return std::isnan(value); }
  friend bool operator==(const AttributeNumber& a, const AttributeNumber& b) {
    return a.value == b.value;
  }
};

std::string show(const AttributeNumber& number) {
  if (number.integer) return fmt::format("{}", static_cast<long long>(number.value));
  return fmt::format("{}", static_cast<double>(number.value));
}

Error bad_attribute(std::string_view key, const Json& value, std::string_view why) {
  return make_error(ErrorCode::kInvalidArgument, "CF attribute {}={} cannot be decoded: {}", key,
                    value.dump(), why);
}

std::optional<AttributeNumber> json_number(const Json& value) {
  if (value.is_number_unsigned()) {
    return AttributeNumber{true, static_cast<long double>(value.get<std::uint64_t>())};
  }
  if (value.is_number_integer()) {
    return AttributeNumber{true, static_cast<long double>(value.get<std::int64_t>())};
  }
  if (value.is_number_float()) return AttributeNumber{false, value.get<double>()};
  if (value.is_string()) {
    // JSON has no NaN or infinities; writers spell them as strings.
    const auto& text = value.get_ref<const std::string&>();
    if (text == "NaN" || text == "nan") {
      return AttributeNumber{false, std::numeric_limits<double>::quiet_NaN()};
    }
    if (text == "Infinity" || text == "inf") {
      return AttributeNumber{false, std::numeric_limits<double>::infinity()};
    }
    if (text == "-Infinity" || text == "-inf") {
      return AttributeNumber{false, -std::numeric_limits<double>::infinity()};
    }
  }
  return std::nullopt;
}

// scale_factor / add_offset: absent or null -> nullopt; a number or a one-element list of one.
Result<std::optional<AttributeNumber>> packing_attribute(const Json& attributes, const char* key) {
  const auto found = attributes.find(key);
  if (found == attributes.end() || found->is_null()) return std::optional<AttributeNumber>{};
  const Json& value = found->is_array() && found->size() == 1 ? (*found)[0] : *found;
  if (value.is_boolean()) return bad_attribute(key, *found, "expected a number");
  auto number = json_number(value);
  if (!number) return bad_attribute(key, *found, "expected a number");
  return std::optional<AttributeNumber>{*number};
}

// missing_value: a number or a list of numbers; NaN entries are kept here and dropped later.
Result<std::vector<AttributeNumber>> missing_values(const Json& value) {
  std::vector<AttributeNumber> numbers;
  auto add = [&](const Json& item) -> Status {
    auto number = item.is_boolean() ? std::nullopt : json_number(item);
    if (!number) return bad_attribute("missing_value", value, "expected numbers");
    numbers.push_back(*number);
    return ok_status();
  };
  if (value.is_array()) {
    for (const auto& item : value) FLOE_RETURN_IF_ERROR(add(item));
  } else {
    FLOE_RETURN_IF_ERROR(add(value));
  }
  return numbers;
}

// _FillValue as xarray's Zarr backend decodes it (FillValueCoder.decode): base64 of a little-endian
// float64 for float arrays, int(value) for integer arrays.
Result<AttributeNumber> fill_value_attribute(const DataType& type, const Json& value) {
  if (type.kind == TypeKind::kFloat) {
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      const auto bytes = base64_decode(text);
      if (bytes && bytes->size() == 8) {
        double decoded = 0;
        std::memcpy(&decoded, bytes->data(), 8);
        return AttributeNumber{false, decoded};
      }
    }
    if (!value.is_boolean()) {
      if (auto number = json_number(value)) return *number;
    }
    return bad_attribute(
        "_FillValue", value,
        "expected base64 of a little-endian float64 (as xarray writes) or a number");
  }
  auto number = value.is_boolean() || value.is_string() ? std::nullopt : json_number(value);
  if (!number || number->is_nan() || std::isinf(number->value)) {
    return bad_attribute("_FillValue", value,
                         fmt::format("expected an integer for {}", type.name()));
  }
  return AttributeNumber{true, std::trunc(number->value)};
}

// The Zarr fill_value bytes as the scalar xarray would put into _FillValue.
Result<AttributeNumber> fill_value_from_bytes(const DataType& type,
                                              std::span<const std::uint8_t> bytes) {
  if (bytes.size() != type.size) {
    return make_error(ErrorCode::kInvalidArgument,
                      "Zarr fill_value has {} bytes, expected {} for {}", bytes.size(), type.size,
                      type.name());
  }
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) bits |= std::uint64_t{bytes[i]} << (8 * i);
  if (type.kind == TypeKind::kFloat) {
    if (type.size == 2)
      return AttributeNumber{false, zarr::half_to_float(static_cast<std::uint16_t>(bits))};
    if (type.size == 4) {
      return AttributeNumber{false, std::bit_cast<float>(static_cast<std::uint32_t>(bits))};
    }
    return AttributeNumber{false, std::bit_cast<double>(bits)};
  }
  if (type.kind == TypeKind::kUInt) return AttributeNumber{true, static_cast<long double>(bits)};
  const int unused = 64 - 8 * static_cast<int>(type.size);
  const auto value = static_cast<std::int64_t>(bits << unused) >> unused;  // sign-extend
  return AttributeNumber{true, static_cast<long double>(value)};
}

// The integer `value` as the bytes of a `size`-byte integer read with the other signedness
// (numpy's .view between int8 and uint8, ...). Wraps values that do not fit, where xarray raises.
AttributeNumber reinterpret_integer(const AttributeNumber& value, std::uint32_t size,
                                    bool to_unsigned) {
  // Integers beyond 64 bits cannot be a fill of a 64-bit type; clamp before converting (no UB).
  const long double clamped =
      std::fmin(std::fmax(value.value, -9.223372036854775808e18L), 1.8446744073709551615e19L);
  const std::uint64_t bits = clamped >= 0
                                 ? static_cast<std::uint64_t>(clamped)
                                 : static_cast<std::uint64_t>(static_cast<std::int64_t>(clamped));
  const int unused = 64 - 8 * static_cast<int>(size);
  const std::uint64_t truncated = size == 8 ? bits : bits & ((std::uint64_t{1} << (8 * size)) - 1);
  if (to_unsigned) return AttributeNumber{true, static_cast<long double>(truncated)};
  const auto signed_value = static_cast<std::int64_t>(truncated << unused) >> unused;
  return AttributeNumber{true, static_cast<long double>(signed_value)};
}

DataType named_type(std::string_view name) {
  auto type = DataType::from_json(Json(std::string(name)));
  assert(type.ok());
  return *type;
}

DataType integer_type(TypeKind kind, std::uint32_t size) {
  return named_type(fmt::format("{}int{}", kind == TypeKind::kUInt ? "u" : "", size * 8));
}

bool is_time_like(const Json& attributes) {
  const auto found = attributes.find("units");
  if (found == attributes.end() || !found->is_string()) return false;
  const auto& units = found->get_ref<const std::string&>();
  const std::size_t since = units.find(" since ");
  return since != std::string::npos && since > 0 && since + 7 < units.size();
}

bool is_integer_kind(TypeKind kind) { return kind == TypeKind::kInt || kind == TypeKind::kUInt; }

// Whether a raw value of `type` can equal `fill` as numpy compares them (in float64); the kernels
// then compare in the raw type (CompareDomain), which is exact for the fills kept.
bool fill_can_match(const DataType& type, long double fill) {
  if (is_integer_kind(type.kind)) {
    if (type.size == 8) return true;  // compared as doubles
    if (fill != std::trunc(fill)) return false;
    const int bits = 8 * static_cast<int>(type.size);
    const long double low = type.kind == TypeKind::kUInt ? 0.0L : -std::ldexp(1.0L, bits - 1);
    const long double high =
        type.kind == TypeKind::kUInt ? std::ldexp(1.0L, bits) - 1 : std::ldexp(1.0L, bits - 1) - 1;
    return fill >= low && fill <= high;
  }
  if (type.size <= 4) {
    const auto as_double = static_cast<double>(fill);
    return static_cast<double>(static_cast<float>(as_double)) == as_double;
  }
  return true;
}

}  // namespace

void CfDecoding::decode(std::span<const std::uint8_t> raw, std::span<std::uint8_t> out) const {
  const std::size_t count = raw.size() / input_type_.size;
  assert(out.size() >= count * output_type_.size);
  switch (kernel_) {
    case Kernel::kCopy:
      if (count != 0) std::memcpy(out.data(), raw.data(), count * input_type_.size);
      return;
    case Kernel::kFloat:
      float_kernel_(raw.data(), out.data(), count, float_parameters_);
      return;
    case Kernel::kTimeMask:
      dispatch_integer<TimeMask>(raw_kind_, input_type_.size, raw.data(), out.data(), count,
                                 integer_fills_);
      return;
    case Kernel::kIntegerScale:
      dispatch_integer<IntegerScale>(raw_kind_, input_type_.size, raw.data(), out.data(), count,
                                     integer_scale_);
      return;
    case Kernel::kHalfMask:
      half_mask_kernel(raw.data(), out.data(), count, half_fills_, half_fill_count_);
      return;
  }
}

Json CfDecoding::decoded_attributes(const Json& attributes) const {
  Json decoded = attributes.is_object() ? attributes : Json::object();
  for (const char* key :
       {"scale_factor", "add_offset", "_FillValue", "missing_value", "_Unsigned"}) {
    decoded.erase(key);
  }
  return decoded;
}

std::string CfDecoding::summary() const { return summary_; }

std::vector<std::uint8_t> raw_fill_value_bytes(const DataType& type, const Json& attributes) {
  const auto found = attributes.find("_FillValue");
  if (found == attributes.end()) return {};
  const bool integer = type.kind == TypeKind::kInt || type.kind == TypeKind::kUInt;
  if (!integer && !(type.kind == TypeKind::kFloat && (type.size == 4 || type.size == 8))) return {};
  const Result<AttributeNumber> fill = fill_value_attribute(type, *found);
  if (!fill.ok()) return {};
  std::vector<std::uint8_t> bytes(type.size);
  if (integer) {
    const auto value = static_cast<std::int64_t>(fill->value);
    std::memcpy(bytes.data(), &value, std::min<std::size_t>(type.size, 8));
  } else if (type.size == 4) {
    const auto value = static_cast<float>(fill->value);
    std::memcpy(bytes.data(), &value, 4);
  } else {
    const auto value = static_cast<double>(fill->value);
    std::memcpy(bytes.data(), &value, 8);
  }
  return bytes;
}

Result<CfDecoding> plan_cf_decoding(const DataType& type, const Json& attributes_in,
                                    std::span<const std::uint8_t> zarr_fill_value,
                                    const CfDecodingOptions& options) {
  const Json attributes = attributes_in.is_object() ? attributes_in : Json::object();
  CfDecoding plan;
  plan.input_type_ = type;
  plan.output_type_ = type;
  auto fail = [&](Error error) {
    return std::move(error).add_context(
        fmt::format("planning CF decoding of a {} array", type.name()));
  };

  // What the attributes ask for.
  auto scale = packing_attribute(attributes, "scale_factor");
  if (!scale.ok()) return fail(std::move(scale).error());
  auto offset = packing_attribute(attributes, "add_offset");
  if (!offset.ok()) return fail(std::move(offset).error());
  const bool packed = scale->has_value() || offset->has_value();

  std::vector<AttributeNumber> fills;  // xarray's encoded_fill_values, NaN dropped
  bool fill_attributes_kept = false;   // any of missing_value/_FillValue left in .encoding
  std::optional<AttributeNumber> fill_value;
  const bool numeric = is_integer_kind(type.kind) || type.kind == TypeKind::kFloat;
  if (const auto found = attributes.find("missing_value");
      found != attributes.end() && !found->is_null()) {
    auto values = missing_values(*found);
    if (!values.ok()) return fail(std::move(values).error());
    std::vector<AttributeNumber> kept;
    for (const auto& value : *values) {
      if (!value.is_nan()) kept.push_back(value);
    }
    // An integer array whose missing_value is all NaN drops it (xarray warns).
    if (!kept.empty() || !is_integer_kind(type.kind)) fill_attributes_kept = true;
    fills.insert(fills.end(), kept.begin(), kept.end());
  }
  if (options.use_zarr_fill_value_as_mask && numeric) {
    auto value = fill_value_from_bytes(type, zarr_fill_value);
    if (!value.ok()) return fail(std::move(value).error());
    fill_value = *value;
  } else if (const auto found = attributes.find("_FillValue");
             found != attributes.end() && !found->is_null() && numeric) {
    auto value = fill_value_attribute(type, *found);
    if (!value.ok()) return fail(std::move(value).error());
    fill_value = *value;
  }
  if (fill_value) {
    if (!fill_value->is_nan() || !is_integer_kind(type.kind)) fill_attributes_kept = true;
    if (fill_value->is_nan()) {
      fill_value.reset();
    } else {
      fills.push_back(*fill_value);
    }
  }

  // _Unsigned: reinterpret the integers, and the _FillValue with them.
  TypeKind kind = type.kind;
  const auto unsigned_attribute = attributes.find("_Unsigned");
  const bool has_unsigned = unsigned_attribute != attributes.end();
  if (has_unsigned && unsigned_attribute->is_string() && is_integer_kind(type.kind)) {
    const auto& flag = unsigned_attribute->get_ref<const std::string&>();
    const bool to_unsigned = type.kind == TypeKind::kInt && flag == "true";
    const bool to_signed = type.kind == TypeKind::kUInt && flag == "false";
    if (to_unsigned || to_signed) {
      kind = to_unsigned ? TypeKind::kUInt : TypeKind::kInt;
      if (fill_value) {
        std::erase(fills, *fill_value);
        fills.push_back(reinterpret_integer(*fill_value, type.size, to_unsigned));
      }
    }
  }
  const DataType effective =
      is_integer_kind(kind) && kind != type.kind ? integer_type(kind, type.size) : type;

  if (!numeric) {
    if (packed || !fills.empty()) {
      return fail(
          make_error(ErrorCode::kUnsupported,
                     "scale_factor/add_offset/_FillValue/missing_value on {} values are not "
                     "decoded; read raw values instead (without --decode-cf)",
                     type.name()));
    }
    return plan;
  }
  if (fills.size() > static_cast<std::size_t>(kMaxFills)) {
    return fail(make_error(ErrorCode::kUnsupported,
                           "{} distinct fill values (_FillValue and missing_value); at most {} are "
                           "supported",
                           fills.size(), kMaxFills));
  }

  // The output type, following xarray's two coders with JSON-typed attributes:
  //  CFMaskCoder (when there are fill values): _choose_float_dtype if packed, int64 for integer
  //  time values, else maybe_promote (floats stay, <= 2-byte integers -> float32, wider ->
  //  float64); CFScaleOffsetCoder (when packed): _choose_float_dtype unless fill attributes sit in
  //  .encoding (then the masked type stays), or the values are times.
  const bool time_like = options.decode_times && is_time_like(attributes);
  enum class Output { kRaw, kFloat32, kFloat64, kInt64 };
  auto choose_float = [&]() {
    // JSON floats are float64; an integer scale_factor alone keeps numpy's int64.
    if (scale->has_value() && !offset->has_value() && (*scale)->integer) return Output::kInt64;
    return Output::kFloat64;
  };
  Output output = Output::kRaw;
  if (!fills.empty()) {
    if (packed) {
      output = choose_float();
    } else if (time_like && is_integer_kind(kind)) {
      output = Output::kInt64;
    } else if (kind == TypeKind::kFloat) {
      output = Output::kRaw;
    } else {
      output = effective.size <= 2 ? Output::kFloat32 : Output::kFloat64;
    }
  } else if (packed && (!fill_attributes_kept || time_like)) {
    output = choose_float();
  }
  plan.raw_kind_ = kind;

  plan.summary_ = fmt::format("{} -> ", type.name());
  if (!packed && fills.empty()) {
    plan.output_type_ = effective;
    plan.summary_ = effective.json == type.json
                        ? fmt::format("{} unchanged", type.name())
                        : fmt::format("{} read as {} (_Unsigned)", type.name(), effective.name());
    return plan;
  }

  std::string fill_text;
  for (const auto& fill : fills) {
    fill_text += fmt::format("{}{}", fill_text.empty() ? "" : ", ", show(fill));
  }

  if (output == Output::kInt64 && !packed) {
    plan.kernel_ = CfDecoding::Kernel::kTimeMask;
    plan.output_type_ = named_type("int64");
    for (const auto& fill : fills) {
      const long double limit = 9.223372036854775807e18L;
      if (fill.value == std::trunc(fill.value) && std::fabs(fill.value) < limit) {
        plan.integer_fills_.push_back(static_cast<std::int64_t>(fill.value));
      }
    }
    plan.summary_ += fmt::format("int64 (time values): {} -> NaT", fill_text);
    return plan;
  }
  if (output == Output::kInt64) {
    if (!fills.empty()) {
      return fail(make_error(ErrorCode::kUnsupported,
                             "an integer scale_factor ({}) with fill values makes xarray put NaN "
                             "into int64; not decoded",
                             show(**scale)));
    }
    if (!is_integer_kind(kind)) {
      return fail(make_error(ErrorCode::kUnsupported,
                             "an integer scale_factor on {} values is not decoded", type.name()));
    }
    plan.kernel_ = CfDecoding::Kernel::kIntegerScale;
    plan.output_type_ = named_type("int64");
    plan.integer_scale_ = static_cast<std::int64_t>((*scale)->value);
    plan.summary_ += fmt::format("int64: x * {}", show(**scale));
    return plan;
  }
  if (output == Output::kRaw && type.kind == TypeKind::kFloat && type.size == 2) {
    if (packed) {
      return fail(make_error(ErrorCode::kUnsupported,
                             "float16 values with a NaN _FillValue and scale_factor/add_offset are "
                             "not decoded"));
    }
    plan.kernel_ = CfDecoding::Kernel::kHalfMask;
    for (const auto& fill : fills) {
      // numpy compares float16 data with the float64 fill in float64: a fill float16 cannot hold
      // exactly never matches.
      const auto fill_double = static_cast<double>(fill.value);
      const std::uint16_t bits = double_to_half(fill_double);
      if (static_cast<double>(zarr::half_to_float(bits)) == fill_double) {
        plan.half_fills_[plan.half_fill_count_++] = bits;
      }
    }
    plan.summary_ += fmt::format("float16: {} -> NaN", fill_text);
    return plan;
  }

  const std::uint32_t output_size = output == Output::kFloat32   ? 4
                                    : output == Output::kFloat64 ? 8
                                                                 : effective.size;
  plan.kernel_ = CfDecoding::Kernel::kFloat;
  plan.output_type_ = named_type(output_size == 4 ? "float32" : "float64");
  auto& parameters = plan.float_parameters_;
  if (scale->has_value()) parameters.scale = static_cast<double>((*scale)->value);
  if (offset->has_value()) parameters.offset = static_cast<double>((*offset)->value);
  // xarray's fill values are numpy float64/int64 scalars (np.ravel of the attribute), so numpy
  // compares with them in float64: a fill the raw type cannot hold never matches (float32 data and
  // 0.1).
  for (const auto& fill : fills) {
    if (fill_can_match(effective, fill.value)) {
      parameters.fills[parameters.fill_count++] = static_cast<double>(fill.value);
    }
  }
  plan.float_kernel_ =
      output_size == 4
          ? float_kernel_for_fills<float>(effective.kind, effective.size, parameters.fill_count)
          : float_kernel_for_fills<double>(effective.kind, effective.size, parameters.fill_count);
  plan.summary_ += plan.output_type_.name() + ":";
  if (scale->has_value()) plan.summary_ += fmt::format(" x * {}", show(**scale));
  if (offset->has_value()) plan.summary_ += fmt::format(" + {}", show(**offset));
  if (!fills.empty()) plan.summary_ += fmt::format(", {} -> NaN", fill_text);
  return plan;
}

}  // namespace floe::read
