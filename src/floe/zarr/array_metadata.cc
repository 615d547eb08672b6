// Parsing a Zarr v3 array's zarr.json (spec 3.0 "Array metadata"; the rectilinear chunk grid of
// zarr-extensions chunk-grids/rectilinear), locating chunks and encoding chunk keys.
#include "floe/zarr/array_metadata.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <utility>

namespace floe::zarr {
namespace {

Error corrupt(std::string_view path, std::string_view what) {
  return make_error(ErrorCode::kCorrupt, "array {}: zarr.json {}", path, what);
}

Result<std::vector<std::uint64_t>> unsigned_list(const Json& value, std::string_view path,
                                                 std::string_view member) {
  if (!value.is_array()) return corrupt(path, fmt::format("{} is not a list", member));
  std::vector<std::uint64_t> out;
  out.reserve(value.size());
  for (const Json& item : value) {
    if (!item.is_number_unsigned()) {
      return corrupt(path, fmt::format("{} {} holds a value that is not a non-negative integer",
                                       member, value.dump()));
    }
    out.push_back(item.get<std::uint64_t>());
  }
  return out;
}

// An extension point is either {"name": ..., "configuration": {...}} or, since spec 3.1, a bare
// name.
std::string extension_name(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("name") && value["name"].is_string()) {
    return value["name"].get<std::string>();
  }
  return {};
}

Json extension_configuration(const Json& value) {
  if (value.is_object() && value.contains("configuration") && value["configuration"].is_object()) {
    return value["configuration"];
  }
  return Json::object();
}

constexpr std::uint64_t kMaxUint64 = std::numeric_limits<std::uint64_t>::max();

// Sums and products that stop at 2^64 - 1: edges are compared against extents, which never exceed
// it, so a saturated value still compares correctly.
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > kMaxUint64 - b ? kMaxUint64 : a + b;
}

std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > kMaxUint64 / b ? kMaxUint64 : a * b;
}

std::uint64_t ceil_divide(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

Error too_many_edges(std::string_view path, std::size_t axis, std::uint64_t count) {
  return make_error(ErrorCode::kUnsupported,
                    "array {}: the rectilinear chunk grid has {} or more chunks (axis {}), more "
                    "than the {} floe reads",
                    path, count, axis, kMaxRectilinearEdges);
}

// The rectilinear chunk_grid: per-axis edges against the shape. Spec: zarr-extensions
// chunk-grids/rectilinear ("kind": "inline" is the only kind defined).
Status parse_rectilinear_grid(const Json& grid, std::string_view path, ArrayMetadata& metadata) {
  const Json configuration = extension_configuration(grid);
  const Json kind = configuration.value("kind", Json());
  if (kind.is_null()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "array {}: zarr.json rectilinear chunk_grid has no configuration.kind "
                      "(\"inline\" is the kind zarr-python writes)",
                      path);
  }
  if (kind != Json("inline")) {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: rectilinear chunk_grid kind {} is not supported (only \"inline\" "
                      "is readable)",
                      path, kind.dump());
  }
  const Json chunk_shapes = configuration.value("chunk_shapes", Json());
  if (!chunk_shapes.is_array() || chunk_shapes.size() != metadata.shape.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "array {}: zarr.json rectilinear chunk_grid chunk_shapes {} is not a list "
                      "of one entry per each of the {} dimensions of shape",
                      path, chunk_shapes.dump(), metadata.shape.size());
  }
  std::vector<std::vector<std::uint64_t>> edges(chunk_shapes.size());
  std::vector<std::uint64_t> first_edges(chunk_shapes.size());
  std::uint64_t total_edges = 0;
  for (std::size_t axis = 0; axis < chunk_shapes.size(); ++axis) {
    FLOE_ASSIGN_OR_RETURN(
        RectilinearAxis parsed,
        parse_rectilinear_axis(chunk_shapes[axis], metadata.shape[axis], axis, path));
    total_edges += parsed.edges.size();
    if (total_edges > kMaxRectilinearEdges) return too_many_edges(path, axis, total_edges);
    edges[axis] = std::move(parsed.edges);
    first_edges[axis] = parsed.first_edge;
  }
  metadata.set_chunk_edges(std::move(edges));
  for (std::size_t axis = 0; axis < first_edges.size(); ++axis) {
    if (metadata.chunk_edges[axis].empty()) metadata.chunk_shape[axis] = first_edges[axis];
  }
  return ok_status();
}

