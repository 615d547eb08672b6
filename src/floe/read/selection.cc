// Index and coordinate-value selections along one dimension (see selection.h for the semantics).
#include "floe/read/selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace floe::read {
namespace {

using Json = nlohmann::json;
using virt::Calendar;
using virt::calendar_name;
using virt::CfTimeUnits;
using virt::DateTime;
using virt::decode_time;
using virt::encode_time;
using virt::format_datetime;
using virt::next_period_start;
using virt::parse_datetime;
using virt::parse_datetime_with_resolution;
using virt::parse_time_units;
using virt::ParsedDateTime;

constexpr double kFullCircle = 360.0;
// Bounds moved by multiples of 360 degrees carry the rounding of that addition; this much slack
// keeps -10.1 + 360 from missing a coordinate value written as 349.9.
constexpr double kWrappedBoundSlack = 1e-9;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// A monotonic coordinate read in ascending order: view position p is index p of an ascending
// coordinate and index n-1-p of a descending one.
class AscendingView {
 public:
  AscendingView(std::span<const double> values, bool descending)
      : values_(values), descending_(descending) {}

  std::size_t size() const { return values_.size(); }
  double operator[](std::size_t position) const {
    return descending_ ? values_[values_.size() - 1 - position] : values_[position];
  }
  double lowest() const { return (*this)[0]; }
  double highest() const { return (*this)[size() - 1]; }
  bool descending() const { return descending_; }

  // First position whose value is >= x (lower) or > x (upper), as std::lower_bound/upper_bound.
  std::size_t lower_bound(double x) const {
    return partition([&](double value) { return value < x; });
  }
  std::size_t upper_bound(double x) const {
    return partition([&](double value) { return value <= x; });
  }

  IndexRange to_index(std::size_t begin, std::size_t end) const {
    if (!descending_) return {begin, end};
    return {values_.size() - end, values_.size() - begin};
  }

  // The spacing next to `position` on the side of `toward_end` (or the other side at the ends).
  double step_at(std::size_t position, bool toward_end) const {
    if (size() < 2) return 0;
    if (toward_end) {
      return position + 1 < size() ? (*this)[position + 1] - (*this)[position]
                                   : (*this)[position] - (*this)[position - 1];
    }
    return position > 0 ? (*this)[position] - (*this)[position - 1]
                        : (*this)[position + 1] - (*this)[position];
  }

 private:
  template <typename Before>
  std::size_t partition(Before before) const {
    std::size_t low = 0;
    std::size_t high = size();
    while (low < high) {
      const std::size_t middle = low + (high - low) / 2;
      if (before((*this)[middle])) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  std::span<const double> values_;
  bool descending_;
};

// Whether the coordinate descends; errors for empty, NaN-holding and non-monotonic coordinates.
Result<bool> check_monotonic(std::string_view dim, std::span<const double> coordinate) {
  if (coordinate.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot select by value along '{}': its coordinate has no values", dim);
  }
  bool ascending = true;
  bool descending = true;
  for (std::size_t i = 0; i < coordinate.size(); ++i) {
    if (std::isnan(coordinate[i])) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot select by value along '{}': its coordinate holds NaN at index {}; "
                        "select by index instead (--isel)",
                        dim, i);
    }
    if (i == 0) continue;
    ascending = ascending && coordinate[i - 1] <= coordinate[i];
    descending = descending && coordinate[i - 1] >= coordinate[i];
    if (!ascending && !descending) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot select by value along '{}': its coordinate is not monotonic (it "
                        "changes direction at index {}: {} then {}); select by index instead "
                        "(--isel)",
                        dim, i, coordinate[i - 1], coordinate[i]);
    }
  }
  return !ascending;
}

// A coordinate value (or bound) as the user reads it: a date for time coordinates, else the number.
std::string show_value(double value, const CoordinateInfo& info) {
  if (info.time_units) {
    auto date = decode_time(*info.time_units, value);
    if (date.ok()) return format_datetime(*date);
  }
  return fmt::format("{}", value);
}

