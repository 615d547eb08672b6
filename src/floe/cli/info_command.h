// `floe info`: what a repository group holds, as xarray would print it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "floe/cli/global_options.h"

namespace floe::cli {

void add_info_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);

}  // namespace floe::cli
