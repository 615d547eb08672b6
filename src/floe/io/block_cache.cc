// Block lookup across block-size grids, batched filling, first reads without a HEAD, assembly of reads from
// blocks, and LRU eviction.
#include "floe/io/block_cache.h"

#include <algorithm>
#include <optional>
#include <set>

namespace floe::io {

BlockCache::BlockCache(const FetchScheduler& scheduler, BlockCacheOptions options)
    : scheduler_(scheduler), options_(options) {
  if (options_.block_size == 0) options_.block_size = 256 * 1024;
}

Result<uint64_t> BlockCache::object_size(ObjectStore* store, std::string_view key) {
  {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(ObjectKey{store, std::string(key)});
    if (it != objects_.end() && it->second.size_known) return it->second.meta.size;
  }
  FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, store->head(key));
  {
    std::lock_guard lock(mutex_);
    ++stats_.heads;
  }
  uint64_t size = meta.size;
  set_object_meta(store, key, std::move(meta));
  return size;
}

void BlockCache::set_object_size(ObjectStore* store, std::string_view key, uint64_t size) {
  std::lock_guard lock(mutex_);
  ObjectState& state = objects_[ObjectKey{store, std::string(key)}];
  state.meta.size = size;
  state.size_known = true;
}

void BlockCache::set_object_meta(ObjectStore* store, std::string_view key, ObjectMeta meta) {
  std::lock_guard lock(mutex_);
  ObjectState& state = objects_[ObjectKey{store, std::string(key)}];
  state.meta = std::move(meta);
  state.size_known = true;
}

Result<ObjectMeta> BlockCache::open(ObjectStore* store, std::string_view key, uint64_t length) {
  uint64_t block_size = 0;
  std::optional<ObjectMeta> known;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = objects_.try_emplace(ObjectKey{store, std::string(key)});
    block_size = block_size_of(it->second);
    if (it->second.size_known) known = it->second.meta;
  }
  const uint64_t rounded = std::max<uint64_t>(1, (length + block_size - 1) / block_size) * block_size;
  if (known) {
    uint64_t first = std::min(rounded, known->size);
    if (first > 0) FLOE_RETURN_IF_ERROR(read_one(store, key, 0, first));
    return *known;
  }
  FLOE_ASSIGN_OR_RETURN(PrefixRead prefix, store->read_prefix(key, rounded));
  if (prefix.meta.size < prefix.bytes.size()) {
    return make_error(ErrorCode::kIo, "{}: the server sent {} bytes of an object it says has {}",
                      store->url_for(key), prefix.bytes.size(), prefix.meta.size);
  }
  std::lock_guard lock(mutex_);
  ++stats_.fetch_rounds;
  ++stats_.requests;
  stats_.bytes_fetched += prefix.bytes.size();
  auto it = objects_.find(ObjectKey{store, std::string(key)});
  ObjectState& state = it->second;
  state.meta = prefix.meta;
  state.size_known = true;
  // Whole blocks only, and the object's last block (shorter) when the prefix reaches the end.
  for (uint64_t start = 0, index = 0; start < prefix.bytes.size(); start += block_size, ++index) {
    uint64_t available = prefix.bytes.size() - start;
    uint64_t expected = std::min(block_size, prefix.meta.size - start);
    if (available < expected) break;
    ++stats_.misses;
    insert_locked(state, BlockId{&it->first, block_size, index}, prefix.bytes.slice(start, expected));
  }
  evict_locked();
  return state.meta;
}

void BlockCache::set_block_size(ObjectStore* store, std::string_view key, uint64_t block_size) {
  std::lock_guard lock(mutex_);
  objects_[ObjectKey{store, std::string(key)}].block_size = block_size;
}

