// Tests that Bytes slices share memory and clamp, and that concat joins.
#include "floe/core/bytes.h"

#include <gtest/gtest.h>

namespace floe {
namespace {

TEST(Bytes, SlicesShareTheBufferWithoutCopying) {
  Bytes whole = Bytes::from_string("hello, world");
  Bytes middle = whole.slice(7, 5);
  EXPECT_EQ(middle.view(), "world");
  EXPECT_EQ(middle.owner(), whole.owner());
  EXPECT_EQ(middle.data(), whole.data() + 7);
  EXPECT_EQ(whole.owner_use_count(), 2);
}

TEST(Bytes, SliceOutlivesItsParent) {
  Bytes tail;
  {
    Bytes whole = Bytes::copy_of(std::string_view("abcdef"));
    tail = whole.slice_from(3);
  }
  EXPECT_EQ(tail.view(), "def");
}

TEST(Bytes, SlicesClampToTheAvailableBytes) {
  Bytes whole = Bytes::from_string("abc");
  EXPECT_EQ(whole.slice(2, 10).view(), "c");
  EXPECT_TRUE(whole.slice(10, 1).empty());
}

TEST(Bytes, ConcatJoinsPieces) {
  std::vector<Bytes> pieces{Bytes::from_string("ab"), Bytes(), Bytes::from_string("cd")};
  EXPECT_EQ(Bytes::concat(pieces).view(), "abcd");
  std::vector<Bytes> one{Bytes::from_string("x")};
  EXPECT_EQ(Bytes::concat(one).owner(), one[0].owner());
}

TEST(Bytes, AdoptsSharedArrays) {
  auto buffer = std::make_shared_for_overwrite<std::byte[]>(4);
  for (int i = 0; i < 4; ++i) buffer[i] = std::byte('a' + i);
  Bytes adopted = Bytes::adopt(buffer, 4);
  EXPECT_EQ(adopted.view(), "abcd");
  EXPECT_EQ(adopted.data(), buffer.get());
}

}  // namespace
}  // namespace floe
