// Icechunk commit benchmark, floe side (issue 3): one float32 array of R x C chunks of (1, 1), every chunk a
// virtual ref, committed to a repository on local disk; then, in a fresh process, the time to open that
// repository and fetch one chunk ref. bench/peers/icechunk_commit.py does the same with icechunk-python and
// prints the same JSON fields.
//
//   floe_bench_icechunk_commit commit --repo DIR --rows R --cols C [--files F] [--max-refs-per-manifest M]
//                                     [--rss-sample-ms N]
//   floe_bench_icechunk_commit open --repo DIR --row r --col c [--files F]
//
// Ref (r, c): location s3://bench-bucket/era5/file_%05d.nc with the file number r % F, offset 4096 + c*8192,
// length 8000 + r % 97.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"
#include "floe/io/http_transport.h"
#include "floe/io/local_store.h"
#include "floe/io/store_registry.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace ic = floe::icechunk;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Resident set size now (second field of /proc/self/statm, in pages).
std::uint64_t current_rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::uint64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// With --rss-sample-ms N: a thread that reads the RSS every N ms and keeps the maximum of the current phase,
// so that the commit's own peak can be told from the set phase's (ru_maxrss only has the process maximum).
class RssSampler {
 public:
  explicit RssSampler(int period_ms) : period_ms_(period_ms) {
    if (period_ms_ > 0) thread_ = std::thread([this] { loop(); });
  }
  ~RssSampler() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool enabled() const { return period_ms_ > 0; }
  // Returns the maximum since the previous call (or the start) and starts a new phase.
  std::uint64_t take_phase_max() {
    std::uint64_t now = current_rss_bytes();
    return std::max(max_.exchange(now), now);
  }

 private:
  void loop() {
    while (!stop_) {
      std::uint64_t rss = current_rss_bytes(), seen = max_.load();
      while (rss > seen && !max_.compare_exchange_weak(seen, rss)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(period_ms_));
    }
  }
  int period_ms_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> max_{0};
  std::thread thread_;
};

std::string location_of(std::uint64_t row, std::uint64_t files) {
  return fmt::format("s3://bench-bucket/era5/file_{:05d}.nc", row % files);
}
std::uint64_t offset_of(std::uint64_t col) { return 4096 + col * 8192; }
std::uint64_t length_of(std::uint64_t row) { return 8000 + row % 97; }

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
      continue;
    }
    out += ch;
  }
  return out;
}

std::shared_ptr<floe::io::StoreRegistry> make_registry() {
  return std::make_shared<floe::io::StoreRegistry>(
      std::make_shared<floe::io::HttpTransport>(floe::io::HttpTransportOptions{}), floe::io::Environment{});
}

// What zarr-python 3.4 writes for the root group and for
// zarr.create_array(shape=(R, C), chunks=(1, 1), dtype="float32", fill_value=nan, dimension_names=[...]).
constexpr std::string_view kGroupJson = R"({
  "attributes": {},
  "zarr_format": 3,
  "node_type": "group"
})";

std::string array_json(std::uint64_t rows, std::uint64_t cols) {
  return fmt::format(R"({{
  "shape": [
    {},
    {}
  ],
  "data_type": "float32",
  "chunk_grid": {{
    "name": "regular",
    "configuration": {{
      "chunk_shape": [
        1,
        1
      ]
    }}
  }},
  "chunk_key_encoding": {{
    "name": "default",
    "configuration": {{
      "separator": "/"
    }}
  }},
  "fill_value": "NaN",
  "codecs": [
    {{
      "name": "bytes",
      "configuration": {{
        "endian": "little"
      }}
    }},
    {{
      "name": "zstd",
      "configuration": {{
        "level": 0,
        "checksum": false
      }}
    }}
  ],
  "attributes": {{}},
  "dimension_names": [
    "time",
    "cell"
  ],
  "zarr_format": 3,
  "node_type": "array",
  "storage_transformers": []
}})",
                     rows, cols);
}

int fail(std::string_view what, const floe::Error& error) {
  fmt::print(stderr, "floe_bench_icechunk_commit: {}: {}\n", what, error.to_string());
  return 1;
}

