// BlockCache: aligned blocks of objects kept under a byte budget (LRU), filled in batched rounds
// through the FetchScheduler; what the format parsers read metadata through.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/object_store.h"

namespace floe::io {

struct BlockCacheOptions {
  uint64_t block_size = 256 * 1024;
  uint64_t budget_bytes = 64ull << 20;
};

struct BlockCacheStats {
  uint64_t hits = 0;           // blocks served from memory
  uint64_t misses = 0;         // blocks fetched
  uint64_t fetch_rounds = 0;   // calls that had to fetch anything
  uint64_t requests = 0;       // ranged GETs issued (blocks coalesced by the scheduler count once)
  uint64_t bytes_fetched = 0;
  uint64_t heads = 0;          // HEADs for object sizes
  uint64_t evictions = 0;
  uint64_t resident_bytes = 0;
};

class BlockCache {
 public:
  BlockCache(const FetchScheduler& scheduler, BlockCacheOptions options = {});

  struct Read {
    ObjectStore* store = nullptr;
    std::string key;
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  // Serves every read, fetching all missing blocks of the batch in one round. A read past the end
  // of the object is an error naming it.
  std::vector<Result<Bytes>> read(std::span<const Read> reads);
  Result<Bytes> read_one(ObjectStore* store, std::string_view key, uint64_t offset, uint64_t length);

  // Size of an object, from a HEAD on first use unless told.
  Result<uint64_t> object_size(ObjectStore* store, std::string_view key);
  void set_object_size(ObjectStore* store, std::string_view key, uint64_t size);
  // Paged HDF5 files switch to their page size; blocks already cached for the object are dropped.
  void set_block_size(ObjectStore* store, std::string_view key, uint64_t block_size);

  BlockCacheStats stats() const;

 private:
  struct ObjectKey {
    ObjectStore* store;
    std::string key;
    bool operator<(const ObjectKey& other) const { return std::tie(store, key) < std::tie(other.store, other.key); }
  };
  struct ObjectState {
    uint64_t size = 0;
    bool size_known = false;
    uint64_t block_size = 0;
    std::unordered_map<uint64_t, std::list<std::pair<const ObjectKey*, uint64_t>>::iterator> blocks;
  };
  void insert_locked(ObjectState& state, const ObjectKey* object, uint64_t index, Bytes data);
  void evict_locked();

  const FetchScheduler& scheduler_;
  BlockCacheOptions options_;
  mutable std::mutex mutex_;
  std::map<ObjectKey, ObjectState> objects_;
  // Most recently used first; each entry is (object, block index).
  std::list<std::pair<const ObjectKey*, uint64_t>> lru_;
  std::map<std::pair<const ObjectKey*, uint64_t>, Bytes> data_;
  BlockCacheStats stats_;
};

}  // namespace floe::io
