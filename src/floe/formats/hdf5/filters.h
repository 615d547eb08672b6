// The Filter Pipeline message and its translation into Zarr v3 codecs, in the file's filter order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

struct Filter {
  uint16_t id = 0;
  std::string name;
  uint16_t flags = 0;  // bit 0: optional
  std::vector<uint32_t> client_data;
};

Result<std::vector<Filter>> parse_filter_pipeline(const FileReader& file, const Bytes& body, uint64_t address);

// The bytes->bytes Zarr v3 codecs for `filters` (encode order = HDF5 pipeline order): deflate ->
// numcodecs.zlib, shuffle -> numcodecs.shuffle, fletcher32 -> numcodecs.fletcher32, zstd, blosc, lz4 and
// bitshuffle as HDF5 frames them, szip where expressible. kUnsupported naming the filter otherwise.
// `element_size` is the datatype's size (shuffle's element size when the client data lacks it).
Result<nlohmann::json> filters_to_codecs(const std::vector<Filter>& filters, uint32_t element_size);

}  // namespace floe::formats::hdf5
