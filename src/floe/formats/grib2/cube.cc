// Forecast datacube assembly: fields grouped into arrays by (level type, parameter, statistic),
// cells placed by (init time, step, member, level), collisions resolved, and the coordinate arrays
// encoded inline.
#include "floe/formats/grib2/cube.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace floe::formats::grib2 {

namespace {

using virt::Json;
using virt::VirtualArray;

constexpr int32_t kNoMember = std::numeric_limits<int32_t>::min();
constexpr uint64_t kCoordinateChunkBytes = 8ull << 20;
const char* const kSecondsSinceEpoch = "seconds since 1970-01-01 00:00:00";

// "m above ground" -> "m_above_ground", "PV (Km^2/kg/s) surface" -> "PV_Km_2_kg_s_surface".
std::string slug(std::string_view text) {
  std::string out;
  bool pending_separator = false;
  for (char c : text) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '+';
    if (!keep) {
      pending_separator = !out.empty();
      continue;
    }
    if (pending_separator) out += '_';
    pending_separator = false;
    out += c;
  }
  return out;
}

struct ArrayKey {
  std::string level_type;
  std::string parameter;
  std::string statistic;
  std::string ensemble_product;
  bool since_init = false;
  bool operator<(const ArrayKey& other) const {
    return std::tie(level_type, parameter, statistic, ensemble_product, since_init) <
           std::tie(other.level_type, other.parameter, other.statistic, other.ensemble_product,
                    other.since_init);
  }
};

struct CellKey {
  UnixSeconds init;
  int64_t step;
  int32_t member;
  double level;
  bool operator<(const CellKey& other) const {
    return std::tie(init, step, member, level) <
           std::tie(other.init, other.step, other.member, other.level);
  }
};

// Reasons fields are left out, counted per array with one example each.
class Omissions {
 public:
  void add(const std::string& what, const std::string& example) {
    auto [it, inserted] = entries_.try_emplace(what, 0, example);
    ++it->second.first;
  }
  void report(std::vector<std::string>& warnings) const {
    for (const auto& [what, entry] : entries_) {
      warnings.push_back(entry.first == 1 ? fmt::format("{}: {}", what, entry.second)
                                          : fmt::format("{} ({} fields), e.g. {}", what,
                                                        entry.first, entry.second));
    }
  }

 private:
  std::map<std::string, std::pair<size_t, std::string>> entries_;
};

template <typename T>
Bytes little_endian_bytes(const T* values, size_t count) {
  std::vector<std::byte> out(count * sizeof(T));
  if (count > 0)
    std::memcpy(out.data(), values, out.size());  // x86-64 and aarch64 are little-endian
  return Bytes::from_vector(std::move(out));
}

Json bytes_codecs() {
  return Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
}

// A coordinate held in the repository: `values` in C order, cut along the first axis into chunks of
// at most kCoordinateChunkBytes.
template <typename T>
VirtualArray stored_coordinate(std::string name, std::vector<std::string> dims,
                               std::vector<uint64_t> shape, const std::vector<T>& values,
                               std::string data_type, Json attributes) {
  VirtualArray array;
  array.name = std::move(name);
  array.dims = std::move(dims);
  array.shape = std::move(shape);
  array.data_type = std::move(data_type);
  array.element_size = sizeof(T);
  array.fill_value = std::is_floating_point_v<T> ? Json("NaN") : Json(0);
  array.codecs = bytes_codecs();
  array.attributes = std::move(attributes);
  array.dimension_coordinate = array.dims.size() == 1 && array.dims[0] == array.name;
  uint64_t row_elements = 1;
  for (size_t axis = 1; axis < array.shape.size(); ++axis) row_elements *= array.shape[axis];
  const uint64_t rows = array.shape.empty() ? 1 : array.shape[0];
  const uint64_t rows_per_chunk = std::max<uint64_t>(
      1, std::min<uint64_t>(
             rows, kCoordinateChunkBytes / std::max<uint64_t>(1, row_elements * sizeof(T))));
  array.chunk_shape = array.shape;
  if (!array.chunk_shape.empty()) array.chunk_shape[0] = rows_per_chunk;
  for (uint64_t start = 0, chunk = 0; start < rows; start += rows_per_chunk, ++chunk) {
    // Edge chunks are stored whole (padded), as Zarr expects.
    std::vector<T> piece(rows_per_chunk * row_elements, T{});
    const uint64_t available = std::min(rows_per_chunk, rows - start) * row_elements;
    std::copy(values.begin() + static_cast<std::ptrdiff_t>(start * row_elements),
              values.begin() + static_cast<std::ptrdiff_t>(start * row_elements + available),
              piece.begin());
    array.inline_chunks.emplace(chunk, little_endian_bytes(piece.data(), piece.size()));
  }
  return array;
}

