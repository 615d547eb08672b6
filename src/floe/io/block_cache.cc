// Block lookup, batched filling, assembly of reads from blocks, and LRU eviction.
#include "floe/io/block_cache.h"

#include <algorithm>
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
    if (it != objects_.end() && it->second.size_known) return it->second.size;
  }
  FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, store->head(key));
  {
    std::lock_guard lock(mutex_);
    ++stats_.heads;
  }
  set_object_size(store, key, meta.size);
  return meta.size;
}

void BlockCache::set_object_size(ObjectStore* store, std::string_view key, uint64_t size) {
  std::lock_guard lock(mutex_);
  ObjectState& state = objects_[ObjectKey{store, std::string(key)}];
  state.size = size;
  state.size_known = true;
}

void BlockCache::set_block_size(ObjectStore* store, std::string_view key, uint64_t block_size) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = objects_.try_emplace(ObjectKey{store, std::string(key)});
  ObjectState& state = it->second;
  if (state.block_size == block_size) return;
  for (auto& [index, position] : state.blocks) {
    stats_.resident_bytes -= data_[*position].size();
    data_.erase(*position);
    lru_.erase(position);
  }
  state.blocks.clear();
  state.block_size = block_size;
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BlockCache::insert_locked(ObjectState& state, const ObjectKey* object, uint64_t index, Bytes data) {
  if (state.blocks.count(index)) return;
  lru_.emplace_front(object, index);
  state.blocks[index] = lru_.begin();
  stats_.resident_bytes += data.size();
  data_[{object, index}] = std::move(data);
}

void BlockCache::evict_locked() {
  while (stats_.resident_bytes > options_.budget_bytes && !lru_.empty()) {
    auto [object, index] = lru_.back();
    lru_.pop_back();
    auto it = data_.find({object, index});
    stats_.resident_bytes -= it->second.size();
    data_.erase(it);
    objects_.find(*object)->second.blocks.erase(index);
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

  // Which blocks each read needs, and which of those are missing.
  struct Need {
    const ObjectKey* object;
    uint64_t block_size;
    uint64_t first;
    uint64_t last;
  };
  std::vector<Need> needs(reads.size());
  std::map<std::pair<const ObjectKey*, uint64_t>, Bytes> local;  // blocks pinned for this call
  std::vector<FetchRequest> fetches;
  std::vector<std::pair<const ObjectKey*, uint64_t>> fetched_ids;
  {
    std::lock_guard lock(mutex_);
    std::set<std::pair<const ObjectKey*, uint64_t>> requested;
    for (size_t i = 0; i < reads.size(); ++i) {
      if (failed[i] || reads[i].length == 0) continue;
      auto it = objects_.find(ObjectKey{reads[i].store, reads[i].key});
      const ObjectKey* object = &it->first;
      ObjectState& state = it->second;
      uint64_t block_size = state.block_size ? state.block_size : options_.block_size;
      needs[i] = {object, block_size, reads[i].offset / block_size,
                  (reads[i].offset + reads[i].length - 1) / block_size};
      for (uint64_t b = needs[i].first; b <= needs[i].last; ++b) {
        auto found = state.blocks.find(b);
        if (found != state.blocks.end()) {
          lru_.splice(lru_.begin(), lru_, found->second);
          local[{object, b}] = data_[{object, b}];
          ++stats_.hits;
          continue;
        }
        if (!requested.insert({object, b}).second) continue;
        uint64_t start = b * block_size;
        uint64_t length = std::min(block_size, sizes[i] - start);
        fetches.push_back(FetchRequest{reads[i].store, reads[i].key, start, length, nullptr});
        fetched_ids.emplace_back(object, b);
      }
    }
  }

  std::map<std::pair<const ObjectKey*, uint64_t>, Error> fetch_errors;
  if (!fetches.empty()) {
    FetchStats fetch_stats;
    std::vector<Result<Bytes>> blocks = scheduler_.fetch(fetches, &fetch_stats);
    std::lock_guard lock(mutex_);
    ++stats_.fetch_rounds;
    stats_.requests += fetch_stats.physical_requests;
    stats_.bytes_fetched += fetch_stats.bytes_fetched;
    for (size_t f = 0; f < blocks.size(); ++f) {
      auto id = fetched_ids[f];
      if (!blocks[f].ok()) {
        fetch_errors.emplace(id, blocks[f].error());
        continue;
      }
      ++stats_.misses;
      local[id] = *blocks[f];
      insert_locked(objects_.find(*id.first)->second, id.first, id.second, *blocks[f]);
    }
    evict_locked();
  }

  for (size_t i = 0; i < reads.size(); ++i) {
    if (failed[i] || reads[i].length == 0) continue;
    const Need& need = needs[i];
    std::vector<Bytes> pieces;
    for (uint64_t b = need.first; b <= need.last; ++b) {
      auto error = fetch_errors.find({need.object, b});
      if (error != fetch_errors.end()) {
        results[i] = Error(error->second);
        pieces.clear();
        break;
      }
      const Bytes& block = local[{need.object, b}];
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
