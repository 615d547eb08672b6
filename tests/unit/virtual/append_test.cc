// Tests of appending a dataset to a committed one (virt::plan_append): merged coordinates, moved
// references, committed chunks untouched, arrays only the repository holds grown, and every
// refusal.
#include "floe/virtual/append.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "floe/icechunk/repository.h"
#include "floe/io/http_transport.h"
#include "floe/io/local_store.h"
#include "floe/virtual/writer.h"

namespace floe::virt {
namespace {

namespace fs = std::filesystem;

VirtualArray stored_int64(std::string name, std::vector<std::string> dims,
                          std::vector<uint64_t> shape, const std::vector<int64_t>& values) {
  VirtualArray array;
  array.name = std::move(name);
  array.dims = std::move(dims);
  array.shape = shape;
  array.chunk_shape = shape;
  array.data_type = "int64";
  array.element_size = 8;
  array.fill_value = 0;
  array.codecs = Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  array.attributes = Json{{"units", "seconds since 1970-01-01"}};
  array.dimension_coordinate = array.dims.size() == 1 && array.dims[0] == array.name;
  std::vector<std::byte> bytes(values.size() * 8);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  array.inline_chunks.emplace(0, Bytes::from_vector(std::move(bytes)));
  return array;
}

// A referencing float32 field with dims (init_time, step, y, x), one chunk per (init, step).
VirtualArray field(std::string name, uint64_t steps, Json codec = {{"name", "gribberish"}}) {
  VirtualArray array;
  array.name = std::move(name);
  array.dims = {"init_time", "step", "y", "x"};
  array.shape = {1, steps, 2, 3};
  array.chunk_shape = {1, 1, 2, 3};
  array.data_type = "float32";
  array.element_size = 4;
  array.fill_value = "NaN";
  array.codecs = Json::array({codec});
  return array;
}

// One forecast run: init_time [init], the given steps, a y coordinate, fields with one ref per step
// at (file run-<init>, offset 100 * step index).
VirtualDataset run(int64_t init, const std::vector<int64_t>& steps,
                   const std::vector<std::string>& fields, std::vector<int64_t> y = {10, 20}) {
  VirtualDataset dataset;
  dataset.root.arrays.push_back(stored_int64("init_time", {"init_time"}, {1}, {init}));
  dataset.root.arrays.push_back(stored_int64("step", {"step"}, {steps.size()}, steps));
  dataset.root.arrays.push_back(stored_int64("y", {"y"}, {2}, y));
  std::vector<int64_t> valid;
  for (int64_t step : steps) valid.push_back(init + step);
  dataset.root.arrays.push_back(
      stored_int64("valid_time", {"init_time", "step"}, {1, steps.size()}, valid));
  VirtualGroup group;
  group.name = "surface";
  for (const std::string& name : fields) {
    VirtualArray array = field(name, steps.size());
    const uint32_t path = array.refs.intern(fmt::format("file:///data/run-{}", init));
    for (uint64_t s = 0; s < steps.size(); ++s) array.refs.add(s, path, 100 * s, 50);
    group.arrays.push_back(std::move(array));
  }
  dataset.root.groups.push_back(std::move(group));
  return dataset;
}

class AppendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / fmt::format("floe_append_test_{}_{}", ::getpid(), counter_++);
    fs::remove_all(root_);
    fs::create_directories(root_);
    store_ = std::make_shared<io::LocalStore>("");
    registry_ = std::make_shared<io::StoreRegistry>(
        std::make_shared<io::HttpTransport>(io::HttpTransportOptions{}), io::Environment{});
    auto created = icechunk::Repository::create(store_, (root_ / "repo").string(), registry_, {});
    ASSERT_TRUE(created.ok()) << created.error().to_string();
    repository_ = std::move(created).value();
  }
  void TearDown() override { fs::remove_all(root_); }

  void commit(const VirtualDataset& dataset) {
    auto session = repository_->write_session("main");
    ASSERT_TRUE(session.ok());
    io::FetchScheduler scheduler;
    WriteContext context{.registry = registry_.get(), .scheduler = &scheduler};
    auto written = write_dataset(dataset, **session, context);
    ASSERT_TRUE(written.ok()) << written.error().to_string();
    ASSERT_TRUE((*session)->commit("run").ok());
  }

