// Fuzz target: GRIB message scanning; what scans must list back-to-back messages inside the file
// that start with "GRIB" and end with "7777", and failures must be kCorrupt or kUnsupported.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "floe/formats/grib2/scan.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/memory_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  using namespace floe::formats::grib2;
  io::MemoryStore store;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!store.put("f.grib", Bytes::from_string(std::string(bytes))).ok()) std::abort();
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler, io::BlockCacheOptions{.block_size = 64, .budget_bytes = 1 << 20});
  ScanTarget target{&store, "f.grib", "memory://fuzz/f.grib"};
  auto scanned = scan_messages(cache, std::span(&target, 1),
                               ScanOptions{.first_read_bytes = 128, .block_size = 32});
  if (!scanned[0].ok()) {
    ErrorCode code = scanned[0].error().code();
    if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported) std::abort();
    return 0;
  }
  const ScannedFile& file = *scanned[0];
  if (file.size != size || file.messages.empty()) std::abort();
  for (size_t i = 0; i < file.messages.size(); ++i) {
    const MessageExtent& message = file.messages[i];
    if (message.offset > size || message.length > size - message.offset || message.length < 8)
      std::abort();
    if (std::memcmp(bytes.data() + message.offset, "GRIB", 4) != 0) std::abort();
    if (std::memcmp(bytes.data() + message.offset + message.length - 4, "7777", 4) != 0)
      std::abort();
    if (i > 0 && message.offset != file.messages[i - 1].offset + file.messages[i - 1].length)
      std::abort();
  }
  const MessageExtent& last = file.messages.back();
  if (last.offset + last.length != size) std::abort();
  return 0;
}
