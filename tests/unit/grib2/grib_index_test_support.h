// What the GRIB indexing tests share: the testdata/grib folder, whole files as text, and lookups of
// groups, arrays and stored coordinate values in the datasets they build.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "floe/virtual/dataset.h"

namespace floe::formats::grib2::test_support {

// ../shared/testdata/grib, or $FLOE_TESTDATA/grib.
inline std::filesystem::path testdata() {
  const char* override_dir = std::getenv("FLOE_TESTDATA");
  return std::filesystem::path(override_dir != nullptr ? override_dir : FLOE_TESTDATA_DEFAULT) /
         "grib";
}

// The whole file ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline const virt::VirtualGroup* find_group(const virt::VirtualDataset& dataset,
                                            std::string_view name) {
  for (const auto& group : dataset.root.groups) {
    if (group.name == name) return &group;
  }
  return nullptr;
}

inline const virt::VirtualArray* find_array(const virt::VirtualGroup& group,
                                            std::string_view name) {
  for (const auto& array : group.arrays) {
    if (array.name == name) return &array;
  }
  return nullptr;
}

// The values of an array held in the dataset (inline chunks in chunk order), C order, without the
// padding of the last chunk.
template <typename T>
std::vector<T> stored_values(const virt::VirtualArray& array) {
  std::vector<T> values;
  for (const auto& [chunk, bytes] : array.inline_chunks) {
    size_t count = bytes.size() / sizeof(T);
    size_t start = values.size();
    values.resize(start + count);
    std::memcpy(values.data() + start, bytes.data(), count * sizeof(T));
  }
  uint64_t total = 1;
  for (uint64_t extent : array.shape) total *= extent;
  values.resize(total);
  return values;
}

}  // namespace floe::formats::grib2::test_support
