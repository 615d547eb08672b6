// `floe repo init|info|log|branches|tags|branch|tag|diff|get|refs` and `floe ls`.
#include "floe/cli/repo_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

#include "floe/cli/global_options.h"
#include "floe/icechunk/session.h"

namespace floe::cli {
namespace {

using icechunk::Id12;
using icechunk::Json;

struct RepoArguments {
  std::string url;
  std::string name;
  std::string snapshot;
  std::string from;
  std::string to;
  std::string key;
  std::string path;
  SnapshotSelector selector;  // --branch/--tag/--snapshot of the reading subcommands
  std::string action;
  std::vector<std::string> containers;
  std::vector<std::string> authorize;
  std::optional<std::uint32_t> inline_threshold;
};

// Repository contents need not be valid UTF-8; invalid sequences are replaced instead of throwing.
std::string json_text(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

void print_json(const Json& value) { fmt::print("{}\n", json_text(value, 2)); }

Result<Id12> selected_snapshot(const icechunk::Repository& repository, const RepoArguments& arguments) {
  return selected_snapshot(repository, arguments.selector);
}

Json summary_json(const icechunk::SnapshotSummary& summary) {
  return Json{{"id", icechunk::to_string(summary.id)},
              {"parent", summary.parent ? Json(icechunk::to_string(*summary.parent)) : Json(nullptr)},
              {"message", summary.message},
              {"metadata", summary.metadata},
              {"flushed_at", icechunk::format_timestamp_us(summary.flushed_at_us)}};
}

Json refs_json(const std::map<std::string, Id12>& refs) {
  Json out = Json::object();
  for (const auto& [name, id] : refs) out[name] = icechunk::to_string(id);
  return out;
}

template <typename Body>
int with_repository(const GlobalOptions& global, const RepoArguments& arguments, Body&& body) {
  std::shared_ptr<io::StoreRegistry> registry = make_registry(global);
  auto repository = open_repository(registry, arguments.url);
  if (!repository.ok()) return report_error(repository.error());
  for (const std::string& prefix : arguments.authorize) (*repository)->virtual_chunks().authorize(prefix);
  Status status = body(**repository);
  return status.ok() ? 0 : report_error(status.error());
}

Status run_info(const GlobalOptions& global, icechunk::Repository& repository) {
  FLOE_ASSIGN_OR_RETURN(icechunk::RepoState state, repository.fetch_state());
  const size_t snapshots = state.info ? state.info->snapshots.size() : 0;
  std::string status = "online";
  if (state.info && state.info->status.availability == 1) status = "read-only";
  if (state.info && state.info->status.availability == 2) status = "offline";
  if (global.json) {
    print_json(Json{{"url", repository.url()},
                    {"spec_version", repository.spec_version()},
                    {"branches", refs_json(state.branches)},
                    {"tags", refs_json(state.tags)},
                    {"deleted_tags", state.deleted_tags},
                    {"snapshots", snapshots},
                    {"config", repository.config()},
                    {"status", status}});
    return ok_status();
  }
  fmt::print("repository  {}\nspec        {}\nstatus      {}\nsnapshots   {}\n", repository.url(),
             repository.spec_version(), status, snapshots);
  for (const auto& [name, id] : state.branches) fmt::print("branch      {} → {}\n", name, icechunk::to_string(id));
  for (const auto& [name, id] : state.tags) fmt::print("tag         {} → {}\n", name, icechunk::to_string(id));
  for (const auto& container : icechunk::containers_from_config(repository.config())) {
    fmt::print("container   {} ({})\n", container.url_prefix, json_text(container.store));
  }
  fmt::print("inline      ≤ {} bytes\n", repository.inline_chunk_threshold());
  return ok_status();
}

Status run_log(const GlobalOptions& global, icechunk::Repository& repository, const RepoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(Id12 start, selected_snapshot(repository, arguments));
  FLOE_ASSIGN_OR_RETURN(auto history, repository.ancestry(start));
  if (global.json) {
    Json out = Json::array();
    for (const auto& summary : history) out.push_back(summary_json(summary));
    print_json(out);
    return ok_status();
  }
  for (const auto& summary : history) {
    fmt::print("{}  {}  {}\n", icechunk::to_string(summary.id), icechunk::format_timestamp_us(summary.flushed_at_us),
               summary.message);
  }
  return ok_status();
}

Status run_refs_list(const GlobalOptions& global, icechunk::Repository& repository, bool tags) {
  FLOE_ASSIGN_OR_RETURN(icechunk::RepoState state, repository.fetch_state());
  const auto& refs = tags ? state.tags : state.branches;
  if (global.json) {
    print_json(refs_json(refs));
    return ok_status();
  }
  for (const auto& [name, id] : refs) fmt::print("{}  {}\n", icechunk::to_string(id), name);
  return ok_status();
}

Status run_diff(const GlobalOptions& global, icechunk::Repository& repository, const RepoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(Id12 from, repository.resolve(arguments.from));
  FLOE_ASSIGN_OR_RETURN(Id12 to, repository.resolve(arguments.to));
  FLOE_ASSIGN_OR_RETURN(icechunk::Diff diff, repository.diff(from, to));
  Json chunks = Json::object();
  for (const auto& [path, list] : diff.updated_chunks) chunks[path] = list;
  Json out{{"new_groups", diff.new_groups},         {"new_arrays", diff.new_arrays},
           {"deleted_groups", diff.deleted_groups}, {"deleted_arrays", diff.deleted_arrays},
           {"updated_groups", diff.updated_groups}, {"updated_arrays", diff.updated_arrays},
           {"updated_chunks", chunks}};
  if (global.json) {
    print_json(out);
    return ok_status();
  }
  auto section = [](std::string_view title, const std::vector<std::string>& paths) {
    for (const auto& path : paths) fmt::print("{:16} {}\n", title, path);
  };
  section("new group", diff.new_groups);
  section("new array", diff.new_arrays);
  section("deleted group", diff.deleted_groups);
  section("deleted array", diff.deleted_arrays);
  section("updated group", diff.updated_groups);
  section("updated array", diff.updated_arrays);
  for (const auto& [path, list] : diff.updated_chunks) fmt::print("{:16} {} ({} chunks)\n", "chunks", path, list.size());
  return ok_status();
}

Status run_get(icechunk::Repository& repository, const RepoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(Id12 id, selected_snapshot(repository, arguments));
  FLOE_ASSIGN_OR_RETURN(auto session, repository.read_session(id));
  FLOE_ASSIGN_OR_RETURN(std::optional<Bytes> bytes, session->get_key(arguments.key));
  if (!bytes) {
    return make_error(ErrorCode::kNotFound, "{} has no key {} in snapshot {}", repository.url(), arguments.key,
                      icechunk::to_string(id));
  }
  std::fwrite(bytes->data(), 1, bytes->size(), stdout);
  std::fflush(stdout);
  return ok_status();
}

Status run_refs(icechunk::Repository& repository, const RepoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(Id12 id, selected_snapshot(repository, arguments));
  FLOE_ASSIGN_OR_RETURN(auto session, repository.read_session(id));
  FLOE_ASSIGN_OR_RETURN(const icechunk::Node* node, session->node(arguments.path));
  // Each manifest is in index order; refs from several (split) manifests are merged by index.
  const bool merge = node->manifests.size() > 1;
  std::vector<std::pair<std::vector<std::uint32_t>, std::string>> lines;
  FLOE_RETURN_IF_ERROR(session->for_each_ref(*node, [&](const icechunk::ChunkRefView& ref) -> Status {
    Json line{{"index", std::vector<std::uint32_t>(ref.index.begin(), ref.index.end())}};
    switch (ref.kind) {
      case icechunk::ChunkKind::kInline:
        line["kind"] = "inline";
        line["length"] = ref.inline_data.size();
        break;
      case icechunk::ChunkKind::kNative:
        line["kind"] = "native";
        line["chunk_id"] = icechunk::to_string(ref.chunk_id);
        line["offset"] = ref.offset;
        line["length"] = ref.length;
        break;
      case icechunk::ChunkKind::kVirtual:
        line["kind"] = "virtual";
        line["location"] = std::string(ref.location);
        line["offset"] = ref.offset;
        line["length"] = ref.length;
        line["checksum_etag"] = ref.checksum_etag.empty() ? Json(nullptr) : Json(std::string(ref.checksum_etag));
        line["checksum_last_modified"] =
            ref.checksum_last_modified == 0 ? Json(nullptr) : Json(ref.checksum_last_modified);
        break;
    }
    std::string text = json_text(line);
    if (merge) lines.emplace_back(std::vector<std::uint32_t>(ref.index.begin(), ref.index.end()), std::move(text));
    else fmt::print("{}\n", text);
    return ok_status();
  }));
  std::sort(lines.begin(), lines.end());
  for (const auto& entry : lines) fmt::print("{}\n", entry.second);
  return ok_status();
}

Status run_ls(const GlobalOptions& global, icechunk::Repository& repository, const RepoArguments& arguments) {
  FLOE_ASSIGN_OR_RETURN(Id12 id, selected_snapshot(repository, arguments));
  FLOE_ASSIGN_OR_RETURN(auto session, repository.read_session(id));
  if (global.json) {
    Json out = Json::array();
    for (const icechunk::Node& node : session->nodes()) {
      Json entry{{"path", node.path}, {"kind", node.kind == icechunk::NodeKind::kGroup ? "group" : "array"}};
      Json meta = Json::parse(node.zarr_json, nullptr, false);
      entry["zarr_json"] = meta.is_discarded() ? Json(node.zarr_json) : meta;
      if (node.kind == icechunk::NodeKind::kArray) {
        Json shape = Json::array();
        Json chunks = Json::array();
        for (const auto& dimension : node.shape) {
          shape.push_back(dimension.array_length);
          chunks.push_back(dimension.num_chunks);
        }
        entry["shape"] = shape;
        entry["num_chunks"] = chunks;
        entry["manifests"] = node.manifests.size();
      }
      out.push_back(entry);
    }
    print_json(out);
    return ok_status();
  }
  fmt::print("snapshot {}\n", icechunk::to_string(id));
  for (const icechunk::Node& node : session->nodes()) {
    size_t depth = node.path == "/" ? 0 : static_cast<size_t>(std::count(node.path.begin(), node.path.end(), '/'));
    std::string name = node.path == "/" ? "/" : node.path.substr(node.path.rfind('/') + 1);
    if (node.kind == icechunk::NodeKind::kGroup) {
      fmt::print("{:{}}{}/\n", "", depth * 2, name == "/" ? "" : name);
      continue;
    }
    Json meta = Json::parse(node.zarr_json, nullptr, false);
    std::string dtype = meta.is_object() && meta.contains("data_type") ? json_text(meta["data_type"]) : "?";
    std::vector<std::string> dims;
    for (size_t i = 0; i < node.shape.size(); ++i) {
      std::string label = i < node.dimension_names.size() && node.dimension_names[i] ? *node.dimension_names[i] : "";
      dims.push_back(label.empty() ? fmt::format("{}", node.shape[i].array_length)
                                   : fmt::format("{}: {}", label, node.shape[i].array_length));
    }
    fmt::print("{:{}}{}  {}  ({})\n", "", depth * 2, name, dtype, fmt::join(dims, ", "));
  }
  return ok_status();
}

}  // namespace

Result<Id12> selected_snapshot(const icechunk::Repository& repository, const SnapshotSelector& selector) {
  if (!selector.snapshot.empty()) return icechunk::parse_id12(selector.snapshot);
  if (!selector.tag.empty()) return repository.tag_target(selector.tag);
  return repository.branch_tip(selector.branch.empty() ? "main" : selector.branch);
}

void add_snapshot_selector(CLI::App* command, SnapshotSelector& selector) {
  auto* branch = command->add_option("--branch", selector.branch, "Branch (default main)");
  auto* tag = command->add_option("--tag", selector.tag, "Tag");
  auto* snapshot = command->add_option("--snapshot", selector.snapshot, "Snapshot id");
  branch->excludes(tag)->excludes(snapshot);
  tag->excludes(snapshot);
}

Result<OpenedSnapshot> open_snapshot(const GlobalOptions& global, std::string_view url,
                                     const SnapshotSelector& selector, const std::vector<std::string>& authorize) {
  std::shared_ptr<io::StoreRegistry> registry = make_registry(global);
  OpenedSnapshot opened;
  FLOE_ASSIGN_OR_RETURN(opened.repository, open_repository(registry, url));
  for (const std::string& prefix : authorize) opened.repository->virtual_chunks().authorize(prefix);
  FLOE_ASSIGN_OR_RETURN(Id12 id, selected_snapshot(*opened.repository, selector));
  FLOE_ASSIGN_OR_RETURN(opened.session, opened.repository->read_session(id));
  return opened;
}

Result<std::shared_ptr<icechunk::Repository>> open_repository(std::shared_ptr<io::StoreRegistry> registry,
                                                              std::string_view url) {
  FLOE_ASSIGN_OR_RETURN(io::ResolvedUrl resolved, registry->resolve(url));
  return icechunk::Repository::open(resolved.store, resolved.key, registry);
}

Result<std::shared_ptr<icechunk::Repository>> create_repository(std::shared_ptr<io::StoreRegistry> registry,
                                                                std::string_view url,
                                                                const icechunk::CreateOptions& options) {
  FLOE_ASSIGN_OR_RETURN(io::ResolvedUrl resolved, registry->resolve(url));
  return icechunk::Repository::create(resolved.store, resolved.key, registry, options);
}

Result<icechunk::VirtualChunkContainer> parse_container_spec(std::string_view spec) {
  icechunk::VirtualChunkContainer container;
  size_t equals = spec.find('=');
  container.url_prefix = std::string(spec.substr(0, equals));
  if (!container.url_prefix.ends_with('/')) container.url_prefix += '/';
  std::string_view options = equals == std::string_view::npos ? "" : spec.substr(equals + 1);
  const std::string scheme = container.url_prefix.substr(0, container.url_prefix.find("://"));
  if (scheme == "s3") {
    Json s3{{"region", nullptr}, {"endpoint_url", nullptr}, {"anonymous", false}, {"allow_http", false},
            {"force_path_style", false}, {"network_stream_timeout_seconds", nullptr}, {"requester_pays", false}};
    while (!options.empty()) {
      size_t comma = options.find(',');
      std::string_view item = options.substr(0, comma);
      options = comma == std::string_view::npos ? "" : options.substr(comma + 1);
      if (item == "anonymous") {
        s3["anonymous"] = true;
      } else if (item == "env" || item.empty()) {
      } else if (item.starts_with("region=")) {
        s3["region"] = std::string(item.substr(7));
      } else if (item.starts_with("endpoint=")) {
        s3["endpoint_url"] = std::string(item.substr(9));
        s3["allow_http"] = item.substr(9).starts_with("http://");
        s3["force_path_style"] = true;
      } else {
        return make_error(ErrorCode::kInvalidArgument, "--container {}: unknown option \"{}\"", spec, item);
      }
    }
    container.store = Json{{s3["endpoint_url"].is_null() ? "s3" : "s3_compatible", s3}};
  } else if (scheme == "http" || scheme == "https") {
    container.store = Json{{"http", Json::object()}};
  } else if (scheme == "file") {
    container.store = Json{{"local_file_system", container.url_prefix.substr(7)}};
  } else {
    return make_error(ErrorCode::kInvalidArgument, "--container {}: prefixes must start with s3://, http(s):// or file://",
                      spec);
  }
  return container;
}

void add_repo_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto arguments = std::make_shared<RepoArguments>();
  CLI::App* repo = app.add_subcommand("repo", "Icechunk repositories: create, inspect, branches, tags, diff");
  repo->require_subcommand(1);

