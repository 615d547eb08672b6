// The Icechunk metadata file envelope: 39-byte header (spec §"File format") followed by one zstd frame.
#include "floe/icechunk/envelope.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "floe/core/error.h"

namespace floe::icechunk {
namespace {

constexpr std::uint8_t kMagic[12] = {0x49, 0x43, 0x45, 0xF0, 0x9F, 0xA7,
                                     0x8A, 0x43, 0x48, 0x55, 0x4E, 0x4B};  // "ICE🧊CHUNK"
constexpr size_t kImplementationOffset = 12;
constexpr size_t kImplementationSize = 24;
constexpr size_t kSpecVersionOffset = 36;
constexpr size_t kFileTypeOffset = 37;
constexpr size_t kCompressionOffset = 38;
constexpr std::uint8_t kCompressionZstd = 1;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

std::string_view file_type_name(std::uint8_t type) {
  switch (type) {
    case 1: return "snapshot";
    case 2: return "manifest";
    case 3: return "attributes";
    case 4: return "transaction log";
    case 5: return "chunk";
    case 6: return "repo info";
    default: return "unknown";
  }
}

// Streams a frame whose content size is not declared, never holding more than `max_payload` bytes.
Result<std::string> inflate_streaming(std::span<const std::byte> frame, std::string_view object_name,
                                      size_t max_payload) {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context(ZSTD_createDCtx());
  if (!context) return make_error(ErrorCode::kInternal, "{}: cannot allocate a zstd context", object_name);
  std::string output;
  ZSTD_inBuffer input{frame.data(), frame.size(), 0};
  size_t produced = 0;
  size_t remaining_hint = 1;
  while (true) {
    if (produced == output.size()) {
      if (output.size() >= max_payload) {
        return make_error(ErrorCode::kCorrupt, "{}: payload inflates to more than {} bytes", object_name,
                          max_payload);
      }
      size_t grown = std::min(max_payload, std::max<size_t>(output.size() * 2, 64 * 1024));
      output.resize(grown);
    }
    ZSTD_outBuffer out{output.data(), output.size(), produced};
    remaining_hint = ZSTD_decompressStream(context.get(), &out, &input);
    produced = out.pos;
    if (ZSTD_isError(remaining_hint)) {
      return make_error(ErrorCode::kCorrupt, "{}: zstd payload is corrupt: {}", object_name,
                        ZSTD_getErrorName(remaining_hint));
    }
    if (remaining_hint == 0) break;  // frame complete
    if (input.pos == input.size && produced < output.size()) {
      return make_error(ErrorCode::kCorrupt, "{}: zstd payload is truncated after {} input bytes",
                        object_name, frame.size());
    }
  }
  if (input.pos != input.size) {
    return make_error(ErrorCode::kCorrupt, "{}: {} bytes follow the zstd frame", object_name,
                      input.size - input.pos);
  }
  output.resize(produced);
  return output;
}

}  // namespace

std::string envelope_header(FileType type) {
  std::string header(kEnvelopeSize, ' ');
  std::memcpy(header.data(), kMagic, sizeof(kMagic));
  std::memcpy(header.data() + kImplementationOffset, kImplementationName.data(),
              std::min(kImplementationName.size(), kImplementationSize));
  header[kSpecVersionOffset] = static_cast<char>(kWrittenSpecVersion);
  header[kFileTypeOffset] = static_cast<char>(type);
  header[kCompressionOffset] = static_cast<char>(kCompressionZstd);
  return header;
}

Result<Bytes> open_envelope(const Bytes& file, FileType expected, std::string_view object_name,
                            FileHeader* header, size_t max_payload) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(file.data());
  if (file.size() < kEnvelopeSize) {
    return make_error(ErrorCode::kCorrupt, "{}: {} bytes, shorter than the {}-byte Icechunk header",
                      object_name, file.size(), kEnvelopeSize);
  }
  if (std::memcmp(bytes, kMagic, sizeof(kMagic)) != 0) {
    return make_error(ErrorCode::kCorrupt, "{}: not an Icechunk file (magic bytes do not match)",
                      object_name);
  }
  std::uint8_t spec_version = bytes[kSpecVersionOffset];
  if (spec_version != 1 && spec_version != 2) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: Icechunk spec version {} is not supported (this build reads 1 and 2)",
                      object_name, spec_version);
  }
  std::uint8_t file_type = bytes[kFileTypeOffset];
  if (file_type != static_cast<std::uint8_t>(expected)) {
    return make_error(ErrorCode::kCorrupt, "{}: expected a {} file (type {}), found {} (type {})",
                      object_name, file_type_name(static_cast<std::uint8_t>(expected)),
                      static_cast<int>(expected), file_type_name(file_type), file_type);
  }
  std::uint8_t compression = bytes[kCompressionOffset];
  if (compression != kCompressionZstd) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: compression {} is not supported (only 1 = zstd is)", object_name,
                      compression);
  }
  if (header != nullptr) {
    std::string_view name(reinterpret_cast<const char*>(bytes) + kImplementationOffset,
                          kImplementationSize);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\0')) name.remove_suffix(1);
    header->spec_version = spec_version;
    header->file_type = expected;
    header->implementation = std::string(name);
  }

  std::span<const std::byte> frame = file.span().subspan(kEnvelopeSize);
  unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return make_error(ErrorCode::kCorrupt, "{}: payload after the header is not a zstd frame",
                      object_name);
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    FLOE_ASSIGN_OR_RETURN(std::string payload, inflate_streaming(frame, object_name, max_payload));
    return Bytes::from_string(std::move(payload));
  }
  // A zstd block of at most 128 KiB costs at least 3 bytes, so no valid frame inflates beyond this.
  unsigned long long possible = (static_cast<unsigned long long>(frame.size()) / 3 + 1) * (128 * 1024);
  if (declared > possible) {
    return make_error(ErrorCode::kCorrupt, "{}: zstd frame declares {} bytes, impossible for {} input bytes",
                      object_name, declared, frame.size());
  }
  if (declared > max_payload) {
    return make_error(ErrorCode::kCorrupt, "{}: payload declares {} bytes, more than the limit of {}",
                      object_name, declared, max_payload);
  }
  std::string payload(static_cast<size_t>(declared), '\0');
  size_t written = ZSTD_decompress(payload.data(), payload.size(), frame.data(), frame.size());
  if (ZSTD_isError(written)) {
    return make_error(ErrorCode::kCorrupt, "{}: zstd payload is corrupt or truncated: {}", object_name,
                      ZSTD_getErrorName(written));
  }
  if (written != payload.size()) {
    return make_error(ErrorCode::kCorrupt, "{}: zstd payload inflated to {} bytes, frame declares {}",
                      object_name, written, declared);
  }
  return Bytes::from_string(std::move(payload));
}

Bytes seal_envelope(FileType type, std::span<const std::uint8_t> payload, int level) {
  std::string file = envelope_header(type);
  size_t bound = ZSTD_compressBound(payload.size());
  file.resize(kEnvelopeSize + bound);
  size_t written = ZSTD_compress(file.data() + kEnvelopeSize, bound, payload.data(), payload.size(), level);
  // ZSTD_compress cannot fail with a ZSTD_compressBound-sized destination and a valid level.
  file.resize(kEnvelopeSize + (ZSTD_isError(written) ? 0 : written));
  return Bytes::from_string(std::move(file));
}

}  // namespace floe::icechunk
