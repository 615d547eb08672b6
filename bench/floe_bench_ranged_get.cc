// Ranged-GET benchmark, floe side: the same reads as bench/peers/*.py, through S3Store and the
// FetchScheduler, printing the same JSON line (plus the requests floe issued).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <zlib.h>

#include <chrono>

#include "floe/io/fetch_scheduler.h"
#include "floe/io/s3_store.h"

int main(int argc, char** argv) {
  std::string endpoint, bucket, keys_text, access_key, secret_key, region = "us-east-1";
  uint64_t ranges_per_key = 0, range_size = 0, stride = 0;
  int concurrency = 64;
  CLI::App app{"floe ranged-GET benchmark"};
  app.add_option("--endpoint", endpoint)->required();
  app.add_option("--bucket", bucket)->required();
  app.add_option("--keys", keys_text)->required();
  app.add_option("--ranges-per-key", ranges_per_key)->required();
  app.add_option("--range-size", range_size)->required();
  app.add_option("--stride", stride)->required();
  app.add_option("--access-key", access_key)->required();
  app.add_option("--secret-key", secret_key)->required();
  app.add_option("--region", region);
  app.add_option("--concurrency", concurrency);
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> keys;
  for (size_t start = 0; start <= keys_text.size();) {
    size_t comma = keys_text.find(',', start);
    if (comma == std::string::npos) comma = keys_text.size();
    if (comma > start) keys.push_back(keys_text.substr(start, comma - start));
    start = comma + 1;
  }

  floe::io::HttpTransportOptions transport_options;
  transport_options.max_in_flight = static_cast<size_t>(std::max(1, concurrency));
  transport_options.max_per_host = transport_options.max_in_flight;
  auto transport = std::make_shared<floe::io::HttpTransport>(transport_options);
  floe::io::S3StoreOptions options;
  options.bucket = bucket;
  options.endpoint = endpoint;
  options.region = region;
  options.credentials = floe::io::Credentials{access_key, secret_key, ""};
  auto store = floe::io::S3Store::create(transport, options);
  if (!store.ok()) {
    fmt::print(stderr, "floe_bench_ranged_get: {}\n", store.error().to_string());
    return 1;
  }
  std::vector<floe::io::FetchRequest> requests;
  for (const std::string& key : keys) {
    for (uint64_t i = 0; i < ranges_per_key; ++i) {
      requests.push_back({store->get(), key, i * stride, range_size, nullptr});
    }
  }
  // Default scheduler settings, as a user gets them (gap 64 KiB, requests up to 16 MiB).
  floe::io::FetchScheduler scheduler;
  floe::io::FetchStats stats;
  auto started = std::chrono::steady_clock::now();
  auto results = scheduler.fetch(requests, &stats);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t bytes = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      fmt::print(stderr, "floe_bench_ranged_get: {}\n", results[i].error().to_string());
      return 1;
    }
    if (results[i]->size() != range_size) {
      fmt::print(stderr, "floe_bench_ranged_get: range {} has {} bytes\n", i, results[i]->size());
      return 1;
    }
    crc = crc32(crc, reinterpret_cast<const Bytef*>(results[i]->data()), static_cast<uInt>(results[i]->size()));
    bytes += results[i]->size();
  }
  fmt::print("{{\"tool\":\"floe\",\"seconds\":{:.6f},\"ranges\":{},\"bytes\":{},\"checksum\":\"{:08x}\","
             "\"requests\":{}}}\n",
             seconds, results.size(), bytes, crc, stats.physical_requests);
  return 0;
}
