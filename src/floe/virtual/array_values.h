// Values of virtual arrays in memory: decoding whole arrays through their codecs, copying boxes
// between C-order buffers, and loading small arrays (coordinates, scalars) from their source files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/virtual/dataset.h"
#include "floe/zarr/array_metadata.h"

namespace floe::virt {

// One element of a numeric type as a double.
double element_as_double(const uint8_t* element, const zarr::DataType& type);
// Integers, floats of 4 or 8 bytes, datetimes: types whose values compare as doubles.
bool comparable_type(const zarr::DataType& type);

// Copies every element of `source` (C order, `source_shape`) with index < `limit` on each axis to
// `target` (C order, `target_shape`) at index position[axis][i] on each axis.
void scatter(const uint8_t* source, const std::vector<uint64_t>& source_shape, uint8_t* target,
             const std::vector<uint64_t>& target_shape,
             const std::vector<std::vector<uint64_t>>& position, const std::vector<uint64_t>& limit,
             size_t element_size);
// Positions origin[axis] + 0 .. extent[axis] - 1 on each axis, for scatter.
std::vector<std::vector<uint64_t>> offset_positions(const std::vector<uint64_t>& origin,
                                                    const std::vector<uint64_t>& extent);
uint64_t element_count(const std::vector<uint64_t>& shape);
// `elements` copies of the one-element `fill`.
std::vector<uint8_t> filled(uint64_t elements, const std::vector<uint8_t>& fill);
std::span<const uint8_t> as_u8(const Bytes& bytes);

// A whole array decoded (C order, little-endian), its chunks got from `chunk_at` (nullopt: a
// missing chunk, left as the fill value). Arrays above `max_bytes` decoded are refused, naming
// `path`.
using ChunkGetter = std::function<Result<std::optional<Bytes>>(const std::vector<uint64_t>& chunk)>;
Result<std::vector<uint8_t>> decode_whole(const zarr::ArrayMetadata& metadata,
                                          const ChunkGetter& chunk_at, std::string_view path,
                                          uint64_t max_bytes);

// `length` bytes at `offset` of the source `url`.
using RangeReader =
    std::function<Result<Bytes>(const std::string& url, uint64_t offset, uint64_t length)>;

// Loads the loadable arrays of fixed-size numeric types holding at most `max_bytes` decoded: their
// chunks are read through `read` and decoded, and each becomes in_memory (one uncompressed chunk;
// loadable cleared, refs dropped). Other loadable arrays stay as they are (the writer copies their
// bytes). Errors name the source, the array and the chunk.
Status load_small_arrays(VirtualDataset& dataset, const RangeReader& read,
                         uint64_t max_bytes = 16ull << 20);

// An in-memory array's values as doubles (comparable types only; empty otherwise).
std::vector<double> values_as_doubles(const VirtualArray& array);
// The Zarr data type of a virtual array, parsed.
Result<zarr::DataType> data_type_of(const VirtualArray& array);
// The "bytes" codec list of an uncompressed chunk of `element_size` bytes per element.
Json uncompressed_codecs(uint32_t element_size);

}  // namespace floe::virt
