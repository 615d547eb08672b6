// Icechunk's JSON-shaped values: FlexBuffers (spec 2), MessagePack (spec 1), config.yaml (spec 1).
#include "floe/icechunk/json_values.h"

#include <flatbuffers/flexbuffers.h>

#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace floe::icechunk {
namespace {

// Nesting bound for every reader here; Icechunk values nest a handful of levels deep.
constexpr int kMaxDepth = 64;

// ---------------------------------------------------------------------------------------------
// FlexBuffers
// ---------------------------------------------------------------------------------------------

// Shared sub-values (keys, strings, whole vectors) can be referenced many times, so a small buffer
// may expand to a huge tree; the budget bounds the nodes and string bytes we produce.
class FlexReader {
 public:
  explicit FlexReader(std::span<const std::uint8_t> buffer)
      : buffer_(buffer), budget_(buffer.size() * 64 + (1u << 16)) {}

  Result<Json> read(const flexbuffers::Reference& ref, int depth) {
    if (depth > kMaxDepth) {
      return make_error(ErrorCode::kCorrupt, "flexbuffer nests deeper than {} levels", kMaxDepth);
    }
    FLOE_RETURN_IF_ERROR(spend(1));
    switch (ref.GetType()) {
      case flexbuffers::FBT_NULL:
        return Json(nullptr);
      case flexbuffers::FBT_BOOL:
        return Json(ref.AsBool());
      case flexbuffers::FBT_INT:
      case flexbuffers::FBT_INDIRECT_INT:
        return Json(ref.AsInt64());
      case flexbuffers::FBT_UINT:
      case flexbuffers::FBT_INDIRECT_UINT:
        return Json(ref.AsUInt64());
      case flexbuffers::FBT_FLOAT:
      case flexbuffers::FBT_INDIRECT_FLOAT:
        return Json(ref.AsDouble());
      case flexbuffers::FBT_KEY: {
        FLOE_ASSIGN_OR_RETURN(std::string key, key_text(ref));
        return Json(std::move(key));
      }
      case flexbuffers::FBT_STRING: {
        flexbuffers::String text = ref.AsString();
        FLOE_RETURN_IF_ERROR(spend(text.length()));
        return Json(text.str());
      }
      case flexbuffers::FBT_BLOB: {
        flexbuffers::Blob blob = ref.AsBlob();
        FLOE_RETURN_IF_ERROR(spend(blob.size()));
        Json bytes = Json::array();
        for (std::size_t i = 0; i < blob.size(); ++i) bytes.push_back(blob.data()[i]);
        return bytes;
      }
      case flexbuffers::FBT_MAP: {
        flexbuffers::Map map = ref.AsMap();
        flexbuffers::TypedVector keys = map.Keys();
        flexbuffers::Vector values = map.Values();
        if (keys.size() != values.size()) {
          return make_error(ErrorCode::kCorrupt, "flexbuffer map has {} keys but {} values",
                            keys.size(), values.size());
        }
        Json object = Json::object();
        for (std::size_t i = 0; i < keys.size(); ++i) {
          flexbuffers::Reference key = keys[i];
          if (!key.IsKey()) {
            return make_error(ErrorCode::kCorrupt, "flexbuffer map key {} is not a key", i);
          }
          FLOE_ASSIGN_OR_RETURN(std::string name, key_text(key));
          FLOE_ASSIGN_OR_RETURN(Json value, read(values[i], depth + 1));
          object[name] = std::move(value);
        }
        return object;
      }
      case flexbuffers::FBT_VECTOR: {
        flexbuffers::Vector vector = ref.AsVector();
        return read_elements(vector, depth);
      }
      default:
        break;
    }
    if (ref.IsTypedVector()) return read_elements(ref.AsTypedVector(), depth);
    if (ref.IsFixedTypedVector()) return read_elements(ref.AsFixedTypedVector(), depth);
    return make_error(ErrorCode::kCorrupt, "flexbuffer value has unknown type {}",
                      static_cast<int>(ref.GetType()));
  }