// "lat runs 90 .. -90 (721 values, descending)".
std::string describe_extent(std::string_view dim, std::span<const double> coordinate,
                            const CoordinateInfo& info) {
  const bool descending = coordinate.size() > 1 && coordinate.front() > coordinate.back();
  return fmt::format("'{}' runs {} .. {} ({} value{}{})", dim, show_value(coordinate.front(), info),
                     show_value(coordinate.back(), info), coordinate.size(),
                     coordinate.size() == 1 ? "" : "s", descending ? ", descending" : "");
}

double to_coordinate_precision(double value, const CoordinateInfo& info) {
  return info.single_precision ? static_cast<double>(static_cast<float>(value)) : value;
}

// One side of a value spec: a number, or for time coordinates a (partial) date.
struct SpecBound {
  std::string text;
  std::optional<ParsedDateTime> date;
  double number = 0;  // the number, or the date's start in the coordinate's units
};

Result<SpecBound> parse_bound(std::string_view dim, std::string_view text,
                              const CoordinateInfo& info) {
  SpecBound bound;
  bound.text = std::string(text);
  if (info.time_units) {
    auto parsed = parse_datetime_with_resolution(text);
    if (!parsed.ok()) {
      return std::move(parsed).error().add_context(
          fmt::format("'{}' is a time coordinate ({} calendar): its bounds are dates", dim,
                      calendar_name(info.time_units->calendar)));
    }
    bound.date = *parsed;
    auto value = encode_time(*info.time_units, parsed->value);
    if (!value.ok())
      return std::move(value).error().add_context(fmt::format("selecting '{}'", dim));
    bound.number = *value;
    return bound;
  }
  const auto number = parse_number(text);
  if (!number) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read '{}' as a coordinate value of '{}' (expected a number)", text,
                      dim);
  }
  bound.number = *number;
  return bound;
}

// For time coordinates the range separator is the one ':' whose both sides are dates (or empty):
// "2020-01-01T06:00:2020-01-02T06:00".
Result<std::pair<std::string_view, std::string_view>> split_range(std::string_view dim,
                                                                  std::string_view spec,
                                                                  const CoordinateInfo& info) {
  std::vector<std::size_t> separators;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == ':') separators.push_back(i);
  }
  if (!info.time_units) {
    if (separators.size() != 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot read selection '{}={}': expected A:B, A:, :B or A (steps are not "
                        "supported)",
                        dim, spec);
    }
    return std::pair{trim(spec.substr(0, separators[0])), trim(spec.substr(separators[0] + 1))};
  }
  std::vector<std::pair<std::string_view, std::string_view>> readings;
  for (std::size_t separator : separators) {
    const auto left = trim(spec.substr(0, separator));
    const auto right = trim(spec.substr(separator + 1));
    const bool left_ok = left.empty() || parse_datetime(left).ok();
    const bool right_ok = right.empty() || parse_datetime(right).ok();
    if (left_ok && right_ok) readings.emplace_back(left, right);
  }
  if (readings.size() == 1) return readings.front();
  return make_error(ErrorCode::kInvalidArgument,
                    "cannot read selection '{}={}': expected DATE:DATE, DATE:, :DATE or DATE with "
                    "dates like 2020-01-31 or 2020-01-31T06:00 ('{}' is a time coordinate)",
                    dim, spec, dim);
}

Error nothing_selected(std::string_view dim, std::string_view spec,
                       std::span<const double> coordinate, const CoordinateInfo& info) {
  return make_error(ErrorCode::kInvalidArgument,
                    "selection {}={} keeps nothing: no coordinate value lies within it ({})", dim,
                    spec, describe_extent(dim, coordinate, info));
}

DimSelection in_output_order(const AscendingView& view,
                             std::initializer_list<std::pair<std::size_t, std::size_t>> parts) {
  DimSelection selection;
  for (const auto& [begin, end] : parts) {
    if (begin < end) selection.ranges.push_back(view.to_index(begin, end));
  }
  // A descending axis is read in its own order: the eastern (higher) part comes first.
  if (view.descending()) std::reverse(selection.ranges.begin(), selection.ranges.end());
  return selection;
}

// x moved by a multiple of 360 into [lowest, lowest + 360).
double wrap_into(double x, double lowest) {
  double wrapped = x - std::floor((x - lowest) / kFullCircle) * kFullCircle;
  if (wrapped < lowest) wrapped += kFullCircle;
  if (wrapped >= lowest + kFullCircle) wrapped -= kFullCircle;
  return wrapped;
}

