// The HDF5 / NetCDF-4 parser's entry point: a file's object tree, netCDF-4 conventions and chunk indexes
// turned into a VirtualDataset, reading metadata only, in batched rounds.
#pragma once

#include <span>
#include <string_view>

#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"
#include "floe/virtual/dataset.h"

namespace floe::formats::hdf5 {

// `location` is the URL written into every chunk reference (e.g. "file:///abs/x.nc", "s3://b/k.nc").
//
// Dimension names come from netCDF-4's _Netcdf4Coordinates/_Netcdf4Dimid, else from DIMENSION_LIST
// references to dimension scales, else a dimension scale names itself; axes left unnamed get phony names
// "phony_dim_N": within each group, N counts distinct (axis length, occurrence of that length within the
// variable) pairs in the order variables are visited (creation order, else name order), starting at 0.
Result<virt::VirtualDataset> virtualize_hdf5(FileReader& file, std::string_view location,
                                             const virt::ParseOptions& options);

// The HDF5 signature at offset 0, 512, 1024, 2048, ... within `first_bytes`.
bool looks_like_hdf5(std::span<const std::byte> first_bytes);

}  // namespace floe::formats::hdf5
