// ArrayReader: reads a selection of one array of an Icechunk snapshot — plan every chunk range,
// fetch them coalesced and concurrently, decode on the pool while the next batch arrives, assemble
// output slabs in C order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/codecs/pipeline.h"
#include "floe/codecs/sharding_codec.h"
#include "floe/core/result.h"
#include "floe/core/thread_pool.h"
#include "floe/icechunk/session.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/read/selection.h"
#include "floe/zarr/array_metadata.h"

namespace floe::read {

struct ReadOptions {
  std::uint64_t window_bytes = 256ull << 20;  // output bytes assembled before they are handed on
  std::uint64_t batch_bytes = 64ull << 20;  // stored bytes fetched while the previous batch decodes
  ThreadPool* pool = nullptr;  // decode workers (nullptr: decode on the calling thread)
  const io::FetchScheduler* scheduler = nullptr;  // nullptr: a default scheduler
};

struct ReadStats {
  std::uint64_t chunks = 0;          // decode units (inner chunks for sharded arrays)
  std::uint64_t missing_chunks = 0;  // filled with the fill value
  std::uint64_t bytes_stored = 0;    // sum of stored chunk lengths
  std::uint64_t bytes_decoded = 0;   // sum of decoded chunk sizes
  std::uint64_t bytes_fetched = 0;   // including coalesced gaps
  std::uint64_t requests = 0;        // physical requests
  double fetch_wait_seconds = 0;     // time the decoder waited for bytes
  double decode_seconds = 0;         // wall time spent decoding batches
};

// A block of the output in C order: the rows [start[0], start[0] + count[0]) of dim 0 and
// everything else whole.
using BlockConsumer =
    std::function<Status(std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                         std::span<const std::uint8_t> data)>;

class ArrayReader {
 public:
  // Parses the array's zarr.json and builds its codec pipeline. Errors name the array path.
  // `session` and `registry` must outlive the reader (arrays with a rectilinear chunk grid build a
  // pipeline per chunk shape as they read).
  static Result<ArrayReader> open(const icechunk::ReadSession& session, std::string_view path,
                                  const codecs::CodecRegistry& registry);

  const std::string& path() const { return path_; }
  const zarr::ArrayMetadata& metadata() const { return metadata_; }
  // The pipeline of chunks of metadata().chunk_shape (for a rectilinear grid, the largest edges).
  const codecs::CodecPipeline& pipeline() const { return *pipeline_; }

  // The whole array along each dimension.
  std::vector<DimSelection> everything() const;
  static std::vector<std::uint64_t> output_shape(const std::vector<DimSelection>& selection);

  // Streams the selection to `consumer` in slabs along output dim 0, in order (slabs never split a
  // chunk's rows unless one chunk row exceeds the window).
  Status read(const std::vector<DimSelection>& selection, const BlockConsumer& consumer,
              const ReadOptions& options, ReadStats* stats = nullptr) const;
  // The selection in memory (C order, little-endian); for coordinates and small selections.
  Result<std::vector<std::uint8_t>> read_into_memory(const std::vector<DimSelection>& selection,
                                                     const ReadOptions& options,
                                                     ReadStats* stats = nullptr) const;

 private:
  ArrayReader(const icechunk::ReadSession& session, const codecs::CodecRegistry& registry,
              std::string path, zarr::ArrayMetadata metadata,
              std::shared_ptr<const codecs::CodecPipeline> pipeline);

  const icechunk::ReadSession* session_;
  const codecs::CodecRegistry* registry_;
  std::string path_;
  zarr::ArrayMetadata metadata_;
  std::shared_ptr<const codecs::CodecPipeline> pipeline_;
};

}  // namespace floe::read