 private:
  // The 2.0.8 verifier's key check stops at the first non-NUL byte instead of the terminator, so
  // keys are bounded here.
  Result<std::string> key_text(const flexbuffers::Reference& key) {
    const auto* start = reinterpret_cast<const std::uint8_t*>(key.AsKey());
    const std::uint8_t* end = buffer_.data() + buffer_.size();
    if (start < buffer_.data() || start >= end) {
      return make_error(ErrorCode::kCorrupt, "flexbuffer key points outside the buffer");
    }
    const void* terminator = std::memchr(start, 0, static_cast<std::size_t>(end - start));
    if (!terminator) {
      return make_error(ErrorCode::kCorrupt, "flexbuffer key at offset {} has no terminating NUL",
                        start - buffer_.data());
    }
    auto length = static_cast<std::size_t>(static_cast<const std::uint8_t*>(terminator) - start);
    FLOE_RETURN_IF_ERROR(spend(length));
    return std::string(reinterpret_cast<const char*>(start), length);
  }

  template <typename Vector>
  Result<Json> read_elements(const Vector& vector, int depth) {
    Json array = Json::array();
    for (std::size_t i = 0; i < vector.size(); ++i) {
      FLOE_ASSIGN_OR_RETURN(Json element, read(vector[i], depth + 1));
      array.push_back(std::move(element));
    }
    return array;
  }

  Status spend(std::size_t amount) {
    if (amount > budget_) {
      return make_error(ErrorCode::kCorrupt,
                        "flexbuffer expands to far more values than its size allows "
                        "(shared references in a loop-like pattern?)");
    }
    budget_ -= amount;
    return ok_status();
  }

  std::span<const std::uint8_t> buffer_;
  std::size_t budget_;
};

void write_flex(flexbuffers::Builder& builder, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      // nlohmann objects iterate in key order, which is the order FlexBuffers maps require.
      // Keys are stored NUL-terminated, so a key with an embedded NUL is truncated there.
      std::size_t start = builder.StartMap();
      for (const auto& [key, element] : value.items()) {
        builder.Key(key.c_str());
        write_flex(builder, element);
      }
      builder.EndMap(start);
      return;
    }
    case Json::value_t::array: {
      std::size_t start = builder.StartVector();
      for (const Json& element : value) write_flex(builder, element);
      builder.EndVector(start, false, false);
      return;
    }
    case Json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      builder.String(text.data(), text.size());
      return;
    }
    case Json::value_t::boolean:
      builder.Bool(value.get<bool>());
      return;
    case Json::value_t::number_integer: {
      // Rust's flexbuffers serde output for serde_json numbers: u64 when non-negative, i64
      // otherwise.
      std::int64_t number = value.get<std::int64_t>();
      if (number < 0) {
        builder.Int(number);
      } else {
        builder.UInt(static_cast<std::uint64_t>(number));
      }
      return;
    }
    case Json::value_t::number_unsigned:
      builder.UInt(value.get<std::uint64_t>());
      return;
    case Json::value_t::number_float:
      builder.Double(value.get<double>());
      return;
    case Json::value_t::binary: {
      const auto& bytes = value.get_binary();
      builder.Blob(bytes.data(), bytes.size());
      return;
    }
    case Json::value_t::null:
    case Json::value_t::discarded:
      builder.Null();
      return;
  }
}

// A JSON object key for a map key that is not a string: scalars become their JSON text. Containers
// are refused, since stringifying nested container keys grows exponentially with depth.
std::optional<std::string> scalar_key_text(const Json& key) {
  if (key.is_string()) return key.get<std::string>();
  if (key.is_structured() || key.is_binary()) return std::nullopt;
  return key.dump();
}

// ---------------------------------------------------------------------------------------------
// MessagePack
// ---------------------------------------------------------------------------------------------

class MsgpackReader {
 public:
  explicit MsgpackReader(std::span<const std::uint8_t> input) : input_(input) {}

  Result<Json> read_document() {
    FLOE_ASSIGN_OR_RETURN(Json value, read(0));
    if (offset_ != input_.size()) {
      return make_error(ErrorCode::kCorrupt,
                        "msgpack has {} trailing bytes after the value at offset {}",
                        input_.size() - offset_, offset_);
    }
    return value;
  }

 private:
  std::size_t remaining() const { return input_.size() - offset_; }

  Status need(std::size_t count, std::size_t at, std::string_view what) const {
    if (count > remaining()) {
      return make_error(ErrorCode::kCorrupt,
                        "msgpack {} at offset {} needs {} bytes but only {} remain", what, at,
                        count, remaining());
    }
    return ok_status();
  }

