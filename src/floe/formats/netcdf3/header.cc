// NetCDF-3 header parsing: a big-endian reader that grows its window of the file on demand, and
// the magic, numrecs, dimension, attribute and variable lists of CDF-1, CDF-2 and CDF-5.
#include "floe/formats/netcdf3/header.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

namespace floe::formats::netcdf3 {

namespace {

constexpr uint64_t kFirstRead = 256 * 1024;  // the BlockCache's default block
constexpr uint32_t kDimensionTag = 0x0A;
constexpr uint32_t kVariableTag = 0x0B;
constexpr uint32_t kAttributeTag = 0x0C;

}  // namespace

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      extra = 1;
      code = byte & 0x1Fu;
    } else if ((byte & 0xF0) == 0xE0) {
      extra = 2;
      code = byte & 0x0Fu;
    } else if ((byte & 0xF8) == 0xF0) {
      extra = 3;
      code = byte & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

namespace {

// Big-endian fields of the header. Holds bytes [0, window) of the file; a field beyond the window
// widens it (at least doubling, so a long header costs few requests); a field beyond the file is a
// truncated header.
class HeaderReader {
 public:
  HeaderReader(io::BlockCache& cache, io::ObjectStore& store, std::string_view key,
               std::string_view url, uint64_t file_size)
      : cache_(cache), store_(store), key_(key), url_(url), file_size_(file_size) {}

  uint64_t position() const { return position_; }
  uint64_t remaining() const { return file_size_ - position_; }
  // What the following fields belong to ("variable 'tas'"), named in errors with the field.
  void set_context(std::string context) { context_ = std::move(context); }

  Error corrupt(std::string_view field, uint64_t offset, std::string_view message) const {
    std::string structure =
        context_.empty() ? std::string(field) : fmt::format("{} {}", context_, field);
    return make_error(ErrorCode::kCorrupt, "{}: {} at offset {}: {}", url_, structure, offset,
                      message);
  }

  Result<uint64_t> u32(std::string_view field) {
    FLOE_ASSIGN_OR_RETURN(const std::byte* p, take(4, field));
    return load(p, 4);
  }
  Result<uint64_t> u64(std::string_view field) {
    FLOE_ASSIGN_OR_RETURN(const std::byte* p, take(8, field));
    return load(p, 8);
  }
  // A NON_NEG field of `width` bytes (8 bytes must fit in int64).
  Result<uint64_t> non_negative(size_t width, std::string_view field) {
    uint64_t at = position_;
    FLOE_ASSIGN_OR_RETURN(uint64_t value, width == 8 ? u64(field) : u32(field));
    if (width == 8 && value > static_cast<uint64_t>(INT64_MAX)) {
      return corrupt(field, at, fmt::format("negative value {}", static_cast<int64_t>(value)));
    }
    return value;
  }
  // A count of items that each take at least `min_item_bytes` of the file after it.
  Result<uint64_t> count(size_t width, uint64_t min_item_bytes, std::string_view field) {
    uint64_t at = position_;
    FLOE_ASSIGN_OR_RETURN(uint64_t value, non_negative(width, field));
    if (value > remaining() / std::max<uint64_t>(min_item_bytes, 1)) {
      return corrupt(
          field, at,
          fmt::format("count {} cannot fit in the {} bytes left in the file", value, remaining()));
    }
    return value;
  }
  // `length` bytes followed by padding to a multiple of 4.
  Result<Bytes> padded(uint64_t length, std::string_view field) {
    uint64_t at = position_;
    if (length > remaining()) {
      return corrupt(
          field, at,
          fmt::format("{} bytes extend past the end of the file ({} bytes)", length, file_size_));
    }
    uint64_t with_padding = std::min<uint64_t>((length + 3) & ~uint64_t{3}, remaining());
    FLOE_ASSIGN_OR_RETURN(const std::byte* p, take(with_padding, field));
    (void)p;
    return Bytes::copy_of(std::span<const std::byte>(window_.data() + at, length));
  }

 private:
  static uint64_t load(const std::byte* p, size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) value = (value << 8) | std::to_integer<uint64_t>(p[i]);
    return value;
  }

  Result<const std::byte*> take(uint64_t length, std::string_view field) {
    if (length > remaining()) {
      return corrupt(field, position_,
                     fmt::format("truncated header: {} bytes needed, the file has {} bytes", length,
                                 file_size_));
    }
    uint64_t end = position_ + length;
    if (end > window_.size()) FLOE_RETURN_IF_ERROR(widen(end, field));
    const std::byte* p = window_.data() + position_;
    position_ = end;
    return p;
  }

  Status widen(uint64_t end, std::string_view field) {
    uint64_t have = window_.size();
    uint64_t want = std::min(file_size_, std::max({end, have * 2, kFirstRead}));
    auto bytes = cache_.read_one(&store_, key_, have, want - have);
    if (!bytes.ok()) {
      return std::move(bytes).error().add_context(fmt::format(
          "reading the header of {} for {}", url_, context_.empty() ? field : context_));
    }
    if (bytes->size() != want - have) {
      return corrupt(field, have,
                     fmt::format("short read: {} of {} bytes", bytes->size(), want - have));
    }
    window_.insert(window_.end(), bytes->data(), bytes->data() + bytes->size());
    return ok_status();
  }

  io::BlockCache& cache_;
  io::ObjectStore& store_;
  std::string key_;
  std::string url_;
  uint64_t file_size_;
  std::vector<std::byte> window_;
  uint64_t position_ = 0;
  std::string context_;
};

Result<std::string> read_name(HeaderReader& in, size_t width, std::string_view field) {
  uint64_t at = in.position();
  FLOE_ASSIGN_OR_RETURN(uint64_t length, in.non_negative(width, field));
  if (length > in.remaining()) {
    return in.corrupt(field, at,
                      fmt::format("name of {} bytes extends past the end of the file", length));
  }
  FLOE_ASSIGN_OR_RETURN(Bytes bytes, in.padded(length, field));
  std::string name = bytes.to_string();
  if (name.empty()) return in.corrupt(field, at, "empty name");
  if (!valid_utf8(name)) return in.corrupt(field, at, "name is not valid UTF-8");
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return in.corrupt(field, at, fmt::format("name '{}' contains '/' or NUL", name));
  }
  return name;
}

