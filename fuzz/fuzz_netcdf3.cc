// Fuzz target: NetCDF-3 headers; whatever parses must reference only bytes inside the file, chunk
// every axis by at least one, and fail (if it fails) as a kCorrupt error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "floe/formats/netcdf3/netcdf3.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/memory_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  io::MemoryStore store;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!store.put("f.nc", Bytes::from_string(std::move(bytes))).ok()) std::abort();
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler,
                       io::BlockCacheOptions{.block_size = 4096, .budget_bytes = 1 << 20});
  virt::ParseOptions options;
  options.max_chunk_bytes = 64;  // exercise the split of contiguous data
  auto dataset =
      formats::netcdf3::virtualize_netcdf3(cache, store, "f.nc", "memory://fuzz/f.nc", options);
  if (!dataset.ok()) {
    if (dataset.error().code() != ErrorCode::kCorrupt) std::abort();
    return 0;
  }
  for (const virt::VirtualArray& array : dataset->root.arrays) {
    if (array.chunk_shape.size() != array.shape.size()) std::abort();
    for (uint64_t extent : array.chunk_shape) {
      if (extent == 0) std::abort();
    }
    for (size_t i = 0; i < array.refs.size(); ++i) {
      if (array.refs.offset(i) > size || array.refs.length(i) > size - array.refs.offset(i))
        std::abort();
    }
    (void)array.attributes.dump();  // attribute names and strings are valid UTF-8
  }
  return 0;
}