  // Big-endian unsigned integer of `width` bytes; the caller has checked the bounds.
  std::uint64_t take_uint(std::size_t width) {
    std::uint64_t result = 0;
    for (std::size_t i = 0; i < width; ++i) result = (result << 8) | input_[offset_ + i];
    offset_ += width;
    return result;
  }

  Result<std::uint64_t> read_uint(std::size_t width, std::size_t at, std::string_view what) {
    FLOE_RETURN_IF_ERROR(need(width, at, what));
    return take_uint(width);
  }

  static std::int64_t sign_extend(std::uint64_t raw, std::size_t width) {
    if (width == 8) return static_cast<std::int64_t>(raw);
    std::uint64_t sign_bit = std::uint64_t{1} << (width * 8 - 1);
    return static_cast<std::int64_t>(raw ^ sign_bit) - static_cast<std::int64_t>(sign_bit);
  }

  Result<std::string> read_string(std::size_t length, std::size_t at) {
    FLOE_RETURN_IF_ERROR(need(length, at, "string"));
    std::string text(reinterpret_cast<const char*>(input_.data() + offset_), length);
    offset_ += length;
    return text;
  }

  Result<Json> read_binary(std::size_t length, std::size_t at) {
    FLOE_RETURN_IF_ERROR(need(length, at, "bin"));
    Json bytes = Json::array();
    for (std::size_t i = 0; i < length; ++i) bytes.push_back(input_[offset_ + i]);
    offset_ += length;
    return bytes;
  }

  Result<Json> read_array(std::uint64_t count, std::size_t at, int depth) {
    // Every element takes at least one byte, so a count beyond the remaining bytes is a lie.
    FLOE_RETURN_IF_ERROR(need(count, at, "array"));
    Json array = Json::array();
    for (std::uint64_t i = 0; i < count; ++i) {
      FLOE_ASSIGN_OR_RETURN(Json element, read(depth + 1));
      array.push_back(std::move(element));
    }
    return array;
  }

  Result<Json> read_map(std::uint64_t count, std::size_t at, int depth) {
    if (count > remaining() / 2) {
      return make_error(ErrorCode::kCorrupt,
                        "msgpack map at offset {} declares {} entries but only {} bytes remain", at,
                        count, remaining());
    }
    Json object = Json::object();
    for (std::uint64_t i = 0; i < count; ++i) {
      std::size_t key_offset = offset_;
      FLOE_ASSIGN_OR_RETURN(Json key, read(depth + 1));
      std::optional<std::string> name_or_none = scalar_key_text(key);
      if (!name_or_none) {
        return make_error(ErrorCode::kUnsupported,
                          "msgpack map at offset {} has an array, map or bin key at offset {}", at,
                          key_offset);
      }
      std::string name = std::move(*name_or_none);
      FLOE_ASSIGN_OR_RETURN(Json value, read(depth + 1));
      if (object.contains(name)) {
        return make_error(ErrorCode::kCorrupt,
                          "msgpack map at offset {} repeats key {:?} at offset {}", at, name,
                          key_offset);
      }
      object[name] = std::move(value);
    }
    return object;
  }

