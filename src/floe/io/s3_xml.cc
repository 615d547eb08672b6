// Parsing of the XML subset S3 servers send, and building of CompleteMultipartUpload bodies.
#include "floe/io/s3_xml.h"

#include <charconv>

#include "floe/io/http_exchange.h"

namespace floe::io {
namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxNodes = 2'000'000;

class XmlParser {
 public:
  explicit XmlParser(std::string_view text) : text_(text) {}

  Result<XmlNode> parse_document() {
    FLOE_RETURN_IF_ERROR(skip_misc());
    if (at_end() || peek() != '<') return fail("expected a root element");
    XmlNode root;
    FLOE_RETURN_IF_ERROR(parse_element(root, 0));
    FLOE_RETURN_IF_ERROR(skip_misc());
    if (!at_end()) return fail("content after the root element");
    return root;
  }

 private:
  bool at_end() const { return position_ >= text_.size(); }
  char peek() const { return text_[position_]; }
  bool starts_with(std::string_view token) const { return text_.substr(position_).starts_with(token); }

  Error fail(std::string_view what) const {
    return make_error(ErrorCode::kCorrupt, "malformed XML at byte {}: {}", position_, what);
  }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n')) {
      ++position_;
    }
  }

  Status skip_past(std::string_view terminator) {
    size_t found = text_.find(terminator, position_);
    if (found == std::string_view::npos) return fail(fmt::format("missing '{}'", terminator));
    position_ = found + terminator.size();
    return ok_status();
  }

  // Whitespace, comments, processing instructions and DOCTYPE outside the root element.
  Status skip_misc() {
    while (true) {
      skip_space();
      if (starts_with("<?")) {
        FLOE_RETURN_IF_ERROR(skip_past("?>"));
      } else if (starts_with("<!--")) {
        FLOE_RETURN_IF_ERROR(skip_past("-->"));
      } else if (starts_with("<!DOCTYPE")) {
        FLOE_RETURN_IF_ERROR(skip_past(">"));
      } else {
        return ok_status();
      }
    }
  }

  Result<std::string> parse_name() {
    size_t start = position_;
    while (!at_end()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' || c == '=') break;
      ++position_;
    }
    if (position_ == start) return fail("expected a name");
    std::string_view name = text_.substr(start, position_ - start);
    size_t colon = name.find(':');
    if (colon != std::string_view::npos) name.remove_prefix(colon + 1);
    return std::string(name);
  }

  Status decode_into(std::string_view raw, std::string& out) {
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      size_t semicolon = raw.find(';', i);
      if (semicolon == std::string_view::npos || semicolon - i > 12) return fail("unterminated entity");
      std::string_view entity = raw.substr(i + 1, semicolon - i - 1);
      if (entity == "amp") out += '&';
      else if (entity == "lt") out += '<';
      else if (entity == "gt") out += '>';
      else if (entity == "quot") out += '"';
      else if (entity == "apos") out += '\'';
      else if (entity.starts_with('#')) {
        bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
        std::string_view digits = entity.substr(hex ? 2 : 1);
        uint32_t code = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
        if (ec != std::errc() || end != digits.data() + digits.size() || code > 0x10FFFF || digits.empty()) {
          return fail("bad character reference");
        }
        append_utf8(code, out);
      } else {
        return fail("unknown entity");
      }
      i = semicolon;
    }
    return ok_status();
  }

  static void append_utf8(uint32_t code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  Status skip_attributes() {
    while (true) {
      skip_space();
      if (at_end()) return fail("unterminated start tag");
      if (peek() == '>' || peek() == '/') return ok_status();
      FLOE_RETURN_IF_ERROR(parse_name().ok() ? ok_status() : fail("expected an attribute name"));
      skip_space();
      if (at_end() || peek() != '=') return fail("expected '=' after an attribute name");
      ++position_;
      skip_space();
      if (at_end() || (peek() != '"' && peek() != '\'')) return fail("expected a quoted attribute value");
      char quote = peek();
      size_t close = text_.find(quote, position_ + 1);
      if (close == std::string_view::npos) return fail("unterminated attribute value");
      position_ = close + 1;
    }
  }

  Status parse_element(XmlNode& node, int depth) {
    if (depth > kMaxDepth) return fail("elements nested too deeply");
    if (++nodes_ > kMaxNodes) return fail("too many elements");
    ++position_;  // '<'
    FLOE_ASSIGN_OR_RETURN(node.name, parse_name());
    FLOE_RETURN_IF_ERROR(skip_attributes());
    if (peek() == '/') {
      ++position_;
      if (at_end() || peek() != '>') return fail("expected '>' after '/'");
      ++position_;
      return ok_status();
    }
    ++position_;  // '>'
    while (true) {
      if (at_end()) return fail(fmt::format("unterminated element <{}>", node.name));
      if (starts_with("</")) {
        position_ += 2;
        FLOE_ASSIGN_OR_RETURN(std::string closing, parse_name());
        if (closing != node.name) {
          return fail(fmt::format("</{}> closes <{}>", closing, node.name));
        }
        skip_space();
        if (at_end() || peek() != '>') return fail("expected '>' in an end tag");
        ++position_;
        return ok_status();
      }
      if (starts_with("<!--")) {
        FLOE_RETURN_IF_ERROR(skip_past("-->"));
      } else if (starts_with("<![CDATA[")) {
        size_t start = position_ + 9;
        FLOE_RETURN_IF_ERROR(skip_past("]]>"));
        node.text.append(text_.substr(start, position_ - 3 - start));
      } else if (starts_with("<?")) {
        FLOE_RETURN_IF_ERROR(skip_past("?>"));
      } else if (peek() == '<') {
        node.children.emplace_back();
        FLOE_RETURN_IF_ERROR(parse_element(node.children.back(), depth + 1));
      } else {
        size_t next = text_.find('<', position_);
        if (next == std::string_view::npos) next = text_.size();
        FLOE_RETURN_IF_ERROR(decode_into(text_.substr(position_, next - position_), node.text));
        position_ = next;
      }
    }
  }

  std::string_view text_;
  size_t position_ = 0;
  size_t nodes_ = 0;
};

}  // namespace

