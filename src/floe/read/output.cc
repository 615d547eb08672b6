// Choosing an output sink by the file name.
#include "floe/read/output.h"

#include <cctype>
#include <string_view>

namespace floe::read {

OutputSink::~OutputSink() = default;

Result<std::unique_ptr<OutputSink>> open_output(const std::string& path,
                                                const OutputVariable& variable,
                                                const OutputOptions& options) {
  std::string lower = path;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends_with = [&](std::string_view suffix) {
    return lower.size() > suffix.size() &&
           std::string_view(lower).substr(lower.size() - suffix.size()) == suffix;
  };
  if (path == "-" || ends_with(".csv")) return open_csv_output(path, variable, options);
  if (ends_with(".nc") || ends_with(".nc4")) return open_netcdf_output(path, variable, options);
  if (ends_with(".npy")) return open_npy_output(path, variable, options);
  return make_error(
      ErrorCode::kInvalidArgument,
      "output {}: floe writes .nc (NetCDF-4), .npy (NumPy) and .csv (or - for CSV on standard "
      "output); name the file with one of these extensions",
      path);
}

}  // namespace floe::read
