// Test support for the read layer: expected values generated once per test process by a Python
// script run with the project's .venv (cftime, xarray, zarr), read back as JSON.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace floe::read::testing {

// Runs `script OUTPUT` with the .venv's python and parses OUTPUT; null (and the log on stderr) on
// failure.
inline nlohmann::json run_oracle(const std::string& script, const std::string& name) {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("floe_read_{}_{}", name, ::getpid());
  std::filesystem::create_directories(dir);
  const auto output = dir / "expected.json";
  const auto log = dir / "log.txt";
  const std::string command =
      fmt::format("{} {} {} > {} 2>&1", FLOE_PYTHON, script, output.string(), log.string());
  nlohmann::json expected = nullptr;
  if (std::system(command.c_str()) == 0) {
    std::ifstream in(output);
    expected = nlohmann::json::parse(in, nullptr, false);
    if (expected.is_discarded()) expected = nullptr;
  } else {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) fmt::print(stderr, "{}\n", line);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return expected;
}

}  // namespace floe::read::testing
