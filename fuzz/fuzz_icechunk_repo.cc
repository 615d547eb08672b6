// Fuzz target: repo info files; whatever decodes must re-encode and decode the same shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "floe/icechunk/format.h"
#include "icechunk_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::icechunk;
  auto info = read_repo_info_file(fuzz::as_file(data, size, FileType::kRepoInfo), "fuzz");
  if (!info.ok()) return 0;
  auto again = read_repo_info_file(write_repo_info_file(*info), "fuzz rewritten");
  if (!again.ok() || again->snapshots.size() != info->snapshots.size() ||
      again->branches.size() != info->branches.size() || again->latest_updates.size() != info->latest_updates.size()) {
    std::abort();
  }
  return 0;
}