const XmlNode* XmlNode::child(std::string_view child_name) const {
  for (const XmlNode& node : children) {
    if (node.name == child_name) return &node;
  }
  return nullptr;
}

std::string XmlNode::child_text(std::string_view child_name) const {
  const XmlNode* node = child(child_name);
  return node ? node->text : std::string();
}

Result<XmlNode> parse_xml(std::string_view text) { return XmlParser(text).parse_document(); }

S3ErrorDocument parse_s3_error(std::string_view body) {
  if (body.empty() || body.find("<Error") == std::string_view::npos) return {};
  auto document = parse_xml(body);
  if (!document.ok() || document->name != "Error") return {};
  return {document->child_text("Code"), document->child_text("Message")};
}

Result<ListObjectsPage> parse_list_objects_v2(std::string_view body) {
  FLOE_ASSIGN_OR_RETURN(XmlNode document, parse_xml(body));
  if (document.name != "ListBucketResult") {
    return make_error(ErrorCode::kCorrupt, "expected <ListBucketResult>, got <{}>", document.name);
  }
  ListObjectsPage page;
  for (const XmlNode& node : document.children) {
    if (node.name == "Contents") {
      ObjectMeta meta;
      meta.key = node.child_text("Key");
      std::string size = node.child_text("Size");
      auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), meta.size);
      if (meta.key.empty() || ec != std::errc() || end != size.data() + size.size()) {
        return make_error(ErrorCode::kCorrupt, "listing entry without a valid Key and Size");
      }
      meta.etag = strip_etag_quotes(node.child_text("ETag"));
      meta.last_modified = parse_http_date(node.child_text("LastModified"));
      page.objects.push_back(std::move(meta));
    } else if (node.name == "CommonPrefixes") {
      page.common_prefixes.push_back(node.child_text("Prefix"));
    } else if (node.name == "IsTruncated") {
      page.truncated = node.text == "true";
    } else if (node.name == "NextContinuationToken") {
      page.next_continuation_token = node.text;
    }
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    return make_error(ErrorCode::kCorrupt, "truncated listing without a NextContinuationToken");
  }
  return page;
}

Result<std::string> parse_initiate_multipart_upload(std::string_view body) {
  FLOE_ASSIGN_OR_RETURN(XmlNode document, parse_xml(body));
  std::string upload_id = document.child_text("UploadId");
  if (document.name != "InitiateMultipartUploadResult" || upload_id.empty()) {
    return make_error(ErrorCode::kCorrupt, "InitiateMultipartUpload answer has no UploadId");
  }
  return upload_id;
}

std::optional<S3ErrorDocument> complete_multipart_error(std::string_view body) {
  S3ErrorDocument document = parse_s3_error(body);
  if (document.code.empty()) return std::nullopt;
  return document;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string complete_multipart_upload_body(const std::vector<CompletedPart>& parts) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const CompletedPart& part : parts) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", part.number,
                        xml_escape(part.etag));
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

}  // namespace floe::io
