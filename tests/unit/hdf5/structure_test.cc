// Tests of the HDF5 structure layer: superblocks, object headers, messages, heaps, groups and attributes
// compared with what h5py reports, fetch-round bounds, and corrupt or truncated input.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "floe/formats/hdf5/object_header.h"
#include "floe/formats/hdf5/structure.h"
#include "hdf5_test_support.h"

namespace floe::formats::hdf5 {
namespace {

using testing::fixture_dir;
using testing::OpenFile;
using testing::read_file_bytes;
using testing::read_json;

const HdfObject* find_path(const FileStructure& structure, std::string_view path) {
  for (const HdfObject& object : structure.objects) {
    if (object.path == path) return &object;
  }
  return nullptr;
}

const nlohmann::json* find_attribute(const HdfObject& object, std::string_view name) {
  for (const DecodedAttribute& attribute : object.attributes) {
    if (attribute.name == name) return &attribute.value;
  }
  return nullptr;
}

bool warned_about(const FileStructure& structure, std::string_view text) {
  for (const std::string& warning : structure.warnings) {
    if (warning.find(text) != std::string::npos) return true;
  }
  return false;
}

// Every object h5py sees (matched by object header address) is in the structure with the same kind, shape and
// attribute names; attributes floe cannot decode must come with a warning.
void expect_matches_h5py(const std::filesystem::path& file, const nlohmann::json& expected) {
  SCOPED_TRACE(file.string());
  OpenFile open(read_file_bytes(file));
  auto structure = read_file_structure(*open.reader);
  ASSERT_TRUE(structure.ok()) << structure.error().message();
  std::map<uint64_t, const HdfObject*> by_address;
  for (const HdfObject& object : structure->objects) by_address[object.address] = &object;
  size_t compared = 0;
  for (const auto& [path, entry] : expected.items()) {
    SCOPED_TRACE(path);
    auto found = by_address.find(entry["addr"].get<uint64_t>());
    ASSERT_NE(found, by_address.end()) << "object missing";
    const HdfObject& object = *found->second;
    std::string kind = entry["kind"];
    if (kind == "group") {
      EXPECT_EQ(object.kind, ObjectKind::kGroup);
    }
    if (kind == "datatype") {
      EXPECT_EQ(object.kind, ObjectKind::kCommittedDatatype);
    }
    if (kind == "dataset") {
      EXPECT_EQ(object.kind, ObjectKind::kDataset);
      if (entry["shape"].is_null()) {
        EXPECT_EQ(object.dataspace.kind, DataspaceKind::kNull);
      } else {
        EXPECT_EQ(object.dataspace.dims, entry["shape"].get<std::vector<uint64_t>>());
      }
    }
    std::set<std::string> ours;
    for (const DecodedAttribute& attribute : object.attributes) ours.insert(attribute.name);
    for (const auto& name_json : entry["attrs"]) {
      std::string name = name_json.get<std::string>();
      if (!ours.count(name)) {
        EXPECT_TRUE(warned_about(*structure, "\"" + name + "\"")) << "attribute " << name << " missing";
      }
    }
    EXPECT_LE(ours.size(), entry["attrs"].size());
    ++compared;
  }
  EXPECT_GT(compared, 0u);
}

TEST(Hdf5Structure, GeneratedFixturesMatchH5py) {
  ASSERT_FALSE(fixture_dir().empty()) << "fixture generation failed";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir())) {
    if (entry.path().extension() == ".json" || entry.path().extension() == ".txt") continue;
    nlohmann::json expected = read_json(entry.path().string() + ".json");
    ASSERT_TRUE(expected.is_object()) << entry.path();
    expect_matches_h5py(entry.path(), expected);
    ++files;
  }
  EXPECT_GE(files, 6u);
}

TEST(Hdf5Structure, SharedTestdataMatchesH5py) {
  std::vector<std::string> paths;
  for (const char* sub : {"hdf5", "netcdf"}) {
    auto dir = testing::testdata_dir() / sub;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) paths.push_back(entry.path().string());
  }
  if (paths.empty()) GTEST_SKIP() << "no shared test data";
  auto out = fixture_dir() / "testdata_expectations";
  std::string command = fmt::format("{} {} --describe {}", FLOE_PYTHON, FLOE_HDF5_FIXTURE_SCRIPT, out.string());
  for (const std::string& path : paths) command += " '" + path + "'";
  ASSERT_EQ(std::system((command + " > /dev/null 2>&1").c_str()), 0);
  for (const std::string& path : paths) {
    nlohmann::json expected = read_json(out / (std::filesystem::path(path).filename().string() + ".json"));
    if (!expected.is_object() || expected.contains("error")) continue;
    expect_matches_h5py(path, expected);
  }
}

