// The floe command: global options, subcommand dispatch, exit statuses.
#include <CLI/CLI.hpp>

#include <functional>

#include "floe/cli/global_options.h"
#include "floe/cli/info_command.h"
#include "floe/cli/read_command.h"
#include "floe/cli/repo_command.h"
#include "floe/cli/store_command.h"
#include "floe/cli/virtualize_command.h"

int main(int argc, char** argv) {
  floe::cli::GlobalOptions global;
  CLI::App app{"floe: virtual, versioned Zarr datacubes from NetCDF, HDF5 and GRIB archives"};
  app.set_version_flag("--version", "floe 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand: `floe virtualize ... --json`
  app.add_flag("--anonymous", global.anonymous, "Unsigned requests to S3 (public buckets)");
  app.add_option("--endpoint", global.endpoint, "S3 endpoint URL (default: AWS_ENDPOINT_URL or AWS)");
  app.add_option("--region", global.region, "S3 region (default: AWS_REGION or us-east-1)");
  app.add_option("--max-in-flight", global.max_in_flight, "Concurrent HTTP requests (default 64)");
  app.add_flag("--json", global.json, "Machine-readable output");
  app.add_flag("--quiet", global.quiet, "No progress output");
  std::function<int()> run;
  floe::cli::add_store_command(app, global, run);
  floe::cli::add_repo_command(app, global, run);
  floe::cli::add_ls_command(app, global, run);
  floe::cli::add_virtualize_command(app, global, run);
  floe::cli::add_read_command(app, global, run);
  floe::cli::add_info_command(app, global, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 1;
  }
  return run ? run() : 1;
}
