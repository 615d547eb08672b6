// FetchScheduler: turns a batch of (object, range) requests into few large concurrent reads —
// sorted, coalesced across small gaps, split when huge — and hands each caller its own slice.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/io/object_store.h"

namespace floe::io {

struct FetchRequest {
  ObjectStore* store = nullptr;
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;
  const GetOptions* preconditions = nullptr;  // requests with different preconditions never merge
};

struct FetchOptions {
  uint64_t coalesce_gap = 64 * 1024;       // merge neighbours separated by at most this many bytes
  uint64_t max_request_bytes = 16ull << 20;  // never merge beyond, and split single ranges above
  // A merge must also keep the merged read's gap bytes within this multiple of the bytes asked for, unless
  // the gap is at most `free_gap` (cheaper than a request): 744 values of 8 bytes, one per 64 KiB record,
  // are 744 small reads, not one 46 MiB read.
  double max_waste_ratio = 16.0;
  uint64_t free_gap = 4096;
};

struct FetchStats {
  uint64_t logical_requests = 0;
  uint64_t physical_requests = 0;
  uint64_t bytes_requested = 0;  // sum of logical lengths
  uint64_t bytes_fetched = 0;    // including coalesced gaps
};

class FetchScheduler {
 public:
  explicit FetchScheduler(FetchOptions options = {}) : options_(options) {}

  // One result per request, in order. Slices of a coalesced read share its buffer (no copies).
  std::vector<Result<Bytes>> fetch(std::span<const FetchRequest> requests, FetchStats* stats = nullptr) const;

  const FetchOptions& options() const { return options_; }

 private:
  FetchOptions options_;
};

}  // namespace floe::io
