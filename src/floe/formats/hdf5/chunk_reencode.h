// Re-encoding of chunks that HDF5 stored with every filter skipped (per-chunk filter mask) through the
// dataset's pipeline, so they can be stored inline and read with the array's Zarr codecs.
#pragma once

#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/filters.h"

namespace floe::formats::hdf5 {

// True when every filter of `filters` is one re_encode_chunk implements (shuffle, deflate, fletcher32).
bool can_re_encode(const std::vector<Filter>& filters);

// Applies `filters` in pipeline order to the raw chunk bytes, as HDF5 would have written them.
Result<Bytes> re_encode_chunk(const std::vector<Filter>& filters, const Bytes& raw, uint32_t element_size);

// HDF5's Fletcher-32 (H5_checksum_fletcher32): big-endian 16-bit words, odd trailing byte as the high byte.
uint32_t hdf5_fletcher32(std::span<const std::byte> data);

}  // namespace floe::formats::hdf5