int run_commit(const std::string& dir, std::uint64_t rows, std::uint64_t cols, std::uint64_t files,
               std::uint64_t max_refs_per_manifest, int rss_sample_ms) {
  if (rows == 0 || cols == 0 || files == 0 || rows > 0xffffffffu || cols > 0xffffffffu) {
    fmt::print(stderr, "floe_bench_icechunk_commit: rows, cols and files must be 1..2^32-1\n");
    return 2;
  }
  const std::uint64_t refs = rows * cols;
  const auto started = Clock::now();

  ic::CreateOptions options;
  ic::VirtualChunkContainer container;
  container.url_prefix = "s3://bench-bucket/";
  container.store = ic::Json{{"s3",
                              {{"region", "us-east-1"},
                               {"endpoint_url", nullptr},
                               {"anonymous", true},
                               {"allow_http", false},
                               {"force_path_style", false},
                               {"network_stream_timeout_seconds", nullptr},
                               {"requester_pays", false}}}};
  options.containers.push_back(container);
  auto repo = ic::Repository::create(std::make_shared<floe::io::LocalStore>(""), dir, make_registry(), options);
  if (!repo.ok()) return fail("creating the repository", repo.error());
  if (max_refs_per_manifest > 0) (*repo)->write_options().max_refs_per_manifest = max_refs_per_manifest;
  auto session = (*repo)->write_session("main");
  if (!session.ok()) return fail("opening a write session", session.error());
  ic::WriteSession& ws = **session;
  if (auto s = ws.put_group("/", std::string(kGroupJson)); !s.ok()) return fail("put_group /", s.error());
  if (auto s = ws.put_array("/data", array_json(rows, cols)); !s.ok()) return fail("put_array /data", s.error());
  const double create_s = seconds_since(started);

  // The F locations once, as a caller holding its file list would; refs point at them by row.
  std::vector<std::string> locations;
  locations.reserve(files);
  for (std::uint64_t f = 0; f < files; ++f) locations.push_back(location_of(f, files));
  const std::uint64_t baseline_rss = current_rss_bytes();
  RssSampler sampler(rss_sample_ms);
  sampler.take_phase_max();

  const auto set_started = Clock::now();
  std::array<std::uint32_t, 2> index{};
  for (std::uint64_t r = 0; r < rows; ++r) {
    index[0] = static_cast<std::uint32_t>(r);
    const std::string& location = locations[r % files];
    const std::uint64_t length = length_of(r);
    for (std::uint64_t c = 0; c < cols; ++c) {
      index[1] = static_cast<std::uint32_t>(c);
      floe::Status s = ws.set_virtual_ref("/data", index, location, offset_of(c), length);
      if (!s.ok()) return fail(fmt::format("set_virtual_ref [{},{}]", r, c), s.error());
    }
  }
  const double set_refs_s = seconds_since(set_started);
  const std::uint64_t rss_after_set = current_rss_bytes();
  const std::uint64_t peak_rss_after_set = peak_rss_bytes();  // ru_maxrss only grows: the set phase's peak
  const std::uint64_t sampled_set_max = sampler.take_phase_max();

  const auto commit_started = Clock::now();
  auto committed = ws.commit("bench");
  if (!committed.ok()) return fail("commit", committed.error());
  const double commit_s = seconds_since(commit_started);
  const std::uint64_t sampled_commit_max = sampler.take_phase_max();
  const double total_s = seconds_since(started);
  const std::uint64_t peak_rss = peak_rss_bytes();

  std::uint64_t repo_bytes = 0, manifests = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    repo_bytes += it->file_size();
    if (it->path().parent_path().filename() == "manifests") ++manifests;
  }
  std::string sampled;
  if (sampler.enabled()) {
    sampled = fmt::format(", \"rss_sample_ms\": {}, \"sampled_set_max_rss_bytes\": {}, \"sampled_commit_max_rss_bytes\": {}",
                          rss_sample_ms, sampled_set_max, sampled_commit_max);
  }
  fmt::print(
      "{{\"bench\": \"icechunk_commit\", \"tool\": \"floe\", \"refs\": {}, \"rows\": {}, \"cols\": {}, "
      "\"files\": {}, \"create_s\": {:.6f}, \"set_refs_s\": {:.6f}, \"commit_s\": {:.6f}, \"total_s\": {:.6f}, "
      "\"peak_rss_bytes\": {}, \"baseline_rss_bytes\": {}, \"rss_after_set_bytes\": {}, \"peak_rss_after_set_bytes\": {}, "
      "\"bytes_per_ref\": {:.2f}, "
      "\"repo_bytes\": {}, \"manifests\": {}, \"snapshot\": \"{}\", \"max_refs_per_manifest\": {}{}}}\n",
      refs, rows, cols, files, create_s, set_refs_s, commit_s, total_s, peak_rss, baseline_rss, rss_after_set,
      peak_rss_after_set,
      static_cast<double>(peak_rss - std::min(peak_rss, baseline_rss)) / static_cast<double>(refs), repo_bytes,
      manifests, ic::to_string(*committed), (*repo)->write_options().max_refs_per_manifest, sampled);
  return 0;
}

