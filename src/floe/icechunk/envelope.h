// The envelope around every Icechunk metadata file: magic, implementation name, spec version, file type, zstd.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "floe/core/bytes.h"
#include "floe/core/result.h"

namespace floe::icechunk {

enum class FileType : std::uint8_t {
  kSnapshot = 1,
  kManifest = 2,
  kAttributes = 3,  // reserved by the spec, never written
  kTransactionLog = 4,
  kChunk = 5,  // reserved by the spec, never written
  kRepoInfo = 6,
};

inline constexpr std::uint8_t kWrittenSpecVersion = 2;
inline constexpr size_t kEnvelopeSize = 39;
inline constexpr int kDefaultZstdLevel = 3;

struct FileHeader {
  std::uint8_t spec_version = 0;
  FileType file_type = FileType::kSnapshot;
  std::string implementation;  // trimmed, e.g. "ic-2.2.2" or "floe-0.1.0"
};

// Checks magic, spec version (1 or 2), file type and compression, then inflates the zstd payload (bounded:
// at most `max_payload` bytes). Errors name `object_name` and what is wrong (kCorrupt / kUnsupported).
Result<Bytes> open_envelope(const Bytes& file, FileType expected, std::string_view object_name,
                            FileHeader* header = nullptr, size_t max_payload = size_t{4} << 30);

// Wraps a flatbuffer payload: spec version 2, implementation "floe-<version>", zstd at `level`.
Bytes seal_envelope(FileType type, std::span<const std::uint8_t> payload, int level = kDefaultZstdLevel);

// The 39 header bytes seal_envelope writes (zstd compression), for writers that stream the payload.
std::string envelope_header(FileType type);
inline constexpr std::string_view kImplementationName = "floe-0.1.0";

}  // namespace floe::icechunk
