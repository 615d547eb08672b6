// `floe info`: a group of a repository snapshot shown the way xarray prints a Dataset, or as JSON.
#include "floe/cli/info_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "floe/cli/repo_command.h"
#include "floe/codecs/codec.h"
#include "floe/read/array_reader.h"
#include "floe/read/dataset.h"
#include "floe/read/selection.h"
#include "floe/virtual/cf_time.h"

namespace floe::cli {
namespace {

using read::Json;

struct InfoArguments {
  std::string url;
  std::string path = "/";
  std::vector<std::string> authorize;
  SnapshotSelector selector;
};

// The first and last values of a 1-D array as text (dates for CF time), or nullopt when unreadable.
std::optional<std::pair<std::string, std::string>> first_and_last(
    const icechunk::ReadSession& session, const read::VariableInfo& info,
    const codecs::CodecRegistry& registry) {
  if (info.metadata.shape.size() != 1 || info.metadata.shape[0] == 0) return std::nullopt;
  auto reader = read::ArrayReader::open(session, info.path, registry);
  if (!reader.ok()) return std::nullopt;
  const std::uint64_t n = info.metadata.shape[0];
  std::vector<read::DimSelection> ends{
      read::DimSelection{{read::IndexRange{0, 1}, read::IndexRange{n - 1, n}}}};
  auto values = reader->read_into_memory(ends, read::ReadOptions{});
  if (!values.ok()) return std::nullopt;
  auto numbers = read::to_doubles(info.metadata.data_type, *values);
  if (!numbers.ok()) return std::nullopt;
  auto coordinate =
      read::describe_coordinate(info.name, info.metadata.attributes, info.metadata.data_type);
  auto text = [&](double value) -> std::string {
    if (coordinate.ok() && coordinate->time_units) {
      auto date = virt::decode_time(*coordinate->time_units, value);
      if (date.ok()) return virt::format_datetime(*date);
    }
    return fmt::format("{}", value);
  };
  return std::make_pair(text((*numbers)[0]), text((*numbers)[1]));
}

// "(2, 3)" for a regular grid. A rectilinear grid lists each axis' edges, axes apart by " | ":
// "(3,3,4 | 4 | 5,2)"; a regular axis is its step; beyond 8 edges a run of equal edges is "10x3",
// and beyond 6 runs the axis shows its first and last runs and its count of chunks.
std::string chunks_text(const zarr::ArrayMetadata& metadata) {
  if (!metadata.rectilinear()) return fmt::format("({})", fmt::join(metadata.chunk_shape, ", "));
  constexpr std::size_t kEdgesShown = 8, kRunsShown = 6;
  std::vector<std::string> axes;
  for (std::size_t axis = 0; axis < metadata.shape.size(); ++axis) {
    const std::vector<std::uint64_t>& edges = metadata.chunk_edges[axis];
    if (edges.empty()) {
      axes.push_back("0 chunks");
      continue;
    }
    const bool equal = std::all_of(edges.begin(), edges.end(),
                                   [&](std::uint64_t edge) { return edge == edges[0]; });
    if (equal && metadata.shape[axis] > edges[0] * (edges.size() - 1)) {  // the bare step's edges
      axes.push_back(fmt::format("{}", edges[0]));
      continue;
    }
    if (edges.size() <= kEdgesShown) {
      axes.push_back(fmt::format("{}", fmt::join(edges, ",")));
      continue;
    }
    std::vector<std::string> runs;
    for (std::size_t i = 0; i < edges.size();) {
      std::size_t j = i;
      while (j < edges.size() && edges[j] == edges[i]) ++j;
      runs.push_back(j - i == 1 ? fmt::format("{}", edges[i])
                                : fmt::format("{}x{}", edges[i], j - i));
      i = j;
    }
    if (runs.size() <= kRunsShown) {
      axes.push_back(fmt::format("{}", fmt::join(runs, ",")));
    } else {
      axes.push_back(fmt::format("{},...,{} ({} chunks)",
                                 fmt::join(runs.begin(), runs.begin() + kRunsShown / 2, ","),
                                 fmt::join(runs.end() - 2, runs.end(), ","), edges.size()));
    }
  }
  return fmt::format("({})", fmt::join(axes, " | "));
}

std::string attribute_text(const Json& value) {
  return value.is_string() ? value.get<std::string>()
                           : value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json variable_json(const read::VariableInfo& info, const codecs::CodecRegistry& registry,
                   const std::optional<std::pair<std::string, std::string>>& ends) {
  Json out{{"dims", info.dims},
           {"shape", info.metadata.shape},
           {"dtype", info.metadata.data_type.name()},
           {"chunks", info.metadata.chunk_shape},
           {"chunk_grid", info.metadata.rectilinear() ? "rectilinear" : "regular"},
           {"codecs", info.metadata.codecs},
           {"fill_value", info.metadata.fill_value_json},
           {"attributes", info.metadata.attributes}};
  // A rectilinear grid's "chunks" are its largest edges; "chunk_edges" every chunk's, per axis.
  if (info.metadata.rectilinear()) out["chunk_edges"] = info.metadata.chunk_edges;
  codecs::ChunkLayout layout{info.metadata.data_type, info.metadata.chunk_shape,
                             info.metadata.fill_value};
  auto pipeline = codecs::CodecPipeline::create(registry, info.metadata.codecs, layout);
  out["codecs_summary"] =
      pipeline.ok() ? pipeline->describe() : "unreadable: " + pipeline.error().message();
  if (ends) out["first"] = ends->first, out["last"] = ends->second;
  return out;
}

Status run_info(const GlobalOptions& global, const InfoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(
      OpenedSnapshot opened,
      open_snapshot(global, arguments.url, arguments.selector, arguments.authorize));
  const icechunk::ReadSession& session = *opened.session;
  codecs::CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  FLOE_ASSIGN_OR_RETURN(std::string path, icechunk::normalize_node_path(arguments.path));
  FLOE_ASSIGN_OR_RETURN(const icechunk::Node* node, session.node(path));
  const std::string group_path =
      node->kind == icechunk::NodeKind::kGroup ? node->path : read::parent_path(node->path);
  FLOE_ASSIGN_OR_RETURN(read::GroupView group, read::describe_group(session, group_path));

  // Coordinates: dimension coordinates and whatever a data variable's "coordinates" attribute
  // names.
  std::set<std::string> coordinate_names;
  for (const read::VariableInfo& info : group.arrays) {
    if (info.is_dimension_coordinate) coordinate_names.insert(info.name);
    const Json& attributes = info.metadata.attributes;
    if (attributes.contains("coordinates") && attributes["coordinates"].is_string()) {
      const std::string listed = attributes["coordinates"].get<std::string>();
      for (std::size_t at = 0; at < listed.size();) {
        const std::size_t end = std::min(listed.find(' ', at), listed.size());
        if (end > at) coordinate_names.insert(listed.substr(at, end - at));
        at = end + 1;
      }
    }
  }
  std::vector<const read::VariableInfo*> shown;
  for (const read::VariableInfo& info : group.arrays) {
    if (node->kind == icechunk::NodeKind::kGroup || info.path == node->path ||
        coordinate_names.count(info.name)) {
      shown.push_back(&info);
    }
  }

  Json document{{"repository", opened.repository->url()},
                {"snapshot", icechunk::to_string(session.snapshot().id)},
                {"group", group.path},
                {"dims", group.dims},
                {"coords", Json::object()},
                {"data_vars", Json::object()},
                {"attributes", group.attributes},
                {"groups", group.groups}};
  if (!group.warnings.empty()) document["warnings"] = group.warnings;
  std::vector<std::string> coordinate_lines, variable_lines;
  std::size_t width = 4;
  for (const read::VariableInfo* info : shown) width = std::max(width, info->name.size());
  for (const read::VariableInfo* info : shown) {
    const bool is_coordinate = coordinate_names.count(info->name) > 0;
    std::optional<std::pair<std::string, std::string>> ends;
    if (is_coordinate) ends = first_and_last(session, *info, registry);
    Json described = variable_json(*info, registry, ends);
    std::string line =
        fmt::format("  {} {:<{}} ({}) {} ", info->is_dimension_coordinate ? '*' : ' ', info->name,
                    width, fmt::join(info->dims, ", "), info->metadata.data_type.name());
    if (ends)
      line += info->metadata.shape[0] == 1 ? ends->first
                                           : fmt::format("{} ... {}", ends->first, ends->second);
    else
      line += fmt::format("chunks={} {}", chunks_text(info->metadata),
                          described["codecs_summary"].get<std::string>());
    if (!is_coordinate || node->kind == icechunk::NodeKind::kArray) {
      for (const auto& [key, value] : info->metadata.attributes.items()) {
        line += fmt::format("\n        {}: {}", key, attribute_text(value));
      }
    }
    (is_coordinate ? coordinate_lines : variable_lines).push_back(std::move(line));
    document[is_coordinate ? "coords" : "data_vars"][info->name] = std::move(described);
  }

  if (global.json) {
    fmt::print("{}\n", document.dump(2, ' ', false, Json::error_handler_t::replace));
    return ok_status();
  }
  fmt::print("<floe.Dataset> {} snapshot {} group {}\n", opened.repository->url(),
             icechunk::to_string(session.snapshot().id), group.path);
  std::vector<std::string> dims;
  for (const auto& [name, length] : group.dims) dims.push_back(fmt::format("{}: {}", name, length));
  fmt::print("Dimensions:  ({})\n", fmt::join(dims, ", "));
  fmt::print("Coordinates:\n");
  for (const std::string& line : coordinate_lines) fmt::print("{}\n", line);
  fmt::print("Data variables:\n");
  for (const std::string& line : variable_lines) fmt::print("{}\n", line);
  if (!group.groups.empty()) fmt::print("Groups: {}\n", fmt::join(group.groups, ", "));
  if (!group.attributes.empty()) {
    fmt::print("Attributes:\n");
    for (const auto& [key, value] : group.attributes.items())
      fmt::print("    {}: {}\n", key, attribute_text(value));
  }
  for (const std::string& warning : group.warnings) fmt::print("warning: {}\n", warning);
  return ok_status();
}

}  // namespace

void add_info_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto arguments = std::make_shared<InfoArguments>();
  CLI::App* command =
      app.add_subcommand("info", "A group (or one array) of a repository, as xarray would show it");
  command->add_option("url", arguments->url, "Repository URL")->required();
  command->add_option("path", arguments->path, "Group or array path (default /)");
  command->add_option(
      "--authorize", arguments->authorize,
      "Allow reading virtual chunks under this prefix (for coordinate values; repeatable)");
  add_snapshot_selector(command, arguments->selector);
  run_when_chosen(command, global, arguments, run, run_info);
}

}  // namespace floe::cli