bool has_sharding_codec(const Json& codecs) {
  return std::any_of(codecs.begin(), codecs.end(),
                     [](const Json& codec) { return extension_name(codec) == "sharding_indexed"; });
}

Result<ArrayMetadata> parse_document(const Json& document, std::string_view path) {
  if (!document.is_object()) return corrupt(path, "is not a JSON object");
  const Json format = document.value("zarr_format", Json());
  if (!format.is_number_integer() || format.get<std::int64_t>() != 3) {
    return make_error(ErrorCode::kUnsupported, "array {}: zarr_format {} is not 3", path,
                      format.dump());
  }
  if (document.value("node_type", Json()) != Json("array")) {
    return corrupt(path, fmt::format("node_type {} is not \"array\"",
                                     document.value("node_type", Json()).dump()));
  }
  ArrayMetadata metadata;
  FLOE_ASSIGN_OR_RETURN(metadata.shape,
                        unsigned_list(document.value("shape", Json()), path, "shape"));

  const Json grid = document.value("chunk_grid", Json());
  const std::string grid_name = extension_name(grid);
  if (grid_name.empty()) return corrupt(path, "has no chunk_grid name");
  if (grid_name == "rectilinear") {
    FLOE_RETURN_IF_ERROR(parse_rectilinear_grid(grid, path, metadata));
  } else if (grid_name == "regular") {
    FLOE_ASSIGN_OR_RETURN(metadata.chunk_shape,
                          unsigned_list(extension_configuration(grid).value("chunk_shape", Json()),
                                        path, "chunk_grid.configuration.chunk_shape"));
    if (metadata.chunk_shape.size() != metadata.shape.size()) {
      return corrupt(path, fmt::format("chunk_shape has {} dimensions but shape has {}",
                                       metadata.chunk_shape.size(), metadata.shape.size()));
    }
    for (std::uint64_t extent : metadata.chunk_shape) {
      if (extent == 0) return corrupt(path, "chunk_shape has a zero extent");
    }
  } else {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: chunk grid \"{}\" is not supported (\"regular\" and "
                      "\"rectilinear\" are readable)",
                      path, grid_name);
  }

  auto data_type = DataType::from_json(document.value("data_type", Json()));
  if (!data_type.ok())
    return std::move(data_type).error().add_context(fmt::format("array {}", path));
  metadata.data_type = std::move(*data_type);
  metadata.fill_value_json = document.value("fill_value", Json());
  auto fill = fill_value_bytes(metadata.data_type, metadata.fill_value_json);
  if (!fill.ok()) return std::move(fill).error().add_context(fmt::format("array {}", path));
  metadata.fill_value = std::move(*fill);

  metadata.codecs = document.value("codecs", Json());
  if (!metadata.codecs.is_array() || metadata.codecs.empty()) {
    return corrupt(path, "codecs is not a non-empty list");
  }
  if (metadata.rectilinear() && has_sharding_codec(metadata.codecs)) {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: a rectilinear chunk grid with the sharding_indexed codec is not "
                      "supported (shards of varying shape); rechunk to a regular grid to read it "
                      "with floe",
                      path);
  }

  const Json transformers = document.value("storage_transformers", Json::array());
  if (!transformers.is_array() || !transformers.empty()) {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: storage_transformers {} are not supported", path,
                      transformers.dump());
  }

  const Json key_encoding = document.value("chunk_key_encoding", Json());
  const std::string key_encoding_name = extension_name(key_encoding);
  if (key_encoding_name == "default" || key_encoding_name == "v2") {
    metadata.v2_key_encoding = key_encoding_name == "v2";
    const Json separator = extension_configuration(key_encoding)
                               .value("separator", Json(metadata.v2_key_encoding ? "." : "/"));
    if (separator != Json("/") && separator != Json(".")) {
      return corrupt(path, fmt::format("chunk_key_encoding separator {} is neither \"/\" nor \".\"",
                                       separator.dump()));
    }
    metadata.separator = separator.get<std::string>()[0];
  } else if (key_encoding_name.empty()) {
    return corrupt(path, "has no chunk_key_encoding name");
  } else {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: chunk_key_encoding \"{}\" is not supported", path,
                      key_encoding_name);
  }

  metadata.attributes = document.value("attributes", Json::object());
  if (!metadata.attributes.is_object()) return corrupt(path, "attributes is not an object");

  if (document.contains("dimension_names") && !document["dimension_names"].is_null()) {
    const Json& names = document["dimension_names"];
    if (!names.is_array() || names.size() != metadata.shape.size()) {
      return corrupt(path, fmt::format("dimension_names {} does not name {} dimensions",
                                       names.dump(), metadata.shape.size()));
    }
    for (const Json& name : names) {
      if (!name.is_string() && !name.is_null()) {
        return corrupt(path, fmt::format("dimension_names {} holds a value that is neither a "
                                         "string nor null",
                                         names.dump()));
      }
      metadata.dimension_names.push_back(name.is_string() ? name.get<std::string>() : "");
    }
  }
  return metadata;
}

}  // namespace

