// The NetCDF-3 header (CDF-1, CDF-2, CDF-5) as stored: dimensions, attributes and variables,
// read through the BlockCache with every count and size bounded by the file size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/io/block_cache.h"

namespace floe::formats::netcdf3 {

// nc_type codes; 7..11 exist only in CDF-5.
enum class NcType : uint32_t {
  kByte = 1,
  kChar = 2,
  kShort = 3,
  kInt = 4,
  kFloat = 5,
  kDouble = 6,
  kUbyte = 7,
  kUshort = 8,
  kUint = 9,
  kInt64 = 10,
  kUint64 = 11,
};

// Bytes per element of a valid type code.
uint32_t type_size(NcType type);
std::string_view type_name(NcType type);

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

struct Dimension {
  std::string name;
  uint64_t length = 0;  // 0 for the record dimension
};

struct Attribute {
  std::string name;
  NcType type = NcType::kByte;
  uint64_t count = 0;  // elements
  Bytes values;        // count * type_size bytes, big-endian, padding removed
};

struct Variable {
  std::string name;
  std::vector<uint64_t> dimids;
  std::vector<Attribute> attributes;
  NcType type = NcType::kByte;
  uint64_t begin = 0;
  uint64_t begin_field_offset = 0;  // where `begin` is stored in the header, for error messages
};

struct Header {
  int version = 1;       // 1, 2 or 5
  uint64_t numrecs = 0;  // as stored (kStreaming if the writer did not record it)
  bool streaming = false;
  std::vector<Dimension> dimensions;
  std::vector<Attribute> attributes;  // global
  std::vector<Variable> variables;
  uint64_t header_end = 0;  // first byte after the variable list
  uint64_t file_size = 0;
};

// Reads and validates the header of `key`; errors are kCorrupt naming `url`, the structure and the
// offset. The first block is read at once; a longer header is read in growing steps (few requests).
Result<Header> read_header(io::BlockCache& cache, io::ObjectStore& store, std::string_view key,
                           std::string_view url);

}  // namespace floe::formats::netcdf3
