// Tests of URL parsing, percent-encoding and the AWS credential chain.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "floe/io/credentials.h"
#include "floe/io/url.h"

namespace floe::io {
namespace {

TEST(Url, ParsesEachScheme) {
  auto s3 = parse_url("s3://nsf-ncar-era5/e5.oper.an.sfc/202001/x.nc");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->scheme, Scheme::kS3);
  EXPECT_EQ(s3->host, "nsf-ncar-era5");
  EXPECT_EQ(s3->path, "e5.oper.an.sfc/202001/x.nc");

  auto http = parse_url("http://127.0.0.1:18080/data/a.nc?x=1");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 18080);
  EXPECT_EQ(http->path, "data/a.nc");
  EXPECT_EQ(http->query, "x=1");
  EXPECT_EQ(http->origin(), "http://127.0.0.1:18080");

  auto file = parse_url("file:///tmp/a.nc");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, "/tmp/a.nc");
  EXPECT_EQ(parse_url("relative/a.nc")->path, "relative/a.nc");
}

TEST(Url, RejectsBadInputWithAReason) {
  EXPECT_EQ(parse_url("").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(parse_url("gs://b/k").error().message().find("unsupported scheme 'gs'"), std::string::npos);
  EXPECT_NE(parse_url("s3:///k").error().message().find("bucket"), std::string::npos);
  EXPECT_NE(parse_url("http://h:99999/").error().message().find("port"), std::string::npos);
  auto with_secret = parse_url("https://user:secret@host/x");
  ASSERT_FALSE(with_secret.ok());
  EXPECT_EQ(with_secret.error().message().find("secret"), std::string::npos);
}

TEST(Url, EncodesAndDecodes) {
  EXPECT_EQ(uri_encode("a b/c~d", true), "a%20b/c~d");
  EXPECT_EQ(uri_encode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(uri_encode("ü", false), "%C3%BC");
  EXPECT_EQ(*uri_decode("a%20b%2fc"), "a b/c");
  EXPECT_FALSE(uri_decode("bad%2").ok());
  EXPECT_FALSE(uri_decode("bad%zz").ok());
}

TEST(Credentials, EnvironmentVariablesComeFirst) {
  Environment environment;
  environment.variables = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE1234"},
                           {"AWS_SECRET_ACCESS_KEY", "secret"},
                           {"AWS_SESSION_TOKEN", "token"}};
  auto credentials = resolve_credentials(environment);
  ASSERT_TRUE(credentials.ok());
  ASSERT_TRUE(credentials->has_value());
  EXPECT_EQ((*credentials)->session_token, "token");
  EXPECT_EQ((*credentials)->describe().find("secret"), std::string::npos);
}

TEST(Credentials, HalfSetEnvironmentIsAnError) {
  Environment environment;
  environment.variables = {{"AWS_ACCESS_KEY_ID", "AKID"}};
  EXPECT_EQ(resolve_credentials(environment).error().code(), ErrorCode::kPermissionDenied);
}

TEST(Credentials, ProfilesFromTheSharedFile) {
  auto directory = std::filesystem::temp_directory_path() / "floe-credentials-test";
  std::filesystem::create_directories(directory / ".aws");
  {
    std::ofstream out(directory / ".aws" / "credentials");
    out << "# comment\n[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key=defaultsecret\n"
           "\n[writer]\naws_access_key_id=WRITERKEY\naws_secret_access_key = writersecret\n"
           "aws_session_token = writertoken\n";
    std::ofstream config(directory / ".aws" / "config");
    config << "[profile writer]\nregion = eu-west-2\n";
  }
  Environment environment;
  environment.home = directory.string();
  auto fallback = resolve_credentials(environment);
  ASSERT_TRUE(fallback.ok() && fallback->has_value());
  EXPECT_EQ((*fallback)->access_key_id, "DEFAULTKEY");
  EXPECT_EQ(resolve_region(environment), "us-east-1");

  environment.variables["AWS_PROFILE"] = "writer";
  auto writer = resolve_credentials(environment);
  ASSERT_TRUE(writer.ok() && writer->has_value());
  EXPECT_EQ((*writer)->secret_access_key, "writersecret");
  EXPECT_EQ((*writer)->session_token, "writertoken");
  EXPECT_EQ(resolve_region(environment), "eu-west-2");

  environment.variables["AWS_PROFILE"] = "missing";
  auto missing = resolve_credentials(environment);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("profile 'missing'"), std::string::npos);
  std::filesystem::remove_all(directory);
}

TEST(Credentials, NothingConfiguredMeansAnonymous) {
  Environment environment;
  environment.home = "/nonexistent-home";
  auto credentials = resolve_credentials(environment);
  ASSERT_TRUE(credentials.ok());
  EXPECT_FALSE(credentials->has_value());
}

}  // namespace
}  // namespace floe::io
