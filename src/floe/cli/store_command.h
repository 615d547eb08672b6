// `floe store ls|stat|cat|fetch`: poking at object stores from the command line.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

namespace floe::cli {

struct GlobalOptions;

// Adds the subcommand; `run` is set to the action chosen at parse time.
void add_store_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);

}  // namespace floe::cli
