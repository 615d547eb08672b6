// Tests of the virtual dataset model: contiguous splitting, chunk counts, variable policy.
#include "floe/virtual/dataset.h"

#include <gtest/gtest.h>

namespace floe::virt {
namespace {

VirtualArray record_array(std::string name, uint64_t records, uint64_t chunk, std::string_view url) {
  VirtualArray array;
  array.name = std::move(name);
  array.dims = {"time", "x"};
  array.shape = {records, 4};
  array.chunk_shape = {chunk, 4};
  array.data_type = "float32";
  array.element_size = 4;
  array.fill_value = "NaN";
  array.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  array.attributes = {{"units", "K"}};
  uint32_t path = array.refs.intern(url);
  for (uint64_t c = 0; c < (records + chunk - 1) / chunk; ++c) array.refs.add(c, path, 1000 + c * 64, 64);
  return array;
}

VirtualDataset file_with(uint64_t records, uint64_t chunk, std::string url) {
  VirtualDataset dataset;
  dataset.source_url = url;
  dataset.root.arrays.push_back(record_array("tas", records, chunk, url));
  VirtualArray x;
  x.name = "x";
  x.dims = {"x"};
  x.shape = {4};
  x.chunk_shape = {4};
  x.data_type = "int32";
  x.dimension_coordinate = true;
  x.refs.add(0, x.refs.intern(url), 10, 16);
  dataset.root.arrays.push_back(std::move(x));
  dataset.unlimited_dims = {"time"};
  return dataset;
}

TEST(SplitContiguous, CutsTheFirstAxisOnly) {
  EXPECT_EQ(split_contiguous({100, 10}, 8, 800), (std::vector<uint64_t>{10, 10}));
  EXPECT_EQ(split_contiguous({100, 10}, 8, 1), (std::vector<uint64_t>{1, 10}));  // at least one row
  EXPECT_EQ(split_contiguous({100, 10}, 8, 1 << 20), (std::vector<uint64_t>{100, 10}));
  EXPECT_EQ(split_contiguous({0, 3}, 4, 1024), (std::vector<uint64_t>{1, 3}));  // zero-length axes count as 1
  EXPECT_TRUE(split_contiguous({}, 4, 1024).empty());
}

TEST(ChunkCounts, RoundsUpAndNeverZero) {
  VirtualArray array;
  array.shape = {10, 0, 7};
  array.chunk_shape = {3, 1, 7};
  EXPECT_EQ(chunk_counts(array), (std::vector<uint64_t>{4, 1, 1}));
}

TEST(ChunkManifest, InternsPaths) {
  ChunkManifest refs;
  EXPECT_EQ(refs.intern("s3://b/a.nc"), 0u);
  EXPECT_EQ(refs.intern("s3://b/c.nc"), 1u);
  EXPECT_EQ(refs.intern("s3://b/a.nc"), 0u);
  refs.add(5, 1, 100, 20);
  EXPECT_EQ(refs.path(0), "s3://b/c.nc");
  EXPECT_EQ(refs.chunk(0), 5u);
}

TEST(VariablePolicy, DimensionCoordinatesAndScalarsLoadByDefault) {
  VirtualDataset dataset = file_with(4, 1, "file:///d/a.nc");
  VirtualArray scalar;
  scalar.name = "crs";
  dataset.root.arrays.push_back(scalar);
  ASSERT_TRUE(apply_variable_policy(dataset, {}, {}).ok());
  EXPECT_FALSE(dataset.root.arrays[0].loadable);
  EXPECT_TRUE(dataset.root.arrays[1].loadable);
  EXPECT_TRUE(dataset.root.arrays[2].loadable);
}

TEST(VariablePolicy, BoundsVariablesLoadByDefault) {
  VirtualDataset dataset = file_with(4, 1, "file:///d/a.nc");
  dataset.root.arrays[1].attributes["bounds"] = "x_bnds";
  VirtualArray bounds = dataset.root.arrays[0];
  bounds.name = "x_bnds";
  dataset.root.arrays.push_back(bounds);
  ASSERT_TRUE(apply_variable_policy(dataset, {}, {}).ok());
  EXPECT_FALSE(dataset.root.arrays[0].loadable);
  EXPECT_TRUE(dataset.root.arrays[2].loadable);
}

TEST(VariablePolicy, LoadableAndDropByNameOrPath) {
  VirtualDataset dataset = file_with(4, 1, "file:///d/a.nc");
  ASSERT_TRUE(apply_variable_policy(dataset, {"/tas"}, {"x"}).ok());
  ASSERT_EQ(dataset.root.arrays.size(), 1u);
  EXPECT_TRUE(dataset.root.arrays[0].loadable);
  // A dimension coordinate, loadable by default, may be named too.
  VirtualDataset named = file_with(4, 1, "file:///d/a.nc");
  ASSERT_TRUE(apply_variable_policy(named, {"x"}, {}).ok());
  EXPECT_TRUE(named.root.arrays[1].loadable);
  auto unknown = apply_variable_policy(dataset, {"nope"}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace floe::virt
