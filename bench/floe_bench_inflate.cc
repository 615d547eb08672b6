// Decode ceiling of the read benchmark (issue 5): one array's chunks, libdeflate vs floe, MB/s.
//
//   floe_bench_inflate --repo DIR --array /t2m [--authorize PREFIX]... [--max-chunks N]
//                      [--rounds R] [--threads T]
//
// Opens the local repository's main branch and takes the first N chunks of the array in C order.
// Their stored bytes are read into memory once, through the repository's virtual chunk refs (every
// container authorized unless --authorize names some). Then, R rounds each:
//   libdeflate  libdeflate_zlib_decompress of every chunk into a reused buffer (the outermost
//               codec must be numcodecs.zlib: HDF5's deflate filter writes zlib streams);
//   pipeline    floe's CodecPipeline::decode of every chunk (inflate + unshuffle + bytes) into a
//               reused buffer;
// first on one thread (the single-core limit), then, with --threads T > 1, on T threads that each
// decode every chunk (the aggregate rate this machine gives T threads, loaded as it is). Prints one
// JSON object with the medians and the best rounds in decoded MB/s (10^6 bytes per second), per
// wall second and per CPU second of the decoding threads (*_cpu_mb_s: the rate a core gives when it
// is not shared, which other processes on a loaded machine do not distort).
#include <fmt/format.h>
#include <libdeflate.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/icechunk/repository.h"
#include "floe/icechunk/session.h"
#include "floe/io/http_transport.h"
#include "floe/io/local_store.h"
#include "floe/io/store_registry.h"
#include "floe/read/array_reader.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace ic = floe::icechunk;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* decompressor) const {
    libdeflate_free_decompressor(decompressor);
  }
};

struct Chunk {
  std::vector<std::uint8_t> stored;
};

struct Figures {
  double median_mb_s = 0;  // decoded MB per wall second, all threads together
  double best_mb_s = 0;
  double median_cpu_mb_s = 0;  // decoded MB per CPU second of the decoding threads
};

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs `work` (one full pass over the chunks, returning the decoded bytes or -1 on failure) on
// `threads` threads at once, `rounds` times: aggregate decoded MB per wall second, and per CPU
// second of the decoding threads (what a loaded machine does not distort).
template <typename Work>
Figures measure(int rounds, int threads, Work work, bool* failed) {
  std::vector<double> rates, cpu_rates;
  for (int round = 0; round < rounds; ++round) {
    std::vector<long long> decoded(static_cast<std::size_t>(threads), 0);
    std::vector<double> cpu(static_cast<std::size_t>(threads), 0);
    const auto start = Clock::now();
    {
      std::vector<std::jthread> workers;
      for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
          const double cpu_start = thread_cpu_seconds();
          decoded[static_cast<std::size_t>(t)] = work();
          cpu[static_cast<std::size_t>(t)] = thread_cpu_seconds() - cpu_start;
        });
      }
    }
    const double seconds = seconds_since(start);
    long long total = 0;
    double cpu_total = 0;
    for (std::size_t t = 0; t < decoded.size(); ++t) {
      if (decoded[t] < 0) *failed = true;
      total += decoded[t];
      cpu_total += cpu[t];
    }
    rates.push_back(static_cast<double>(total) / seconds / 1e6);
    cpu_rates.push_back(static_cast<double>(total) / cpu_total / 1e6);
  }
  const double best = *std::max_element(rates.begin(), rates.end());
  return Figures{median_of(rates), best, median_of(cpu_rates)};
}

