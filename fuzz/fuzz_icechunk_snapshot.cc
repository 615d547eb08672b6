// Fuzz target: snapshot files (spec 1 and 2); whatever decodes must re-encode and decode the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "floe/icechunk/format.h"
#include "icechunk_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::icechunk;
  auto snapshot = read_snapshot_file(fuzz::as_file(data, size, FileType::kSnapshot), "fuzz");
  if (!snapshot.ok()) return 0;
  auto again = read_snapshot_file(write_snapshot_file(*snapshot), "fuzz rewritten");
  if (!again.ok() || again->nodes.size() != snapshot->nodes.size() || again->id != snapshot->id ||
      again->manifest_files.size() != snapshot->manifest_files.size()) {
    std::abort();
  }
  return 0;
}