TEST(Hdf5Structure, SuperblockVersionsUserBlockAndPaging) {
  struct Case {
    const char* file;
    int version;
    uint64_t signature_offset;
    uint64_t page_size;
  };
  for (const Case& c : {Case{"h5_earliest.h5", 0, 0, 0}, Case{"h5_latest.h5", 3, 0, 0},
                        Case{"nc4_basic.nc", 2, 0, 0}, Case{"h5_userblock.h5", 0, 1024, 0},
                        Case{"h5_paged.h5", 3, 0, 65536}}) {
    SCOPED_TRACE(c.file);
    OpenFile open(read_file_bytes(fixture_dir() / c.file));
    auto structure = read_file_structure(*open.reader);
    ASSERT_TRUE(structure.ok()) << structure.error().message();
    EXPECT_EQ(structure->superblock.version, c.version);
    EXPECT_EQ(structure->superblock.signature_offset, c.signature_offset);
    EXPECT_EQ(structure->superblock.page_size, c.page_size);
  }
}

TEST(Hdf5Structure, AttributeValuesDecoded) {
  for (const char* name : {"h5_earliest.h5", "h5_latest.h5"}) {
    SCOPED_TRACE(name);
    OpenFile open(read_file_bytes(fixture_dir() / name));
    auto structure = read_file_structure(*open.reader);
    ASSERT_TRUE(structure.ok()) << structure.error().message();
    const HdfObject& root = structure->objects[0];
    EXPECT_EQ(*find_attribute(root, "str_attr"), "hello");
    EXPECT_EQ(*find_attribute(root, "fixed_attr"), "fixed");
    EXPECT_EQ(*find_attribute(root, "float_attr"), 1.5);
    EXPECT_EQ(*find_attribute(root, "nan_attr"), "NaN");
    EXPECT_EQ(*find_attribute(root, "int_array"), nlohmann::json::parse("[0,1,2,3]"));
    EXPECT_EQ(*find_attribute(root, "bool_attr"), true);
    EXPECT_EQ(*find_attribute(root, "str_list"), nlohmann::json::parse(R"(["a","bc","def"])"));
    const HdfObject* many = find_path(*structure, "/many_attrs");
    ASSERT_NE(many, nullptr);
    EXPECT_GE(many->attributes.size(), 40u);
    ASSERT_NE(find_attribute(*many, "a05"), nullptr);
    EXPECT_EQ(find_attribute(*many, "a05")->size(), 6u);
    if (std::string(name) == "h5_latest.h5") {
      ASSERT_NE(find_attribute(*many, "big"), nullptr);
      EXPECT_EQ(find_attribute(*many, "big")->size(), 20000u);
      EXPECT_EQ((*find_attribute(*many, "big"))[19999], 19999.0);
    }
    const HdfObject* group = find_path(*structure, "/group");
    ASSERT_NE(group, nullptr);
    EXPECT_EQ(group->children.size(), 20u);
    EXPECT_EQ(structure->objects[group->children[0]].name, "d00");
    const HdfObject* typed = find_path(*structure, "/uses_named_type");
    ASSERT_NE(typed, nullptr);
    EXPECT_EQ(typed->datatype.type_class, TypeClass::kFixedPoint);
    EXPECT_EQ(typed->datatype.size, 8u);
    EXPECT_TRUE(warned_about(*structure, "soft link"));
    // Every link of the root with the object it reaches: the soft link (symbol-table scratch pad in the
    // earliest format, link message in the latest) and the second hard link included.
    std::map<std::string, std::string> reached;
    for (const GroupLink& link : root.links) {
      reached[link.name] = link.target == SIZE_MAX ? "" : structure->objects[link.target].path;
    }
    EXPECT_EQ(reached["soft"], "/group");
    EXPECT_EQ(reached["hard_again"], reached["x"]);
    EXPECT_EQ(reached["contiguous"], "/contiguous");
    EXPECT_EQ(root.links.size(), root.children.size() + 2);
  }
}

TEST(Hdf5Structure, NetcdfAttributesInCreationOrder) {
  OpenFile open(read_file_bytes(fixture_dir() / "nc4_basic.nc"));
  auto structure = read_file_structure(*open.reader);
  ASSERT_TRUE(structure.ok()) << structure.error().message();
  const HdfObject* v = find_path(*structure, "/v003");
  ASSERT_NE(v, nullptr);
  std::vector<std::string> names;
  for (const auto& attribute : v->attributes) names.push_back(attribute.name);
  // _FillValue (defined at creation) before attr0..attr8, which keep the order they were written in.
  ASSERT_GE(names.size(), 11u);
  auto fill = std::find(names.begin(), names.end(), "_FillValue");
  auto attr0 = std::find(names.begin(), names.end(), "attr0");
  auto attr8 = std::find(names.begin(), names.end(), "attr8");
  ASSERT_NE(attr0, names.end());
  EXPECT_LT(fill, attr0);
  EXPECT_EQ(attr8 - attr0, 8);
  EXPECT_EQ(*find_attribute(*v, "_FillValue"), -999.0);
  EXPECT_EQ(*find_attribute(structure->objects[0], "vlen_title"), "a variable-length string");
  EXPECT_EQ(*find_attribute(structure->objects[0], "history"), std::string(300, 'x'));
  const HdfObject* deeper = find_path(*structure, "/sub/deeper/dv");
  ASSERT_NE(deeper, nullptr);
  EXPECT_EQ(deeper->kind, ObjectKind::kDataset);
}

