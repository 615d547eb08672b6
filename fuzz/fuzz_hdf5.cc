// Fuzz target: the HDF5 / NetCDF-4 parser; whatever parses must reference only bytes inside the file, chunk
// every axis by at least one, hold valid JSON, and fail (if it fails) as kCorrupt or kUnsupported.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "floe/formats/hdf5/hdf5.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/memory_store.h"

namespace {

void check_group(const floe::virt::VirtualGroup& group, size_t size) {
  (void)group.attributes.dump();
  for (const floe::virt::VirtualArray& array : group.arrays) {
    if (array.chunk_shape.size() != array.shape.size() || array.dims.size() != array.shape.size()) std::abort();
    for (uint64_t extent : array.chunk_shape) {
      if (extent == 0) std::abort();
    }
    for (size_t i = 0; i < array.refs.size(); ++i) {
      if (array.refs.offset(i) > size || array.refs.length(i) > size - array.refs.offset(i)) std::abort();
    }
    (void)array.attributes.dump();
    (void)array.fill_value.dump();
  }
  for (const floe::virt::VirtualGroup& child : group.groups) check_group(child, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe;
  io::MemoryStore store;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!store.put("f.h5", Bytes::from_string(std::move(bytes))).ok()) std::abort();
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler, io::BlockCacheOptions{.block_size = 4096, .budget_bytes = 4 << 20});
  formats::hdf5::FileReader reader(cache, store, "f.h5");
  virt::ParseOptions options;
  options.max_chunk_bytes = 64;  // exercise the split of contiguous data
  auto dataset = formats::hdf5::virtualize_hdf5(reader, "memory://fuzz/f.h5", options);
  if (!dataset.ok()) {
    ErrorCode code = dataset.error().code();
    if (code != ErrorCode::kCorrupt && code != ErrorCode::kUnsupported) std::abort();
    return 0;
  }
  check_group(dataset->root, size);
  return 0;
}