Result<RectilinearAxis> parse_rectilinear_axis(const Json& entry, std::uint64_t extent,
                                               std::size_t axis, std::string_view path,
                                               EdgeExpansion expansion) {
  const bool expand = expansion == EdgeExpansion::kExpand;
  auto invalid = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument,
                      "array {}: zarr.json rectilinear chunk_grid chunk_shapes[{}] {} {}", path,
                      axis, entry.dump(), what);
  };
  RectilinearAxis out;
  if (entry.is_number_unsigned()) {
    const std::uint64_t step = entry.get<std::uint64_t>();
    if (step == 0) return invalid("is a zero chunk length");
    out.first_edge = step;
    out.declared_chunks = ceil_divide(extent, step);
    if (!expand) return out;
    if (out.declared_chunks > kMaxRectilinearEdges) {
      return too_many_edges(path, axis, out.declared_chunks);
    }
    out.edges.assign(out.declared_chunks, step);
    return out;
  }
  if (!entry.is_array() || entry.empty()) {
    return invalid("is neither a positive chunk length nor a non-empty list of chunk lengths");
  }
  std::uint64_t covered = 0;      // sum of the edges overlapping the extent (saturating)
  std::uint64_t overlapping = 0;  // their count
  for (const Json& item : entry) {
    std::uint64_t length = 0, count = 1;
    if (item.is_number_unsigned()) {
      length = item.get<std::uint64_t>();
    } else if (item.is_array() && item.size() == 2 && item[0].is_number_unsigned() &&
               item[1].is_number_unsigned()) {
      length = item[0].get<std::uint64_t>();
      count = item[1].get<std::uint64_t>();
    } else {
      return invalid(fmt::format(
          "holds {}, which is neither a chunk length nor a [length, count] run", item.dump()));
    }
    if (length == 0) return invalid(fmt::format("holds {}, a zero chunk length", item.dump()));
    if (count == 0) return invalid(fmt::format("holds {}, a run of zero chunks", item.dump()));
    if (out.first_edge == 0) out.first_edge = length;
    out.declared_chunks = saturating_add(out.declared_chunks, count);
    if (covered >= extent) continue;  // trailing edges past the extent are allowed and unused
    const std::uint64_t taken = std::min(count, ceil_divide(extent - covered, length));
    overlapping += taken;
    if (expand) {
      if (overlapping > kMaxRectilinearEdges) return too_many_edges(path, axis, overlapping);
      out.edges.insert(out.edges.end(), taken, length);
    }
    covered = saturating_add(covered, saturating_multiply(taken, length));
  }
  if (covered < extent) {
    return invalid(fmt::format("has edges that sum to {}, short of the dimension's length {}",
                               covered, extent));
  }
  return out;
}

