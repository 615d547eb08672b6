// Dataspace, datatype (all classes, versions 1-4), fill value (old and new), attribute (v1-v3), link, link info,
// attribute info and symbol table messages; attribute values decoded to JSON.
#include "floe/formats/hdf5/messages.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace floe::formats::hdf5 {

namespace {

constexpr int kMaxDatatypeDepth = 16;
constexpr size_t kMaxRank = 32;

// A null-terminated name; with `pad8` the name plus terminator is padded to a multiple of 8 bytes (versions 1
// and 2 of compound and enum datatypes).
std::string read_name(Cursor& cursor, bool pad8) {
  size_t start = cursor.position();
  const Bytes& bytes = cursor.bytes();
  size_t end = start;
  while (end < bytes.size() && bytes.data()[end] != std::byte{0}) ++end;
  if (end >= bytes.size()) {
    cursor.fail("name is not null-terminated");
    return {};
  }
  std::string name(bytes.view().substr(start, end - start));
  size_t used = end - start + 1;
  if (pad8) used = (used + 7) / 8 * 8;
  cursor.skip(used);
  return name;
}

Result<Datatype> parse_datatype_at(const FileReader& file, Cursor& cursor, int depth) {
  if (depth > kMaxDatatypeDepth) {
    cursor.fail(fmt::format("datatypes nest deeper than {} levels", kMaxDatatypeDepth));
    return cursor.error();
  }
  Datatype type;
  uint64_t start = cursor.address();
  uint8_t class_and_version = cursor.u8();
  type.type_class = static_cast<TypeClass>(class_and_version & 0x0f);
  type.version = class_and_version >> 4;
  type.class_bits = cursor.u8() | (uint32_t{cursor.u8()} << 8) | (uint32_t{cursor.u8()} << 16);
  type.size = cursor.u32();
  if (!cursor.ok()) return cursor.error();
  if (type.version < 1 || type.version > 5) {  // 5: HDF5 2.0 (libver latest), same encodings plus complex
    return file.unsupported("datatype message", start, fmt::format("datatype version {}", type.version));
  }
  const uint32_t bits = type.class_bits;
  switch (type.type_class) {
    case TypeClass::kFixedPoint:
    case TypeClass::kBitfield:
      type.big_endian = bits & 1;
      type.is_signed = type.type_class == TypeClass::kFixedPoint && (bits & 8);
      type.bit_offset = cursor.u16();
      type.precision = cursor.u16();
      break;
    case TypeClass::kFloat:
      type.big_endian = bits & 1;
      type.bit_offset = cursor.u16();
      type.precision = cursor.u16();
      cursor.skip(8);  // exponent/mantissa locations and sizes, exponent bias
      break;
    case TypeClass::kTime:
      type.big_endian = bits & 1;
      type.precision = cursor.u16();
      break;
    case TypeClass::kString:
      type.string_padding = bits & 0x0f;
      type.charset = (bits >> 4) & 0x0f;
      break;
    case TypeClass::kOpaque: {
      Bytes tag = cursor.take(bits & 0xff);
      type.opaque_tag = std::string(tag.view().substr(0, tag.view().find('\0')));
      break;
    }
    case TypeClass::kCompound: {
      uint32_t count = bits & 0xffff;
      size_t offset_width = type.size < (1u << 8) ? 1 : type.size < (1u << 16) ? 2 : type.size < (1u << 24) ? 3 : 4;
      for (uint32_t i = 0; i < count && cursor.ok(); ++i) {
        Datatype::Member member;
        member.name = read_name(cursor, type.version < 3);
        if (type.version < 3) {
          member.offset = cursor.u32();
          if (type.version == 1) cursor.skip(1 + 3 + 4 + 4 + 16);  // dimensionality, permutation, dims
        } else {
          member.offset = cursor.uint(offset_width);
        }
        if (!cursor.ok()) break;
        FLOE_ASSIGN_OR_RETURN(Datatype member_type, parse_datatype_at(file, cursor, depth + 1));
        type.members.push_back(std::move(member));
        type.member_types.push_back(std::move(member_type));
      }
      break;
    }
    case TypeClass::kReference:
      type.reference_type = bits & 0x0f;
      break;
    case TypeClass::kEnum: {
      uint32_t count = bits & 0xffff;
      FLOE_ASSIGN_OR_RETURN(Datatype base, parse_datatype_at(file, cursor, depth + 1));
      for (uint32_t i = 0; i < count && cursor.ok(); ++i) type.enum_names.push_back(read_name(cursor, type.version < 3));
      for (uint32_t i = 0; i < count && cursor.ok(); ++i) type.enum_values.push_back(cursor.take(base.size));
      type.base.push_back(std::move(base));
      break;
    }
    case TypeClass::kVariableLength: {
      type.vlen_string = (bits & 0x0f) == 1;
      type.string_padding = (bits >> 4) & 0x0f;
      type.charset = (bits >> 8) & 0x0f;
      FLOE_ASSIGN_OR_RETURN(Datatype base, parse_datatype_at(file, cursor, depth + 1));
      type.base.push_back(std::move(base));
      break;
    }
    case TypeClass::kArray: {
      size_t rank = cursor.u8();
      if (type.version < 3) cursor.skip(3);
      if (rank > kMaxRank) {
        cursor.fail(fmt::format("array datatype of rank {}", rank));
        break;
      }
      for (size_t i = 0; i < rank; ++i) type.array_dims.push_back(cursor.u32());
      if (type.version < 3) cursor.skip(4 * rank);  // permutation indexes
      if (!cursor.ok()) break;
      FLOE_ASSIGN_OR_RETURN(Datatype base, parse_datatype_at(file, cursor, depth + 1));
      type.base.push_back(std::move(base));
      break;
    }
    default:
      return file.unsupported("datatype message", start,
                              fmt::format("datatype class {}", static_cast<int>(type.type_class)));
  }
  if (!cursor.ok()) return cursor.error();
  return type;
}

bool valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : SIZE_MAX;
    if (extra == SIZE_MAX || extra >= text.size() - i) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// JSON strings must be UTF-8; bytes that are not are read as Latin-1.
std::string to_utf8(std::string_view text) {
  if (valid_utf8(text)) return std::string(text);
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

std::string trim_string(std::string_view raw, uint8_t padding) {
  if (padding == 2) {
    size_t end = raw.find_last_not_of(' ');
    raw = end == std::string_view::npos ? std::string_view{} : raw.substr(0, end + 1);
  } else {
    raw = raw.substr(0, raw.find('\0'));
  }
  return to_utf8(raw);
}

uint64_t load_unsigned(const std::byte* p, size_t size, bool big_endian) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) {
    size_t index = big_endian ? i : size - 1 - i;
    value = (value << 8) | std::to_integer<uint64_t>(p[index]);
  }
  return value;
}

