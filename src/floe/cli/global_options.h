// Options every floe subcommand shares, and the store registry built from them.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "floe/core/log.h"
#include "floe/io/store_registry.h"

namespace floe::cli {

struct GlobalOptions {
  bool anonymous = false;
  std::string endpoint;
  std::string region;
  std::string log_level = "warning";
  int max_in_flight = 64;
  bool json = false;
  bool quiet = false;
};

// The registry for this invocation: environment credentials by default; --anonymous, --endpoint
// and --region apply to every s3:// URL.
std::unique_ptr<io::StoreRegistry> make_registry(const GlobalOptions& options);

// Prints the error to stderr and returns the exit status of the CLI contract.
int report_error(const Error& error);

// When `command` is the subcommand given, `run` becomes body(global, arguments) with its error reported.
template <typename Arguments, typename Body>
void run_when_chosen(CLI::App* command, const GlobalOptions& global, std::shared_ptr<Arguments> arguments,
                     std::function<int()>& run, Body body) {
  command->callback([&global, arguments, &run, body] {
    run = [&global, arguments, body] {
      Status status = body(global, *arguments);
      return status.ok() ? 0 : report_error(status.error());
    };
  });
}

}  // namespace floe::cli