  CLI::App* init = repo->add_subcommand("init", "Create an empty repository");
  init->add_option("url", arguments->url, "Repository URL (path, file://, s3://)")->required();
  init->add_option("--container", arguments->containers,
                   "Virtual chunk container PREFIX[=anonymous|env|region=R,endpoint=E] (repeatable)");
  init->add_option("--inline-threshold", arguments->inline_threshold, "Chunks up to this size are stored inline");
  init->callback([&global, arguments, &run] {
    run = [&global, arguments] {
      icechunk::CreateOptions options;
      options.inline_chunk_threshold_bytes = arguments->inline_threshold;
      for (const std::string& spec : arguments->containers) {
        auto container = parse_container_spec(spec);
        if (!container.ok()) return report_error(container.error());
        options.containers.push_back(std::move(container).value());
      }
      auto repository = create_repository(make_registry(global), arguments->url, options);
      if (!repository.ok()) return report_error(repository.error());
      if (!global.quiet) fmt::print("created {}\n", (*repository)->url());
      return 0;
    };
  });

  auto simple = [&](const char* name, const char* help, auto body, bool selector) {
    CLI::App* command = repo->add_subcommand(name, help);
    command->add_option("url", arguments->url, "Repository URL")->required();
    if (selector) add_snapshot_selector(command, arguments->selector);
    command->callback([&global, arguments, &run, body] {
      run = [&global, arguments, body] {
        return with_repository(global, *arguments, [&](icechunk::Repository& r) { return body(global, r, *arguments); });
      };
    });
    return command;
  };
  simple("info", "Branches, tags, config and status",
         [](const GlobalOptions& g, icechunk::Repository& r, const RepoArguments&) { return run_info(g, r); }, false);
  simple("log", "Ancestry of a branch, tag or snapshot",
         [](const GlobalOptions& g, icechunk::Repository& r, const RepoArguments& a) { return run_log(g, r, a); }, true);
  simple("branches", "Branches and their snapshots",
         [](const GlobalOptions& g, icechunk::Repository& r, const RepoArguments&) { return run_refs_list(g, r, false); },
         false);
  simple("tags", "Tags and their snapshots",
         [](const GlobalOptions& g, icechunk::Repository& r, const RepoArguments&) { return run_refs_list(g, r, true); },
         false);
  CLI::App* diff = simple("diff", "Changes between two snapshots (FROM an ancestor of TO)",
         [](const GlobalOptions& g, icechunk::Repository& r, const RepoArguments& a) { return run_diff(g, r, a); }, false);
  diff->add_option("from", arguments->from, "Snapshot id, branch:NAME or tag:NAME")->required();
  diff->add_option("to", arguments->to, "Snapshot id, branch:NAME or tag:NAME")->required();
  CLI::App* get = simple("get", "Raw bytes of a Zarr key (zarr.json or a chunk) on stdout",
         [](const GlobalOptions&, icechunk::Repository& r, const RepoArguments& a) { return run_get(r, a); }, true);
  get->add_option("key", arguments->key, "Zarr key, e.g. group/array/c/0/1")->required();
  get->add_option("--authorize", arguments->authorize, "Allow reading virtual chunks under this prefix (repeatable)");
  CLI::App* refs = simple("refs", "Chunk references of an array, one JSON line each",
         [](const GlobalOptions&, icechunk::Repository& r, const RepoArguments& a) { return run_refs(r, a); }, true);
  refs->add_option("path", arguments->path, "Array path")->required();

