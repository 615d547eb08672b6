// NetCDF-3 header -> VirtualDataset: Zarr data types, fill values, decoded attributes, and the
// chunk references of non-record (split) and record (interleaved or packed) variables.
#include "floe/formats/netcdf3/netcdf3.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include "floe/core/base64.h"
#include "floe/formats/netcdf3/header.h"

namespace floe::formats::netcdf3 {

namespace {

using virt::Json;

Error corrupt(std::string_view url, std::string_view structure, uint64_t offset,
              std::string_view message) {
  return make_error(ErrorCode::kCorrupt, "{}: {} at offset {}: {}", url, structure, offset,
                    message);
}

bool multiply(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool add(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

uint64_t load_be(const std::byte* p, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value = (value << 8) | std::to_integer<uint64_t>(p[i]);
  return value;
}

template <typename T>
T bit_cast_from(uint64_t bits) {
  T value;
  if constexpr (sizeof(T) == 4) {
    auto narrow = static_cast<uint32_t>(bits);
    std::memcpy(&value, &narrow, sizeof(value));
  } else {
    std::memcpy(&value, &bits, sizeof(value));
  }
  return value;
}

// Zarr v3 JSON for a floating-point value: numbers, or "NaN" / "Infinity" / "-Infinity".
Json float_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

// One big-endian element of a numeric type as JSON.
Json element_json(NcType type, const std::byte* p) {
  uint64_t bits = load_be(p, type_size(type));
  switch (type) {
    case NcType::kByte:
      return static_cast<int64_t>(static_cast<int8_t>(bits));
    case NcType::kShort:
      return static_cast<int64_t>(static_cast<int16_t>(bits));
    case NcType::kInt:
      return static_cast<int64_t>(static_cast<int32_t>(bits));
    case NcType::kInt64:
      return static_cast<int64_t>(bits);
    case NcType::kUbyte:
    case NcType::kUshort:
    case NcType::kUint:
    case NcType::kUint64:
      return bits;
    case NcType::kFloat:
      return float_json(static_cast<double>(bit_cast_from<float>(bits)));
    case NcType::kDouble:
      return float_json(bit_cast_from<double>(bits));
    case NcType::kChar:
      return static_cast<int64_t>(bits);
  }
  return nullptr;
}

// Char attributes as strings: trailing NULs dropped; bytes that are not UTF-8 read as Latin-1.
std::string char_string(const Bytes& values) {
  std::string_view text = values.view();
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  if (valid_utf8(text)) return std::string(text);
  std::string converted;
  converted.reserve(text.size() * 2);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      converted.push_back(c);
    } else {
      converted.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      converted.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return converted;
}

Json attribute_json(const Attribute& attribute) {
  if (attribute.type == NcType::kChar) return char_string(attribute.values);
  uint32_t size = type_size(attribute.type);
  if (attribute.count == 1) return element_json(attribute.type, attribute.values.data());
  Json values = Json::array();
  for (uint64_t i = 0; i < attribute.count; ++i)
    values.push_back(element_json(attribute.type, attribute.values.data() + i * size));
  return values;
}

Json attributes_json(const std::vector<Attribute>& attributes) {
  Json object = Json::object();
  for (const Attribute& attribute : attributes) object[attribute.name] = attribute_json(attribute);
  return object;
}

Json zarr_data_type(NcType type) {
  switch (type) {
    case NcType::kByte:
      return "int8";
    case NcType::kChar:
      return Json{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 1}}}};
    case NcType::kShort:
      return "int16";
    case NcType::kInt:
      return "int32";
    case NcType::kFloat:
      return "float32";
    case NcType::kDouble:
      return "float64";
    case NcType::kUbyte:
      return "uint8";
    case NcType::kUshort:
      return "uint16";
    case NcType::kUint:
      return "uint32";
    case NcType::kInt64:
      return "int64";
    case NcType::kUint64:
      return "uint64";
  }
  return nullptr;
}

// Fill values of null_terminated_bytes are base64 strings.
std::string base64_of_byte(uint8_t byte) { return base64_encode(std::string(1, static_cast<char>(byte))); }

// The netCDF library's default fills (NC_FILL_BYTE, NC_FILL_CHAR, ...).
Json default_fill(NcType type) {
  switch (type) {
    case NcType::kByte:
      return -127;
    case NcType::kChar:
      return base64_of_byte(0);
    case NcType::kShort:
      return -32767;
    case NcType::kInt:
      return -2147483647;
    case NcType::kFloat:
      return static_cast<double>(9.9692099683868690e+36f);
    case NcType::kDouble:
      return 9.9692099683868690e+36;
    case NcType::kUbyte:
      return 255;
    case NcType::kUshort:
      return 65535;
    case NcType::kUint:
      return 4294967295u;
    case NcType::kInt64:
      return int64_t{-9223372036854775807LL + 1};
    case NcType::kUint64:
      return uint64_t{18446744073709551614ULL};
  }
  return nullptr;
}

// The Zarr fill value from `_FillValue` when it is one element of the variable's own type.
std::optional<Json> fill_from_attribute(const Attribute& attribute, NcType type) {
  if (attribute.type != type || attribute.count != 1) return std::nullopt;
  if (type == NcType::kChar)
    return base64_of_byte(std::to_integer<uint8_t>(attribute.values.data()[0]));
  return element_json(type, attribute.values.data());
}

// Largest divisor of `n` that is at most `limit` (n, limit >= 1).
uint64_t largest_divisor(uint64_t n, uint64_t limit) {
  uint64_t best = 1;
  for (uint64_t i = 1; i <= n / i; ++i) {
    if (n % i != 0) continue;
    if (i <= limit) best = std::max(best, i);
    if (n / i <= limit) best = std::max(best, n / i);
  }
  return best;
}

// References for `rows` contiguous rows of `row_bytes` at `begin`, `chunk_rows` rows per chunk
// along the first axis (whose chunk shape entry is updated). Zarr decodes every chunk at its full
// shape, so the last chunk's reference covers a whole chunk; if that would run past the end of the
// file, the chunk length along the first axis becomes the largest divisor of `rows` that fits (no
// partial chunk). The caller checked that begin + rows * row_bytes <= file_size.
void contiguous_refs(virt::VirtualArray& array, uint32_t path, uint64_t begin, uint64_t rows,
                     uint64_t row_bytes, uint64_t file_size) {
  if (rows == 0) return;
  uint64_t chunk_rows = array.chunk_shape.empty() ? 1 : std::max<uint64_t>(array.chunk_shape[0], 1);
  uint64_t chunks = rows / chunk_rows + (rows % chunk_rows != 0 ? 1 : 0);
  if (rows % chunk_rows != 0) {
    uint64_t span = 0;
    uint64_t end = 0;
    if (!multiply(chunks * chunk_rows, row_bytes, span) || !add(begin, span, end) ||
        end > file_size) {
      chunk_rows = largest_divisor(rows, chunk_rows);
      chunks = rows / chunk_rows;
      array.chunk_shape[0] = chunk_rows;
    }
  }
  uint64_t chunk_bytes = chunk_rows * row_bytes;
  array.refs.reserve(chunks);
  for (uint64_t i = 0; i < chunks; ++i)
    array.refs.add(i, path, begin + i * chunk_bytes, chunk_bytes);
}

struct Layout {
  bool record = false;
  uint64_t slab =
      0;  // bytes of the whole variable, or of one record of a record variable (unpadded)
};

}  // namespace

