// Zarr v3 array metadata: the zarr.json of an array parsed into shape, regular chunk grid, data
// type, fill value, codecs, attributes, dimension names and the chunk key encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/zarr/data_type.h"

namespace floe::zarr {

struct ArrayMetadata {
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> chunk_shape;  // regular chunk grid
  DataType data_type;
  std::vector<std::uint8_t> fill_value;  // one element, little-endian (fill_value_bytes)
  Json fill_value_json;
  Json codecs;      // the "codecs" array as written
  Json attributes;  // an object, {} when absent
  // One entry per dimension, "" for a null name; empty when zarr.json has no dimension_names.
  std::vector<std::string> dimension_names;
  char separator = '/';  // chunk_key_encoding separator: default "/", or "." (v2 default)
  bool v2_key_encoding = false;

  // Parses an array's zarr.json. Refuses (kUnsupported) storage transformers and chunk grids other
  // than "regular"; errors name `path_for_errors`.
  static Result<ArrayMetadata> parse(std::string_view zarr_json, std::string_view path_for_errors);

  std::uint64_t element_size() const { return data_type.size; }
  // Chunks per dimension: ceil(shape / chunk_shape); an empty vector for a 0-d array.
  std::vector<std::uint64_t> chunk_counts() const;
  // The store key of a chunk relative to the array: "c/0/1" (default), "0.1" (v2), "c" or "0" for
  // 0-d.
  std::string chunk_key(std::span<const std::uint64_t> chunk_index) const;
};

}  // namespace floe::zarr