  Result<Json> read(int depth) {
    std::size_t at = offset_;
    if (depth > kMaxDepth) {
      return make_error(ErrorCode::kCorrupt, "msgpack nests deeper than {} levels at offset {}",
                        kMaxDepth, at);
    }
    FLOE_RETURN_IF_ERROR(need(1, at, "value"));
    std::uint8_t tag = input_[offset_++];
    if (tag <= 0x7f) return Json(static_cast<std::uint64_t>(tag));
    if (tag >= 0xe0) return Json(static_cast<std::int64_t>(static_cast<std::int8_t>(tag)));
    if ((tag & 0xf0) == 0x80) return read_map(tag & 0x0f, at, depth);
    if ((tag & 0xf0) == 0x90) return read_array(tag & 0x0f, at, depth);
    if ((tag & 0xe0) == 0xa0) {
      FLOE_ASSIGN_OR_RETURN(std::string text, read_string(tag & 0x1f, at));
      return Json(std::move(text));
    }
    switch (tag) {
      case 0xc0:
        return Json(nullptr);
      case 0xc2:
        return Json(false);
      case 0xc3:
        return Json(true);
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t length,
                              read_uint(std::size_t{1} << (tag - 0xc4), at, "bin length"));
        return read_binary(length, at);
      }
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return make_error(ErrorCode::kUnsupported,
                          "msgpack extension type (0x{:02x}) at offset {} is not supported", tag,
                          at);
      case 0xca: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t raw, read_uint(4, at, "float32"));
        auto bits = static_cast<std::uint32_t>(raw);
        float number;
        std::memcpy(&number, &bits, sizeof number);
        return Json(static_cast<double>(number));
      }
      case 0xcb: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t bits, read_uint(8, at, "float64"));
        double number;
        std::memcpy(&number, &bits, sizeof number);
        return Json(number);
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t number,
                              read_uint(std::size_t{1} << (tag - 0xcc), at, "uint"));
        return Json(number);
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        std::size_t width = std::size_t{1} << (tag - 0xd0);
        FLOE_ASSIGN_OR_RETURN(std::uint64_t raw, read_uint(width, at, "int"));
        return Json(sign_extend(raw, width));
      }
      case 0xd9:
      case 0xda:
      case 0xdb: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t length,
                              read_uint(std::size_t{1} << (tag - 0xd9), at, "str length"));
        FLOE_ASSIGN_OR_RETURN(std::string text, read_string(length, at));
        return Json(std::move(text));
      }
      case 0xdc:
      case 0xdd: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t count,
                              read_uint(tag == 0xdc ? 2 : 4, at, "array length"));
        return read_array(count, at, depth);
      }
      case 0xde:
      case 0xdf: {
        FLOE_ASSIGN_OR_RETURN(std::uint64_t count,
                              read_uint(tag == 0xde ? 2 : 4, at, "map length"));
        return read_map(count, at, depth);
      }
      default:
        break;
    }
    return make_error(ErrorCode::kCorrupt, "msgpack byte 0x{:02x} at offset {} is not a valid type",
                      tag, at);
  }

  std::span<const std::uint8_t> input_;
  std::size_t offset_ = 0;
};

// ---------------------------------------------------------------------------------------------
// YAML (the subset serde_yaml writes for Icechunk 1.x config.yaml)
// ---------------------------------------------------------------------------------------------

struct YamlLine {
  int indent = 0;         // column of the first character of `text`
  std::string_view text;  // without indentation, trailing spaces or full-line comments
  int number = 0;         // 1-based line number in the file
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// YAML 1.2 core schema resolution of a plain scalar, which is what serde_yaml uses.
Json resolve_plain_scalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  std::string_view unsigned_part = text;
  bool negative = false;
  if (unsigned_part.front() == '-' || unsigned_part.front() == '+') {
    negative = unsigned_part.front() == '-';
    unsigned_part.remove_prefix(1);
  }
  if (is_digits(unsigned_part)) {
    if (negative) {
      std::int64_t number = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (error == std::errc() && end == text.data() + text.size()) return number;
    } else {
      std::uint64_t number = 0;
      auto [end, error] = std::from_chars(unsigned_part.data(),
                                          unsigned_part.data() + unsigned_part.size(), number);
      if (error == std::errc() && end == unsigned_part.data() + unsigned_part.size()) return number;
    }
    // Out of 64-bit range: fall through to a float.
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    std::string_view digits = text.substr(2);
    std::uint64_t number = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number,
                                        text[1] == 'x' ? 16 : 8);
    if (error == std::errc() && end == digits.data() + digits.size()) return number;
  }
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN")
    return std::numeric_limits<double>::quiet_NaN();
  // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  {
    std::string_view rest = unsigned_part;
    std::size_t i = 0;
    std::size_t mantissa_digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i, ++mantissa_digits;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i, ++mantissa_digits;
    }
    bool valid = mantissa_digits > 0;
    if (valid && i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
      ++i;
      if (i < rest.size() && (rest[i] == '-' || rest[i] == '+')) ++i;
      valid = is_digits(rest.substr(i));
      i = rest.size();
    }
    if (valid && i == rest.size()) {
      std::string_view digits = text[0] == '+' ? text.substr(1) : text;
      double number = 0;
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
      if (end == digits.data() + digits.size() &&
          (error == std::errc() || error == std::errc::result_out_of_range)) {
        return number;
      }
    }
  }
  return std::string(text);
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  }
}

