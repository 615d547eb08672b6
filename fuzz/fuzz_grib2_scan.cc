// Fuzz target: GRIB message scanning and the whole GRIB virtualization behind it (headers,
// coordinates, cube). What scans must list back-to-back messages inside the file that start with
// "GRIB" and end with "7777"; a datacube must reference only whole scanned messages; failures must
// be errors, never crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "floe/formats/grib2/grib2.h"
#include "floe/formats/grib2/scan.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/memory_store.h"

namespace {

void check_refs(const floe::virt::VirtualGroup& group,
                const std::set<std::pair<uint64_t, uint64_t>>& messages) {
  for (const floe::virt::VirtualArray& array : group.arrays) {
    for (size_t i = 0; i < array.refs.size(); ++i) {
      if (!messages.count({array.refs.offset(i), array.refs.length(i)})) std::abort();
    }
    if (array.chunk_shape.size() != array.shape.size()) std::abort();
  }
  for (const floe::virt::VirtualGroup& child : group.groups) check_refs(child, messages);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  using namespace floe::formats::grib2;
  io::MemoryStore store;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!store.put("f.grib", Bytes::from_string(std::string(bytes))).ok()) std::abort();
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler, io::BlockCacheOptions{.block_size = 64, .budget_bytes = 1 << 20});
  ScanTarget target{&store, "f.grib", "memory://fuzz/f.grib"};
  const ScanOptions scan_options{.first_read_bytes = 128, .block_size = 32};
  auto scanned = scan_messages(cache, std::span(&target, 1), scan_options);
  if (!scanned[0].ok()) {
    ErrorCode code = scanned[0].error().code();
    if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported) std::abort();
    return 0;
  }
  const ScannedFile& file = *scanned[0];
  if (file.size != size || file.messages.empty()) std::abort();
  std::set<std::pair<uint64_t, uint64_t>> messages;
  for (size_t i = 0; i < file.messages.size(); ++i) {
    const MessageExtent& message = file.messages[i];
    if (message.offset > size || message.length > size - message.offset || message.length < 8)
      std::abort();
    if (std::memcmp(bytes.data() + message.offset, "GRIB", 4) != 0) std::abort();
    if (std::memcmp(bytes.data() + message.offset + message.length - 4, "7777", 4) != 0)
      std::abort();
    if (i > 0 && message.offset != file.messages[i - 1].offset + file.messages[i - 1].length)
      std::abort();
    messages.emplace(message.offset, message.length);
  }
  const MessageExtent& last = file.messages.back();
  if (last.offset + last.length != size) std::abort();

  // The scanned messages' headers and the datacube (small windows: every re-read path).
  GribFile grib{&store, "f.grib", "memory://fuzz/f.grib", std::nullopt, ""};
  GribOptions options{.layout = CubeLayout::kGeneric,
                      .scan = scan_options,
                      .headers = HeaderOptions{.window_bytes = 48, .max_message_bytes = 1 << 20}};
  auto dataset = virtualize_grib(cache, std::span(&grib, 1), options);
  if (dataset.ok()) check_refs(dataset->root, messages);
  return 0;
}
