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
  uint64_t heads = 0;          // HEADs for object sizes (open() needs none)
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

  // Reads the first `length` bytes of an object (rounded up to whole blocks; all of a smaller object) in one
  // request and keeps them as blocks. Returns the object's metadata: for an object whose size is not known yet
  // it comes with the bytes (ObjectStore::read_prefix: no HEAD); otherwise it is what set_object_meta said.
  Result<ObjectMeta> open(ObjectStore* store, std::string_view key, uint64_t length);
  // Size of an object, from a HEAD on first use unless told or opened.
  Result<uint64_t> object_size(ObjectStore* store, std::string_view key);
  void set_object_size(ObjectStore* store, std::string_view key, uint64_t size);
  void set_object_meta(ObjectStore* store, std::string_view key, ObjectMeta meta);
  // Paged HDF5 files switch to their page size. Blocks of the earlier size stay and serve the reads they
  // cover (the first read of a paged file is not fetched again as part of its first page).
  void set_block_size(ObjectStore* store, std::string_view key, uint64_t block_size);

  // Drops an object's resident blocks (its size and ETag stay known): a file parsed once and not read again.
  void release(ObjectStore* store, std::string_view key);

  BlockCacheStats stats() const;

 private:
  struct ObjectKey {
    ObjectStore* store;
    std::string key;
    bool operator<(const ObjectKey& other) const { return std::tie(store, key) < std::tie(other.store, other.key); }
  };
  // A block: `index` of the grid of `block_size`-byte blocks of `object`.
  struct BlockId {
    const ObjectKey* object;
    uint64_t block_size;
    uint64_t index;
    bool operator<(const BlockId& other) const {
      return std::tie(object, block_size, index) < std::tie(other.object, other.block_size, other.index);
    }
  };
  using LruPosition = std::list<BlockId>::iterator;
  struct ObjectState {
    ObjectMeta meta;  // size, and the ETag when opened
    bool size_known = false;
    uint64_t block_size = 0;  // of new blocks; 0 = the cache's default
    // Resident blocks by grid (block size): the current grid and earlier ones still holding blocks.
    std::map<uint64_t, std::unordered_map<uint64_t, LruPosition>> grids;
  };
  void insert_locked(ObjectState& state, BlockId id, Bytes data);
  void evict_locked();
  uint64_t block_size_of(const ObjectState& state) const {
    return state.block_size ? state.block_size : options_.block_size;
  }

  const FetchScheduler& scheduler_;
  BlockCacheOptions options_;
  mutable std::mutex mutex_;
  std::map<ObjectKey, ObjectState> objects_;
  std::list<BlockId> lru_;  // most recently used first
  std::map<BlockId, Bytes> data_;
  BlockCacheStats stats_;
};

}  // namespace floe::io