Json chunk_grid_json(std::span<const std::uint64_t> shape,
                     std::span<const std::vector<std::uint64_t>> chunk_edges) {
  Json chunk_shapes = Json::array();
  std::vector<std::uint64_t> steps;
  bool every_axis_regular = true;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    const std::vector<std::uint64_t> no_edges;
    const std::vector<std::uint64_t>& edges =
        axis < chunk_edges.size() ? chunk_edges[axis] : no_edges;
    // Even axes of a rectilinear grid are one run, not a bare step: icechunk-python 2.3 refuses bare steps when
    // it rewrites the metadata.
    if (edges.empty()) {  // an axis of extent 0
      steps.push_back(1);
      chunk_shapes.push_back(Json::array({1}));
      continue;
    }
    const bool equal = std::all_of(edges.begin(), edges.end(),
                                   [&](std::uint64_t edge) { return edge == edges[0]; });
    if (equal && edges.size() == ceil_divide(shape[axis], edges[0])) {
      steps.push_back(edges[0]);
      chunk_shapes.push_back(edges.size() == 1 ? Json::array({edges[0]})
                                               : Json::array({Json::array({edges[0], edges.size()})}));
      continue;
    }
    every_axis_regular = false;
    Json runs = Json::array();
    for (std::size_t i = 0; i < edges.size();) {
      std::size_t j = i;
      while (j < edges.size() && edges[j] == edges[i]) ++j;
      if (j - i == 1) {
        runs.push_back(edges[i]);
      } else {
        runs.push_back(Json::array({edges[i], j - i}));
      }
      i = j;
    }
    chunk_shapes.push_back(runs.size() < edges.size() ? std::move(runs) : Json(edges));
  }
  if (every_axis_regular) {
    return {{"name", "regular"}, {"configuration", {{"chunk_shape", steps}}}};
  }
  return {{"name", "rectilinear"},
          {"configuration", {{"kind", "inline"}, {"chunk_shapes", std::move(chunk_shapes)}}}};
}

Result<ArrayMetadata> ArrayMetadata::parse(std::string_view zarr_json,
                                           std::string_view path_for_errors) {
  try {
    const Json document = Json::parse(zarr_json, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return corrupt(path_for_errors, "is not valid JSON");
    return parse_document(document, path_for_errors);
  } catch (const std::exception& error) {
    return corrupt(path_for_errors, error.what());
  }
}

void ArrayMetadata::set_chunk_edges(std::vector<std::vector<std::uint64_t>> edges) {
  chunk_edges = std::move(edges);
  chunk_shape.assign(chunk_edges.size(), 1);
  chunk_ends_.assign(chunk_edges.size(), {});
  for (std::size_t axis = 0; axis < chunk_edges.size(); ++axis) {
    std::vector<std::uint64_t>& ends = chunk_ends_[axis];
    ends.reserve(chunk_edges[axis].size());
    std::uint64_t end = 0;
    for (std::uint64_t edge : chunk_edges[axis]) {
      end = saturating_add(end, edge);
      ends.push_back(end);
      chunk_shape[axis] = std::max(chunk_shape[axis], edge);
    }
  }
}

std::vector<std::uint64_t> ArrayMetadata::chunk_counts() const {
  std::vector<std::uint64_t> counts(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    counts[i] = rectilinear() ? chunk_edges[i].size() : ceil_divide(shape[i], chunk_shape[i]);
  }
  return counts;
}

std::uint64_t ArrayMetadata::chunk_start(std::size_t axis, std::uint64_t index) const {
  if (!rectilinear()) return index * chunk_shape[axis];
  return index == 0 ? 0 : chunk_ends_[axis][index - 1];
}

std::uint64_t ArrayMetadata::chunk_extent(std::size_t axis, std::uint64_t index) const {
  return rectilinear() ? chunk_edges[axis][index] : chunk_shape[axis];
}

std::uint64_t ArrayMetadata::chunk_containing(std::size_t axis, std::uint64_t element) const {
  if (!rectilinear()) return element / chunk_shape[axis];
  const std::vector<std::uint64_t>& ends = chunk_ends_[axis];
  return static_cast<std::uint64_t>(std::upper_bound(ends.begin(), ends.end(), element) -
                                    ends.begin());
}

std::vector<std::uint64_t> ArrayMetadata::chunk_shape_at(
    std::span<const std::uint64_t> chunk_index) const {
  if (!rectilinear()) return chunk_shape;
  std::vector<std::uint64_t> extents(chunk_index.size());
  for (std::size_t axis = 0; axis < chunk_index.size(); ++axis) {
    extents[axis] = chunk_edges[axis][chunk_index[axis]];
  }
  return extents;
}

std::string ArrayMetadata::chunk_key(std::span<const std::uint64_t> chunk_index) const {
  // Spec 3.0 "Chunk key encoding": default is "c" then the indices joined by the separator;
  // v2 is the indices alone, "0" for a 0-d array.
  std::string key;
  if (v2_key_encoding) {
    if (chunk_index.empty()) return "0";
  } else {
    key = "c";
  }
  for (std::size_t i = 0; i < chunk_index.size(); ++i) {
    if (!key.empty()) key += separator;
    key += std::to_string(chunk_index[i]);
  }
  return key;
}

}  // namespace floe::zarr