class YamlParser {
 public:
  explicit YamlParser(std::string_view text) : text_(text) {}

  Result<Json> parse_document() {
    FLOE_RETURN_IF_ERROR(split_lines());
    if (lines_.empty()) return Json::object();
    FLOE_ASSIGN_OR_RETURN(Json root, parse_block(-1, false, 0));
    if (pos_ < lines_.size()) {
      return unsupported(lines_[pos_].number, "content after the top-level value ends");
    }
    if (!root.is_object()) {
      return make_error(ErrorCode::kCorrupt, "config.yaml: the top level is not a mapping");
    }
    return root;
  }

 private:
  static Error unsupported(int line, std::string_view what) {
    return make_error(ErrorCode::kUnsupported, "config.yaml line {}: {}", line, what);
  }
  static Error corrupt(int line, std::string_view what) {
    return make_error(ErrorCode::kCorrupt, "config.yaml line {}: {}", line, what);
  }

  Status split_lines() {
    int number = 0;
    std::size_t start = 0;
    while (start <= text_.size()) {
      std::size_t end = text_.find('\n', start);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view raw = text_.substr(start, end - start);
      start = end + 1;
      ++number;
      std::size_t indent = 0;
      while (indent < raw.size() && raw[indent] == ' ') ++indent;
      std::string_view body = trim(raw.substr(indent));
      if (body.empty() || body.front() == '#') continue;
      if (indent < raw.size() && raw[indent] == '\t') {
        return unsupported(number, "tab in indentation");
      }
      if (indent > 10000) return unsupported(number, "indentation too deep");
      if (indent == 0 && body == "---" && lines_.empty()) continue;
      if (indent == 0 && (body == "..." || body.starts_with("--- ") || body == "---")) {
        return unsupported(number, "more than one YAML document");
      }
      if (indent == 0 && body.front() == '%') return unsupported(number, "YAML directive");
      lines_.push_back({static_cast<int>(indent), body, number});
    }
    return ok_status();
  }

  static bool is_sequence_entry(std::string_view text) {
    return text == "-" || text.starts_with("- ");
  }