Result<NcType> read_type(HeaderReader& in, int version, std::string_view field) {
  uint64_t at = in.position();
  FLOE_ASSIGN_OR_RETURN(uint64_t code, in.u32(field));
  uint64_t last = version == 5 ? 11 : 6;
  if (code < 1 || code > last)
    return in.corrupt(field, at, fmt::format("unknown nc_type {}", code));
  return static_cast<NcType>(code);
}

// ABSENT (two zeros) or `tag` followed by the number of elements.
Result<uint64_t> read_list_head(HeaderReader& in, size_t width, uint32_t tag,
                                uint64_t min_item_bytes, std::string_view field) {
  uint64_t at = in.position();
  FLOE_ASSIGN_OR_RETURN(uint64_t found, in.u32(field));
  uint64_t count_at = in.position();
  FLOE_ASSIGN_OR_RETURN(uint64_t elements, in.count(width, min_item_bytes, field));
  if (found == 0) {
    if (elements != 0)
      return in.corrupt(field, count_at, fmt::format("ABSENT list with {} elements", elements));
    return uint64_t{0};
  }
  if (found != tag)
    return in.corrupt(field, at, fmt::format("tag {:#x}, expected {:#x} or 0", found, tag));
  return elements;
}

Result<std::vector<Attribute>> read_attributes(HeaderReader& in, int version,
                                               std::string_view owner) {
  size_t width = version == 5 ? 8 : 4;
  // name length, name (>= 4), type, count.
  FLOE_ASSIGN_OR_RETURN(uint64_t count,
                        read_list_head(in, width, kAttributeTag, 2 * width + 8, "attribute list"));
  std::vector<Attribute> attributes;
  attributes.reserve(count);
  std::set<std::string, std::less<>> seen;
  for (uint64_t i = 0; i < count; ++i) {
    Attribute attribute;
    uint64_t at = in.position();
    FLOE_ASSIGN_OR_RETURN(attribute.name,
                          read_name(in, width, fmt::format("attribute {} name", i)));
    in.set_context(fmt::format("{}attribute '{}'", owner, attribute.name));
    if (!seen.insert(attribute.name).second) return in.corrupt("name", at, "duplicate attribute");
    FLOE_ASSIGN_OR_RETURN(attribute.type, read_type(in, version, "type"));
    uint64_t count_at = in.position();
    FLOE_ASSIGN_OR_RETURN(attribute.count, in.non_negative(width, "count"));
    uint32_t size = type_size(attribute.type);
    if (attribute.count > in.remaining() / size) {
      return in.corrupt("count", count_at,
                        fmt::format("{} values of {} bytes extend past the end of the file",
                                    attribute.count, size));
    }
    FLOE_ASSIGN_OR_RETURN(attribute.values, in.padded(attribute.count * size, "values"));
    attributes.push_back(std::move(attribute));
    in.set_context("");
  }
  return attributes;
}

}  // namespace

