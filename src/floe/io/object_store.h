// ObjectStore: the one interface every byte source and sink implements (local disk, HTTP, S3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"

namespace floe::io {

struct ObjectMeta {
  std::string key;
  uint64_t size = 0;
  std::string etag;                  // as the server sent it, quotes stripped
  std::optional<int64_t> last_modified;  // seconds since the Unix epoch
};

// The first bytes of an object with what a HEAD would tell about it.
struct PrefixRead {
  Bytes bytes;      // min(size, max_length) bytes from offset 0
  ObjectMeta meta;  // size, ETag, last modified
};

struct ListResult {
  std::vector<ObjectMeta> objects;        // sorted by key
  std::vector<std::string> common_prefixes;  // with delimiter: "dir/" entries
};

struct GetOptions {
  std::optional<uint64_t> offset;       // whole object when absent
  std::optional<uint64_t> length;       // to the end when absent
  std::optional<std::string> if_match;  // etag precondition (a changed source fails, never returns wrong bytes)
  std::optional<int64_t> if_unmodified_since;  // seconds since the epoch
};

struct PutOptions {
  bool if_none_match = false;           // create only if absent
  std::optional<std::string> if_match;  // replace only if the current etag is this
};

struct PutResult {
  std::string etag;
};

// A read of `length` bytes at `offset` of `key` into caller memory; the store fills exactly `length`
// bytes or reports an error for this read.
struct RangeRead {
  std::string_view key;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::byte* destination = nullptr;
  const GetOptions* preconditions = nullptr;  // if_match / if_unmodified_since only
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Human-readable URL of a key, for messages ("s3://bucket/key", "/data/x.nc").
  virtual std::string url_for(std::string_view key) const = 0;

  virtual Result<Bytes> get(std::string_view key, const GetOptions& options = {}) = 0;
  // All reads run concurrently where the store can; one status per read, in order.
  virtual std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) = 0;
  virtual Result<ObjectMeta> head(std::string_view key) = 0;
  // The first `max_length` bytes (the whole of a smaller object) and the object's size and ETag. HTTP stores
  // make one ranged GET and take the size from its Content-Range (no HEAD); the default is a HEAD and a read.
  virtual Result<PrefixRead> read_prefix(std::string_view key, uint64_t max_length);
  virtual Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options = {}) = 0;
  // Deleting an absent key succeeds, as in S3.
  virtual Status del(std::string_view key) = 0;
  // Every page; `delimiter` empty lists recursively.
  virtual Result<ListResult> list(std::string_view prefix, std::string_view delimiter = {}) = 0;
  // Uploads in parts of `part_size` bytes (stores without multipart fall back to one put).
  virtual Result<PutResult> put_multipart(std::string_view key, Bytes data, uint64_t part_size,
                                          const PutOptions& options = {});

  // Convenience over read_ranges_into: fresh buffers per range.
  std::vector<Result<Bytes>> get_ranges(std::string_view key,
                                        std::span<const std::pair<uint64_t, uint64_t>> ranges);

 protected:
  // A ranged get (options.offset/length set) through read_ranges_into; HEADs for the size when the
  // length is open-ended.
  Result<Bytes> get_range(std::string_view key, const GetOptions& options);
};

}  // namespace floe::io
