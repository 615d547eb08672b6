// Group listings, array descriptions and dimension coordinate lookup over a snapshot's node list.
#include "floe/read/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace floe::read {
namespace {

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

template <typename T>
double element_as_double(const std::uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return static_cast<double>(value);
}

}  // namespace

std::string parent_path(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string child_path(std::string_view group, std::string_view name) {
  return group == "/" ? "/" + std::string(name) : std::string(group) + "/" + std::string(name);
}

Result<VariableInfo> describe_array(const icechunk::ReadSession& session,
                                    std::string_view array_path) {
  FLOE_ASSIGN_OR_RETURN(const icechunk::Node* node, session.node(array_path));
  if (node->kind != icechunk::NodeKind::kArray) {
    return make_error(ErrorCode::kInvalidArgument, "{} is a group, not an array", node->path);
  }
  VariableInfo info;
  info.path = node->path;
  info.name = std::string(base_name(node->path));
  FLOE_ASSIGN_OR_RETURN(info.metadata, zarr::ArrayMetadata::parse(node->zarr_json, node->path));
  for (std::size_t d = 0; d < info.metadata.shape.size(); ++d) {
    const bool named =
        d < info.metadata.dimension_names.size() && !info.metadata.dimension_names[d].empty();
    info.dims.push_back(named ? info.metadata.dimension_names[d] : fmt::format("dim_{}", d));
  }
  info.is_dimension_coordinate = info.dims.size() == 1 && info.dims[0] == info.name;
  return info;
}

Result<GroupView> describe_group(const icechunk::ReadSession& session,
                                 std::string_view group_path) {
  FLOE_ASSIGN_OR_RETURN(const icechunk::Node* group, session.node(group_path));
  if (group->kind != icechunk::NodeKind::kGroup) {
    return make_error(ErrorCode::kInvalidArgument, "{} is an array, not a group", group->path);
  }
  GroupView view;
  view.path = group->path;
  try {
    const Json document = Json::parse(group->zarr_json);
    if (document.contains("attributes") && document["attributes"].is_object())
      view.attributes = document["attributes"];
  } catch (const Json::exception& error) {
    return make_error(ErrorCode::kCorrupt, "zarr.json of group {} is not valid JSON: {}",
                      group->path, error.what());
  }
  for (const icechunk::Node& node : session.nodes()) {
    if (node.path == group->path || parent_path(node.path) != group->path) continue;
    if (node.kind == icechunk::NodeKind::kGroup) {
      view.groups.push_back(node.path);
      continue;
    }
    FLOE_ASSIGN_OR_RETURN(VariableInfo info, describe_array(session, node.path));
    for (std::size_t d = 0; d < info.dims.size(); ++d) {
      auto [at, inserted] = view.dims.emplace(info.dims[d], info.metadata.shape[d]);
      if (!inserted && at->second != info.metadata.shape[d]) {
        view.warnings.push_back(fmt::format("dimension {} has length {} in {} but {} elsewhere",
                                            info.dims[d], info.metadata.shape[d], info.path,
                                            at->second));
      }
    }
    view.arrays.push_back(std::move(info));
  }
  std::sort(view.arrays.begin(), view.arrays.end(),
            [](const VariableInfo& a, const VariableInfo& b) { return a.name < b.name; });
  return view;
}

std::optional<std::string> find_dimension_coordinate(const icechunk::ReadSession& session,
                                                     std::string_view array_path,
                                                     std::string_view dim) {
  std::string group = parent_path(array_path);
  while (true) {
    const std::string candidate = child_path(group, dim);
    const icechunk::Node* node = icechunk::find_node(session.nodes(), candidate);
    if (node != nullptr && node->kind == icechunk::NodeKind::kArray && node->shape.size() == 1)
      return candidate;
    if (group == "/") return std::nullopt;
    group = parent_path(group);
  }
}

Result<std::vector<double>> to_doubles(const zarr::DataType& type,
                                       std::span<const std::uint8_t> values) {
  const std::size_t size = type.size;
  std::vector<double> out(values.size() / size);
  const std::uint8_t* at = values.data();
  using zarr::TypeKind;
  for (std::size_t i = 0; i < out.size(); ++i, at += size) {
    switch (type.kind) {
      case TypeKind::kBool:
        out[i] = *at ? 1 : 0;
        break;
      case TypeKind::kInt:
      case TypeKind::kDateTime64:
      case TypeKind::kTimeDelta64:
        out[i] = size == 1   ? element_as_double<std::int8_t>(at)
                 : size == 2 ? element_as_double<std::int16_t>(at)
                 : size == 4 ? element_as_double<std::int32_t>(at)
                             : element_as_double<std::int64_t>(at);
        break;
      case TypeKind::kUInt:
        out[i] = size == 1   ? element_as_double<std::uint8_t>(at)
                 : size == 2 ? element_as_double<std::uint16_t>(at)
                 : size == 4 ? element_as_double<std::uint32_t>(at)
                             : element_as_double<std::uint64_t>(at);
        break;
      case TypeKind::kFloat:
        if (size == 2) {
          std::uint16_t half;
          std::memcpy(&half, at, 2);
          out[i] = static_cast<double>(zarr::half_to_float(half));
        } else {
          out[i] = size == 4 ? element_as_double<float>(at) : element_as_double<double>(at);
        }
        break;
      default:
        return make_error(ErrorCode::kUnsupported, "{} values cannot be used as numbers",
                          type.name());
    }
  }
  return out;
}

}  // namespace floe::read
