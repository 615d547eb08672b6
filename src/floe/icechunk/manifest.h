// Icechunk manifests: a zero-copy reader over a verified manifest file and a builder that writes one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/icechunk/ids.h"

namespace floe::icechunk {

enum class ChunkKind : std::uint8_t { kInline, kNative, kVirtual };

// One chunk reference as a view; string/span members point into the manifest (or a scratch buffer) and are
// valid only for the duration of the call that produced them.
struct ChunkRefView {
  std::span<const std::uint32_t> index;
  ChunkKind kind = ChunkKind::kInline;
  std::span<const std::uint8_t> inline_data;  // kInline
  Id12 chunk_id{};                            // kNative
  std::uint64_t offset = 0;                   // kNative, kVirtual
  std::uint64_t length = 0;                   // kNative, kVirtual
  std::string_view location;                  // kVirtual: absolute URL or vcc://name/relative (decompressed)
  std::string_view checksum_etag;             // kVirtual, empty when absent
  std::uint32_t checksum_last_modified = 0;   // kVirtual, seconds since the epoch, 0 when absent
};

// An owning copy of one chunk reference.
struct ChunkRef {
  ChunkKind kind = ChunkKind::kInline;
  Bytes inline_data;
  Id12 chunk_id{};
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string location;
  std::string checksum_etag;
  std::uint32_t checksum_last_modified = 0;

  static ChunkRef from_view(const ChunkRefView& view);
};

class ManifestView {
 public:
  // Checks the envelope, verifies the flatbuffer (limits raised for large manifests) and loads the location
  // dictionary if there is one. Reads spec-1 and spec-2 manifests.
  static Result<ManifestView> open(const Bytes& file, std::string_view object_name);

  const Id12& id() const;
  std::uint8_t spec_version() const;
  size_t num_arrays() const;
  std::vector<Id8> array_ids() const;  // in file order (sorted by id bytes)
  size_t num_refs(const Id8& node) const;  // 0 when the array is not in this manifest

  // Binary search by node id, then by index. nullopt when absent.
  Result<std::optional<ChunkRef>> find(const Id8& node, std::span<const std::uint32_t> index) const;

  // Every ref of one array in index order. Stops at the first error returned by `visit`.
  Status for_each_ref(const Id8& node, const std::function<Status(const ChunkRefView&)>& visit) const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

struct ManifestBuilderOptions {
  int zstd_level = 3;
  // Virtual locations are stored zstd-compressed with a dictionary when a dictionary is given.
  std::optional<std::vector<std::uint8_t>> location_dictionary;
};

// Trains a zstd dictionary (ZDICT, ~2 KiB) from location samples. nullopt when there are too few samples
// for training to succeed (the caller then stores plain locations).
std::optional<std::vector<std::uint8_t>> train_location_dictionary(std::span<const std::string_view> samples);

// Builds one manifest file. Arrays are added in node-id byte order, refs of an array in lexicographic
// index order; both are checked and a violation is kInvalidArgument. The same location string added
// repeatedly is stored once (shared string / shared compressed vector).
class ManifestBuilder {
 public:
  ManifestBuilder(Id12 id, ManifestBuilderOptions options);
  ~ManifestBuilder();
  ManifestBuilder(ManifestBuilder&&) noexcept;
  ManifestBuilder& operator=(ManifestBuilder&&) noexcept;

  Status begin_array(const Id8& node);
  // kInline uses inline_data; kNative chunk_id/offset/length; kVirtual location/offset/length/checksum.
  Status add_ref(const ChunkRefView& ref);
  Status end_array();
  std::uint64_t num_refs() const;
  // The whole manifest object (envelope + zstd). Its size is ManifestFileInfo::size_bytes.
  Result<Bytes> finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace floe::icechunk