int run(const std::string& repo_dir, const std::string& array, std::vector<std::string> authorize,
        std::uint64_t max_chunks, int rounds, int threads) {
  auto registry = std::make_shared<floe::io::StoreRegistry>(
      std::make_shared<floe::io::HttpTransport>(floe::io::HttpTransportOptions{}),
      floe::io::Environment{});
  auto opened =
      ic::Repository::open(std::make_shared<floe::io::LocalStore>(""), repo_dir, registry);
  if (!opened.ok()) {
    fmt::print(stderr, "floe_bench_inflate: opening {}: {}\n", repo_dir,
               opened.error().to_string());
    return 1;
  }
  std::shared_ptr<ic::Repository> repository = std::move(opened).value();
  if (authorize.empty()) {
    for (const ic::VirtualChunkContainer& container : repository->virtual_chunks().containers()) {
      authorize.push_back(container.url_prefix);
    }
  }
  for (const std::string& prefix : authorize) repository->virtual_chunks().authorize(prefix);
  auto tip = repository->branch_tip("main");
  if (!tip.ok()) {
    fmt::print(stderr, "floe_bench_inflate: branch main of {}: {}\n", repo_dir,
               tip.error().to_string());
    return 1;
  }
  auto session = repository->read_session(*tip);
  if (!session.ok()) {
    fmt::print(stderr, "floe_bench_inflate: snapshot of {}: {}\n", repo_dir,
               session.error().to_string());
    return 1;
  }
  floe::codecs::CodecRegistry codecs;
  floe::codecs::register_builtin_codecs(codecs);
  auto reader = floe::read::ArrayReader::open(**session, array, codecs);
  if (!reader.ok()) {
    fmt::print(stderr, "floe_bench_inflate: array {}: {}\n", array, reader.error().to_string());
    return 1;
  }
  const floe::zarr::ArrayMetadata& metadata = reader->metadata();
  const floe::codecs::CodecPipeline& pipeline = reader->pipeline();
  if (pipeline.sharding()) {
    fmt::print(stderr, "floe_bench_inflate: {} is sharded; this benchmark reads whole chunks\n",
               array);
    return 1;
  }
  const std::uint64_t decoded_size = pipeline.layout().byte_size();
  auto node = (*session)->node(array);
  if (!node.ok()) return 1;

  // The first max_chunks chunks in C order.
  const std::size_t rank = metadata.shape.size();
  std::vector<std::uint32_t> grid(rank), index(rank, 0);
  for (std::size_t d = 0; d < rank; ++d) {
    grid[d] = static_cast<std::uint32_t>((metadata.shape[d] + metadata.chunk_shape[d] - 1) /
                                         metadata.chunk_shape[d]);
  }
  std::vector<Chunk> chunks;
  std::uint64_t stored_total = 0;
  const auto load_start = Clock::now();
  while (chunks.size() < max_chunks) {
    auto ref = (*session)->chunk_ref(**node, index);
    if (!ref.ok()) {
      fmt::print(stderr, "floe_bench_inflate: chunk ref: {}\n", ref.error().to_string());
      return 1;
    }
    if (*ref) {
      const ic::ChunkRef& r = **ref;
      Chunk chunk;
      if (r.kind == ic::ChunkKind::kInline) {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(r.inline_data.data());
        chunk.stored.assign(bytes, bytes + r.inline_data.size());
      } else if (r.kind == ic::ChunkKind::kVirtual) {
        auto bytes = repository->virtual_chunks().read(r.location, r.offset, r.length,
                                                       r.checksum_etag, r.checksum_last_modified);
        if (!bytes.ok()) {
          fmt::print(stderr, "floe_bench_inflate: reading {} [{}, +{}): {}\n", r.location, r.offset,
                     r.length, bytes.error().to_string());
          return 1;
        }
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes->data());
        chunk.stored.assign(data, data + bytes->size());
      } else {
        fmt::print(stderr,
                   "floe_bench_inflate: {} has native chunks; this benchmark reads virtual or "
                   "inline ones\n",
                   array);
        return 1;
      }
      stored_total += chunk.stored.size();
      chunks.push_back(std::move(chunk));
    }
    std::size_t d = rank;
    while (d-- > 0) {
      if (++index[d] < grid[d]) break;
      index[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) break;
  }
  const double load_seconds = seconds_since(load_start);
  if (chunks.empty()) {
    fmt::print(stderr, "floe_bench_inflate: {} has no stored chunks\n", array);
    return 1;
  }

  auto inflate_all = [&]() -> long long {
    std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> decompressor(
        libdeflate_alloc_decompressor());
    std::vector<std::uint8_t> out(decoded_size);
    long long total = 0;
    for (const Chunk& chunk : chunks) {
      std::size_t actual = 0;
      if (libdeflate_zlib_decompress(decompressor.get(), chunk.stored.data(), chunk.stored.size(),
                                     out.data(), out.size(), &actual) != LIBDEFLATE_SUCCESS) {
        return -1;
      }
      total += static_cast<long long>(actual);
    }
    return total;
  };
  auto pipeline_all = [&]() -> long long {
    std::vector<std::uint8_t> out(decoded_size);
    long long total = 0;
    for (const Chunk& chunk : chunks) {
      if (!pipeline.decode(chunk.stored, out).ok()) return -1;
      total += static_cast<long long>(decoded_size);
    }
    return total;
  };

  bool failed = false;
  const Figures inflate_1 = measure(rounds, 1, inflate_all, &failed);
  if (failed) {
    fmt::print(
        stderr,
        "floe_bench_inflate: libdeflate_zlib_decompress failed (is the outermost codec zlib?)\n");
    return 1;
  }
  const Figures pipeline_1 = measure(rounds, 1, pipeline_all, &failed);
  Figures inflate_t, pipeline_t;
  if (threads > 1) {
    inflate_t = measure(rounds, threads, inflate_all, &failed);
    pipeline_t = measure(rounds, threads, pipeline_all, &failed);
  }
  if (failed) {
    fmt::print(stderr, "floe_bench_inflate: a chunk failed to decode\n");
    return 1;
  }
  std::string threaded;
  if (threads > 1) {
    threaded = fmt::format(
        ", \"threads\": {}, \"libdeflate_threads_mb_s\": {:.1f}, "
        "\"libdeflate_threads_best_mb_s\": {:.1f}, \"libdeflate_threads_cpu_mb_s\": {:.1f}, "
        "\"pipeline_threads_mb_s\": {:.1f}, \"pipeline_threads_best_mb_s\": {:.1f}, "
        "\"pipeline_threads_cpu_mb_s\": {:.1f}",
        threads, inflate_t.median_mb_s, inflate_t.best_mb_s, inflate_t.median_cpu_mb_s,
        pipeline_t.median_mb_s, pipeline_t.best_mb_s, pipeline_t.median_cpu_mb_s);
  }
  const std::uint64_t decoded_total = decoded_size * chunks.size();
  fmt::print(
      "{{\"array\": \"{}\", \"codecs\": \"{}\", \"chunks\": {}, \"bytes_stored\": {}, "
      "\"bytes_decoded\": {}, \"ratio\": {:.3f}, \"load_s\": {:.3f}, \"rounds\": {}, "
      "\"libdeflate_1core_mb_s\": {:.1f}, \"libdeflate_1core_best_mb_s\": {:.1f}, "
      "\"libdeflate_1core_cpu_mb_s\": {:.1f}, \"pipeline_1core_mb_s\": {:.1f}, "
      "\"pipeline_1core_best_mb_s\": {:.1f}, \"pipeline_1core_cpu_mb_s\": {:.1f}{}}}\n",
      array, pipeline.describe(), chunks.size(), stored_total, decoded_total,
      static_cast<double>(decoded_total) / static_cast<double>(stored_total), load_seconds, rounds,
      inflate_1.median_mb_s, inflate_1.best_mb_s, inflate_1.median_cpu_mb_s, pipeline_1.median_mb_s,
      pipeline_1.best_mb_s, pipeline_1.median_cpu_mb_s, threaded);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Single-core and T-thread decode rates of an array's stored chunks (libdeflate, floe's "
      "pipeline)"};
  std::string repo_dir, array;
  std::vector<std::string> authorize;
  std::uint64_t max_chunks = 256;
  int rounds = 5, threads = 1;
  app.add_option("--repo", repo_dir, "Local repository directory")->required();
  app.add_option("--array", array, "Array path, e.g. /t2m")->required();
  app.add_option("--authorize", authorize,
                 "Virtual chunk prefix to read (default: every container)");
  app.add_option("--max-chunks", max_chunks, "Chunks taken, in C order (default 256)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--rounds", rounds, "Timed passes per measurement (default 5)")
      ->check(CLI::Range(1, 100));
  app.add_option("--threads", threads,
                 "Also measure T threads at once (default 1: single core only)")
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  return run(repo_dir, array, authorize, max_chunks, rounds, threads);
}
