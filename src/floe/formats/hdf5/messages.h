// Object header messages that describe objects: dataspace, datatype, fill value, attribute, link, link info,
// attribute info and symbol table; and decoding of attribute values into JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

inline constexpr uint64_t kUnlimitedDimension = ~0ull;

enum class DataspaceKind { kScalar, kSimple, kNull };

struct Dataspace {
  DataspaceKind kind = DataspaceKind::kScalar;
  std::vector<uint64_t> dims;
  std::vector<uint64_t> max_dims;  // same rank; kUnlimitedDimension for unlimited
  // Elements described (1 for scalar, 0 for null); saturates at UINT64_MAX.
  uint64_t element_count() const;
};

enum class TypeClass : uint8_t {
  kFixedPoint = 0,
  kFloat = 1,
  kTime = 2,
  kString = 3,
  kBitfield = 4,
  kOpaque = 5,
  kCompound = 6,
  kReference = 7,
  kEnum = 8,
  kVariableLength = 9,
  kArray = 10,
};

struct Datatype {
  TypeClass type_class = TypeClass::kFixedPoint;
  int version = 1;
  uint32_t size = 0;
  uint32_t class_bits = 0;
  bool big_endian = false;
  bool is_signed = false;      // fixed-point
  uint16_t bit_offset = 0;
  uint16_t precision = 0;
  uint8_t string_padding = 0;  // string / vlen string: 0 null-terminated, 1 null-padded, 2 space-padded
  uint8_t charset = 0;         // 0 ASCII, 1 UTF-8
  bool vlen_string = false;    // variable-length: string (true) or sequence (false)
  uint8_t reference_type = 0;  // 0 object, 1 dataset region
  struct Member {
    std::string name;
    uint64_t offset = 0;
  };
  std::vector<Member> members;             // compound members (types in `member_types`)
  std::vector<Datatype> member_types;
  std::vector<std::string> enum_names;     // enum names; values as bytes of the base type
  std::vector<Bytes> enum_values;
  std::vector<Datatype> base;              // enum, variable-length and array base type (one entry)
  std::vector<uint64_t> array_dims;
  std::string opaque_tag;
  // Set when the message is a reference to a committed datatype (shared message): the object header address.
  uint64_t committed_address = kUndefinedAddress;

  std::string describe() const;  // "32-bit little-endian float", for messages
};

struct FillValue {
  bool defined = false;        // a value is stored (otherwise the library default: zeros)
  bool undefined = false;      // explicitly undefined (v3 flag / v1-2 "defined" = 0 with no value)
  Bytes value;
};

struct Attribute {
  std::string name;
  Datatype datatype;
  Dataspace dataspace;
  Bytes data;
  uint64_t address = 0;        // of the message body
  uint32_t creation_order = 0;
};

enum class LinkKind { kHard, kSoft, kExternal };

struct Link {
  std::string name;
  LinkKind kind = LinkKind::kHard;
  uint64_t address = kUndefinedAddress;  // hard links
  std::string soft_target;               // soft links: the path they name
  std::optional<uint64_t> creation_order;
};

// Where dense links or dense attributes are stored (Link Info / Attribute Info messages).
struct DenseStorageInfo {
  uint64_t heap_address = kUndefinedAddress;
  uint64_t name_index_address = kUndefinedAddress;
  uint64_t creation_order_index_address = kUndefinedAddress;
};

struct SymbolTableInfo {
  uint64_t btree_address = kUndefinedAddress;
  uint64_t local_heap_address = kUndefinedAddress;
};

Result<Dataspace> parse_dataspace(const FileReader& file, const Bytes& body, uint64_t address);
// Parses a datatype; `consumed` (if given) receives the bytes used (datatypes nest inside attributes).
Result<Datatype> parse_datatype(const FileReader& file, const Bytes& body, uint64_t address,
                                size_t* consumed = nullptr);
// A shared-message body (flag bit 1) that refers to a committed datatype: its object header address.
// Shared messages kept in the shared-message heap (SOHM) are kUnsupported.
Result<uint64_t> parse_shared_message_address(const FileReader& file, const Bytes& body, uint64_t address);
Result<FillValue> parse_fill_value(const FileReader& file, const Bytes& body, uint64_t address, bool old_style);
Result<Attribute> parse_attribute(const FileReader& file, const Bytes& body, uint64_t address);
Result<Link> parse_link(const FileReader& file, const Bytes& body, uint64_t address);
Result<DenseStorageInfo> parse_link_info(const FileReader& file, const Bytes& body, uint64_t address);
Result<DenseStorageInfo> parse_attribute_info(const FileReader& file, const Bytes& body, uint64_t address);
Result<SymbolTableInfo> parse_symbol_table_message(const FileReader& file, const Bytes& body, uint64_t address);

// A global heap object identifier (collection address + object index) as stored in vlen data and references.
struct GlobalHeapId {
  uint64_t collection = kUndefinedAddress;
  uint32_t index = 0;
};

// Global heap ids of variable-length elements (vlen strings/sequences) of an attribute's data.
std::vector<GlobalHeapId> vlen_heap_ids(const FileReader& file, const Attribute& attribute);

// Looks a global heap object up (after the collections were loaded); kCorrupt when absent.
using GlobalHeapLookup = std::function<Result<Bytes>(const GlobalHeapId&)>;

// Decodes an attribute's value: one element -> a scalar, otherwise a (nested for rank > 1: flat) JSON array.
// Numbers as numbers (NaN/Infinity as strings), strings as strings (fixed ones trimmed per their padding),
// object references as addresses, compounds as objects, enums as their integer values.
Result<nlohmann::json> decode_attribute_value(const FileReader& file, const Attribute& attribute,
                                              const GlobalHeapLookup& heap);

// Decodes `count` elements of `datatype` from `bytes` into a JSON array.
Result<nlohmann::json> decode_elements(const FileReader& file, const Datatype& datatype, const Bytes& bytes,
                                       uint64_t address, uint64_t count, const GlobalHeapLookup& heap);

}  // namespace floe::formats::hdf5
