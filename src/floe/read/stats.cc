// Streaming statistics of a selection: per-block summaries merged in array order.
#include "floe/read/stats.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "floe/read/output_support.h"

namespace floe::read {
namespace {

using zarr::DataType;
using zarr::TypeKind;
using BlockSummary = StatsSink::BlockSummary;

// Neumaier's variant of Kahan summation: the compensation also catches the case |x| > |sum|.
void add_compensated(double& sum, double& compensation, double x) {
  double total = sum + x;
  if (!std::isfinite(total)) {  // infinities: the compensation would turn into NaN
    sum = total;
    return;
  }
  if (std::fabs(sum) >= std::fabs(x)) {
    compensation += (sum - total) + x;
  } else {
    compensation += (x - total) + sum;
  }
  sum = total;
}

template <typename T>
T load(const std::uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// Floats of any width, as double.
template <typename Load>
BlockSummary summarize_floats(const std::uint8_t* data, std::uint64_t elements, std::uint32_t size,
                              const std::vector<std::uint8_t>& fill, Load to_double) {
  BlockSummary summary;
  summary.elements = elements;
  bool has_fill = !fill.empty();
  double fill_value = has_fill ? to_double(fill.data()) : 0;
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (std::uint64_t i = 0; i < elements; ++i) {
    double x = to_double(data + i * size);
    if (std::isnan(x)) {
      ++summary.nan;
    } else if (has_fill && x == fill_value) {
      ++summary.fill;
    } else {
      ++summary.valid;
      low = std::min(low, x);
      high = std::max(high, x);
      add_compensated(summary.sum, summary.compensation, x);
    }
  }
  if (summary.valid > 0) {
    summary.min = low;
    summary.max = high;
  }
  return summary;
}

// Integers of type T with extremes held as Wide (int64 or uint64); `not_a_time` marks NaT.
template <typename T, typename Wide>
BlockSummary summarize_integers(const std::uint8_t* data, std::uint64_t elements,
                                const std::vector<std::uint8_t>& fill, bool not_a_time) {
  BlockSummary summary;
  summary.elements = elements;
  bool has_fill = !fill.empty();
  T fill_value = has_fill ? load<T>(fill.data()) : T{};
  T low = std::numeric_limits<T>::max();
  T high = std::numeric_limits<T>::lowest();
  for (std::uint64_t i = 0; i < elements; ++i) {
    T x = load<T>(data + i * sizeof(T));
    if (not_a_time && x == std::numeric_limits<T>::min()) {
      ++summary.nan;
    } else if (has_fill && x == fill_value) {
      ++summary.fill;
    } else {
      ++summary.valid;
      low = std::min(low, x);
      high = std::max(high, x);
      add_compensated(summary.sum, summary.compensation, static_cast<double>(x));
    }
  }
  if (summary.valid > 0) {
    summary.min = static_cast<Wide>(low);
    summary.max = static_cast<Wide>(high);
  }
  return summary;
}

template <typename T>
BlockSummary summarize_signed(const std::uint8_t* data, std::uint64_t elements,
                              const std::vector<std::uint8_t>& fill, bool not_a_time = false) {
  return summarize_integers<T, std::int64_t>(data, elements, fill, not_a_time);
}

template <typename T>
BlockSummary summarize_unsigned(const std::uint8_t* data, std::uint64_t elements,
                                const std::vector<std::uint8_t>& fill) {
  return summarize_integers<T, std::uint64_t>(data, elements, fill, false);
}

BlockSummary summarize(const DataType& type, const std::uint8_t* data, std::uint64_t elements,
                       const std::vector<std::uint8_t>& fill) {
  switch (type.kind) {
    case TypeKind::kFloat:
      if (type.size == 2) {
        return summarize_floats(data, elements, 2, fill, [](const std::uint8_t* bytes) {
          return static_cast<double>(zarr::half_to_float(load<std::uint16_t>(bytes)));
        });
      }
      if (type.size == 4) {
        return summarize_floats(data, elements, 4, fill, [](const std::uint8_t* bytes) {
          return static_cast<double>(load<float>(bytes));
        });
      }
      return summarize_floats(data, elements, 8, fill,
                              [](const std::uint8_t* bytes) { return load<double>(bytes); });
    case TypeKind::kInt:
      switch (type.size) {
        case 1:
          return summarize_signed<std::int8_t>(data, elements, fill);
        case 2:
          return summarize_signed<std::int16_t>(data, elements, fill);
        case 4:
          return summarize_signed<std::int32_t>(data, elements, fill);
        default:
          return summarize_signed<std::int64_t>(data, elements, fill);
      }
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64:
      return summarize_signed<std::int64_t>(data, elements, fill, true);
    case TypeKind::kBool:
    case TypeKind::kUInt:
      switch (type.size) {
        case 1:
          return summarize_unsigned<std::uint8_t>(data, elements, fill);
        case 2:
          return summarize_unsigned<std::uint16_t>(data, elements, fill);
        case 4:
          return summarize_unsigned<std::uint32_t>(data, elements, fill);
        default:
          return summarize_unsigned<std::uint64_t>(data, elements, fill);
      }
    default:
      return {};
  }
}

bool summarizable(const DataType& type) {
  switch (type.kind) {
    case TypeKind::kFloat:
      return type.size == 2 || type.size == 4 || type.size == 8;
    case TypeKind::kInt:
    case TypeKind::kUInt:
      return type.size == 1 || type.size == 2 || type.size == 4 || type.size == 8;
    case TypeKind::kBool:
      return type.size == 1;
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64:
      return type.size == 8;
    default:
      return false;
  }
}

// The smaller (`want_less`) or larger of two extremes of the same alternative; monostate loses.
StatValue pick(const StatValue& a, const StatValue& b, bool want_less) {
  if (std::holds_alternative<std::monostate>(a)) return b;
  if (std::holds_alternative<std::monostate>(b)) return a;
  return std::visit(
      [&](const auto& left) -> StatValue {
        using T = std::decay_t<decltype(left)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return b;
        } else {
          const T& right = std::get<T>(b);
          return (want_less ? right < left : left < right) ? right : left;
        }
      },
      a);
}

Json stat_value_json(const StatValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return *integer;
  if (const auto* natural = std::get_if<std::uint64_t>(&value)) return *natural;
  if (const auto* real = std::get_if<double>(&value)) {
    // JSON has no infinity; spelled as Zarr v3 fill values spell it.
    if (std::isinf(*real)) return *real > 0 ? "Infinity" : "-Infinity";
    if (std::isnan(*real)) return nullptr;
    return *real;
  }
  return nullptr;
}

std::string stat_value_text(const StatValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return fmt::format("{}", *integer);
  if (const auto* natural = std::get_if<std::uint64_t>(&value)) return fmt::format("{}", *natural);
  if (const auto* real = std::get_if<double>(&value)) return fmt::format("{}", *real);
  return "-";
}

}  // namespace

double stat_value_as_double(const StatValue& value) {
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return static_cast<double>(*integer);
  if (const auto* natural = std::get_if<std::uint64_t>(&value))
    return static_cast<double>(*natural);
  if (const auto* real = std::get_if<double>(&value)) return *real;
  return std::numeric_limits<double>::quiet_NaN();
}

Json Stats::to_json() const {
  Json out = {{"variable", variable},
              {"data_type", data_type},
              {"count", element_count},
              {"valid", valid_count},
              {"nan", nan_count}};
  if (has_fill_value) out["fill"] = fill_count;
  out["min"] = stat_value_json(min);
  out["max"] = stat_value_json(max);
  out["mean"] = valid_count > 0 ? stat_value_json(mean) : Json(nullptr);
  return out;
}

std::string Stats::to_text() const {
  std::string counts =
      fmt::format("{} elements, {} valid, {} NaN", element_count, valid_count, nan_count);
  if (has_fill_value) counts += fmt::format(", {} fill", fill_count);
  return fmt::format("{} ({})\n  count  {}\n  min    {}\n  max    {}\n  mean   {}\n", variable,
                     data_type, counts, stat_value_text(min), stat_value_text(max),
                     valid_count > 0 ? fmt::format("{}", mean) : std::string("-"));
}

StatsSink::StatsSink(OutputVariable variable, std::uint64_t elements)
    : variable_(std::move(variable)), total_elements_(elements) {}

Result<std::unique_ptr<StatsSink>> StatsSink::create(const OutputVariable& variable) {
  FLOE_RETURN_IF_ERROR(detail::validate_variable(variable, "statistics"));
  if (!summarizable(variable.data_type)) {
    return make_error(
        ErrorCode::kUnsupported,
        "statistics of \"{}\": data type {} has no order or mean floe computes; statistics "
        "take bool, integers, floats and datetime64",
        variable.name, variable.data_type.name());
  }
  FLOE_ASSIGN_OR_RETURN(
      std::uint64_t elements,
      detail::checked_element_count(variable.shape, variable.data_type.size, variable.name));
  return std::unique_ptr<StatsSink>(new StatsSink(variable, elements));
}

Status StatsSink::write_block(std::span<const std::uint64_t> start,
                              std::span<const std::uint64_t> count,
                              std::span<const std::uint8_t> data) {
  std::string name = fmt::format("statistics of \"{}\"", variable_.name);
  if (finished_) return make_error(ErrorCode::kInternal, "{}: a block after finish()", name);
  FLOE_ASSIGN_OR_RETURN(std::uint64_t elements,
                        detail::validate_block(variable_, start, count, data.size(), name));
  if (elements == 0) return ok_status();
  BlockSummary summary =
      summarize(variable_.data_type, data.data(), elements, variable_.fill_value);
  std::uint64_t first = 0;
  for (std::size_t d = 0; d < start.size(); ++d) first = first * variable_.shape[d] + start[d];
  std::lock_guard lock(mutex_);
  blocks_.emplace(first, summary);
  return ok_status();
}

Status StatsSink::finish() {
  std::string name = fmt::format("statistics of \"{}\"", variable_.name);
  if (finished_) return make_error(ErrorCode::kInternal, "{}: finish() twice", name);
  finished_ = true;
  std::lock_guard lock(mutex_);
  std::uint64_t seen = 0;
  for (const auto& [first, summary] : blocks_) seen += summary.elements;
  if (seen != total_elements_) {
    return make_error(ErrorCode::kInternal, "{}: the blocks delivered {} elements of {}", name,
                      seen, total_elements_);
  }
  return ok_status();
}

Stats StatsSink::result() const {
  Stats stats;
  stats.variable = variable_.name;
  stats.data_type = variable_.data_type.name();
  stats.has_fill_value = !variable_.fill_value.empty();
  double sum = 0;
  double compensation = 0;
  std::lock_guard lock(mutex_);
  for (const auto& [first, summary] : blocks_) {
    stats.element_count += summary.elements;
    stats.valid_count += summary.valid;
    stats.nan_count += summary.nan;
    stats.fill_count += summary.fill;
    stats.min = pick(stats.min, summary.min, true);
    stats.max = pick(stats.max, summary.max, false);
    add_compensated(sum, compensation, summary.sum);
    compensation += summary.compensation;
  }
  stats.mean = stats.valid_count > 0 ? (sum + compensation) / static_cast<double>(stats.valid_count)
                                     : std::numeric_limits<double>::quiet_NaN();
  return stats;
}

}  // namespace floe::read