bool looks_like_netcdf3(std::span<const std::byte> first_bytes) {
  if (first_bytes.size() < 4) return false;
  auto at = [&](size_t i) { return std::to_integer<uint8_t>(first_bytes[i]); };
  return at(0) == 'C' && at(1) == 'D' && at(2) == 'F' && (at(3) == 1 || at(3) == 2 || at(3) == 5);
}

Result<virt::VirtualDataset> virtualize_netcdf3(io::BlockCache& cache, io::ObjectStore& store,
                                                std::string_view key, std::string_view location,
                                                const virt::ParseOptions& options) {
  const std::string url = location.empty() ? store.url_for(key) : std::string(location);
  FLOE_ASSIGN_OR_RETURN(Header header, read_header(cache, store, key, url));

  // Sizes from the shapes (the header's vsize is redundant and clamped for huge variables).
  std::vector<Layout> layouts;
  layouts.reserve(header.variables.size());
  uint64_t record_variables = 0;
  uint64_t recsize = 0;
  uint64_t first_record_begin = UINT64_MAX;
  for (const Variable& variable : header.variables) {
    Layout layout;
    layout.record = !variable.dimids.empty() && header.dimensions[variable.dimids[0]].length == 0;
    layout.slab = type_size(variable.type);
    for (size_t axis = layout.record ? 1 : 0; axis < variable.dimids.size(); ++axis) {
      if (!multiply(layout.slab, header.dimensions[variable.dimids[axis]].length, layout.slab)) {
        return corrupt(url, fmt::format("variable '{}' shape", variable.name),
                       variable.begin_field_offset, "size overflows 64 bits");
      }
    }
    if (variable.begin < header.header_end) {
      return corrupt(url, fmt::format("variable '{}' begin", variable.name),
                     variable.begin_field_offset,
                     fmt::format("data offset {} lies inside the header (which ends at {})",
                                 variable.begin, header.header_end));
    }
    if (layout.record) {
      ++record_variables;
      uint64_t padded = 0;
      if (!add(layout.slab, 3, padded) || !add(recsize, padded & ~uint64_t{3}, recsize)) {
        return corrupt(url, fmt::format("variable '{}' shape", variable.name),
                       variable.begin_field_offset, "record size overflows 64 bits");
      }
      first_record_begin = std::min(first_record_begin, variable.begin);
    }
    layouts.push_back(layout);
  }
  // A lone record variable's records are packed without padding.
  if (record_variables == 1) {
    for (const Layout& layout : layouts) {
      if (layout.record) recsize = layout.slab;
    }
  }
  uint64_t numrecs = header.numrecs;
  if (header.streaming) {
    numrecs = record_variables == 0 || header.file_size <= first_record_begin
                  ? 0
                  : (header.file_size - first_record_begin) / recsize;
  }

  virt::VirtualDataset dataset;
  dataset.source_url = url;
  dataset.root.attributes = attributes_json(header.attributes);
  // The record dimension (length 0 in the header) is the unlimited one: files join along it by default.
  for (const Dimension& dimension : header.dimensions) {
    if (dimension.length == 0) dataset.unlimited_dims.push_back(dimension.name);
  }
  dataset.root.arrays.reserve(header.variables.size());
  for (size_t v = 0; v < header.variables.size(); ++v) {
    const Variable& variable = header.variables[v];
    const Layout& layout = layouts[v];

    // The data must lie inside the file.
    uint64_t end = 0;
    bool fits = true;
    if (!layout.record) {
      fits = add(variable.begin, layout.slab, end) && end <= header.file_size;
    } else if (numrecs > 0) {
      uint64_t stride = 0;
      fits = multiply(numrecs - 1, recsize, stride) && add(variable.begin, stride, end) &&
             add(end, layout.slab, end) && end <= header.file_size;
    }
    if (!fits) {
      return corrupt(
          url, fmt::format("variable '{}' begin", variable.name), variable.begin_field_offset,
          fmt::format(
              "data from offset {} ({}{} bytes) extends past the end of the file ({} bytes)",
              variable.begin, layout.record ? fmt::format("{} records of ", numrecs) : "",
              layout.slab, header.file_size));
    }

    virt::VirtualArray array;
    array.name = variable.name;
    for (uint64_t dimid : variable.dimids) {
      const Dimension& dimension = header.dimensions[dimid];
      array.dims.push_back(dimension.name);
      array.shape.push_back(dimension.length == 0 ? numrecs : dimension.length);
    }
    array.element_size = type_size(variable.type);
    array.data_type = zarr_data_type(variable.type);
    if (array.element_size == 1) {
      array.codecs = Json::array({Json{{"name", "bytes"}}});
    } else {
      array.codecs = Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}});
    }
    array.attributes = attributes_json(variable.attributes);
    array.fill_value = default_fill(variable.type);
    for (const Attribute& attribute : variable.attributes) {
      if (attribute.name != "_FillValue") continue;
      if (std::optional<Json> fill = fill_from_attribute(attribute, variable.type)) {
        array.fill_value = std::move(*fill);
      } else {
        dataset.warnings.push_back(
            fmt::format("{}: variable '{}': _FillValue has {} {} value(s), not one {}; Zarr "
                        "fill_value is the netCDF default",
                        url, variable.name, attribute.count, type_name(attribute.type),
                        type_name(variable.type)));
      }
    }
    array.dimension_coordinate = array.dims.size() == 1 && array.dims[0] == array.name;

    uint32_t path = array.refs.intern(url);
    array.chunk_shape =
        virt::split_contiguous(array.shape, array.element_size, options.max_chunk_bytes);
    if (!layout.record) {
      uint64_t rows = array.shape.empty() ? 1 : array.shape[0];
      contiguous_refs(array, path, variable.begin, rows, layout.slab / rows, header.file_size);
    } else if (record_variables == 1) {
      contiguous_refs(array, path, variable.begin, numrecs, layout.slab, header.file_size);
    } else {
      array.chunk_shape[0] = 1;
      array.refs.reserve(numrecs);
      for (uint64_t i = 0; i < numrecs; ++i)
        array.refs.add(i, path, variable.begin + i * recsize, layout.slab);
    }
    dataset.root.arrays.push_back(std::move(array));
  }
  return dataset;
}

}  // namespace floe::formats::netcdf3
