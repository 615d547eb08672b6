// A small XML reader for S3 responses (listings, errors, multipart) and the documents floe sends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/result.h"
#include "floe/io/object_store.h"

namespace floe::io {

struct XmlNode {
  std::string name;  // namespace prefix stripped
  std::string text;  // entity-decoded character data directly inside this element
  std::vector<XmlNode> children;

  const XmlNode* child(std::string_view child_name) const;
  std::string child_text(std::string_view child_name) const;  // empty when absent
};

// Elements, attributes (skipped), character data, entities, CDATA, comments, <?xml?> and DOCTYPE
// (skipped). Depth and size are bounded; anything malformed is an error with its byte offset.
Result<XmlNode> parse_xml(std::string_view text);

struct S3ErrorDocument {
  std::string code;
  std::string message;
};
// Empty fields when the body is not an S3 error document.
S3ErrorDocument parse_s3_error(std::string_view body);

struct ListObjectsPage {
  std::vector<ObjectMeta> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_continuation_token;
};
Result<ListObjectsPage> parse_list_objects_v2(std::string_view body);

Result<std::string> parse_initiate_multipart_upload(std::string_view body);

struct CompletedPart {
  int number = 0;
  std::string etag;  // as returned by UploadPart, quotes included
};
std::string complete_multipart_upload_body(const std::vector<CompletedPart>& parts);
// CompleteMultipartUpload may answer 200 with an <Error> document; this detects that.
std::optional<S3ErrorDocument> complete_multipart_error(std::string_view body);

std::string xml_escape(std::string_view text);

}  // namespace floe::io
