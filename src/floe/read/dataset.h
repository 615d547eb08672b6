// A group of a snapshot seen as a dataset: its arrays, dimensions and the dimension coordinates of
// each array.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/icechunk/session.h"
#include "floe/zarr/array_metadata.h"

namespace floe::read {

using Json = nlohmann::json;

struct VariableInfo {
  std::string path;  // "/g/temp"
  std::string name;  // "temp"
  zarr::ArrayMetadata metadata;
  std::vector<std::string> dims;  // dimension_names, or dim_0, dim_1 ... when the array has none
  bool is_dimension_coordinate = false;  // 1-D and named like its dimension
};

struct GroupView {
  std::string path;
  Json attributes = Json::object();
  std::vector<VariableInfo> arrays;           // direct children, sorted by name
  std::vector<std::string> groups;            // direct child group paths
  std::map<std::string, std::uint64_t> dims;  // dimension name -> length
  std::vector<std::string> warnings;          // e.g. one dimension name with two lengths
};

// The direct children of `group_path` (errors name the path when it is missing or an array).
Result<GroupView> describe_group(const icechunk::ReadSession& session, std::string_view group_path);
// An array's description (errors name the path).
Result<VariableInfo> describe_array(const icechunk::ReadSession& session,
                                    std::string_view array_path);

// The path of the 1-D array holding `dim`'s coordinate for the array at `array_path`: an array
// named `dim` in the same group, else in the nearest ancestor group; nullopt when there is none.
std::optional<std::string> find_dimension_coordinate(const icechunk::ReadSession& session,
                                                     std::string_view array_path,
                                                     std::string_view dim);

// Numeric elements as doubles (bool, ints, floats, datetime64/timedelta64 counts); kUnsupported
// otherwise.
Result<std::vector<double>> to_doubles(const zarr::DataType& type,
                                       std::span<const std::uint8_t> values);

// "/a/b" for "a/b", "/a/b", "a/b/"; the parent of "/a/b" is "/a", of "/a" is "/".
std::string parent_path(std::string_view path);
std::string child_path(std::string_view group, std::string_view name);

}  // namespace floe::read
