// Construction of the per-invocation store registry and error reporting.
#include "floe/cli/global_options.h"

#include <fmt/format.h>

namespace floe::cli {

std::unique_ptr<io::StoreRegistry> make_registry(const GlobalOptions& options) {
  io::HttpTransportOptions transport_options;
  transport_options.max_in_flight = static_cast<size_t>(std::max(1, options.max_in_flight));
  transport_options.max_per_host = transport_options.max_in_flight;
  auto registry = std::make_unique<io::StoreRegistry>(
      std::make_shared<io::HttpTransport>(transport_options), io::Environment::from_process());
  if (options.anonymous || !options.endpoint.empty() || !options.region.empty()) {
    io::StoreSettings settings;
    settings.anonymous = options.anonymous;
    settings.endpoint = options.endpoint;
    settings.region = options.region;
    registry->configure("s3://", settings);
  }
  return registry;
}

int report_error(const Error& error) {
  fmt::print(stderr, "floe: error: {}\n", error.to_string());
  return exit_status(error.code());
}

}  // namespace floe::cli
