// Fuzz target: the Icechunk file envelope (header checks and bounded zstd inflation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "floe/icechunk/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::icechunk;
  floe::Bytes file = floe::Bytes::copy_of(std::as_bytes(std::span(data, size)));
  constexpr size_t kLimit = size_t{1} << 20;
  for (FileType type : {FileType::kSnapshot, FileType::kManifest, FileType::kTransactionLog, FileType::kRepoInfo}) {
    FileHeader header;
    auto payload = open_envelope(file, type, "fuzz", &header, kLimit);
    if (payload.ok() && (payload->size() > kLimit || header.file_type != type)) std::abort();
  }
  return 0;
}