  Result<AppendPlan> plan(VirtualDataset dataset, std::vector<std::string> extendable = {"step"}) {
    auto tip = repository_->branch_tip("main");
    EXPECT_TRUE(tip.ok());
    auto committed = repository_->read_session(*tip);
    EXPECT_TRUE(committed.ok());
    committed_ = std::move(committed).value();
    return plan_append(*committed_, "/", std::move(dataset),
                       AppendOptions{.dim = "init_time", .extendable_dims = std::move(extendable)});
  }

  // Plans, writes and commits an append; returns the read session of the new snapshot.
  std::unique_ptr<icechunk::ReadSession> append(VirtualDataset dataset, AppendPlan* out = nullptr) {
    auto planned = plan(std::move(dataset));
    EXPECT_TRUE(planned.ok()) << planned.error().to_string();
    if (!planned.ok()) return nullptr;
    auto session = repository_->write_session("main");
    io::FetchScheduler scheduler;
    WriteContext context{.registry = registry_.get(), .scheduler = &scheduler};
    auto written = write_dataset(planned->dataset, **session, context);
    EXPECT_TRUE(written.ok()) << written.error().to_string();
    EXPECT_TRUE(apply_resizes(*planned, **session).ok());
    auto snapshot = (*session)->commit("append");
    EXPECT_TRUE(snapshot.ok()) << snapshot.error().to_string();
    if (out) *out = std::move(planned).value();
    return std::move(repository_->read_session(*snapshot)).value();
  }

  static std::vector<int64_t> int64_values(const icechunk::ReadSession& read,
                                           const std::string& key) {
    auto bytes = read.get_key(key);
    EXPECT_TRUE(bytes.ok() && bytes->has_value()) << key;
    if (!bytes.ok() || !bytes->has_value()) return {};
    std::vector<int64_t> values((*bytes)->size() / 8);
    std::memcpy(values.data(), (*bytes)->data(), values.size() * 8);
    return values;
  }

  static Json zarr_json(const icechunk::ReadSession& read, const std::string& path) {
    auto node = read.node(path);
    EXPECT_TRUE(node.ok()) << path;
    return node.ok() ? Json::parse((*node)->zarr_json) : Json();
  }

  // "location@offset" of the chunk, "" when missing.
  static std::string ref_at(const icechunk::ReadSession& read, const std::string& path,
                            std::vector<uint32_t> index) {
    auto node = read.node(path);
    if (!node.ok()) return "no node";
    auto ref = read.chunk_ref(**node, index);
    if (!ref.ok() || !ref->has_value()) return "";
    return fmt::format("{}@{}", (*ref)->location, (*ref)->offset);
  }

  static inline int counter_ = 0;
  fs::path root_;
  std::shared_ptr<io::LocalStore> store_;
  std::shared_ptr<io::StoreRegistry> registry_;
  std::shared_ptr<icechunk::Repository> repository_;
  std::unique_ptr<icechunk::ReadSession> committed_;
};

