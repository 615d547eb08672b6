// Format detection by magic bytes and dispatch to the NetCDF-3 and HDF5 parsers.
#include "floe/formats/open.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "floe/formats/hdf5/hdf5.h"
#include "floe/formats/hdf5/reader.h"
#include "floe/formats/netcdf3/netcdf3.h"

namespace floe::formats {

Result<Format> parse_format(std::string_view name) {
  if (name == "auto" || name == "netcdf" || name.empty()) return Format::kAuto;
  if (name == "netcdf3") return Format::kNetcdf3;
  if (name == "hdf5" || name == "netcdf4") return Format::kHdf5;
  return make_error(ErrorCode::kInvalidArgument, "--format {}: expected auto, netcdf, netcdf3, netcdf4 or hdf5", name);
}

Result<virt::VirtualDataset> open_virtual(io::BlockCache& cache, const Source& source, Format format,
                                          const virt::ParseOptions& options) {
  FLOE_ASSIGN_OR_RETURN(uint64_t size, cache.object_size(source.store, source.key));
  if (size == 0) {
    return make_error(ErrorCode::kCorrupt, "{}: the file is empty", source.store->url_for(source.key));
  }
  if (format == Format::kAuto) {
    FLOE_ASSIGN_OR_RETURN(Bytes head, cache.read_one(source.store, source.key, 0, std::min<uint64_t>(size, 4096)));
    std::span<const std::byte> bytes(head.data(), head.size());
    if (netcdf3::looks_like_netcdf3(bytes)) {
      format = Format::kNetcdf3;
    } else if (hdf5::looks_like_hdf5(bytes) || size > 4096) {
      format = Format::kHdf5;  // a user block larger than 4 KiB hides the signature from this first look
    } else {
      return make_error(ErrorCode::kUnsupported,
                        "{}: not a NetCDF-3 or HDF5/NetCDF-4 file (no CDF or HDF5 signature in the first bytes)",
                        source.store->url_for(source.key));
    }
  }
  if (format == Format::kNetcdf3) {
    return netcdf3::virtualize_netcdf3(cache, *source.store, source.key, source.location, options);
  }
  hdf5::FileReader reader(cache, *source.store, source.key);
  return hdf5::virtualize_hdf5(reader, source.location, options);
}

}  // namespace floe::formats
