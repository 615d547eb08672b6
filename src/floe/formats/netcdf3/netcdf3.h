// NetCDF-3 (classic CDF-1, 64-bit offset CDF-2, CDF-5) files as virtual datasets: variables
// become Zarr v3 arrays whose chunks are byte ranges of the file.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "floe/core/result.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"
#include "floe/virtual/dataset.h"

namespace floe::formats::netcdf3 {

// "CDF" followed by version 1, 2 or 5.
bool looks_like_netcdf3(std::span<const std::byte> first_bytes);

// Reads the header of `key` through `cache` and describes every variable as a VirtualArray.
// `location` is the URL written into every chunk reference ("file:///abs/x.nc", "s3://b/k.nc") and
// named in errors. Non-record variables are split along their first axis by
// options.max_chunk_bytes; record variables get one chunk per record, or (when a file has a single
// record variable, whose records are packed) larger chunks. Malformed headers, and variables whose
// data would extend past the end of the file, are kCorrupt errors naming the URL, the structure and
// the byte offset.
Result<virt::VirtualDataset> virtualize_netcdf3(io::BlockCache& cache, io::ObjectStore& store,
                                                std::string_view key, std::string_view location,
                                                const virt::ParseOptions& options);

}  // namespace floe::formats::netcdf3
