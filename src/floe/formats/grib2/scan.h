// Finding the GRIB messages of files that have no sidecar index: hop from message to message by the
// lengths in their indicator sections, every file of a batch advancing together in rounds of ranged
// reads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"

namespace floe::formats::grib2 {

// One GRIB message: where it starts and how many bytes it has (from "GRIB" through "7777").
struct MessageExtent {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint8_t edition = 0;  // 1 or 2
  bool operator==(const MessageExtent&) const = default;
};

struct ScanOptions {
  // The first read of a file (BlockCache::open: gives the size without a HEAD). A file no larger
  // than this is read whole; bytes before the first message are searched within it.
  uint64_t first_read_bytes = 1 << 20;
  // Block size for the rest of the file: each hop to the next message fetches about this much
  // around the message's start, which also holds its sections 1-5 in most files (read next for the
  // dims and coordinates).
  uint64_t block_size = 16 * 1024;
};

struct ScanTarget {
  io::ObjectStore* store = nullptr;
  std::string key;  // inside the store
  std::string url;  // named in errors and warnings
};

struct ScannedFile {
  uint64_t size = 0;
  std::vector<MessageExtent> messages;  // in file order
  std::vector<std::string> warnings;    // e.g. bytes before the first message
};

// Lists the messages of every file. Files advance together: each round reads the next header of
// every file still being scanned in one BlockCache batch (a GRIB1 message over 8 MiB, whose real
// length needs its section lengths, takes up to three more). Bytes before the first message are
// skipped with a warning. A file is an error (kCorrupt naming its URL and the byte offset) when: no
// "GRIB" is found in its first read, a header is cut short, an edition is neither 1 nor 2, a
// declared length runs past the end of the file, a message does not end in "7777", or anything but
// a message follows a message ("garbage"). One file's error does not stop the others.
std::vector<Result<ScannedFile>> scan_messages(io::BlockCache& cache,
                                               std::span<const ScanTarget> files,
                                               const ScanOptions& options = {});

// The length of the message whose indicator section (the first 16 bytes, or 8 for GRIB1) is
// `header`: GRIB2 octets 9-16, GRIB1 octets 5-7. nullopt when `header` is not a GRIB indicator
// section or is too short. A GRIB1 length with the top bit set (ECMWF's convention for messages
// over 8 MiB) needs the section lengths: see grib1_large_message_length.
struct IndicatorSection {
  uint8_t edition = 0;
  uint64_t length = 0;
  bool grib1_large = false;  // GRIB1 length field has bit 0x800000 set
};
std::optional<IndicatorSection> parse_indicator_section(std::span<const std::byte> header);

// ECMWF's large GRIB1 rule (as ecCodes reads it): when section 4's length is below 120, the real
// length is (length & 0x7FFFFF) * 120 - section4_length + 4; otherwise the field is the length.
uint64_t grib1_large_message_length(uint64_t length_field, uint64_t section4_length);

}  // namespace floe::formats::grib2
