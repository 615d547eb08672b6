// Shared by the Icechunk fuzz targets: turns fuzz input into a whole metadata file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "floe/core/bytes.h"
#include "floe/icechunk/envelope.h"

namespace floe::icechunk::fuzz {

// An input that starts like an Icechunk file is used as is (exercising the envelope and zstd); anything else
// is taken as the flatbuffer payload and sealed first, so that mutations reach the flatbuffer decoders
// instead of dying in zstd.
inline Bytes as_file(const uint8_t* data, size_t size, FileType type) {
  static constexpr uint8_t kMagicPrefix[3] = {0x49, 0x43, 0x45};
  if (size >= sizeof(kMagicPrefix) && std::memcmp(data, kMagicPrefix, sizeof(kMagicPrefix)) == 0) {
    return Bytes::copy_of(std::as_bytes(std::span(data, size)));
  }
  return seal_envelope(type, std::span(data, size), 1);
}

}  // namespace floe::icechunk::fuzz