TEST(Hdf5Structure, FetchRoundsOfManyVariableNetcdfAreBounded) {
  OpenFile open(read_file_bytes(fixture_dir() / "nc4_many_vars.nc"));
  auto structure = read_file_structure(*open.reader);
  ASSERT_TRUE(structure.ok()) << structure.error().message();
  EXPECT_GE(structure->objects.size(), 150u);
  io::BlockCacheStats stats = open.cache.stats();
  // Superblock, root header and its continuations, dense links (heap + B-tree), all 157 child headers,
  // their dense attributes: a handful of rounds, independent of the variable count.
  EXPECT_LE(stats.fetch_rounds, 10u) << "requests " << stats.requests;
  EXPECT_LE(open.reader->stats().prefetch_rounds, 24u);
}

TEST(Hdf5Structure, PagedFileSwitchesToPageSizedBlocks) {
  OpenFile open(read_file_bytes(fixture_dir() / "h5_paged.h5"), 4096);
  auto structure = read_file_structure(*open.reader);
  ASSERT_TRUE(structure.ok()) << structure.error().message();
  EXPECT_LE(open.cache.stats().requests, 4u);
}

TEST(Hdf5Structure, TruncatedPrefixesFailCleanly) {
  std::string bytes = read_file_bytes(fixture_dir() / "h5_earliest.h5");
  size_t errors = 0;
  for (size_t length = 0; length < bytes.size(); length += 97) {
    OpenFile open(bytes.substr(0, length));
    auto structure = read_file_structure(*open.reader);
    if (!structure.ok()) {
      ++errors;
      EXPECT_NE(structure.error().message().find("memory://file.h5"), std::string::npos)
          << structure.error().message();
    }
  }
  EXPECT_GT(errors, 0u);
}

TEST(Hdf5Structure, CorruptBytesNeverCrash) {
  std::mt19937 random(7);
  for (const char* name : {"nc4_basic.nc", "h5_earliest.h5", "h5_latest.h5"}) {
    std::string original = read_file_bytes(fixture_dir() / name);
    for (int trial = 0; trial < 150; ++trial) {
      std::string bytes = original;
      size_t limit = std::min<size_t>(bytes.size(), 8192);
      for (int flips = 0; flips < 4; ++flips) bytes[random() % limit] = static_cast<char>(random());
      OpenFile open(std::move(bytes));
      auto structure = read_file_structure(*open.reader);
      (void)structure;
    }
  }
}

// A version-1 object header at 0 continues at 64, which continues at 64 again.
TEST(Hdf5Structure, ContinuationCycleIsAnError) {
  std::string bytes(256, '\0');
  auto put16 = [&bytes](size_t at, uint16_t v) { std::memcpy(&bytes[at], &v, 2); };
  auto put32 = [&bytes](size_t at, uint32_t v) { std::memcpy(&bytes[at], &v, 4); };
  auto put64 = [&bytes](size_t at, uint64_t v) { std::memcpy(&bytes[at], &v, 8); };
  bytes[0] = 1;        // version
  put16(2, 1);         // messages
  put32(4, 1);         // reference count
  put32(8, 24);        // header size
  put16(16, 0x10);     // continuation message
  put16(18, 16);       // body size
  put64(24, 64);       // continuation address
  put64(32, 24);       // continuation length
  put16(64, 0x10);
  put16(66, 16);
  put64(72, 64);       // back to itself
  put64(80, 24);
  OpenFile open(bytes);
  uint64_t address = 0;
  auto headers = read_object_headers(*open.reader, std::span<const uint64_t>(&address, 1));
  ASSERT_FALSE(headers[0].ok());
  EXPECT_NE(headers[0].error().message().find("cycle"), std::string::npos) << headers[0].error().message();
}

TEST(Hdf5Structure, NotHdf5IsAnError) {
  OpenFile open(std::string(5000, 'x'));
  auto structure = read_file_structure(*open.reader);
  ASSERT_FALSE(structure.ok());
  EXPECT_EQ(structure.error().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace floe::formats::hdf5
