// ArrayReader over regular and rectilinear chunk grids: arrays whose every element holds its own
// row-major index, written chunk by chunk into a local repository, read back through random boxes
// and multi-range selections; the expected value of an element is its index (or the fill value in
// a chunk never written), whatever the chunking.
#include "floe/read/array_reader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/core/thread_pool.h"
#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"
#include "floe/io/local_store.h"
#include "floe/io/store_registry.h"

namespace floe::read {
namespace {

namespace fs = std::filesystem;
using Edges = std::vector<std::uint64_t>;
using Json = nlohmann::json;

constexpr std::int32_t kFill = -1;
constexpr std::int32_t kPastTheEnd = -7;  // what chunks hold beyond the array's last element

struct Grid {
  std::string name;
  Edges shape;
  Json chunk_grid;
  std::vector<Edges> edges;  // per axis, covering the shape: what the chunks are written with
  bool transposed = false;   // a transpose codec, whose layout depends on the chunk's shape
};

void PrintTo(const Grid& grid, std::ostream* out) { *out << grid.name; }

Json rectilinear(Json chunk_shapes) {
  return {{"name", "rectilinear"},
          {"configuration", {{"kind", "inline"}, {"chunk_shapes", std::move(chunk_shapes)}}}};
}

std::vector<Grid> grids() {
  return {
      {"regular",
       {10, 7, 5},
       Json::parse(R"({"name": "regular",
        "configuration": {"chunk_shape": [4, 3, 5]}})"),
       {{4, 4, 4}, {3, 3, 3}, {5}}},
      {"rectilinear",
       {10, 7, 5},
       rectilinear(Json::parse(R"([[3, [1, 2], 5], 3, [2, 3]])")),
       {{3, 1, 1, 5}, {3, 3, 3}, {2, 3}}},
      // The last edge of axis 0 passes the end (4 + 7 > 10); a third is declared wholly past it.
      {"rectilinear_past_the_end",
       {10, 7, 5},
       rectilinear(Json::parse(R"([[4, 7, 2], [7], [[1, 5]]])")),
       {{4, 7}, {7}, {1, 1, 1, 1, 1}}},
      {"rectilinear_transposed",
       {10, 7, 5},
       rectilinear(Json::parse(R"([[5, 2, 3], [2, 5], 5])")),
       {{5, 2, 3}, {2, 5}, {5}},
       true},
  };
}

class ArrayReaderTest : public ::testing::TestWithParam<Grid> {
 protected:
  void SetUp() override {
    const Grid& grid = GetParam();
    root_ = fs::temp_directory_path() /
            fmt::format("floe-array-reader-test-{}-{}", ::getpid(), grid.name);
    fs::remove_all(root_);
    fs::create_directories(root_);
    auto store = std::make_shared<io::LocalStore>("");
    auto stores = std::make_shared<io::StoreRegistry>(
        std::make_shared<io::HttpTransport>(io::HttpTransportOptions{}), io::Environment{});
    // Chunks of up to 40 bytes inline, larger ones as chunk objects.
    auto created = icechunk::Repository::create(
        store, (root_ / "repo").string(), stores,
        icechunk::CreateOptions{.inline_chunk_threshold_bytes = 40, .containers = {}});
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    repository_ = *created;
    auto writer = repository_->write_session("main");
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    ASSERT_TRUE((*writer)->put_group("/", R"({"zarr_format": 3, "node_type": "group"})").ok());
    Json codecs = Json::array({Json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
    if (grid.transposed)
      codecs.insert(codecs.begin(), Json::parse(R"({"name": "transpose",
        "configuration": {"order": [2, 0, 1]}})"));
    const Json zarr_json{{"zarr_format", 3},
                         {"node_type", "array"},
                         {"shape", grid.shape},
                         {"data_type", "int32"},
                         {"chunk_grid", grid.chunk_grid},
                         {"chunk_key_encoding", {{"name", "default"}}},
                         {"fill_value", kFill},
                         {"codecs", codecs}};
    auto put = (*writer)->put_array("/a", zarr_json.dump());
    ASSERT_TRUE(put.ok()) << put.error().to_string();

    // Every chunk but those whose index sums to a multiple of 3 (a third of them, never the
    // whole array), each holding its elements' row-major indices.
    std::vector<std::uint64_t> chunk(3, 0);
    while (true) {
      if ((chunk[0] + chunk[1] + chunk[2]) % 3 != 0) write_chunk(**writer, chunk);
      std::size_t d = 3;
      while (d-- > 0) {
        if (++chunk[d] < grid.edges[d].size()) break;
        chunk[d] = 0;
      }
      if (d == static_cast<std::size_t>(-1)) break;
    }
    auto committed = (*writer)->commit("chunks");
    ASSERT_TRUE(committed.ok()) << committed.error().to_string();
    auto session = repository_->read_session(*committed);
    ASSERT_TRUE(session.ok()) << session.error().to_string();
    session_ = std::move(session).value();
    codecs::register_builtin_codecs(registry_);
  }

  void TearDown() override { fs::remove_all(root_); }

  // Chunk `chunk` at its full edges in C order; with the transpose codec, stored in order (2, 0,
  // 1).
  void write_chunk(icechunk::WriteSession& writer, const std::vector<std::uint64_t>& chunk) {
    const Grid& grid = GetParam();
    Edges start(3, 0), extent(3);
    for (std::size_t d = 0; d < 3; ++d) {
      for (std::uint64_t i = 0; i < chunk[d]; ++i) start[d] += grid.edges[d][i];
      extent[d] = grid.edges[d][chunk[d]];
    }
    std::vector<std::int32_t> values;
    auto value_at = [&](std::uint64_t i, std::uint64_t j, std::uint64_t k) {
      const std::uint64_t y = start[0] + i, x = start[1] + j, z = start[2] + k;
      if (y >= grid.shape[0] || x >= grid.shape[1] || z >= grid.shape[2]) return kPastTheEnd;
      return static_cast<std::int32_t>((y * grid.shape[1] + x) * grid.shape[2] + z);
    };
    if (grid.transposed) {
      for (std::uint64_t k = 0; k < extent[2]; ++k)
        for (std::uint64_t i = 0; i < extent[0]; ++i)
          for (std::uint64_t j = 0; j < extent[1]; ++j) values.push_back(value_at(i, j, k));
    } else {
      for (std::uint64_t i = 0; i < extent[0]; ++i)
        for (std::uint64_t j = 0; j < extent[1]; ++j)
          for (std::uint64_t k = 0; k < extent[2]; ++k) values.push_back(value_at(i, j, k));
    }
    std::vector<std::uint32_t> index(chunk.begin(), chunk.end());
    auto written = writer.write_chunk(
        "/a", index,
        Bytes::copy_of(std::string_view(reinterpret_cast<const char*>(values.data()),
                                        values.size() * sizeof(std::int32_t))));
    ASSERT_TRUE(written.ok()) << written.error().to_string();
  }

  // What element (y, x, z) reads as: its index, or the fill value when its chunk was not written.
  std::int32_t expected_at(std::uint64_t y, std::uint64_t x, std::uint64_t z) const {
    const Grid& grid = GetParam();
    const std::uint64_t at[] = {y, x, z};
    std::uint64_t chunk_sum = 0;
    for (std::size_t d = 0; d < 3; ++d) {
      std::uint64_t end = 0, chunk = 0;
      while (at[d] >= (end += grid.edges[d][chunk])) ++chunk;
      chunk_sum += chunk;
    }
    if (chunk_sum % 3 == 0) return kFill;
    return static_cast<std::int32_t>((y * grid.shape[1] + x) * grid.shape[2] + z);
  }

  void expect_selection(const ArrayReader& reader, const std::vector<DimSelection>& selection,
                        const ReadOptions& options) {
    ReadStats stats;
    auto values = reader.read_into_memory(selection, options, &stats);
    ASSERT_TRUE(values.ok()) << values.error().to_string();
    std::vector<Edges> indices(3);  // the array index of each output position, per axis
    for (std::size_t d = 0; d < 3; ++d) {
      for (const IndexRange& range : selection[d].ranges) {
        for (std::uint64_t i = range.start; i < range.stop; ++i) indices[d].push_back(i);
      }
    }
    ASSERT_EQ(values->size(),
              indices[0].size() * indices[1].size() * indices[2].size() * sizeof(std::int32_t));
    std::size_t at = 0, wrong = 0;
    for (std::uint64_t y : indices[0]) {
      for (std::uint64_t x : indices[1]) {
        for (std::uint64_t z : indices[2]) {
          std::int32_t value;
          std::memcpy(&value, values->data() + at * sizeof value, sizeof value);
          if (value != expected_at(y, x, z) && wrong++ < 5) {
            ADD_FAILURE() << "element (" << y << ", " << x << ", " << z << ") reads " << value
                          << ", expected " << expected_at(y, x, z);
          }
          ++at;
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(stats.chunks, 0u);
  }

  fs::path root_;
  std::shared_ptr<icechunk::Repository> repository_;
  std::unique_ptr<icechunk::ReadSession> session_;
  codecs::CodecRegistry registry_;
};

TEST_P(ArrayReaderTest, WholeArrayAndMissingChunks) {
  auto reader = ArrayReader::open(*session_, "/a", registry_);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  EXPECT_EQ(reader->metadata().rectilinear(), GetParam().chunk_grid["name"] == "rectilinear");
  expect_selection(*reader, reader->everything(), ReadOptions{});
  ReadStats stats;
  ASSERT_TRUE(reader->read_into_memory(reader->everything(), ReadOptions{}, &stats).ok());
  const Grid& grid = GetParam();
  const std::uint64_t chunks = grid.edges[0].size() * grid.edges[1].size() * grid.edges[2].size();
  EXPECT_EQ(stats.chunks, chunks);
  std::uint64_t missing = 0;
  for (std::uint64_t i = 0; i < grid.edges[0].size(); ++i)
    for (std::uint64_t j = 0; j < grid.edges[1].size(); ++j)
      for (std::uint64_t k = 0; k < grid.edges[2].size(); ++k) missing += (i + j + k) % 3 == 0;
  EXPECT_EQ(stats.missing_chunks, missing);
}

TEST_P(ArrayReaderTest, RandomBoxesAndMultiRangeSelections) {
  auto reader = ArrayReader::open(*session_, "/a", registry_);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  const Edges& shape = GetParam().shape;
  std::mt19937_64 random(20240611);
  ThreadPool pool(2);
  for (int round = 0; round < 60; ++round) {
    std::vector<DimSelection> selection(3);
    for (std::size_t d = 0; d < 3; ++d) {
      // One to three ranges, in any order (as a box across a longitude seam gives).
      const int ranges = 1 + static_cast<int>(random() % 3);
      for (int r = 0; r < ranges; ++r) {
        const std::uint64_t start = random() % shape[d];
        const std::uint64_t stop = start + 1 + random() % (shape[d] - start);
        selection[d].ranges.push_back(IndexRange{start, stop});
      }
    }
    ReadOptions options;
    options.pool = round % 2 ? &pool : nullptr;
    // Small windows cut the output into slabs of a few rows, splitting chunks along axis 0.
    options.window_bytes = round % 3 == 0 ? 4 * shape[1] * shape[2] : 256u << 20;
    SCOPED_TRACE(fmt::format("round {}", round));
    expect_selection(*reader, selection, options);
  }
}

INSTANTIATE_TEST_SUITE_P(Grids, ArrayReaderTest, ::testing::ValuesIn(grids()),
                         [](const ::testing::TestParamInfo<Grid>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace floe::read
