// `floe read`: regions of arrays out of a repository.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "floe/cli/global_options.h"

namespace floe::cli {

void add_read_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);

}  // namespace floe::cli