VirtualArray valid_time_coordinate(const std::vector<int64_t>& init_times,
                                   const std::vector<int64_t>& steps) {
  std::vector<int64_t> valid_times;
  valid_times.reserve(init_times.size() * steps.size());
  for (int64_t init : init_times) {
    for (int64_t step : steps) valid_times.push_back(init + step);
  }
  return stored_coordinate("valid_time", {"init_time", "step"}, {init_times.size(), steps.size()},
                           valid_times, "int64",
                           Json{{"standard_name", "time"},
                                {"long_name", "valid time"},
                                {"units", kSecondsSinceEpoch},
                                {"calendar", "proleptic_gregorian"}});
}

const char* layout_name(CubeLayout layout) {
  switch (layout) {
    case CubeLayout::kGeneric:
      return "generic";
    case CubeLayout::kGefs:
      return "gefs";
    case CubeLayout::kEcmwfEns:
      return "ecmwf-ens";
    case CubeLayout::kGfs:
      return "gfs";
    case CubeLayout::kHrrr:
      return "hrrr";
  }
  return "generic";
}

std::string describe_key(const ArrayKey& key) {
  std::string text = fmt::format("{} ({})", key.parameter,
                                 key.level_type.empty() ? "no level type" : key.level_type);
  if (!key.statistic.empty()) text += fmt::format(" {}", key.statistic);
  if (!key.ensemble_product.empty()) text += fmt::format(" {}", key.ensemble_product);
  if (key.since_init) text += " since init";
  return text;
}

}  // namespace

Result<CubeLayout> parse_cube_layout(std::string_view name) {
  if (name == "generic" || name.empty()) return CubeLayout::kGeneric;
  if (name == "gefs") return CubeLayout::kGefs;
  if (name == "ecmwf-ens") return CubeLayout::kEcmwfEns;
  if (name == "gfs") return CubeLayout::kGfs;
  if (name == "hrrr") return CubeLayout::kHrrr;
  return make_error(ErrorCode::kInvalidArgument,
                    "layout \"{}\": expected generic, gefs, ecmwf-ens, gfs or hrrr", name);
}

std::optional<int32_t> gefs_member_from_name(std::string_view url) {
  std::string_view name = url.substr(url.find_last_of('/') + 1);
  if (name.size() < 5 || !name.starts_with("ge") || (name[2] != 'c' && name[2] != 'p'))
    return std::nullopt;
  if (name[3] < '0' || name[3] > '9' || name[4] < '0' || name[4] > '9') return std::nullopt;
  if (name.size() > 5 && name[5] >= '0' && name[5] <= '9') return std::nullopt;
  return (name[3] - '0') * 10 + (name[4] - '0');
}

