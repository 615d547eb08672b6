// How the HDF5 parser sees a file: reads through the BlockCache in batched rounds, and a little-endian
// cursor that knows the file's offset and length sizes and names the structure and address on every error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/io/block_cache.h"

namespace floe::formats::hdf5 {

inline constexpr uint64_t kUndefinedAddress = ~0ull;

struct Extent {
  uint64_t address = 0;  // relative to the base address, like every address in the file
  uint64_t length = 0;
};

struct ReaderStats {
  uint64_t reads = 0;         // read() calls
  uint64_t prefetch_rounds = 0;
};

class FileReader {
 public:
  FileReader(io::BlockCache& cache, io::ObjectStore& store, std::string key);

  const std::string& url() const { return url_; }
  Result<uint64_t> size();

  // Set from the superblock; the cursor uses them for offsets and lengths.
  uint8_t offset_size = 8;
  uint8_t length_size = 8;
  uint64_t base_address = 0;

  // `length` bytes at `address`. Past the end of the file: kCorrupt naming `structure` and the address.
  Result<Bytes> read(uint64_t address, uint64_t length, std::string_view structure);
  // Up to `length` bytes at `address` (fewer at the end of the file); for speculative reads of headers.
  Result<Bytes> read_at_most(uint64_t address, uint64_t length, std::string_view structure);
  // Fetches every extent in one round so that the reads that follow are served from memory. Extents past the
  // end of the file are clamped (the later read reports them); undefined addresses are skipped.
  Status prefetch(std::span<const Extent> extents);
  // Paged files: fetch whole pages from now on.
  void set_block_size(uint64_t block_size);

  // "URL: structure at address N: message" (address as a file offset including the base address).
  Error corrupt(std::string_view structure, uint64_t address, std::string_view message) const;
  Error unsupported(std::string_view structure, uint64_t address, std::string_view message) const;

  const ReaderStats& stats() const { return stats_; }
  io::BlockCache& cache() { return cache_; }
  io::ObjectStore& store() { return store_; }
  const std::string& key() const { return key_; }

 private:
  io::BlockCache& cache_;
  io::ObjectStore& store_;
  std::string key_;
  std::string url_;
  ReaderStats stats_;
};

// Reads little-endian fields from bytes that came from `address`. Reading past the end sets a sticky error
// (values read after it are 0); check ok()/status() before trusting counts or sizes.
class Cursor {
 public:
  Cursor(const FileReader& file, Bytes bytes, uint64_t address, std::string_view structure);

  uint64_t address() const { return address_ + position_; }  // of the next byte
  size_t position() const { return position_; }
  size_t remaining() const { return failed_ ? 0 : bytes_.size() - position_; }
  const Bytes& bytes() const { return bytes_; }
  bool ok() const { return !failed_; }
  Status status() const;

  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  uint64_t uint(size_t width);  // 1..8 bytes, little-endian
  uint64_t offset();            // file offset size; all ones → kUndefinedAddress
  uint64_t length();            // file length size
  Bytes take(size_t n);
  void skip(size_t n);
  void seek(size_t position);
  // Fails unless the next bytes are `signature` ("OHDR", "TREE", ...).
  bool expect_signature(std::string_view signature);

  // Sets the sticky error (first one wins); error() then describes it.
  void fail(std::string_view message);
  Error error() const;

 private:
  bool need(size_t n);

  const FileReader* file_;
  Bytes bytes_;
  uint64_t address_;
  std::string structure_;
  size_t position_ = 0;
  bool failed_ = false;
  std::string message_;
};

// Jenkins lookup3 hashlittle, the checksum of version-2 structures ("OHDR", "BTHD", "FRHP", ...).
uint32_t lookup3_checksum(std::span<const std::byte> data, uint32_t initial = 0);
// Verifies the 4-byte checksum stored after `data[0, size-4)`; false when it does not match.
bool checksum_matches(std::span<const std::byte> data_with_checksum);

}  // namespace floe::formats::hdf5
