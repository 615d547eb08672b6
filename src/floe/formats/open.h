// Opening any supported file as a virtual dataset: format detection from the first bytes and dispatch.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "floe/core/result.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"
#include "floe/virtual/dataset.h"

namespace floe::formats {

enum class Format { kAuto, kNetcdf3, kHdf5 };

// "auto", "netcdf3", "hdf5" ("netcdf" means auto: NetCDF-3 or NetCDF-4 by content).
Result<Format> parse_format(std::string_view name);

struct Source {
  io::ObjectStore* store = nullptr;
  std::string key;       // inside the store
  std::string location;  // the URL chunk references name ("file:///abs/x.nc", "s3://bucket/key")
};

// Parses the file through `cache` (metadata only, batched rounds).
Result<virt::VirtualDataset> open_virtual(io::BlockCache& cache, const Source& source, Format format,
                                          const virt::ParseOptions& options);

}  // namespace floe::formats