bool wraps(const AscendingView& view, const CoordinateInfo& info) {
  return info.is_longitude && view.highest() - view.lowest() <= kFullCircle + kWrappedBoundSlack;
}

// The box from `west` eastward to `east` on a longitude axis (see selection.h).
Result<DimSelection> select_longitude_box(std::string_view dim, std::string_view spec,
                                          std::span<const double> coordinate,
                                          const AscendingView& view, const CoordinateInfo& info,
                                          double west, double east) {
  double width = east - west;
  if (width < 0) width += kFullCircle;
  if (width > kFullCircle) {
    return make_error(ErrorCode::kInvalidArgument,
                      "selection {}={} is wider than 360 degrees of longitude", dim, spec);
  }
  // Shift both bounds by the same multiple of 360 so the box starts within [lowest, lowest + 360);
  // an east bound below the west one continues past the antimeridian.
  const double west_shift = wrap_into(west, view.lowest()) - west;
  const double shift = std::round(west_shift / kFullCircle) * kFullCircle;
  const double east_shift = shift + (east < west ? kFullCircle : 0.0);
  auto bound = [&](double value, double by, double slack_sign) {
    const double moved = to_coordinate_precision(value + by, info);
    return by == 0 ? moved : moved + slack_sign * kWrappedBoundSlack;
  };
  const std::size_t begin = view.lower_bound(bound(west, shift, -1));
  const std::size_t end = view.upper_bound(bound(east, east_shift, +1));
  // The part past the data's eastern end continues at its western end.
  const std::size_t wrapped_end =
      std::min(begin, view.upper_bound(bound(east, east_shift - kFullCircle, +1)));
  DimSelection selection = in_output_order(view, {{begin, end}, {0, wrapped_end}});
  if (selection.ranges.empty()) return nothing_selected(dim, spec, coordinate, info);
  return selection;
}

Result<DimSelection> select_range(std::string_view dim, std::string_view spec,
                                  std::span<const double> coordinate, const AscendingView& view,
                                  const CoordinateInfo& info, std::optional<SpecBound> lower,
                                  std::optional<SpecBound> upper) {
  if (lower && upper && !lower->date && wraps(view, info)) {
    return select_longitude_box(dim, spec, coordinate, view, info, lower->number, upper->number);
  }
  if (lower && upper && lower->number > upper->number) std::swap(lower, upper);
  std::size_t begin = 0;
  std::size_t end = view.size();
  if (lower) begin = view.lower_bound(to_coordinate_precision(lower->number, info));
  if (upper && upper->date) {
    // A partial date as the upper bound covers its whole period: up to the next period's start.
    auto next = next_period_start(*upper->date, info.time_units->calendar);
    if (!next.ok()) return std::move(next).error().add_context(fmt::format("selecting '{}'", dim));
    auto limit = encode_time(*info.time_units, *next);
    if (!limit.ok())
      return std::move(limit).error().add_context(fmt::format("selecting '{}'", dim));
    end = view.lower_bound(to_coordinate_precision(*limit, info));
  } else if (upper) {
    end = view.upper_bound(to_coordinate_precision(upper->number, info));
  }
  if (begin >= end) return nothing_selected(dim, spec, coordinate, info);
  return in_output_order(view, {{begin, end}});
}

Result<DimSelection> select_nearest(std::string_view dim, std::string_view spec,
                                    std::span<const double> coordinate, const AscendingView& view,
                                    const CoordinateInfo& info, double target) {
  const bool circular = wraps(view, info);
  double x = to_coordinate_precision(circular ? wrap_into(target, view.lowest()) : target, info);
  auto distance = [&](double value) {
    return circular ? std::fabs(std::remainder(value - x, kFullCircle)) : std::fabs(value - x);
  };
  const std::size_t n = view.size();
  const std::size_t above = view.lower_bound(x);
  std::size_t best = above == n ? n - 1 : above;
  if (above > 0 && (above == n || x - view[above - 1] < view[above] - x)) best = above - 1;
  if (circular) {
    // Across the seam: the lowest value is also just east of the highest.
    for (std::size_t candidate : {std::size_t{0}, n - 1}) {
      const double d = distance(view[candidate]);
      const double d_best = distance(view[best]);
      if (d < d_best || (d == d_best && view[candidate] > view[best])) best = candidate;
    }
  }
  const bool inside = x >= view.lowest() && x <= view.highest();
  if (!inside && n > 1) {
    // Beyond the extent: allowed up to one grid step (the spacing at that edge).
    const bool past_high =
        circular ? distance(view.highest()) <= distance(view.lowest()) : x > view.highest();
    const double edge_distance = past_high ? distance(view.highest()) : distance(view.lowest());
    const double step = past_high ? view.step_at(n - 1, false) : view.step_at(0, true);
    if (edge_distance > step) {
      return make_error(ErrorCode::kInvalidArgument,
                        "selection {}={} is outside the coordinate: the nearest value {} is more "
                        "than one grid step ({}) away ({})",
                        dim, spec, show_value(view[best], info), step,
                        describe_extent(dim, coordinate, info));
    }
  }
  const IndexRange range = view.to_index(best, best + 1);
  return DimSelection{{range}};
}