void BlockCache::release(ObjectStore* store, std::string_view key) {
  std::lock_guard lock(mutex_);
  auto object = objects_.find(ObjectKey{store, std::string(key)});
  if (object == objects_.end()) return;
  for (auto& [block_size, grid] : object->second.grids) {
    for (auto& [index, position] : grid) {
      auto data = data_.find(*position);
      if (data != data_.end()) {
        stats_.resident_bytes -= data->second.size();
        data_.erase(data);
      }
      lru_.erase(position);
    }
  }
  object->second.grids.clear();
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BlockCache::insert_locked(ObjectState& state, BlockId id, Bytes data) {
  auto& grid = state.grids[id.block_size];
  if (grid.count(id.index)) return;
  lru_.push_front(id);
  grid[id.index] = lru_.begin();
  stats_.resident_bytes += data.size();
  data_[id] = std::move(data);
}

void BlockCache::evict_locked() {
  while (stats_.resident_bytes > options_.budget_bytes && !lru_.empty()) {
    BlockId id = lru_.back();
    lru_.pop_back();
    auto it = data_.find(id);
    stats_.resident_bytes -= it->second.size();
    data_.erase(it);
    ObjectState& state = objects_.find(*id.object)->second;
    auto grid = state.grids.find(id.block_size);
    grid->second.erase(id.index);
    if (grid->second.empty() && id.block_size != block_size_of(state)) state.grids.erase(grid);
    ++stats_.evictions;
  }
}

std::vector<Result<Bytes>> BlockCache::read(std::span<const Read> reads) {
  std::vector<Result<Bytes>> results(reads.size(), Result<Bytes>(Bytes()));
  std::vector<bool> failed(reads.size(), false);
  // Sizes first (HEAD once per unknown object), so blocks at the end are clamped.
  std::vector<uint64_t> sizes(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    auto size = object_size(reads[i].store, reads[i].key);
    if (!size.ok()) {
      results[i] = std::move(size).error();
      failed[i] = true;
      continue;
    }
    sizes[i] = *size;
    if (reads[i].offset + reads[i].length > *size) {
      results[i] = make_error(ErrorCode::kCorrupt,
                              "{}: bytes {}-{} lie past the end of the object ({} bytes); the file "
                              "is truncated or an address in it is wrong",
                              reads[i].store->url_for(reads[i].key), reads[i].offset,
                              reads[i].offset + reads[i].length - 1, *size);
      failed[i] = true;
    }
  }

  // Which blocks each read needs: those of an earlier grid when they are all resident, else those of the
  // current grid, fetching the missing ones.
  struct Need {
    const ObjectKey* object;
    uint64_t block_size;
    uint64_t first;
    uint64_t last;
  };
  std::vector<Need> needs(reads.size());
  std::map<BlockId, Bytes> local;  // blocks pinned for this call
  std::vector<FetchRequest> fetches;
  std::vector<BlockId> fetched_ids;
  {
    std::lock_guard lock(mutex_);
    std::set<BlockId> requested;
    for (size_t i = 0; i < reads.size(); ++i) {
      if (failed[i] || reads[i].length == 0) continue;
      auto it = objects_.find(ObjectKey{reads[i].store, reads[i].key});
      const ObjectKey* object = &it->first;
      ObjectState& state = it->second;
      const uint64_t current = block_size_of(state);
      const uint64_t end = reads[i].offset + reads[i].length;
      needs[i] = {object, current, reads[i].offset / current, (end - 1) / current};
      for (const auto& [grid_size, grid] : state.grids) {
        if (grid_size == current) continue;
        uint64_t first = reads[i].offset / grid_size, last = (end - 1) / grid_size;
        bool covered = true;
        for (uint64_t b = first; b <= last && covered; ++b) covered = grid.count(b) > 0;
        if (covered) {
          needs[i] = {object, grid_size, first, last};
          break;
        }
      }
      const Need& need = needs[i];
      auto& grid = state.grids[need.block_size];
      for (uint64_t b = need.first; b <= need.last; ++b) {
        BlockId id{object, need.block_size, b};
        auto found = grid.find(b);
        if (found != grid.end()) {
          lru_.splice(lru_.begin(), lru_, found->second);
          local[id] = data_[id];
          ++stats_.hits;
          continue;
        }
        if (!requested.insert(id).second) continue;
        uint64_t start = b * need.block_size;
        uint64_t length = std::min(need.block_size, sizes[i] - start);
        fetches.push_back(FetchRequest{reads[i].store, reads[i].key, start, length, nullptr});
        fetched_ids.push_back(id);
      }
    }
  }

  std::map<BlockId, Error> fetch_errors;
  if (!fetches.empty()) {
    FetchStats fetch_stats;
    std::vector<Result<Bytes>> blocks = scheduler_.fetch(fetches, &fetch_stats);
    std::lock_guard lock(mutex_);
    ++stats_.fetch_rounds;
    stats_.requests += fetch_stats.physical_requests;
    stats_.bytes_fetched += fetch_stats.bytes_fetched;
    for (size_t f = 0; f < blocks.size(); ++f) {
      const BlockId& id = fetched_ids[f];
      if (!blocks[f].ok()) {
        fetch_errors.emplace(id, blocks[f].error());
        continue;
      }
      ++stats_.misses;
      local[id] = *blocks[f];
      insert_locked(objects_.find(*id.object)->second, id, *blocks[f]);
    }
    evict_locked();
  }

  for (size_t i = 0; i < reads.size(); ++i) {
    if (failed[i] || reads[i].length == 0) continue;
    const Need& need = needs[i];
    std::vector<Bytes> pieces;
    for (uint64_t b = need.first; b <= need.last; ++b) {
      BlockId id{need.object, need.block_size, b};
      auto error = fetch_errors.find(id);
      if (error != fetch_errors.end()) {
        results[i] = Error(error->second);
        pieces.clear();
        break;
      }
      const Bytes& block = local[id];
      uint64_t block_start = b * need.block_size;
      uint64_t from = std::max(reads[i].offset, block_start) - block_start;
      uint64_t to = std::min(reads[i].offset + reads[i].length, block_start + block.size()) - block_start;
      pieces.push_back(block.slice(from, to - from));
    }
    if (!pieces.empty()) results[i] = Bytes::concat(pieces);
  }
  return results;
}

Result<Bytes> BlockCache::read_one(ObjectStore* store, std::string_view key, uint64_t offset,
                                   uint64_t length) {
  Read read{store, std::string(key), offset, length};
  return std::move(this->read(std::span(&read, 1)).front());
}

}  // namespace floe::io