Result<virt::VirtualDataset> build_forecast_cube(const CubeInput& input, CubeLayout layout) {
  if (input.fields.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "no GRIB fields to build a datacube from");
  }
  for (const CubeField& field : input.fields) {
    if (field.source >= input.sources.size() || field.grid >= input.grids.size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: source {} / grid {} out of range ({} sources, {} grids)", field.origin,
                        field.source, field.grid, input.sources.size(), input.grids.size());
    }
  }
  virt::VirtualDataset dataset;
  dataset.source_url = input.sources.empty() ? std::string() : input.sources.front();
  Omissions omissions;

  // The most common grid; fields on others are left out.
  std::vector<size_t> grid_class(input.grids.size());
  std::vector<size_t> class_representative;
  for (size_t g = 0; g < input.grids.size(); ++g) {
    size_t c = 0;
    while (c < class_representative.size() &&
           !input.grids[class_representative[c]].same_grid(input.grids[g]))
      ++c;
    if (c == class_representative.size()) class_representative.push_back(g);
    grid_class[g] = c;
  }
  std::vector<size_t> fields_per_class(class_representative.size(), 0);
  for (const CubeField& field : input.fields) ++fields_per_class[grid_class[field.grid]];
  const size_t primary_class =
      static_cast<size_t>(std::max_element(fields_per_class.begin(), fields_per_class.end()) -
                          fields_per_class.begin());
  const GridGeometry& grid = input.grids[class_representative[primary_class]];

  // Cells of every array; collisions resolved afterwards.
  std::map<ArrayKey, std::map<CellKey, std::vector<size_t>>> arrays;
  for (size_t f = 0; f < input.fields.size(); ++f) {
    const CubeField& field = input.fields[f];
    ArrayKey key{field.level_type, field.parameter, field.statistic, field.ensemble_product, false};
    if (grid_class[field.grid] != primary_class) {
      omissions.add(
          fmt::format("{}: left out, on {} while the datacube is on {}", describe_key(key),
                      input.grids[field.grid].describe(), grid.describe()),
          field.origin);
      continue;
    }
    CellKey cell{field.reference_time, field.step_seconds, field.member.value_or(kNoMember),
                 field.level.value_or(std::numeric_limits<double>::quiet_NaN())};
    if (std::isnan(cell.level)) cell.level = -std::numeric_limits<double>::infinity();
    arrays[key][cell].push_back(f);
  }
  auto interval_start = [&](size_t f) {
    // Instantaneous fields sort first, then the latest start (the shortest interval ending at the
    // step).
    const auto& start = input.fields[f].interval_start_seconds;
    return start ? *start : std::numeric_limits<int64_t>::max();
  };
  for (auto& [key, cells] : arrays) {
    for (auto& [cell, candidates] : cells) {
      if (candidates.size() < 2) continue;
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](size_t a, size_t b) { return interval_start(a) > interval_start(b); });
      const CubeField& chosen = input.fields[candidates[0]];
      for (size_t k = 1; k < candidates.size(); ++k) {
        const CubeField& other = input.fields[candidates[k]];
        const bool run_total = !key.since_init && other.interval_start_seconds == 0 &&
                               chosen.interval_start_seconds.value_or(0) > 0;
        if (run_total) {
          ArrayKey total = key;
          total.since_init = true;
          auto& slot = arrays[total][cell];
          if (slot.empty()) {
            slot.push_back(candidates[k]);
            continue;
          }
        }
        omissions.add(fmt::format("{}: duplicate fields for one cell skipped", describe_key(key)),
                      fmt::format("{} (kept {})", other.origin, chosen.origin));
      }
      candidates.resize(1);
    }
  }

  // Coordinates over the fields kept.
  std::set<UnixSeconds> init_times;
  std::set<int64_t> steps;
  std::set<int32_t> members;
  std::map<std::string, std::map<double, std::optional<double>>>
      group_levels;  // level -> its layer bound
  std::map<std::string, bool> group_numeric;
  for (const auto& [key, cells] : arrays) {
    for (const auto& [cell, candidates] : cells) {
      const CubeField& field = input.fields[candidates[0]];
      if (field.level) group_numeric[key.level_type] = true;
    }
  }
  std::map<ArrayKey, bool> array_has_member;
  for (auto& [key, cells] : arrays) {
    bool has_member = false;
    for (const auto& [cell, candidates] : cells)
      has_member |= input.fields[candidates[0]].member.has_value();
    array_has_member[key] = has_member;
    const bool numeric = group_numeric[key.level_type];
    for (auto it = cells.begin(); it != cells.end();) {
      const CubeField& field = input.fields[it->second[0]];
      std::string reason;
      if (has_member && !field.member)
        reason = "left out: no ensemble member in an array of members";
      if (numeric && !field.level)
        reason = "left out: no level value in a level type that has them";
      if (!reason.empty()) {
        omissions.add(fmt::format("{}: {}", describe_key(key), reason), field.origin);
        it = cells.erase(it);
        continue;
      }
      init_times.insert(field.reference_time);
      steps.insert(field.step_seconds);
      if (field.member) members.insert(*field.member);
      if (numeric) group_levels[key.level_type].try_emplace(*field.level, field.level_bound);
      ++it;
    }
  }
  if (init_times.empty()) {
    std::vector<std::string> reasons;
    omissions.report(reasons);
    return make_error(ErrorCode::kInvalidArgument,
                      "every GRIB field was left out of the datacube: {}",
                      fmt::join(reasons, "; "));
  }
  const bool member_dim = !members.empty();
  const std::vector<UnixSeconds> init_values(init_times.begin(), init_times.end());
  const std::vector<int64_t> step_values(steps.begin(), steps.end());
  const std::vector<int32_t> member_values(members.begin(), members.end());
  auto index_of = [](const auto& values, auto value) {
    return static_cast<uint64_t>(std::lower_bound(values.begin(), values.end(), value) -
                                 values.begin());
  };

  // Root coordinates.
  virt::VirtualGroup& root = dataset.root;
  root.attributes = Json{{"floe_layout", layout_name(layout)}, {"GRIB_grid", grid.describe()}};
  root.arrays.push_back(stored_coordinate("init_time", {"init_time"}, {init_values.size()},
                                          init_values, "int64",
                                          Json{{"standard_name", "forecast_reference_time"},
                                               {"long_name", "initialization time"},
                                               {"units", kSecondsSinceEpoch},
                                               {"calendar", "proleptic_gregorian"}}));
  root.arrays.push_back(stored_coordinate("step", {"step"}, {step_values.size()}, step_values,
                                          "int64",
                                          Json{{"standard_name", "forecast_period"},
                                               {"long_name", "time since initialization"},
                                               {"units", "seconds"}}));
  root.arrays.push_back(valid_time_coordinate(init_values, step_values));
  if (member_dim) {
    root.arrays.push_back(stored_coordinate("member", {"member"}, {member_values.size()},
                                            member_values, "int32",
                                            Json{{"long_name", "ensemble member (0 = control)"}}));
  }
  FLOE_ASSIGN_OR_RETURN(GridCoordinates coordinates, compute_coordinates(grid));
  std::vector<std::string> horizontal_dims;
  std::vector<uint64_t> horizontal_shape = {grid.nj, grid.ni};
  Json latitude_attributes{{"standard_name", "latitude"}, {"units", "degrees_north"}};
  Json longitude_attributes{{"standard_name", "longitude"}, {"units", "degrees_east"}};
  if (coordinates.two_dimensional) {
    horizontal_dims = {"y", "x"};
    root.arrays.push_back(stored_coordinate("latitude", horizontal_dims, horizontal_shape,
                                            coordinates.latitude, "float64", latitude_attributes));
    root.arrays.push_back(stored_coordinate("longitude", horizontal_dims, horizontal_shape,
                                            coordinates.longitude, "float64",
                                            longitude_attributes));
  } else {
    horizontal_dims = {"latitude", "longitude"};
    root.arrays.push_back(stored_coordinate("latitude", {"latitude"}, {grid.nj},
                                            coordinates.latitude, "float64", latitude_attributes));
    root.arrays.push_back(stored_coordinate("longitude", {"longitude"}, {grid.ni},
                                            coordinates.longitude, "float64",
                                            longitude_attributes));
  }
  const std::string coordinates_attribute =
      coordinates.two_dimensional ? "valid_time latitude longitude" : "valid_time";

  // Names: the parameter, with suffixes only where one group holds several arrays of it.
  std::map<std::pair<std::string, std::string>, size_t>
      keys_per_name;  // (level type, parameter+product)
  for (const auto& [key, cells] : arrays) {
    if (cells.empty() || key.since_init) continue;  // run totals are told apart by their own suffix
    ++keys_per_name[{key.level_type, key.parameter + "\n" + key.ensemble_product}];
  }

  std::map<std::string, virt::VirtualGroup> groups;
  for (const auto& [key, cells] : arrays) {
    if (cells.empty()) continue;
    virt::VirtualGroup& group = groups[key.level_type];
    const bool numeric = group_numeric[key.level_type];
    std::vector<double> levels;
    if (numeric) {
      for (const auto& [level, bound] : group_levels[key.level_type]) levels.push_back(level);
    }
    std::string name = key.parameter;
    if (!key.ensemble_product.empty()) name += "_" + slug(key.ensemble_product);
    if (keys_per_name[{key.level_type, key.parameter + "\n" + key.ensemble_product}] > 1 &&
        !key.since_init) {
      name += "_" + (key.statistic.empty() ? std::string("instant") : slug(key.statistic));
    }
    if (key.since_init) name += "_since_init";
    while (name == "level" || name == "level_bound" ||
           std::any_of(group.arrays.begin(), group.arrays.end(),
                       [&](const VirtualArray& existing) { return existing.name == name; })) {
      name += "_";
    }

    VirtualArray array;
    array.name = name;
    array.dims = {"init_time", "step"};
    array.shape = {init_values.size(), step_values.size()};
    const bool has_member = array_has_member[key];
    if (has_member) {
      array.dims.push_back("member");
      array.shape.push_back(member_values.size());
    }
    if (numeric) {
      array.dims.push_back("level");
      array.shape.push_back(levels.size());
    }
    array.dims.insert(array.dims.end(), horizontal_dims.begin(), horizontal_dims.end());
    array.shape.insert(array.shape.end(), horizontal_shape.begin(), horizontal_shape.end());
    array.chunk_shape.assign(array.shape.size(), 1);
    array.chunk_shape[array.shape.size() - 2] = grid.nj;
    array.chunk_shape[array.shape.size() - 1] = grid.ni;
    array.data_type = "float32";
    array.element_size = 4;
    array.fill_value = "NaN";
    const CubeField& first = input.fields[cells.begin()->second[0]];
    // One codec for the whole array: the fields' own, or else their common fallback.
    Json codec = first.codec;
    const bool same_codec = std::all_of(cells.begin(), cells.end(), [&](const auto& entry) {
      return input.fields[entry.second[0]].codec == first.codec;
    });
    if (!same_codec && !first.fallback_codec.is_null() &&
        std::all_of(cells.begin(), cells.end(), [&](const auto& entry) {
          const CubeField& field = input.fields[entry.second[0]];
          return field.codec == first.fallback_codec ||
                 field.fallback_codec == first.fallback_codec;
        })) {
      codec = first.fallback_codec;
    }
    array.codecs = Json::array({codec});
    array.attributes = first.attributes.is_object() ? first.attributes : Json::object();
    array.attributes["_FillValue"] = "NaN";
    array.attributes["coordinates"] = coordinates_attribute;
    array.attributes["GRIB_parameter"] = key.parameter;
    array.attributes["GRIB_level_type"] = key.level_type;
    if (!key.statistic.empty()) array.attributes["GRIB_statistic"] = key.statistic;
    if (key.since_init)
      array.attributes["GRIB_interval"] = "from the initialization time to the step";
    if (!key.ensemble_product.empty())
      array.attributes["GRIB_ensemble_product"] = key.ensemble_product;

    const std::vector<uint64_t> counts = virt::chunk_counts(array);
    for (const auto& [cell, candidates] : cells) {
      const CubeField& field = input.fields[candidates[0]];
      if (field.codec != codec && field.fallback_codec != codec) {
        omissions.add(fmt::format("{}: left out, decoded by codec {} while the array uses {}",
                                  describe_key(key), field.codec.dump(), codec.dump()),
                      field.origin);
        continue;
      }
      std::vector<uint64_t> position = {index_of(init_values, field.reference_time),
                                        index_of(step_values, field.step_seconds)};
      if (has_member) position.push_back(index_of(member_values, *field.member));
      if (numeric) position.push_back(index_of(levels, *field.level));
      position.push_back(0);
      position.push_back(0);
      array.refs.add(virt::chunk_number(position, counts),
                     array.refs.intern(input.sources[field.source]), field.offset, field.length);
    }
    group.arrays.push_back(std::move(array));
  }

  for (auto& [level_type, group] : groups) {
    group.name = level_type.empty() ? std::string("no_level_type") : slug(level_type);
    group.attributes = Json{{"GRIB_level_type", level_type}};
    std::sort(group.arrays.begin(), group.arrays.end(),
              [](const VirtualArray& a, const VirtualArray& b) { return a.name < b.name; });
    if (group_numeric[level_type]) {
      std::vector<double> levels;
      std::vector<double> bounds;
      bool layers = false;
      for (const auto& [level, bound] : group_levels[level_type]) {
        levels.push_back(level);
        bounds.push_back(bound.value_or(std::numeric_limits<double>::quiet_NaN()));
        layers |= bound.has_value();
      }
      group.arrays.insert(
          group.arrays.begin(),
          stored_coordinate("level", {"level"}, {levels.size()}, levels, "float64",
                            Json{{"long_name", level_type}, {"GRIB_level_type", level_type}}));
      if (layers) {
        group.arrays.push_back(stored_coordinate(
            "level_bound", {"level"}, {bounds.size()}, bounds, "float64",
            Json{{"long_name", fmt::format("second bound of {} layers", level_type)}}));
      }
    }
    root.groups.push_back(std::move(group));
  }
  // Two level types can share a slug ("m above ground" and "m_above_ground"): keep group names
  // unique.
  std::set<std::string> group_names;
  for (virt::VirtualGroup& group : root.groups) {
    while (!group_names.insert(group.name).second) group.name += "_";
  }
  dataset.unlimited_dims = {"init_time"};
  omissions.report(dataset.warnings);
  return dataset;
}

void rebuild_valid_time(virt::VirtualDataset& cube, const std::vector<int64_t>& init_times,
                        const std::vector<int64_t>& steps) {
  std::erase_if(cube.root.arrays,
                [](const VirtualArray& array) { return array.name == "valid_time"; });
  cube.root.arrays.push_back(valid_time_coordinate(init_times, steps));
}

}  // namespace floe::formats::grib2