bool is_degrees_east(std::string_view units) {
  const std::string key = lower(trim(units));
  return key == "degrees_east" || key == "degree_east" || key == "degrees_e" || key == "degree_e" ||
         key == "degreese" || key == "degreee";
}

std::string string_attribute(const Json& attributes, const char* key) {
  if (!attributes.is_object()) return {};
  const auto found = attributes.find(key);
  if (found == attributes.end() || !found->is_string()) return {};
  return found->get<std::string>();
}

}  // namespace

std::uint64_t DimSelection::size() const {
  std::uint64_t total = 0;
  for (const auto& range : ranges) total += range.size();
  return total;
}

bool looks_like_longitude(std::string_view name, const Json& attributes) {
  const std::string units = string_attribute(attributes, "units");
  if (is_degrees_east(units)) return true;
  if (lower(string_attribute(attributes, "standard_name")) == "longitude") return true;
  const std::string key = lower(name);
  return (key == "lon" || key == "longitude") &&
         (units.empty() || lower(units).starts_with("degree"));
}

Result<CoordinateInfo> describe_coordinate(std::string_view name, const Json& attributes,
                                           const zarr::DataType& type) {
  CoordinateInfo info;
  info.is_longitude = looks_like_longitude(name, attributes);
  info.single_precision = type.kind == zarr::TypeKind::kFloat && type.size <= 4;
  if (type.kind == zarr::TypeKind::kDateTime64) {
    // numpy.datetime64: counts of unit x scale since the Unix epoch, proleptic Gregorian.
    static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {
        {"ns", 1},
        {"us", 1'000},
        {"ms", 1'000'000},
        {"s", 1'000'000'000},
        {"m", 60'000'000'000},
        {"h", 3'600'000'000'000},
        {"D", 86'400'000'000'000},
        {"W", 604'800'000'000'000},
    };
    for (const auto& [unit, nanoseconds] : kUnits) {
      if (unit != type.unit) continue;
      CfTimeUnits units;
      units.nanoseconds_per_unit = nanoseconds * std::max<std::uint32_t>(type.scale, 1);
      units.calendar = Calendar::kProlepticGregorian;
      units.reference = DateTime{};
      units.reference_microseconds = 0;
      info.time_units = units;
      return info;
    }
    return make_error(ErrorCode::kUnsupported,
                      "coordinate '{}': datetime64 unit '{}' has no fixed length; select by index "
                      "instead (--isel)",
                      name, type.unit);
  }
  const std::string units = string_attribute(attributes, "units");
  // xarray's test for time units: "(.+) since (.+)".
  const std::size_t since = units.find(" since ");
  if (since != std::string::npos && since > 0 && since + 7 < units.size()) {
    auto time_units = parse_time_units(units, string_attribute(attributes, "calendar"));
    if (!time_units.ok()) {
      return std::move(time_units).error().add_context(fmt::format("coordinate '{}'", name));
    }
    info.time_units = *time_units;
  }
  return info;
}

Result<DimSelection> select_by_index(std::string_view dim, std::string_view spec_text,
                                     std::uint64_t length) {
  const std::string_view spec = trim(spec_text);
  const auto signed_length = static_cast<std::int64_t>(length);
  auto out_of_range = [&](std::int64_t index) {
    return make_error(ErrorCode::kInvalidArgument,
                      "selection {}={}: index {} is outside dimension '{}' of length {} (valid "
                      "indices are {}..{}, negative ones count from the end)",
                      dim, spec, index, dim, length, -signed_length,
                      signed_length == 0 ? 0 : signed_length - 1);
  };
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    const auto index = parse_integer(spec);
    if (!index) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot read index selection '{}={}': expected I, I:J, I:, :J (integers, "
                        "negative from the end)",
                        dim, spec);
    }
    if (*index >= signed_length || *index < -signed_length) return out_of_range(*index);
    const std::int64_t start = *index < 0 ? *index + signed_length : *index;
    return DimSelection{
        {IndexRange{static_cast<std::uint64_t>(start), static_cast<std::uint64_t>(start + 1)}}};
  }
  const std::string_view start_text = trim(spec.substr(0, colon));
  const std::string_view stop_text = trim(spec.substr(colon + 1));
  if (stop_text.find(':') != std::string_view::npos) {
    return make_error(ErrorCode::kUnsupported,
                      "index selection '{}={}': steps are not supported (use I:J)", dim, spec);
  }
  std::int64_t bounds[2] = {0, signed_length};
  const std::string_view texts[2] = {start_text, stop_text};
  for (int side = 0; side < 2; ++side) {
    if (texts[side].empty()) continue;
    const auto index = parse_integer(texts[side]);
    if (!index) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot read index selection '{}={}': '{}' is not an integer", dim, spec,
                        texts[side]);
    }
    if (*index > signed_length || *index < -signed_length) return out_of_range(*index);
    bounds[side] = *index < 0 ? *index + signed_length : *index;
  }
  if (bounds[0] >= bounds[1]) {
    return make_error(ErrorCode::kInvalidArgument,
                      "selection {}={} keeps nothing: it is the indices {}..{} of dimension '{}' "
                      "(length {}), an empty range",
                      dim, spec, bounds[0], bounds[1], dim, length);
  }
  return DimSelection{
      {IndexRange{static_cast<std::uint64_t>(bounds[0]), static_cast<std::uint64_t>(bounds[1])}}};
}

