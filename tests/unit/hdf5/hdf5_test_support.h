// Test support for the HDF5 parser tests: fixtures generated once per process with the project's Python, and
// files served from a MemoryStore through a BlockCache so fetch rounds can be counted.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "floe/formats/hdf5/reader.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/memory_store.h"

namespace floe::formats::hdf5::testing {

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The generated fixtures (make_fixtures.py), written once per test process.
inline const std::filesystem::path& fixture_dir() {
  static const std::filesystem::path dir = [] {
    auto path = std::filesystem::temp_directory_path() / fmt::format("floe_hdf5_fixtures_{}", ::getpid());
    std::filesystem::create_directories(path);
    std::string command = fmt::format("{} {} {} > {}/log.txt 2>&1", FLOE_PYTHON, FLOE_HDF5_FIXTURE_SCRIPT,
                                      path.string(), path.string());
    if (std::system(command.c_str()) != 0) return std::filesystem::path{};
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                      fmt::format("floe_hdf5_fixtures_{}", ::getpid()),
                                  ignored);
    });
    return path;
  }();
  return dir;
}

inline std::filesystem::path testdata_dir() {
  const char* env = std::getenv("FLOE_TESTDATA");
  return env ? std::filesystem::path(env) : std::filesystem::path(FLOE_TESTDATA_DEFAULT);
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);
}

// One file in memory, read through a FetchScheduler and a BlockCache (block size `block_size`).
struct OpenFile {
  explicit OpenFile(std::string bytes, uint64_t block_size = 64 * 1024)
      : cache(scheduler, io::BlockCacheOptions{.block_size = block_size}) {
    auto put = store.put("file.h5", Bytes::from_string(std::move(bytes)));
    (void)put;
    reader = std::make_unique<FileReader>(cache, store, "file.h5");
  }
  io::MemoryStore store;
  io::FetchScheduler scheduler;
  io::BlockCache cache;
  std::unique_ptr<FileReader> reader;
};

}  // namespace floe::formats::hdf5::testing
