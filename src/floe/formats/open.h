// Opening any supported file as a virtual dataset: format detection from the first bytes and dispatch.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"
#include "floe/virtual/dataset.h"

namespace floe::formats {

enum class Format { kAuto, kNetcdf3, kHdf5, kGrib2 };

// "auto", "netcdf3", "hdf5" ("netcdf" means auto: NetCDF-3 or NetCDF-4 by content), "grib2" (GRIB editions 1 and
// 2: never chosen by "auto", since GRIB files form one datacube together rather than one dataset each).
Result<Format> parse_format(std::string_view name);

struct Source {
  io::ObjectStore* store = nullptr;
  std::string key;       // inside the store
  std::string location;  // the URL chunk references name ("file:///abs/x.nc", "s3://bucket/key")
  // Key -> size of every object the listing that found this file showed (a GRIB file's sidecar among them when it
  // has one); null when the file was named directly.
  const std::map<std::string, uint64_t>* listed = nullptr;
};

// Parses the file through `cache` (metadata only, batched rounds).
Result<virt::VirtualDataset> open_virtual(io::BlockCache& cache, const Source& source, Format format,
                                          const virt::ParseOptions& options);

// GRIB files as one forecast datacube (formats/grib2): each file's sidecar, `<file>.idx` (NOAA) or
// `<file without .grib2/.grib>.index` / `<file>.index` (ECMWF), is fetched when it exists, the other files are
// scanned. Sidecars of listed files are known from the listing and fetched in one batch; the others are probed
// (in parallel). `layout` is generic, gefs, ecmwf-ens, gfs or hrrr.
// `index` says which sidecars to use: "auto" (whichever exists), "idx" (NOAA only), "ecmwf-index" (ECMWF only),
// "scan" (none: every file is scanned). With "idx" or "ecmwf-index" a file without that sidecar is an error.
Result<virt::VirtualDataset> open_grib_collection(io::BlockCache& cache, const std::vector<Source>& sources,
                                                  std::string_view layout, std::string_view index = "auto");
// True for names of GRIB sidecars (".idx", ".index"), which a glob over a forecast directory also matches.
bool is_grib_sidecar(std::string_view key);

}  // namespace floe::formats