  for (const char* kind : {"branch", "tag"}) {
    const bool is_branch = std::string_view(kind) == "branch";
    CLI::App* command = repo->add_subcommand(kind, is_branch ? "Create, delete or reset a branch" : "Create or delete a tag");
    command->add_option("action", arguments->action, is_branch ? "create|delete|reset" : "create|delete")
        ->required()
        ->check(CLI::IsMember(is_branch ? std::vector<std::string>{"create", "delete", "reset"}
                                        : std::vector<std::string>{"create", "delete"}));
    command->add_option("url", arguments->url, "Repository URL")->required();
    command->add_option("name", arguments->name, "Name")->required();
    command->add_option("snapshot", arguments->snapshot, "Snapshot id, branch:NAME or tag:NAME");
    command->callback([&global, arguments, &run, is_branch] {
      run = [&global, arguments, is_branch] {
        return with_repository(global, *arguments, [&](icechunk::Repository& repository) -> Status {
          const std::string& action = arguments->action;
          if (action == "delete") {
            return is_branch ? repository.delete_branch(arguments->name) : repository.delete_tag(arguments->name);
          }
          if (arguments->snapshot.empty()) {
            return make_error(ErrorCode::kInvalidArgument, "{} {} needs a SNAPSHOT", is_branch ? "branch" : "tag", action);
          }
          FLOE_ASSIGN_OR_RETURN(Id12 target, repository.resolve(arguments->snapshot));
          if (action == "reset") return repository.reset_branch(arguments->name, target);
          return is_branch ? repository.create_branch(arguments->name, target)
                           : repository.create_tag(arguments->name, target);
        });
      };
    });
  }
}

void add_ls_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto arguments = std::make_shared<RepoArguments>();
  CLI::App* ls = app.add_subcommand("ls", "Groups and arrays of a repository snapshot, as a tree");
  ls->add_option("url", arguments->url, "Repository URL")->required();
  add_snapshot_selector(ls, arguments->selector);
  ls->callback([&global, arguments, &run] {
    run = [&global, arguments] {
      return with_repository(global, *arguments,
                             [&](icechunk::Repository& r) { return run_ls(global, r, *arguments); });
    };
  });
}

}  // namespace floe::cli