  // Position of the ':' that ends a mapping key on this line, if the line starts a mapping entry.
  static Result<std::optional<std::size_t>> find_key_colon(const YamlLine& line) {
    std::string_view text = line.text;
    std::size_t i = 0;
    if (text.front() == '"' || text.front() == '\'') {
      char quote = text.front();
      for (i = 1; i < text.size(); ++i) {
        if (quote == '"' && text[i] == '\\') {
          ++i;
        } else if (text[i] == quote) {
          if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      if (i >= text.size()) return corrupt(line.number, "unterminated quoted string");
      ++i;
      std::size_t after = i;
      while (after < text.size() && text[after] == ' ') ++after;
      if (after < text.size() && text[after] == ':' &&
          (after + 1 == text.size() || text[after + 1] == ' ')) {
        return std::optional<std::size_t>(after);
      }
      return std::optional<std::size_t>();
    }
    if (text.front() == '[' || text.front() == '{' || text.front() == '!' || text.front() == '&' ||
        text.front() == '*' || text.front() == '|' || text.front() == '>') {
      return std::optional<std::size_t>();
    }
    if (text.front() == '?') return unsupported(line.number, "complex mapping key");
    for (i = 0; i < text.size(); ++i) {
      if (text[i] == ':' && (i + 1 == text.size() || text[i + 1] == ' ')) {
        return std::optional<std::size_t>(i);
      }
      if (text[i] == '#' && i > 0 && text[i - 1] == ' ') break;
    }
    return std::optional<std::size_t>();
  }

  // A block node whose lines are indented more than `parent_indent`; a sequence may sit at
  // `parent_indent` itself when it is a mapping value (`key:\n- item`).
  Result<Json> parse_block(int parent_indent, bool sequence_at_parent, int depth) {
    if (depth > kMaxDepth) {
      return unsupported(pos_ < lines_.size() ? lines_[pos_].number : 0, "nesting too deep");
    }
    if (pos_ >= lines_.size()) return Json(nullptr);
    const YamlLine& line = lines_[pos_];
    bool sequence = is_sequence_entry(line.text);
    if (line.indent < parent_indent ||
        (line.indent == parent_indent && !(sequence && sequence_at_parent))) {
      return Json(nullptr);
    }
    if (sequence) return parse_sequence(line.indent, depth);
    FLOE_ASSIGN_OR_RETURN(std::optional<std::size_t> colon, find_key_colon(line));
    if (colon) return parse_mapping(line.indent, depth);
    // A lone scalar, tag or flow collection on its own line.
    ++pos_;
    return parse_inline(line.text, line.number, parent_indent, false, depth);
  }

  Result<Json> parse_sequence(int indent, int depth) {
    Json array = Json::array();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent &&
           is_sequence_entry(lines_[pos_].text)) {
      YamlLine& line = lines_[pos_];
      std::string_view rest = line.text.substr(1);
      std::size_t skipped = 1;
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1), ++skipped;
      if (rest.empty() || rest.front() == '#') {
        ++pos_;
        FLOE_ASSIGN_OR_RETURN(Json item, parse_block(indent, false, depth + 1));
        array.push_back(std::move(item));
        continue;
      }
      // `- rest`: the item starts at the column of `rest`, so re-read this line from there.
      line.indent += static_cast<int>(skipped);
      line.text = rest;
      FLOE_ASSIGN_OR_RETURN(Json item, parse_block(indent, false, depth + 1));
      array.push_back(std::move(item));
    }
    if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
      return unsupported(lines_[pos_].number, "unexpected indentation after a sequence item");
    }
    return array;
  }

  Result<Json> parse_mapping(int indent, int depth) {
    Json object = Json::object();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent) {
      const YamlLine line = lines_[pos_];
      if (is_sequence_entry(line.text)) {
        return unsupported(line.number, "sequence item where a mapping key was expected");
      }
      FLOE_ASSIGN_OR_RETURN(std::optional<std::size_t> colon, find_key_colon(line));
      if (!colon) return unsupported(line.number, "expected `key: value`");
      std::string_view key_text = trim(line.text.substr(0, *colon));
      std::string key;
      if (!key_text.empty() && (key_text.front() == '"' || key_text.front() == '\'')) {
        FLOE_ASSIGN_OR_RETURN(key, parse_quoted(key_text, line.number, nullptr));
      } else {
        key = std::string(key_text);
      }
      if (object.contains(key)) return corrupt(line.number, fmt::format("duplicate key {:?}", key));
      ++pos_;
      std::string_view rest = trim(line.text.substr(*colon + 1));
      FLOE_ASSIGN_OR_RETURN(Json value, parse_inline(rest, line.number, indent, true, depth + 1));
      object[key] = std::move(value);
    }
    if (pos_ < lines_.size() && lines_[pos_].indent > indent) {
      return unsupported(lines_[pos_].number,
                         "unexpected indentation (multi-line scalars are not supported)");
    }
    return object;
  }

  // The value text after `key:` (or a whole line): empty means the value is the following block.
  Result<Json> parse_inline(std::string_view text, int line, int parent_indent,
                            bool sequence_at_parent, int depth) {
    if (depth > kMaxDepth) return unsupported(line, "nesting too deep");
    if (text.empty() || text.front() == '#')
      return parse_block(parent_indent, sequence_at_parent, depth);
    char first = text.front();
    if (first == '!') {
      // serde_yaml writes externally tagged enum variants as `!variant value`.
      std::size_t end = text.find(' ');
      std::string tag(
          text.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
      if (tag.empty() || tag.front() == '<' || tag.front() == '!') {
        return unsupported(line, "verbatim or secondary tag handle");
      }
      std::string_view rest =
          end == std::string_view::npos ? std::string_view() : trim(text.substr(end));
      FLOE_ASSIGN_OR_RETURN(Json inner,
                            parse_inline(rest, line, parent_indent, sequence_at_parent, depth + 1));
      Json tagged = Json::object();
      tagged[tag] = std::move(inner);
      return tagged;
    }
    if (first == '&' || first == '*') return unsupported(line, "anchors and aliases");
    if (first == '|' || first == '>') return unsupported(line, "block scalars");
    if (first == '@' || first == '`' || first == '%')
      return unsupported(line, "reserved indicator");
    if (first == '{' || first == '[') {
      std::size_t position = 0;
      FLOE_ASSIGN_OR_RETURN(Json value, parse_flow(text, position, line, depth + 1));
      FLOE_RETURN_IF_ERROR(expect_line_end(text.substr(position), line));
      return value;
    }
    if (first == '"' || first == '\'') {
      std::size_t consumed = 0;
      FLOE_ASSIGN_OR_RETURN(std::string value, parse_quoted(text, line, &consumed));
      FLOE_RETURN_IF_ERROR(expect_line_end(text.substr(consumed), line));
      return Json(std::move(value));
    }
    if (is_sequence_entry(text))
      return unsupported(line, "sequence item after a mapping key on the same line");
    std::size_t comment = text.find(" #");
    std::string_view plain = trim(text.substr(0, comment));
    if (plain.find(": ") != std::string_view::npos || plain.ends_with(":")) {
      return unsupported(line, "nested mapping on the same line");
    }
    return resolve_plain_scalar(plain);
  }

  static Status expect_line_end(std::string_view rest, int line) {
    rest = trim(rest);
    if (rest.empty() || rest.front() == '#') return ok_status();
    return unsupported(line, "unexpected text after a value");
  }

  // A single- or double-quoted scalar at the start of `text`; multi-line quoted scalars are not
  // supported. With `consumed` null the whole of `text` must be the scalar.
  static Result<std::string> parse_quoted(std::string_view text, int line, std::size_t* consumed) {
    char quote = text.front();
    std::string out;
    std::size_t i = 1;
    for (;; ++i) {
      if (i >= text.size()) return unsupported(line, "quoted string does not end on its line");
      char c = text[i];
      if (c == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          out += '\'';
          ++i;
          continue;
        }
        break;
      }
      if (quote == '"' && c == '\\') {
        if (++i >= text.size()) return corrupt(line, "escape at the end of a line");
        char escape = text[i];
        int hex_digits = 0;
        switch (escape) {
          case '0':
            out += '\0';
            break;
          case 'a':
            out += '\a';
            break;
          case 'b':
            out += '\b';
            break;
          case 't':
          case '\t':
            out += '\t';
            break;
          case 'n':
            out += '\n';
            break;
          case 'v':
            out += '\v';
            break;
          case 'f':
            out += '\f';
            break;
          case 'r':
            out += '\r';
            break;
          case 'e':
            out += '\x1b';
            break;
          case ' ':
            out += ' ';
            break;
          case '"':
            out += '"';
            break;
          case '/':
            out += '/';
            break;
          case '\\':
            out += '\\';
            break;
          case 'N':
            append_utf8(out, 0x85);
            break;
          case '_':
            append_utf8(out, 0xa0);
            break;
          case 'L':
            append_utf8(out, 0x2028);
            break;
          case 'P':
            append_utf8(out, 0x2029);
            break;
          case 'x':
            hex_digits = 2;
            break;
          case 'u':
            hex_digits = 4;
            break;
          case 'U':
            hex_digits = 8;
            break;
          default:
            return corrupt(line, fmt::format("unknown escape \\{}", escape));
        }
        if (hex_digits > 0) {
          if (text.size() - i - 1 < static_cast<std::size_t>(hex_digits)) {
            return corrupt(line, "truncated \\x/\\u/\\U escape");
          }
          std::uint32_t code_point = 0;
          std::string_view digits = text.substr(i + 1, static_cast<std::size_t>(hex_digits));
          auto [end, error] =
              std::from_chars(digits.data(), digits.data() + digits.size(), code_point, 16);
          if (error != std::errc() || end != digits.data() + digits.size() ||
              code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
            return corrupt(line, "invalid \\x/\\u/\\U escape");
          }
          append_utf8(out, code_point);
          i += static_cast<std::size_t>(hex_digits);
        }
        continue;
      }
      out += c;
    }
    ++i;  // past the closing quote
    if (consumed) {
      *consumed = i;
    } else if (!trim(text.substr(i)).empty()) {
      return unsupported(line, "unexpected text after a quoted key");
    }
    return out;
  }

  // Flow collections on one line: `{}`, `[]`, `{a: 1, b: [x, 'y']}`.
  static Result<Json> parse_flow(std::string_view text, std::size_t& position, int line,
                                 int depth) {
    if (depth > kMaxDepth) return unsupported(line, "nesting too deep");
    auto skip_spaces = [&] {
      while (position < text.size() && text[position] == ' ') ++position;
    };
    char open = text[position++];
    char close = open == '{' ? '}' : ']';
    Json result = open == '{' ? Json::object() : Json::array();
    skip_spaces();
    if (position < text.size() && text[position] == close) {
      ++position;
      return result;
    }
    for (;;) {
      skip_spaces();
      if (position >= text.size())
        return unsupported(line, "flow collection does not end on its line");
      FLOE_ASSIGN_OR_RETURN(Json first,
                            parse_flow_scalar(text, position, line, depth, open == '{'));
      skip_spaces();
      if (open == '{') {
        if (position >= text.size() || text[position] != ':') {
          return unsupported(line, "flow mapping entry without `: value`");
        }
        ++position;
        skip_spaces();
        std::optional<std::string> key_or_none = scalar_key_text(first);
        if (!key_or_none) return unsupported(line, "flow collection used as a mapping key");
        std::string key = std::move(*key_or_none);
        Json value(nullptr);
        if (position < text.size() && text[position] != ',' && text[position] != '}') {
          FLOE_ASSIGN_OR_RETURN(value, parse_flow_scalar(text, position, line, depth, false));
        }
        if (result.contains(key)) return corrupt(line, fmt::format("duplicate key {:?}", key));
        result[key] = std::move(value);
      } else {
        result.push_back(std::move(first));
      }
      skip_spaces();
      if (position >= text.size())
        return unsupported(line, "flow collection does not end on its line");
      if (text[position] == close) {
        ++position;
        return result;
      }
      if (text[position] != ',') return unsupported(line, "expected `,` in a flow collection");
      ++position;
    }
  }

  static Result<Json> parse_flow_scalar(std::string_view text, std::size_t& position, int line,
                                        int depth, bool is_key) {
    char first = text[position];
    if (first == '{' || first == '[') return parse_flow(text, position, line, depth + 1);
    if (first == '"' || first == '\'') {
      std::size_t consumed = 0;
      FLOE_ASSIGN_OR_RETURN(std::string value,
                            parse_quoted(text.substr(position), line, &consumed));
      position += consumed;
      return Json(std::move(value));
    }
    if (first == '!' || first == '&' || first == '*' || first == '|' || first == '>' ||
        first == '?') {
      return unsupported(line, "tags, anchors and complex keys inside flow collections");
    }
    std::size_t start = position;
    while (position < text.size()) {
      char c = text[position];
      if (c == ',' || c == ']' || c == '}' || c == '[' || c == '{') break;
      if (c == ':' && is_key &&
          (position + 1 == text.size() || text[position + 1] == ' ' || text[position + 1] == ',')) {
        break;
      }
      if (c == '#' && position > start && text[position - 1] == ' ') {
        return unsupported(line, "comment inside a flow collection");
      }
      ++position;
    }
    return resolve_plain_scalar(trim(text.substr(start, position - start)));
  }

  std::string_view text_;
  std::vector<YamlLine> lines_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Json> flexbuffer_to_json(std::span<const std::uint8_t> buffer) {
  if (buffer.size() < 3) {
    return make_error(ErrorCode::kCorrupt, "flexbuffer of {} bytes is too short (at least 3)",
                      buffer.size());
  }
  if (buffer.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return make_error(ErrorCode::kCorrupt,
                      "flexbuffer of {} bytes is larger than the format allows", buffer.size());
  }
  if (!flexbuffers::VerifyBuffer(buffer.data(), buffer.size())) {
    return make_error(
        ErrorCode::kCorrupt,
        "flexbuffer of {} bytes fails verification (offsets, widths or types out of range)",
        buffer.size());
  }
  FlexReader reader(buffer);
  return reader.read(flexbuffers::GetRoot(buffer.data(), buffer.size()), 0);
}

std::vector<std::uint8_t> json_to_flexbuffer(const Json& value) {
  flexbuffers::Builder builder;
  write_flex(builder, value);
  builder.Finish();
  return builder.GetBuffer();
}

Result<Json> msgpack_to_json(std::span<const std::uint8_t> buffer) {
  MsgpackReader reader(buffer);
  return reader.read_document();
}

Result<Json> parse_spec1_config_yaml(std::string_view text) {
  YamlParser parser(text);
  return parser.parse_document();
}

}  // namespace floe::icechunk