double half_to_double(uint16_t half) {
  int exponent = (half >> 10) & 0x1f;
  int mantissa = half & 0x3ff;
  double sign = (half & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

nlohmann::json float_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

}  // namespace

uint64_t Dataspace::element_count() const {
  if (kind == DataspaceKind::kNull) return 0;
  uint64_t count = 1;
  for (uint64_t dim : dims) {
    if (dim != 0 && count > UINT64_MAX / dim) return UINT64_MAX;
    count *= dim;
  }
  return count;
}

std::string Datatype::describe() const {
  const char* order = big_endian ? "big-endian" : "little-endian";
  switch (type_class) {
    case TypeClass::kFixedPoint:
      return fmt::format("{}-bit {} {} integer", size * 8, order, is_signed ? "signed" : "unsigned");
    case TypeClass::kFloat: return fmt::format("{}-bit {} float", size * 8, order);
    case TypeClass::kTime: return "time";
    case TypeClass::kString: return fmt::format("fixed-length string of {} bytes", size);
    case TypeClass::kBitfield: return fmt::format("{}-bit bitfield", size * 8);
    case TypeClass::kOpaque: return fmt::format("opaque ({} bytes{})", size, opaque_tag.empty() ? "" : ", " + opaque_tag);
    case TypeClass::kCompound: return fmt::format("compound of {} members", members.size());
    case TypeClass::kReference: return reference_type == 0 ? "object reference" : "region reference";
    case TypeClass::kEnum: return fmt::format("enum of {} values", enum_names.size());
    case TypeClass::kVariableLength: return vlen_string ? "variable-length string" : "variable-length sequence";
    case TypeClass::kArray: return "array";
  }
  return "unknown";
}

Result<Dataspace> parse_dataspace(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor cursor(file, body, address, "dataspace message");
  Dataspace space;
  uint8_t version = cursor.u8();
  size_t rank = cursor.u8();
  uint8_t flags = cursor.u8();
  if (!cursor.ok()) return cursor.error();
  if (version == 1) {
    cursor.skip(5);
    space.kind = rank == 0 ? DataspaceKind::kScalar : DataspaceKind::kSimple;
  } else if (version == 2) {
    uint8_t kind = cursor.u8();
    if (kind > 2) return file.corrupt("dataspace message", address, fmt::format("dataspace type {}", kind));
    space.kind = static_cast<DataspaceKind>(kind);
  } else {
    return file.unsupported("dataspace message", address, fmt::format("dataspace version {}", version));
  }
  if (rank > kMaxRank) return file.corrupt("dataspace message", address, fmt::format("rank {} (at most 32)", rank));
  for (size_t i = 0; i < rank; ++i) space.dims.push_back(cursor.length());
  if (flags & 1) {
    for (size_t i = 0; i < rank; ++i) {
      uint64_t max = cursor.length();
      uint64_t all_ones = file.length_size >= 8 ? ~0ull : (1ull << (8 * file.length_size)) - 1;
      space.max_dims.push_back(max == all_ones ? kUnlimitedDimension : max);
    }
  } else {
    space.max_dims = space.dims;
  }
  if (!cursor.ok()) return cursor.error();
  if (space.kind != DataspaceKind::kSimple) {
    space.dims.clear();
    space.max_dims.clear();
  }
  return space;
}

Result<Datatype> parse_datatype(const FileReader& file, const Bytes& body, uint64_t address, size_t* consumed) {
  Cursor cursor(file, body, address, "datatype message");
  FLOE_ASSIGN_OR_RETURN(Datatype type, parse_datatype_at(file, cursor, 0));
  if (consumed) *consumed = cursor.position();
  return type;
}

Result<uint64_t> parse_shared_message_address(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor cursor(file, body, address, "shared message");
  uint8_t version = cursor.u8();
  uint8_t type = cursor.u8();
  uint64_t target = kUndefinedAddress;
  if (version == 1) {
    cursor.skip(6);
    target = cursor.offset();
  } else if (version == 2) {
    target = cursor.offset();
  } else if (version == 3) {
    if (type == 1) {
      return file.unsupported("shared message", address,
                              "the message lives in the shared object header message heap (SOHM), which floe "
                              "cannot read yet");
    }
    target = cursor.offset();
  } else {
    return file.unsupported("shared message", address, fmt::format("shared message version {}", version));
  }
  if (!cursor.ok()) return cursor.error();
  if (target == kUndefinedAddress) return file.corrupt("shared message", address, "undefined address");
  return target;
}

Result<FillValue> parse_fill_value(const FileReader& file, const Bytes& body, uint64_t address, bool old_style) {
  Cursor cursor(file, body, address, old_style ? "fill value message (old)" : "fill value message");
  FillValue fill;
  if (old_style) {
    uint32_t size = cursor.u32();
    fill.value = cursor.take(size);
    fill.defined = size > 0;
    if (!cursor.ok()) return cursor.error();
    return fill;
  }
  uint8_t version = cursor.u8();
  if (version == 1 || version == 2) {
    cursor.u8();  // space allocation time
    cursor.u8();  // fill value write time
    uint8_t defined = cursor.u8();
    if (version == 1 || defined) {
      uint32_t size = cursor.u32();
      fill.value = cursor.take(size);
    }
    fill.defined = !fill.value.empty();
    fill.undefined = !defined;
  } else if (version == 3) {
    uint8_t flags = cursor.u8();
    fill.undefined = flags & 0x10;
    if (flags & 0x20) {
      uint32_t size = cursor.u32();
      fill.value = cursor.take(size);
      fill.defined = !fill.value.empty();
    }
  } else {
    return file.unsupported("fill value message", address, fmt::format("version {}", version));
  }
  if (!cursor.ok()) return cursor.error();
  return fill;
}

Result<Attribute> parse_attribute(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor cursor(file, body, address, "attribute message");
  Attribute attribute;
  attribute.address = address;
  uint8_t version = cursor.u8();
  if (cursor.ok() && (version < 1 || version > 3)) {
    return file.unsupported("attribute message", address, fmt::format("attribute message version {}", version));
  }
  uint8_t flags = cursor.u8();  // reserved in version 1
  size_t name_size = cursor.u16();
  size_t datatype_size = cursor.u16();
  size_t dataspace_size = cursor.u16();
  if (version == 3) cursor.u8();  // name character set
  auto padded = [version](size_t n) { return version == 1 ? (n + 7) / 8 * 8 : n; };
  Bytes name = cursor.take(padded(name_size));
  uint64_t datatype_address = cursor.address();
  Bytes datatype_bytes = cursor.take(padded(datatype_size));
  uint64_t dataspace_address = cursor.address();
  Bytes dataspace_bytes = cursor.take(padded(dataspace_size));
  if (!cursor.ok()) return cursor.error();
  std::string_view name_view = name.view().substr(0, std::min(name_size, name.size()));
  attribute.name = to_utf8(name_view.substr(0, name_view.find('\0')));
  if (version >= 2 && (flags & 1)) {
    FLOE_ASSIGN_OR_RETURN(uint64_t committed, parse_shared_message_address(file, datatype_bytes, datatype_address));
    attribute.datatype.committed_address = committed;
  } else {
    FLOE_ASSIGN_OR_RETURN(attribute.datatype, parse_datatype(file, datatype_bytes, datatype_address));
  }
  if (version >= 2 && (flags & 2)) {
    return file.unsupported("attribute message", address,
                            fmt::format("attribute \"{}\" has a shared dataspace", attribute.name));
  }
  FLOE_ASSIGN_OR_RETURN(attribute.dataspace, parse_dataspace(file, dataspace_bytes, dataspace_address));
  attribute.data = cursor.take(cursor.remaining());
  return attribute;
}

Result<Link> parse_link(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor cursor(file, body, address, "link message");
  Link link;
  uint8_t version = cursor.u8();
  if (cursor.ok() && version != 1) {
    return file.unsupported("link message", address, fmt::format("link message version {}", version));
  }
  uint8_t flags = cursor.u8();
  uint8_t link_type = 0;
  if (flags & 0x08) link_type = cursor.u8();
  if (flags & 0x04) link.creation_order = cursor.u64();
  if (flags & 0x10) cursor.u8();  // link name character set
  uint64_t name_length = cursor.uint(size_t{1} << (flags & 0x03));
  if (name_length > cursor.remaining()) {
    return file.corrupt("link message", address, fmt::format("name of {} bytes overruns the message", name_length));
  }
  link.name = to_utf8(cursor.take(name_length).view());
  if (link_type == 0) {
    link.kind = LinkKind::kHard;
    link.address = cursor.offset();
  } else if (link_type == 1) {
    link.kind = LinkKind::kSoft;
    uint16_t target_length = cursor.u16();
    if (cursor.ok() && target_length > cursor.remaining()) {
      return file.corrupt("link message", address,
                          fmt::format("soft link value of {} bytes overruns the message", target_length));
    }
    link.soft_target = to_utf8(cursor.take(target_length).view());
  } else {
    link.kind = LinkKind::kExternal;
  }
  if (!cursor.ok()) return cursor.error();
  return link;
}

namespace {
Result<DenseStorageInfo> parse_dense_info(const FileReader& file, const Bytes& body, uint64_t address,
                                          std::string_view structure, size_t creation_index_width) {
  Cursor cursor(file, body, address, structure);
  uint8_t version = cursor.u8();
  if (cursor.ok() && version != 0) {
    return file.unsupported(structure, address, fmt::format("version {}", version));
  }
  uint8_t flags = cursor.u8();
  if (flags & 1) cursor.skip(creation_index_width);
  DenseStorageInfo info;
  info.heap_address = cursor.offset();
  info.name_index_address = cursor.offset();
  if (flags & 2) info.creation_order_index_address = cursor.offset();
  if (!cursor.ok()) return cursor.error();
  return info;
}
}  // namespace

Result<DenseStorageInfo> parse_link_info(const FileReader& file, const Bytes& body, uint64_t address) {
  return parse_dense_info(file, body, address, "link info message", 8);
}

Result<DenseStorageInfo> parse_attribute_info(const FileReader& file, const Bytes& body, uint64_t address) {
  return parse_dense_info(file, body, address, "attribute info message", 2);
}

Result<SymbolTableInfo> parse_symbol_table_message(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor cursor(file, body, address, "symbol table message");
  SymbolTableInfo info;
  info.btree_address = cursor.offset();
  info.local_heap_address = cursor.offset();
  if (!cursor.ok()) return cursor.error();
  return info;
}

namespace {

size_t vlen_element_size(const FileReader& file) { return 4 + file.offset_size + 4; }

uint64_t stored_element_size(const FileReader& file, const Datatype& type) {
  return type.type_class == TypeClass::kVariableLength ? vlen_element_size(file) : type.size;
}

GlobalHeapId read_heap_id(const FileReader& file, const std::byte* p) {
  GlobalHeapId id;
  uint64_t collection = load_unsigned(p, file.offset_size, false);
  uint64_t all_ones = file.offset_size >= 8 ? ~0ull : (1ull << (8 * file.offset_size)) - 1;
  id.collection = collection == all_ones ? kUndefinedAddress : collection;
  id.index = static_cast<uint32_t>(load_unsigned(p + file.offset_size, 4, false));
  return id;
}

void collect_heap_ids(const FileReader& file, const Datatype& type, const std::byte* p, uint64_t count,
                      std::vector<GlobalHeapId>& out) {
  uint64_t element = stored_element_size(file, type);
  for (uint64_t i = 0; i < count; ++i) {
    const std::byte* e = p + i * element;
    if (type.type_class == TypeClass::kVariableLength) {
      GlobalHeapId id = read_heap_id(file, e + 4);
      if (id.collection != kUndefinedAddress && id.collection != 0) out.push_back(id);
    } else if (type.type_class == TypeClass::kCompound) {
      for (size_t m = 0; m < type.members.size(); ++m) {
        const Datatype& member = type.member_types[m];
        if (type.members[m].offset + stored_element_size(file, member) <= type.size) {
          collect_heap_ids(file, member, e + type.members[m].offset, 1, out);
        }
      }
    } else if (type.type_class == TypeClass::kArray && !type.base.empty()) {
      uint64_t n = type.base[0].size ? type.size / stored_element_size(file, type.base[0]) : 0;
      collect_heap_ids(file, type.base[0], e, n, out);
    }
  }
}

Result<nlohmann::json> decode_one(const FileReader& file, const Datatype& type, const std::byte* p,
                                  uint64_t address, const GlobalHeapLookup& heap, int depth);

Result<nlohmann::json> decode_many(const FileReader& file, const Datatype& type, const std::byte* p, uint64_t count,
                                   uint64_t address, const GlobalHeapLookup& heap, int depth) {
  nlohmann::json out = nlohmann::json::array();
  uint64_t element = stored_element_size(file, type);
  for (uint64_t i = 0; i < count; ++i) {
    FLOE_ASSIGN_OR_RETURN(nlohmann::json value, decode_one(file, type, p + i * element, address, heap, depth));
    out.push_back(std::move(value));
  }
  return out;
}

Result<nlohmann::json> decode_one(const FileReader& file, const Datatype& type, const std::byte* p,
                                  uint64_t address, const GlobalHeapLookup& heap, int depth) {
  if (depth > kMaxDatatypeDepth) return file.corrupt("attribute value", address, "values nest too deeply");
  switch (type.type_class) {
    case TypeClass::kFixedPoint: {
      if (type.size == 0 || type.size > 8) break;
      uint64_t raw = load_unsigned(p, type.size, type.big_endian);
      if (type.is_signed) {
        if (type.size < 8 && (raw >> (type.size * 8 - 1)) & 1) raw |= ~0ull << (type.size * 8);
        return nlohmann::json(static_cast<int64_t>(raw));
      }
      return nlohmann::json(raw);
    }
    case TypeClass::kFloat: {
      uint64_t raw = load_unsigned(p, type.size, type.big_endian);
      if (type.size == 4) return float_json(std::bit_cast<float>(static_cast<uint32_t>(raw)));
      if (type.size == 8) return float_json(std::bit_cast<double>(raw));
      if (type.size == 2) return float_json(half_to_double(static_cast<uint16_t>(raw)));
      break;
    }
    case TypeClass::kString:
      return nlohmann::json(
          trim_string(std::string_view(reinterpret_cast<const char*>(p), type.size), type.string_padding));
    case TypeClass::kVariableLength: {
      uint32_t length = static_cast<uint32_t>(load_unsigned(p, 4, false));
      GlobalHeapId id = read_heap_id(file, p + 4);
      if (id.collection == kUndefinedAddress || id.collection == 0 || length == 0) {
        if (type.vlen_string) return nlohmann::json("");
        return nlohmann::json::array();
      }
      FLOE_ASSIGN_OR_RETURN(Bytes object, heap(id));
      if (type.vlen_string) {
        std::string_view text = object.view().substr(0, length);
        return nlohmann::json(trim_string(text, type.string_padding == 2 ? 2 : 0));
      }
      if (type.base.empty()) break;
      uint64_t base_size = stored_element_size(file, type.base[0]);
      if (base_size == 0 || length > object.size() / base_size) {
        return file.corrupt("variable-length value", address,
                            fmt::format("{} elements do not fit the {}-byte heap object", length, object.size()));
      }
      return decode_many(file, type.base[0], object.data(), length, address, heap, depth + 1);
    }
    case TypeClass::kReference:
      if (type.reference_type == 0 && type.version < 4 && type.size >= file.offset_size) {
        return nlohmann::json(load_unsigned(p, file.offset_size, false));
      }
      break;
    case TypeClass::kEnum: {
      if (type.base.empty()) break;
      FLOE_ASSIGN_OR_RETURN(nlohmann::json value, decode_one(file, type.base[0], p, address, heap, depth + 1));
      bool is_bool = type.enum_names.size() == 2 && type.enum_names[0] == "FALSE" && type.enum_names[1] == "TRUE";
      if (is_bool && value.is_number()) return nlohmann::json(value.get<int64_t>() != 0);
      return value;
    }
    case TypeClass::kCompound: {
      nlohmann::json object = nlohmann::json::object();
      for (size_t m = 0; m < type.members.size(); ++m) {
        const Datatype& member = type.member_types[m];
        if (type.members[m].offset + stored_element_size(file, member) > type.size) {
          return file.corrupt("compound value", address,
                              fmt::format("member \"{}\" lies outside the {}-byte element", type.members[m].name,
                                          type.size));
        }
        FLOE_ASSIGN_OR_RETURN(object[to_utf8(type.members[m].name)],
                              decode_one(file, member, p + type.members[m].offset, address, heap, depth + 1));
      }
      return object;
    }
    case TypeClass::kArray: {
      if (type.base.empty()) break;
      uint64_t base_size = stored_element_size(file, type.base[0]);
      uint64_t count = base_size ? type.size / base_size : 0;
      return decode_many(file, type.base[0], p, count, address, heap, depth + 1);
    }
    default:
      break;
  }
  return file.unsupported("attribute value", address,
                          fmt::format("cannot decode values of type {}", type.describe()));
}

}  // namespace

std::vector<GlobalHeapId> vlen_heap_ids(const FileReader& file, const Attribute& attribute) {
  std::vector<GlobalHeapId> ids;
  uint64_t count = attribute.dataspace.element_count();
  uint64_t element = stored_element_size(file, attribute.datatype);
  if (element == 0 || count > attribute.data.size() / element) return ids;
  collect_heap_ids(file, attribute.datatype, attribute.data.data(), count, ids);
  return ids;
}

Result<nlohmann::json> decode_elements(const FileReader& file, const Datatype& datatype, const Bytes& bytes,
                                       uint64_t address, uint64_t count, const GlobalHeapLookup& heap) {
  uint64_t element = stored_element_size(file, datatype);
  if (count > 0 && (element == 0 || count > bytes.size() / element)) {
    return file.corrupt("attribute value", address,
                        fmt::format("{} elements of {} bytes do not fit in {} bytes", count, element, bytes.size()));
  }
  return decode_many(file, datatype, bytes.data(), count, address, heap, 0);
}

Result<nlohmann::json> decode_attribute_value(const FileReader& file, const Attribute& attribute,
                                              const GlobalHeapLookup& heap) {
  if (attribute.dataspace.kind == DataspaceKind::kNull) return nlohmann::json();
  uint64_t count = attribute.dataspace.element_count();
  FLOE_ASSIGN_OR_RETURN(nlohmann::json values,
                        decode_elements(file, attribute.datatype, attribute.data, attribute.address, count, heap));
  if (count == 1 && attribute.dataspace.kind == DataspaceKind::kScalar) return values[0];
  if (count == 1) return values[0];
  return values;
}

}  // namespace floe::formats::hdf5
