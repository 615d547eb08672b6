// Parsing a Zarr v3 array's zarr.json (spec 3.0 "Array metadata") and encoding chunk keys.
#include "floe/zarr/array_metadata.h"

#include <exception>

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
  if (grid_name != "regular") {
    return make_error(ErrorCode::kUnsupported,
                      "array {}: chunk grid \"{}\" is not supported (only \"regular\" is readable)",
                      path, grid_name);
  }
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

std::vector<std::uint64_t> ArrayMetadata::chunk_counts() const {
  std::vector<std::uint64_t> counts(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    counts[i] = shape[i] / chunk_shape[i] + (shape[i] % chunk_shape[i] != 0 ? 1 : 0);
  }
  return counts;
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
