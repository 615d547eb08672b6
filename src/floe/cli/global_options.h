// Options every floe subcommand shares, and the store registry built from them.
#pragma once

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

}  // namespace floe::cli
