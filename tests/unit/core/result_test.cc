// Tests of Result, Error context chains and the propagation macros.
#include "floe/core/result.h"

#include <gtest/gtest.h>

namespace floe {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return make_error(ErrorCode::kInvalidArgument, "{} is not positive", value);
  return value;
}

Result<int> doubled(int value) {
  FLOE_ASSIGN_OR_RETURN(int checked, parse_positive(value));
  return checked * 2;
}

Status check_twice(int value) {
  FLOE_RETURN_IF_ERROR(parse_positive(value));
  return ok_status();
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "-1 is not positive");
  EXPECT_FALSE(check_twice(0).ok());
  EXPECT_TRUE(check_twice(3).ok());
}

TEST(Error, ContextChainsReadOutermostFirst) {
  Error error = make_error(ErrorCode::kNotFound, "no such key");
  error.add_context("GET s3://b/k").add_context("reading the superblock");
  EXPECT_EQ(error.to_string(), "reading the superblock: GET s3://b/k: no such key");
}

TEST(Error, ExitStatusesFollowTheCliContract) {
  EXPECT_EQ(exit_status(ErrorCode::kInvalidArgument), 1);
  EXPECT_EQ(exit_status(ErrorCode::kCorrupt), 1);
  EXPECT_EQ(exit_status(ErrorCode::kPreconditionFailed), 2);
  EXPECT_EQ(exit_status(ErrorCode::kConflict), 2);
  EXPECT_EQ(exit_status(ErrorCode::kIo), 3);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(5);
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> taken = std::move(result).value();
  EXPECT_EQ(*taken, 5);
}

}  // namespace
}  // namespace floe