TEST_F(AppendTest, NextRunGoesAfterTheCommittedOneWithMoreStepsAndNewAndMissingFields) {
  commit(run(1000, {0, 3600}, {"t", "v"}));
  AppendPlan plan;
  auto read = append(run(2000, {0, 3600, 7200}, {"t", "u"}), &plan);
  ASSERT_TRUE(read);
  EXPECT_FALSE(plan.first);
  EXPECT_EQ(plan.committed_length, 1u);
  EXPECT_EQ(plan.appended_length, 1u);
  EXPECT_EQ(plan.coordinates["init_time"], (std::vector<double>{1000, 2000}));
  EXPECT_EQ(plan.coordinates["step"], (std::vector<double>{0, 3600, 7200}));

  EXPECT_EQ(int64_values(*read, "init_time/c/0"), (std::vector<int64_t>{1000, 2000}));
  EXPECT_EQ(int64_values(*read, "step/c/0"), (std::vector<int64_t>{0, 3600, 7200}));
  // valid_time merged by value: the first run has no 7200 step, so that cell is the fill value.
  EXPECT_EQ(int64_values(*read, "valid_time/c/0/0"),
            (std::vector<int64_t>{1000, 4600, 0, 2000, 5600, 9200}));
  EXPECT_EQ(zarr_json(*read, "/surface/t")["shape"], Json::array({2, 3, 2, 3}));
  EXPECT_EQ(ref_at(*read, "/surface/t", {0, 0, 0, 0}), "file:///data/run-1000@0");
  EXPECT_EQ(ref_at(*read, "/surface/t", {0, 1, 0, 0}), "file:///data/run-1000@100");
  EXPECT_EQ(ref_at(*read, "/surface/t", {0, 2, 0, 0}), "");
  EXPECT_EQ(ref_at(*read, "/surface/t", {1, 0, 0, 0}), "file:///data/run-2000@0");
  EXPECT_EQ(ref_at(*read, "/surface/t", {1, 2, 0, 0}), "file:///data/run-2000@200");
  // Only the first run had v: it grows, and keeps its chunks.
  EXPECT_EQ(zarr_json(*read, "/surface/v")["shape"], Json::array({2, 3, 2, 3}));
  EXPECT_EQ(ref_at(*read, "/surface/v", {0, 1, 0, 0}), "file:///data/run-1000@100");
  EXPECT_EQ(ref_at(*read, "/surface/v", {1, 0, 0, 0}), "");
  ASSERT_EQ(plan.resized.size(), 1u);
  EXPECT_EQ(plan.resized[0].first, "/surface/v");
  // Only the second run has u: the first run's cells are missing chunks.
  EXPECT_EQ(zarr_json(*read, "/surface/u")["shape"], Json::array({2, 3, 2, 3}));
  EXPECT_EQ(ref_at(*read, "/surface/u", {0, 0, 0, 0}), "");
  EXPECT_EQ(ref_at(*read, "/surface/u", {1, 1, 0, 0}), "file:///data/run-2000@100");
  // y did not change: it is not rewritten.
  EXPECT_EQ(int64_values(*read, "y/c/0"), (std::vector<int64_t>{10, 20}));

  // A third run with fewer steps lands on the committed step positions.
  auto third = append(run(3000, {3600}, {"t"}));
  ASSERT_TRUE(third);
  EXPECT_EQ(zarr_json(*third, "/surface/t")["shape"], Json::array({3, 3, 2, 3}));
  EXPECT_EQ(ref_at(*third, "/surface/t", {2, 1, 0, 0}), "file:///data/run-3000@0");
  EXPECT_EQ(ref_at(*third, "/surface/t", {2, 0, 0, 0}), "");
  EXPECT_EQ(ref_at(*third, "/surface/t", {1, 2, 0, 0}), "file:///data/run-2000@200");
  EXPECT_EQ(zarr_json(*third, "/surface/u")["shape"], Json::array({3, 3, 2, 3}));
}

TEST_F(AppendTest, AnEmptyGroupTakesTheDatasetAsIs) {
  auto planned = plan(run(1000, {0}, {"t"}));
  ASSERT_TRUE(planned.ok()) << planned.error().to_string();
  EXPECT_TRUE(planned->first);
}

