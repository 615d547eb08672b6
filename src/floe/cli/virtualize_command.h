// `floe virtualize`: turn NetCDF / HDF5 files into virtual arrays of an Icechunk repository.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "floe/cli/global_options.h"

namespace floe::cli {

void add_virtualize_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run);

}  // namespace floe::cli
