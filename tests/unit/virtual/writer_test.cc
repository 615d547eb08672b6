// Tests of the repository writer: zarr.json contents, xarray's _FillValue encoding, refs and stored chunks.
#include "floe/virtual/writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "floe/icechunk/repository.h"
#include "floe/io/local_store.h"

namespace floe::virt {
namespace {

namespace fs = std::filesystem;

TEST(FillValueAttribute, EncodedAsXarrayReadsIt) {
  // struct.pack("<d", 1.0) = 00 00 00 00 00 00 f0 3f
  EXPECT_EQ(encode_fill_value_attribute(1.0, "float32"), "AAAAAAAA8D8=");
  EXPECT_EQ(encode_fill_value_attribute("NaN", "float64"), "AAAAAAAA+H8=");
  EXPECT_EQ(encode_fill_value_attribute(-999, "int16"), -999);
  EXPECT_EQ(encode_fill_value_attribute(
                "x", Json{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", 1}}}}),
            "eA==");
}

TEST(ArrayMetadata, IsZarrV3WithDimensionNames) {
  VirtualArray array;
  array.name = "t";
  array.dims = {"time", "lat"};
  array.shape = {10, 0};
  array.chunk_shape = {5, 0};
  array.data_type = "float32";
  array.fill_value = "NaN";
  array.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}});
  array.attributes = {{"_FillValue", "NaN"}, {"units", "K"}};
  Json meta = array_metadata(array);
  EXPECT_EQ(meta["zarr_format"], 3);
  EXPECT_EQ(meta["chunk_grid"]["configuration"]["chunk_shape"], Json::array({5, 1}));
  EXPECT_EQ(meta["dimension_names"], Json::array({"time", "lat"}));
  EXPECT_EQ(meta["attributes"]["_FillValue"], "AAAAAAAA+H8=");
  EXPECT_EQ(meta["attributes"]["units"], "K");
}

TEST(WriteDataset, RefsInlineAndLoadableChunksLandInTheRepository) {
  fs::path root = fs::temp_directory_path() / fmt::format("floe_writer_test_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root);
  {
    std::ofstream source(root / "src.bin", std::ios::binary);
    source << "0123456789abcdefghij";
  }
  auto store = std::make_shared<io::LocalStore>("");
  auto registry = std::make_shared<io::StoreRegistry>(std::make_shared<io::HttpTransport>(io::HttpTransportOptions{}),
                                                      io::Environment{});
  auto repository = icechunk::Repository::create(store, (root / "repo").string(), registry, {});
  ASSERT_TRUE(repository.ok()) << repository.error().to_string();
  auto session = (*repository)->write_session("main");
  ASSERT_TRUE(session.ok());

  const std::string url = "file://" + (root / "src.bin").string();
  VirtualDataset dataset;
  VirtualArray data;
  data.name = "v";
  data.dims = {"x"};
  data.shape = {20};
  data.chunk_shape = {10};
  data.data_type = "uint8";
  data.fill_value = 0;
  data.codecs = Json::array({{{"name", "bytes"}}});
  data.refs.add(1, data.refs.intern(url), 10, 10);
  VirtualArray coordinate = data;
  coordinate.name = "x";
  coordinate.loadable = true;
  VirtualArray compact = data;
  compact.name = "c";
  compact.refs = ChunkManifest();
  compact.inline_chunks.emplace(0, Bytes::copy_of(std::string_view("ABCDEFGHIJ")));
  VirtualGroup child;
  child.name = "g";
  child.arrays.push_back(data);
  dataset.root.arrays = {data, coordinate, compact};
  dataset.root.groups.push_back(child);

  io::FetchScheduler scheduler;
  WriteContext context{.registry = registry.get(), .scheduler = &scheduler};
  auto summary = write_dataset(dataset, **session, context);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->arrays, 4u);
  EXPECT_EQ(summary->groups, 2u);
  EXPECT_EQ(summary->virtual_refs, 2u);
  EXPECT_EQ(summary->stored_chunks, 2u);
  VirtualDataset nested;
  nested.root.arrays.push_back(compact);
  auto deep = write_dataset(nested, **session, context, "/deep/er");
  ASSERT_TRUE(deep.ok()) << deep.error().to_string();  // missing ancestors are created
  EXPECT_EQ((*session)->node_kind("/deep"), icechunk::NodeKind::kGroup);
  auto snapshot = (*session)->commit("test");
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().to_string();

  auto read = (*repository)->read_session(*snapshot);
  ASSERT_TRUE(read.ok());
  auto loaded = (*read)->get_key("x/c/1");
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ(std::string((*loaded)->view()), "abcdefghij");
  auto inline_chunk = (*read)->get_key("c/c/0");
  ASSERT_TRUE(inline_chunk.ok() && inline_chunk->has_value());
  EXPECT_EQ(std::string((*inline_chunk)->view()), "ABCDEFGHIJ");
  EXPECT_TRUE((*read)->node("/deep/er/c").ok());
  auto node = (*read)->node("/g/v");
  ASSERT_TRUE(node.ok());
  std::vector<uint32_t> index{1};
  auto ref = (*read)->chunk_ref(**node, index);
  ASSERT_TRUE(ref.ok() && ref->has_value());
  fs::remove_all(root);
}

// A loadable uncompressed array whose chunks are all referenced slabs of its first axis is stored as one
// chunk (a NetCDF-3 record coordinate: one value per record), trimmed where a last chunk is referenced
// full-size past the array's edge; a compressed one keeps its chunks.
TEST(WriteDataset, LoadableSlabsAreStoredAsOneChunk) {
  fs::path root = fs::temp_directory_path() / fmt::format("floe_writer_join_test_{}", ::getpid());
  fs::remove_all(root);
  fs::create_directories(root);
  {
    std::ofstream source(root / "src.bin", std::ios::binary);
    source << "0123456789abcdefghij";
  }
  auto store = std::make_shared<io::LocalStore>("");
  auto registry = std::make_shared<io::StoreRegistry>(std::make_shared<io::HttpTransport>(io::HttpTransportOptions{}),
                                                      io::Environment{});
  auto repository = icechunk::Repository::create(store, (root / "repo").string(), registry, {});
  ASSERT_TRUE(repository.ok()) << repository.error().to_string();
  auto session = (*repository)->write_session("main");
  ASSERT_TRUE(session.ok());
  const std::string url = "file://" + (root / "src.bin").string();

  VirtualArray records;  // one byte per record, records 2 bytes apart
  records.name = "t";
  records.dims = {"t"};
  records.shape = {5};
  records.chunk_shape = {1};
  records.element_size = 1;
  records.data_type = "uint8";
  records.fill_value = 0;
  records.codecs = Json::array({{{"name", "bytes"}}});
  records.loadable = true;
  for (uint64_t i = 0; i < 5; ++i) records.refs.add(i, records.refs.intern(url), 2 * i, 1);
  VirtualArray slabs = records;  // 3 x 2 in slabs of 2 rows; the last slab referenced full-size
  slabs.name = "m";
  slabs.dims = {"y", "x"};
  slabs.shape = {3, 2};
  slabs.chunk_shape = {2, 2};
  slabs.refs = ChunkManifest();
  slabs.refs.add(1, slabs.refs.intern(url), 16, 4);
  slabs.refs.add(0, slabs.refs.intern(url), 10, 4);
  VirtualArray compressed = records;
  compressed.name = "z";
  compressed.codecs.push_back({{"name", "numcodecs.zlib"}, {"configuration", {{"level", 1}}}});
  VirtualDataset dataset;
  dataset.root.arrays = {records, slabs, compressed};

  io::FetchScheduler scheduler;
  WriteContext context{.registry = registry.get(), .scheduler = &scheduler};
  auto summary = write_dataset(dataset, **session, context);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->stored_chunks, 1u + 1u + 5u);
  auto snapshot = (*session)->commit("join");
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().to_string();
  auto read = (*repository)->read_session(*snapshot);
  ASSERT_TRUE(read.ok());
  auto joined = (*read)->get_key("t/c/0");
  ASSERT_TRUE(joined.ok() && joined->has_value());
  EXPECT_EQ(std::string((*joined)->view()), "02468");
  EXPECT_EQ(Json::parse((*(*read)->node("/t"))->zarr_json)["chunk_grid"]["configuration"]["chunk_shape"],
            Json::array({5}));
  auto slab = (*read)->get_key("m/c/0/0");
  ASSERT_TRUE(slab.ok() && slab->has_value());
  EXPECT_EQ(std::string((*slab)->view()), "abcdgh");
  EXPECT_EQ(Json::parse((*(*read)->node("/m"))->zarr_json)["chunk_grid"]["configuration"]["chunk_shape"],
            Json::array({3, 2}));
  auto kept = (*read)->get_key("z/c/4");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ(std::string((*kept)->view()), "8");
  fs::remove_all(root);
}

}  // namespace
}  // namespace floe::virt