Result<DimSelection> select_by_value(std::string_view dim, std::string_view spec_text,
                                     std::span<const double> coordinate,
                                     const CoordinateInfo& info) {
  const std::string_view spec = trim(spec_text);
  FLOE_ASSIGN_OR_RETURN(const bool descending, check_monotonic(dim, coordinate));
  const AscendingView view(coordinate, descending);
  if (spec.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "selection of '{}' is empty", dim);
  }
  const bool single_date = info.time_units && parse_datetime(spec).ok();
  if (single_date || spec.find(':') == std::string_view::npos) {
    FLOE_ASSIGN_OR_RETURN(SpecBound point, parse_bound(dim, spec, info));
    return select_nearest(dim, spec, coordinate, view, info, point.number);
  }
  FLOE_ASSIGN_OR_RETURN(auto sides, split_range(dim, spec, info));
  std::optional<SpecBound> lower;
  std::optional<SpecBound> upper;
  if (!sides.first.empty()) {
    FLOE_ASSIGN_OR_RETURN(lower, parse_bound(dim, sides.first, info));
  }
  if (!sides.second.empty()) {
    FLOE_ASSIGN_OR_RETURN(upper, parse_bound(dim, sides.second, info));
  }
  return select_range(dim, spec, coordinate, view, info, std::move(lower), std::move(upper));
}

Result<SelectionArgument> parse_selection_argument(std::string_view argument) {
  const std::size_t equals = argument.find('=');
  if (equals == std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read selection '{}': expected DIM=VALUE or DIM=START:STOP, e.g. "
                      "lat=-10.25:-1 or time=2020-01-01:2020-01-31",
                      argument);
  }
  const std::string_view dim = trim(argument.substr(0, equals));
  const std::string_view spec = trim(argument.substr(equals + 1));
  if (dim.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read selection '{}': no dimension name before '='", argument);
  }
  if (std::any_of(dim.begin(), dim.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read selection '{}': dimension name '{}' contains spaces", argument,
                      dim);
  }
  if (spec.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot read selection '{}': nothing after '=' (expected a value or "
                      "START:STOP)",
                      argument);
  }
  return SelectionArgument{std::string(dim), std::string(spec)};
}

}  // namespace floe::read
