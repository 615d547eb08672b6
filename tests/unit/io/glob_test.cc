// Tests of glob matching ('*', '**', '?', classes) and expansion over a LocalStore.
#include "floe/io/glob.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "floe/io/local_store.h"

namespace floe::io {
namespace {

TEST(Glob, SingleStarStaysInItsSegment) {
  EXPECT_TRUE(glob_match("e5/2020*/x.*.nc", "e5/202001/x.a.nc"));
  EXPECT_FALSE(glob_match("e5/2020*/x.*.nc", "e5/202001/deeper/x.a.nc"));
  EXPECT_TRUE(glob_match("*.nc", "a.nc"));
  EXPECT_FALSE(glob_match("*.nc", "dir/a.nc"));
  EXPECT_FALSE(glob_match("*.nc", "a.nc4"));
}

TEST(Glob, DoubleStarCrossesSegments) {
  EXPECT_TRUE(glob_match("data/**/*.grib2", "data/a/b/c.grib2"));
  EXPECT_TRUE(glob_match("data/**/*.grib2", "data/c.grib2"));
  EXPECT_TRUE(glob_match("data/**", "data/x/y"));
  EXPECT_FALSE(glob_match("data/**/*.grib2", "other/c.grib2"));
}

TEST(Glob, QuestionMarksAndClasses) {
  EXPECT_TRUE(glob_match("gep??.t00z", "gep01.t00z"));
  EXPECT_FALSE(glob_match("gep??.t00z", "gep1.t00z"));
  EXPECT_TRUE(glob_match("f[0-9][0-9]", "f42"));
  EXPECT_FALSE(glob_match("f[!0-9]", "f4"));
  EXPECT_TRUE(glob_match("f[!0-9]", "fx"));
  EXPECT_TRUE(glob_match("a[", "a["));  // malformed class is literal
}

TEST(Glob, LiteralPrefix) {
  EXPECT_EQ(glob_literal_prefix("e5.oper/2020*/x"), "e5.oper/2020");
  EXPECT_EQ(glob_literal_prefix("plain/key"), "plain/key");
  EXPECT_FALSE(has_glob_characters("plain/key"));
}

TEST(Glob, ExpandsOverAStore) {
  auto root = std::filesystem::temp_directory_path() / "floe-glob-test";
  std::filesystem::remove_all(root);
  LocalStore store(root.string());
  for (const char* key : {"e5/202001/a.nc", "e5/202002/a.nc", "e5/202002/b.txt", "e5/2019/a.nc", "e5/202001/sub/c.nc"}) {
    ASSERT_TRUE(store.put(key, Bytes::from_string("x")).ok());
  }
  auto matches = expand_glob(store, "e5/2020*/*.nc");
  ASSERT_TRUE(matches.ok());
  ASSERT_EQ(matches->size(), 2u);
  EXPECT_EQ((*matches)[0].key, "e5/202001/a.nc");
  EXPECT_EQ((*matches)[1].key, "e5/202002/a.nc");
  auto deep = expand_glob(store, "e5/**/*.nc");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->size(), 4u);
  // Everything the listing showed comes back too, the non-matching b.txt included (GRIB sidecars are found so).
  std::vector<ObjectMeta> listed;
  ASSERT_TRUE(expand_glob(store, "e5/2020*/*.nc", &listed).ok());
  std::vector<std::string> keys;
  for (const ObjectMeta& meta : listed) keys.push_back(meta.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"e5/202001/a.nc", "e5/202001/sub/c.nc", "e5/202002/a.nc",
                                            "e5/202002/b.txt"}));
  EXPECT_EQ(expand_glob(store, "e5/missing.nc").error().code(), ErrorCode::kNotFound);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace floe::io
