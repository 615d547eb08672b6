// Tests of the XML reader on S3 listings, error documents and malformed input.
#include "floe/io/s3_xml.h"

#include <gtest/gtest.h>

#include "floe/io/http_exchange.h"

namespace floe::io {
namespace {

TEST(S3Xml, ParsesAListingPage) {
  const char* body = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>dir/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>abc/def=</NextContinuationToken>
  <Contents><Key>dir/a&amp;b.nc</Key><LastModified>2024-03-01T12:00:00.000Z</LastModified>
    <ETag>&quot;0123&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>dir/c.nc</Key><Size>0</Size><ETag>"x"</ETag></Contents>
  <CommonPrefixes><Prefix>dir/sub/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  auto page = parse_list_objects_v2(body);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "dir/a&b.nc");
  EXPECT_EQ(page->objects[0].size, 42u);
  EXPECT_EQ(page->objects[0].etag, "0123");
  EXPECT_EQ(page->objects[0].last_modified, 1709294400);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "abc/def=");
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"dir/sub/"});
}

TEST(S3Xml, ReadsErrorDocuments) {
  auto error = parse_s3_error(
      "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature "
      "&lt;calculated&gt;</Message><RequestId>1</RequestId></Error>");
  EXPECT_EQ(error.code, "SignatureDoesNotMatch");
  EXPECT_EQ(error.message, "The request signature <calculated>");
  EXPECT_TRUE(parse_s3_error("<html>nope</html>").code.empty());
  EXPECT_TRUE(parse_s3_error("").code.empty());
}

TEST(S3Xml, RejectsMalformedDocumentsWithAnOffset) {
  for (const char* bad : {"<a><b></a>", "<a>", "<a>&bogus;</a>", "<a x=1></a>", "text", "<a></a><b/>",
                          "<a>&#xZZ;</a>", "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"}) {
    auto page = parse_list_objects_v2(bad);
    EXPECT_FALSE(page.ok()) << bad;
  }
  auto error = parse_xml("<a><b></a>");
  EXPECT_NE(error.error().message().find("at byte"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_NE(parse_xml(deep).error().message().find("deeply"), std::string::npos);
}

TEST(S3Xml, MultipartDocuments) {
  auto id = parse_initiate_multipart_upload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u-1</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "u-1");
  std::string body = complete_multipart_upload_body({{1, "\"e1\""}, {2, "\"e2\""}});
  EXPECT_NE(body.find("<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"), std::string::npos);
  EXPECT_TRUE(complete_multipart_error("<Error><Code>InternalError</Code></Error>").has_value());
  EXPECT_FALSE(complete_multipart_error("<CompleteMultipartUploadResult/>").has_value());
}

TEST(HttpExchange, ContentRangeAndDates) {
  auto range = parse_content_range("bytes 10-19/100");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->first, 10u);
  EXPECT_EQ(range->last, 19u);
  EXPECT_EQ(range->total, 100);
  EXPECT_EQ(parse_content_range("bytes 0-9/*")->total, -1);
  EXPECT_FALSE(parse_content_range("bytes 9-0/10"));
  EXPECT_FALSE(parse_content_range("bytes 0-10/10"));
  EXPECT_FALSE(parse_content_range("items 0-1/2"));
  EXPECT_EQ(parse_http_date("Fri, 24 May 2013 00:00:00 GMT"), 1369353600);
  EXPECT_EQ(format_http_date(1369353600), "Fri, 24 May 2013 00:00:00 GMT");
}

TEST(HttpExchange, RangeResponsesAreValidated) {
  HttpOutcome outcome;
  outcome.response.status = 206;
  outcome.response.headers = {{"content-range", "bytes 0-9/100"}};
  outcome.response.body_bytes = 10;
  EXPECT_FALSE(check_range_response(outcome, 0, 10, "GET x").error);
  outcome.response.body_bytes = 5;  // short body
  EXPECT_EQ(check_range_response(outcome, 0, 10, "GET x").verdict, Verdict::kRetry);
  outcome.response.headers = {{"content-range", "bytes 90-99/100"}};
  outcome.response.body_bytes = 10;
  auto past_end = check_range_response(outcome, 90, 20, "GET x");
  ASSERT_TRUE(past_end.error);
  EXPECT_NE(past_end.error->message().find("past the end"), std::string::npos);
  outcome.response.status = 200;  // Range ignored
  outcome.response.body_bytes = 100;
  EXPECT_TRUE(check_range_response(outcome, 10, 10, "GET x").error);
  outcome.response.status = 503;
  EXPECT_EQ(check_range_response(outcome, 0, 10, "GET x").verdict, Verdict::kRetry);
  outcome.response.status = 403;
  auto denied = check_range_response(outcome, 0, 10, "GET s3://b/k");
  EXPECT_EQ(denied.verdict, Verdict::kAccept);
  EXPECT_EQ(denied.error->code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error->message().find("GET s3://b/k: HTTP 403"), std::string::npos);
}

}  // namespace
}  // namespace floe::io