int run_open(const std::string& dir, std::uint64_t row, std::uint64_t col, std::uint64_t files) {
  const auto started = Clock::now();
  auto repo = ic::Repository::open(std::make_shared<floe::io::LocalStore>(""), dir, make_registry());
  if (!repo.ok()) return fail("opening the repository", repo.error());
  auto tip = (*repo)->branch_tip("main");
  if (!tip.ok()) return fail("branch_tip main", tip.error());
  auto session = (*repo)->read_session(*tip);
  if (!session.ok()) return fail("read_session", session.error());
  auto node = (*session)->node("/data");
  if (!node.ok()) return fail("node /data", node.error());
  const std::array<std::uint32_t, 2> index{static_cast<std::uint32_t>(row), static_cast<std::uint32_t>(col)};
  auto ref = (*session)->chunk_ref(**node, index);
  if (!ref.ok()) return fail("chunk_ref", ref.error());
  const double seconds = seconds_since(started);
  if (!ref->has_value()) {
    fmt::print(stderr, "floe_bench_icechunk_commit: no ref at [{},{}]\n", row, col);
    return 1;
  }
  const ic::ChunkRef& chunk = **ref;
  const std::string expected = location_of(row, files);
  const bool matches = chunk.kind == ic::ChunkKind::kVirtual && chunk.location == expected &&
                       chunk.offset == offset_of(col) && chunk.length == length_of(row);
  fmt::print("{{\"bench\": \"icechunk_open_one_ref\", \"tool\": \"floe\", \"seconds\": {:.6f}, "
             "\"what\": \"Repository::open + branch_tip + read_session + node + chunk_ref\", \"row\": {}, \"col\": {}, "
             "\"location\": \"{}\", \"offset\": {}, \"length\": {}, \"peak_rss_bytes\": {}}}\n",
             seconds, row, col, json_escape(chunk.location), chunk.offset, chunk.length, peak_rss_bytes());
  if (!matches) {
    fmt::print(stderr,
               "floe_bench_icechunk_commit: ref [{},{}] is {} @{}+{}, expected virtual {} @{}+{}\n", row, col,
               chunk.location, chunk.offset, chunk.length, expected, offset_of(col), length_of(row));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"floe Icechunk commit benchmark"};
  app.require_subcommand(1);
  std::string dir;
  std::uint64_t rows = 0, cols = 0, files = 10000, max_refs = 0, row = 0, col = 0;
  int rss_sample_ms = 0;
  CLI::App* commit = app.add_subcommand("commit", "create a repository and commit rows x cols virtual refs");
  commit->add_option("--repo", dir)->required();
  commit->add_option("--rows", rows)->required();
  commit->add_option("--cols", cols)->required();
  commit->add_option("--files", files);
  commit->add_option("--max-refs-per-manifest", max_refs, "0: floe's default");
  commit->add_option("--rss-sample-ms", rss_sample_ms,
                     "sample the RSS every N ms and report the set and commit phases' maxima (0: off)");
  CLI::App* open = app.add_subcommand("open", "open the repository and fetch one chunk ref");
  open->add_option("--repo", dir)->required();
  open->add_option("--row", row)->required();
  open->add_option("--col", col)->required();
  open->add_option("--files", files);
  CLI11_PARSE(app, argc, argv);
  if (commit->parsed()) return run_commit(dir, rows, cols, files, max_refs, rss_sample_ms);
  return run_open(dir, row, col, files == 0 ? 1 : files);
}
