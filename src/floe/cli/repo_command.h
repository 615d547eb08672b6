// `floe repo ...` and `floe ls`: Icechunk repositories from the command line.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "floe/core/result.h"
#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"
#include "floe/io/store_registry.h"

namespace floe::cli {

struct GlobalOptions;

void add_repo_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);
void add_ls_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);

// The repository at `url` (a local path, file://, s3://...), opened or created through `registry`.
Result<std::shared_ptr<icechunk::Repository>> open_repository(std::shared_ptr<io::StoreRegistry> registry,
                                                              std::string_view url);
Result<std::shared_ptr<icechunk::Repository>> create_repository(std::shared_ptr<io::StoreRegistry> registry,
                                                                std::string_view url,
                                                                const icechunk::CreateOptions& options);

// Which snapshot a reading command looks at: --branch (default main), --tag or --snapshot.
struct SnapshotSelector {
  std::string branch;
  std::string tag;
  std::string snapshot;
};
void add_snapshot_selector(CLI::App* command, SnapshotSelector& selector);
Result<icechunk::Id12> selected_snapshot(const icechunk::Repository& repository, const SnapshotSelector& selector);

// A repository opened for reading one snapshot, with the virtual chunk prefixes the caller authorized.
struct OpenedSnapshot {
  std::shared_ptr<icechunk::Repository> repository;
  std::unique_ptr<icechunk::ReadSession> session;
};
Result<OpenedSnapshot> open_snapshot(const GlobalOptions& global, std::string_view url,
                                     const SnapshotSelector& selector, const std::vector<std::string>& authorize);

// The container spec of `--container PREFIX[=anonymous|env|region=R,endpoint=E]`.
Result<icechunk::VirtualChunkContainer> parse_container_spec(std::string_view spec);

}  // namespace floe::cli
