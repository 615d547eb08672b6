// MemoryStore: objects held in process memory; for fuzz targets, tests and scratch work.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "floe/io/object_store.h"

namespace floe::io {

class MemoryStore final : public ObjectStore {
 public:
  MemoryStore() = default;

  std::string url_for(std::string_view key) const override;
  Result<Bytes> get(std::string_view key, const GetOptions& options = {}) override;
  std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) override;
  Result<ObjectMeta> head(std::string_view key) override;
  Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options = {}) override;
  Status del(std::string_view key) override;
  Result<ListResult> list(std::string_view prefix, std::string_view delimiter = {}) override;

 private:
  struct Entry {
    Bytes data;
    uint64_t version = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> objects_;
  uint64_t next_version_ = 1;
};

}  // namespace floe::io
