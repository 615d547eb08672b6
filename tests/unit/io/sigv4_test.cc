// Tests of the SigV4 signer against the published AWS S3 example and canonicalization rules.
#include "floe/io/sigv4.h"

#include <gtest/gtest.h>

namespace floe::io {
namespace {

const Credentials kExampleCredentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

TEST(SigV4, MatchesTheAwsGetObjectExample) {
  HeaderList headers{{"Range", "bytes=0-9"}};
  SigningInput input{"GET", "examplebucket.s3.amazonaws.com", "/test.txt", "", kEmptyPayloadSha256,
                     "20130524T000000Z", "us-east-1"};
  SigningResult result = sign_request(input, kExampleCredentials, headers);
  EXPECT_EQ(result.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(result.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, SortsQueryParametersAndSignsTheSessionToken) {
  Credentials with_token = kExampleCredentials;
  with_token.session_token = "token/with+chars";
  HeaderList headers;
  SigningInput input{"GET", "127.0.0.1:7070", "/bucket", "prefix=a%2Fb&list-type=2&max-keys=1000",
                     kEmptyPayloadSha256, "20240101T000000Z", "us-east-1"};
  SigningResult result = sign_request(input, with_token, headers);
  EXPECT_NE(result.canonical_request.find("\nlist-type=2&max-keys=1000&prefix=a%2Fb\n"), std::string::npos);
  EXPECT_NE(result.canonical_request.find("x-amz-security-token:token/with+chars\n"), std::string::npos);
  EXPECT_NE(result.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"),
            std::string::npos);
  bool has_token_header = false;
  for (const auto& [name, value] : headers) has_token_header |= name == "x-amz-security-token";
  EXPECT_TRUE(has_token_header);
}

TEST(SigV4, ValuelessQueryParametersGetAnEqualsSign) {
  HeaderList headers;
  SigningInput input{"POST", "h", "/b/k", "uploads", kEmptyPayloadSha256, "20240101T000000Z", "us-east-1"};
  SigningResult result = sign_request(input, kExampleCredentials, headers);
  EXPECT_NE(result.canonical_request.find("\nuploads=\n"), std::string::npos);
}

TEST(SigV4, SignatureChangesWithTheSecret) {
  HeaderList first, second;
  SigningInput input{"GET", "h", "/b/k", "", kEmptyPayloadSha256, "20240101T000000Z", "us-east-1"};
  Credentials other = kExampleCredentials;
  other.secret_access_key += "x";
  EXPECT_NE(sign_request(input, kExampleCredentials, first).signature, sign_request(input, other, second).signature);
}

TEST(SigV4, Sha256AndDates) {
  EXPECT_EQ(sha256_hex(std::string_view("")), kEmptyPayloadSha256);
  EXPECT_EQ(sha256_hex(std::string_view("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(amz_date(1369353600), "20130524T000000Z");
}

}  // namespace
}  // namespace floe::io