uint32_t type_size(NcType type) {
  switch (type) {
    case NcType::kByte:
    case NcType::kChar:
    case NcType::kUbyte:
      return 1;
    case NcType::kShort:
    case NcType::kUshort:
      return 2;
    case NcType::kInt:
    case NcType::kFloat:
    case NcType::kUint:
      return 4;
    case NcType::kDouble:
    case NcType::kInt64:
    case NcType::kUint64:
      return 8;
  }
  return 1;
}

std::string_view type_name(NcType type) {
  switch (type) {
    case NcType::kByte:
      return "byte";
    case NcType::kChar:
      return "char";
    case NcType::kShort:
      return "short";
    case NcType::kInt:
      return "int";
    case NcType::kFloat:
      return "float";
    case NcType::kDouble:
      return "double";
    case NcType::kUbyte:
      return "ubyte";
    case NcType::kUshort:
      return "ushort";
    case NcType::kUint:
      return "uint";
    case NcType::kInt64:
      return "int64";
    case NcType::kUint64:
      return "uint64";
  }
  return "?";
}

Result<Header> read_header(io::BlockCache& cache, io::ObjectStore& store, std::string_view key,
                           std::string_view url) {
  FLOE_ASSIGN_OR_RETURN(uint64_t file_size, cache.object_size(&store, key));
  HeaderReader in(cache, store, key, url, file_size);
  Header header;
  header.file_size = file_size;

  FLOE_ASSIGN_OR_RETURN(uint64_t magic, in.u32("magic"));
  if ((magic >> 8) != 0x434446 ||
      ((magic & 0xFF) != 1 && (magic & 0xFF) != 2 && (magic & 0xFF) != 5)) {
    return in.corrupt("magic", 0,
                      fmt::format("{:#010x} is not CDF\\001, CDF\\002 or CDF\\005", magic));
  }
  header.version = static_cast<int>(magic & 0xFF);
  const size_t width = header.version == 5 ? 8 : 4;
  const size_t offset_width = header.version == 1 ? 4 : 8;

  FLOE_ASSIGN_OR_RETURN(header.numrecs, width == 8 ? in.u64("numrecs") : in.u32("numrecs"));
  header.streaming = header.numrecs == (width == 8 ? ~uint64_t{0} : uint64_t{0xFFFFFFFF});
  if (!header.streaming && width == 8 && header.numrecs > static_cast<uint64_t>(INT64_MAX)) {
    return in.corrupt("numrecs", 4, "negative record count");
  }

  // Dimensions: name length, name (>= 4), length.
  FLOE_ASSIGN_OR_RETURN(uint64_t dim_count,
                        read_list_head(in, width, kDimensionTag, 2 * width + 4, "dimension list"));
  header.dimensions.reserve(dim_count);
  std::set<std::string, std::less<>> names;
  bool have_record_dim = false;
  for (uint64_t i = 0; i < dim_count; ++i) {
    Dimension dimension;
    uint64_t at = in.position();
    FLOE_ASSIGN_OR_RETURN(dimension.name,
                          read_name(in, width, fmt::format("dimension {} name", i)));
    in.set_context(fmt::format("dimension '{}'", dimension.name));
    if (!names.insert(dimension.name).second) return in.corrupt("name", at, "duplicate dimension");
    uint64_t length_at = in.position();
    FLOE_ASSIGN_OR_RETURN(dimension.length, in.non_negative(width, "length"));
    if (dimension.length == 0) {
      if (have_record_dim)
        return in.corrupt("length", length_at, "a second record (length 0) dimension");
      have_record_dim = true;
    }
    header.dimensions.push_back(std::move(dimension));
    in.set_context("");
  }

  FLOE_ASSIGN_OR_RETURN(header.attributes, read_attributes(in, header.version, "global "));

  // Variables: name length, name, rank, attribute list (>= 8), type, vsize, begin.
  uint64_t min_variable = 2 * width + 4 + width + 4 + 4 + width + offset_width;
  FLOE_ASSIGN_OR_RETURN(uint64_t var_count,
                        read_list_head(in, width, kVariableTag, min_variable, "variable list"));
  header.variables.reserve(var_count);
  names.clear();
  for (uint64_t i = 0; i < var_count; ++i) {
    Variable variable;
    uint64_t at = in.position();
    FLOE_ASSIGN_OR_RETURN(variable.name, read_name(in, width, fmt::format("variable {} name", i)));
    in.set_context(fmt::format("variable '{}'", variable.name));
    if (!names.insert(variable.name).second) return in.corrupt("name", at, "duplicate variable");
    FLOE_ASSIGN_OR_RETURN(uint64_t rank, in.count(width, width, "rank"));
    variable.dimids.reserve(rank);
    for (uint64_t axis = 0; axis < rank; ++axis) {
      uint64_t dimid_at = in.position();
      FLOE_ASSIGN_OR_RETURN(uint64_t dimid, in.non_negative(width, "dimension id"));
      if (dimid >= header.dimensions.size()) {
        return in.corrupt(
            "dimension id", dimid_at,
            fmt::format("dimension id {} of {} dimensions", dimid, header.dimensions.size()));
      }
      if (header.dimensions[dimid].length == 0 && axis != 0) {
        return in.corrupt("dimension id", dimid_at,
                          "the record dimension is not the first dimension");
      }
      variable.dimids.push_back(dimid);
    }
    std::string context = fmt::format("variable '{}' ", variable.name);
    FLOE_ASSIGN_OR_RETURN(variable.attributes, read_attributes(in, header.version, context));
    in.set_context(fmt::format("variable '{}'", variable.name));
    FLOE_ASSIGN_OR_RETURN(variable.type, read_type(in, header.version, "type"));
    FLOE_ASSIGN_OR_RETURN(uint64_t vsize, in.non_negative(width, "vsize"));
    (void)vsize;  // redundant (and clamped for huge variables): the size is computed from the shape
    variable.begin_field_offset = in.position();
    FLOE_ASSIGN_OR_RETURN(variable.begin, in.non_negative(offset_width, "begin"));
    header.variables.push_back(std::move(variable));
    in.set_context("");
  }
  header.header_end = in.position();
  return header;
}

}  // namespace floe::formats::netcdf3
