// Test tool: runs a JSON plan (create, commits with every change kind, branch and tag operations) through
// floe's Icechunk write sessions and prints one JSON line per operation, so Python tests can drive floe.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "floe/cli/global_options.h"
#include "floe/cli/repo_command.h"
#include "floe/icechunk/session.h"

namespace {

using floe::Bytes;
using floe::ErrorCode;
using floe::Result;
using floe::Status;
using floe::icechunk::Id12;
using floe::icechunk::Json;

Result<std::vector<std::uint32_t>> index_of(const Json& change) {
  if (!change.contains("index") || !change["index"].is_array()) {
    return floe::make_error(ErrorCode::kInvalidArgument, "change {} has no \"index\" list", change.dump());
  }
  return change["index"].get<std::vector<std::uint32_t>>();
}

Result<Bytes> hex_bytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return floe::make_error(ErrorCode::kInvalidArgument, "odd-length data_hex");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return Bytes::from_string(std::move(out));
}

Status apply_change(floe::icechunk::WriteSession& session, const Json& change) {
  const std::string kind = change.value("kind", "");
  const std::string path = change.value("path", "");
  if (kind == "group") return session.put_group(path, change.at("zarr_json").dump());
  if (kind == "array") return session.put_array(path, change.at("zarr_json").dump());
  if (kind == "delete_node") return session.delete_node(path);
  FLOE_ASSIGN_OR_RETURN(std::vector<std::uint32_t> index, index_of(change));
  if (kind == "chunk") {
    FLOE_ASSIGN_OR_RETURN(Bytes data, hex_bytes(change.value("data_hex", "")));
    return session.write_chunk(path, index, std::move(data));
  }
  if (kind == "virtual") {
    return session.set_virtual_ref(path, index, change.value("location", ""), change.value("offset", 0ull),
                                   change.value("length", 0ull),
                                   change.contains("etag") && change["etag"].is_string() ? change["etag"].get<std::string>() : "",
                                   change.contains("last_modified") && change["last_modified"].is_number()
                                       ? change["last_modified"].get<std::uint32_t>() : 0);
  }
  if (kind == "delete_chunk") return session.delete_chunk(path, index);
  return floe::make_error(ErrorCode::kInvalidArgument, "unknown change kind \"{}\"", kind);
}

std::string error_kind(const floe::Error& error) {
  switch (error.code()) {
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kPreconditionFailed: return "precondition";
    case ErrorCode::kInvalidArgument: return "invalid";
    default: return "error";
  }
}

int run_plan(const floe::cli::GlobalOptions& global, const std::string& url, const std::string& plan_path) {
  std::ifstream file(plan_path);
  std::stringstream text;
  text << file.rdbuf();
  Json plan = Json::parse(text.str(), nullptr, false);
  if (!plan.is_object()) {
    fmt::print(stderr, "{}: not a JSON object\n", plan_path);
    return 2;
  }
  std::shared_ptr<floe::io::StoreRegistry> registry = floe::cli::make_registry(global);
  Result<std::shared_ptr<floe::icechunk::Repository>> opened = floe::make_error(ErrorCode::kInternal, "unset");
  if (plan.value("create", false)) {
    floe::icechunk::CreateOptions options;
    const Json config = plan.value("config", Json::object());
    if (config.contains("inline_chunk_threshold_bytes")) {
      options.inline_chunk_threshold_bytes = config["inline_chunk_threshold_bytes"].get<std::uint32_t>();
    }
    for (const Json& container : config.value("virtual_chunk_containers", Json::array())) {
      floe::icechunk::VirtualChunkContainer entry;
      entry.url_prefix = container.value("url_prefix", "");
      if (container.contains("name") && container["name"].is_string()) entry.name = container["name"].get<std::string>();
      entry.store = container.value("store", Json::object());
      options.containers.push_back(std::move(entry));
    }
    opened = floe::cli::create_repository(registry, url, options);
  } else {
    opened = floe::cli::open_repository(registry, url);
  }
  if (!opened.ok()) return floe::cli::report_error(opened.error());
  std::shared_ptr<floe::icechunk::Repository> repository = *opened;
  if (plan.contains("max_refs_per_manifest")) {
    repository->write_options().max_refs_per_manifest = plan["max_refs_per_manifest"].get<std::uint64_t>();
  }
  for (const Json& prefix : plan.value("authorize", Json::array())) {
    repository->virtual_chunks().authorize(prefix.get<std::string>());
  }
  const bool keep_going = plan.value("continue_on_error", false);
  std::optional<Id12> last;
  int exit_status = 0;
  auto snapshot_of = [&](const std::string& reference) -> Result<Id12> {
    if (reference == "@last") {
      if (!last) return floe::make_error(ErrorCode::kInvalidArgument, "@last before any commit");
      return *last;
    }
    return repository->resolve(reference);
  };
  for (const Json& operation : plan.value("operations", Json::array())) {
    const std::string op = operation.value("op", "");
    Json line{{"op", op}};
    Status status = floe::ok_status();
    if (op == "commit") {
      auto session = repository->write_session(operation.value("branch", "main"));
      if (!session.ok()) {
        status = std::move(session).error();
      } else {
        for (const Json& change : operation.value("changes", Json::array())) {
          status = apply_change(**session, change);
          if (!status.ok()) break;
        }
        if (status.ok()) {
          floe::icechunk::CommitOptions options;
          options.amend = operation.value("amend", false);
          options.rebase = operation.value("rebase", true);
          auto committed = (*session)->commit(operation.value("message", ""), operation.value("metadata", Json::object()),
                                              options);
          if (committed.ok()) {
            last = *committed;
            line["snapshot"] = floe::icechunk::to_string(*committed);
          } else {
            status = std::move(committed).error();
          }
        }
      }
    } else {
      const std::string name = operation.value("name", "");
      auto target = [&]() { return snapshot_of(operation.value("snapshot", "")); };
      if (op == "branch_delete") {
        status = repository->delete_branch(name);
      } else if (op == "tag_delete") {
        status = repository->delete_tag(name);
      } else if (op == "branch_create" || op == "branch_reset" || op == "tag_create") {
        auto id = target();
        if (!id.ok()) {
          status = std::move(id).error();
        } else {
          status = op == "branch_create" ? repository->create_branch(name, *id)
                   : op == "branch_reset" ? repository->reset_branch(name, *id)
                                          : repository->create_tag(name, *id);
          line["snapshot"] = floe::icechunk::to_string(*id);
        }
      } else {
        status = floe::make_error(ErrorCode::kInvalidArgument, "unknown op \"{}\"", op);
      }
    }
    if (!status.ok()) {
      line["error"] = error_kind(status.error());
      line["message"] = status.error().to_string();
      exit_status = floe::exit_status(status.error().code());
    }
    fmt::print("{}\n", line.dump());
    std::fflush(stdout);
    if (!status.ok() && !keep_going) return exit_status;
  }
  return keep_going ? 0 : exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  floe::cli::GlobalOptions global;
  CLI::App app{"floe_icechunk_tool: apply a JSON plan to an Icechunk repository (tests)"};
  app.require_subcommand(1);
  app.add_flag("--anonymous", global.anonymous, "Unsigned requests to S3");
  app.add_option("--endpoint", global.endpoint, "S3 endpoint URL");
  app.add_option("--region", global.region, "S3 region");
  std::string url;
  std::string plan;
  CLI::App* apply = app.add_subcommand("apply", "Run a plan");
  apply->add_option("url", url, "Repository URL")->required();
  apply->add_option("plan", plan, "Plan JSON file")->required();
  CLI11_PARSE(app, argc, argv);
  return run_plan(global, url, plan);
}