TEST_F(AppendTest, RefusesARunAlreadyCommittedOrEarlier) {
  commit(run(2000, {0}, {"t"}));
  auto again = plan(run(2000, {0}, {"t"}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().to_string().find("already in the repository"), std::string::npos)
      << again.error().to_string();
  EXPECT_NE(again.error().to_string().find("1970-01-01T00:33:20Z"), std::string::npos)
      << again.error().to_string();
  auto earlier = plan(run(1000, {0}, {"t"}));
  ASSERT_FALSE(earlier.ok());
  EXPECT_EQ(earlier.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(earlier.error().to_string().find("comes before"), std::string::npos);
}

TEST_F(AppendTest, RefusesDimensionsThatMustMatch) {
  commit(run(1000, {0, 3600}, {"t"}));
  // Another grid (y values differ).
  auto other_grid = plan(run(2000, {0, 3600}, {"t"}, {10, 30}));
  ASSERT_FALSE(other_grid.ok());
  EXPECT_NE(other_grid.error().to_string().find("y[1]"), std::string::npos)
      << other_grid.error().to_string();
  // The same values in other units are other values.
  VirtualDataset other_units = run(2000, {0, 3600}, {"t"});
  other_units.root.arrays[0].attributes["units"] = "seconds since 2000-01-01";
  auto units = plan(std::move(other_units));
  ASSERT_FALSE(units.ok());
  EXPECT_NE(units.error().to_string().find(
                "init_time: units is \"seconds since 1970-01-01\" in the repository"),
            std::string::npos)
      << units.error().to_string();
  // step may not grow unless it is extendable.
  auto longer = plan(run(2000, {0, 3600, 7200}, {"t"}), {});
  ASSERT_FALSE(longer.ok());
  EXPECT_NE(longer.error().to_string().find("step has 2 values in the repository and 3"),
            std::string::npos)
      << longer.error().to_string();
  // A new step between committed ones cannot be placed without moving committed chunks.
  auto between = plan(run(2000, {0, 1800}, {"t"}));
  ASSERT_FALSE(between.ok());
  EXPECT_NE(between.error().to_string().find("not after the committed values"), std::string::npos)
      << between.error().to_string();
}

TEST_F(AppendTest, AnArrayWithAnotherCodecOnlyGrows) {
  commit(run(1000, {0}, {"t"}));
  VirtualDataset next = run(2000, {0}, {"t"});
  next.root.groups[0].arrays[0].codecs =
      Json::array({{{"name", "floe.grib"}, {"configuration", {{"field", 0}}}}});
  AppendPlan plan;
  auto read = append(std::move(next), &plan);
  ASSERT_TRUE(read);
  ASSERT_EQ(plan.dataset.warnings.size(), 1u);
  EXPECT_NE(plan.dataset.warnings[0].find("surface/t"), std::string::npos)
      << plan.dataset.warnings[0];
  EXPECT_EQ(zarr_json(*read, "/surface/t")["shape"], Json::array({2, 1, 2, 3}));
  EXPECT_EQ(zarr_json(*read, "/surface/t")["codecs"][0]["name"], "gribberish");
  EXPECT_EQ(ref_at(*read, "/surface/t", {0, 0, 0, 0}), "file:///data/run-1000@0");
  EXPECT_EQ(ref_at(*read, "/surface/t", {1, 0, 0, 0}), "");
}

TEST_F(AppendTest, ChunksLongerThanOneMoveOnlyByWholeChunks) {
  auto series = [](int64_t start, uint64_t length) {
    VirtualDataset dataset;
    std::vector<int64_t> times;
    for (uint64_t i = 0; i < length; ++i) times.push_back(start + static_cast<int64_t>(i));
    dataset.root.arrays.push_back(stored_int64("init_time", {"init_time"}, {length}, times));
    VirtualArray data = field("t", 1);
    data.dims = {"init_time", "x"};
    data.shape = {length, 3};
    data.chunk_shape = {2, 3};
    const uint32_t path = data.refs.intern(fmt::format("file:///data/series-{}", start));
    for (uint64_t c = 0; c < (length + 1) / 2; ++c) data.refs.add(c, path, 10 * c, 10);
    dataset.root.arrays.push_back(std::move(data));
    return dataset;
  };
  commit(series(0, 4));
  auto read = append(series(10, 2));
  ASSERT_TRUE(read);
  EXPECT_EQ(int64_values(*read, "init_time/c/0"), (std::vector<int64_t>{0, 1, 2, 3, 10, 11}));
  EXPECT_EQ(ref_at(*read, "/t", {2, 0}), "file:///data/series-10@0");
  EXPECT_EQ(ref_at(*read, "/t", {1, 0}), "file:///data/series-0@10");
  // Now 6 committed steps of chunks of 2 and 3 more: fine; then 9 committed is not a whole number
  // of chunks.
  ASSERT_TRUE(append(series(20, 3)));
  auto misaligned = plan(series(30, 2));
  ASSERT_FALSE(misaligned.ok());
  EXPECT_NE(misaligned.error().to_string().find("multiple of the chunk length"), std::string::npos)
      << misaligned.error().to_string();
}

}  // namespace
}  // namespace floe::virt
