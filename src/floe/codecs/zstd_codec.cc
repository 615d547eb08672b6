// "zstd" (Zarr v3 codec, zarr-specs zstd extension; alias "numcodecs.zstd"): one or more Zstandard
// frames. Interop trap: streaming encoders write frames without a content size, so those are
// decompressed as a stream into the output buffer itself (ZSTD_d_stableOutBuffer: no window buffer
// is allocated).
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_d_stableOutBuffer
#include <zstd.h>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

struct DContextDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};
using DContext = std::unique_ptr<ZSTD_DCtx, DContextDeleter>;

class ZstdCodec final : public BytesToBytesCodec {
 public:
  explicit ZstdCodec(std::string name) : name_(std::move(name)) {}

  std::string describe() const override { return name_; }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    DContext context(ZSTD_createDCtx());
    if (!context) return Error(ErrorCode::kInternal, name_ + ": out of memory");
    // The common case: one frame that states its size.
    const unsigned long long content_size =
        ZSTD_getFrameContentSize(encoded.data(), encoded.size());
    if (content_size == out.size() &&
        ZSTD_findFrameCompressedSize(encoded.data(), encoded.size()) == encoded.size()) {
      const std::size_t produced = ZSTD_decompressDCtx(context.get(), out.data(), out.size(),
                                                       encoded.data(), encoded.size());
      if (ZSTD_isError(produced)) return corrupt(produced);
      if (produced != out.size()) {
        return codec_error(name_, "decompressed {} bytes, expected {}", produced, out.size());
      }
      return {};
    }
    if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size != ZSTD_CONTENTSIZE_ERROR &&
        content_size > out.size()) {
      return codec_error(name_, "the frame holds {} bytes, expected {}", content_size, out.size());
    }
    ZSTD_DCtx_setParameter(context.get(), ZSTD_d_stableOutBuffer, 1);
    FLOE_ASSIGN_OR_RETURN(std::size_t produced, stream(context.get(), encoded, out));
    if (produced != out.size()) {
      return codec_error(name_, "decompressed {} bytes, expected {}", produced, out.size());
    }
    return {};
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    DContext context(ZSTD_createDCtx());
    if (!context) return Error(ErrorCode::kInternal, name_ + ": out of memory");
    const unsigned long long content_size =
        ZSTD_getFrameContentSize(encoded.data(), encoded.size());
    if (content_size == ZSTD_CONTENTSIZE_ERROR) {
      return codec_error(name_, "the data does not start with a zstd frame");
    }
    if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size > max_decoded_size) {
      return codec_error(name_, "the frame holds {} bytes, more than the limit of {}", content_size,
                         max_decoded_size);
    }
    if (content_size != ZSTD_CONTENTSIZE_UNKNOWN &&
        ZSTD_findFrameCompressedSize(encoded.data(), encoded.size()) == encoded.size()) {
      std::vector<std::uint8_t> out(content_size);
      FLOE_RETURN_IF_ERROR(decode_into(encoded, out));
      return out;
    }
    // Streamed or several frames: decode into an uninitialized buffer of the limit (pages that are
    // not written are never touched), the output itself serving as the window, so a frame's
    // declared window size costs no memory.
    ScratchBuffer buffer(max_decoded_size);
    ZSTD_DCtx_setParameter(context.get(), ZSTD_d_stableOutBuffer, 1);
    FLOE_ASSIGN_OR_RETURN(std::size_t produced, stream(context.get(), encoded, buffer.span()));
    return std::vector<std::uint8_t>(buffer.span().begin(), buffer.span().begin() + produced);
  }

 private:
  // Streams every frame of `encoded` into `out`; more output than `out` holds is an error.
  Result<std::size_t> stream(ZSTD_DCtx* context, std::span<const std::uint8_t> encoded,
                             std::span<std::uint8_t> out) const {
    ZSTD_inBuffer input{encoded.data(), encoded.size(), 0};
    ZSTD_outBuffer output{out.data(), out.size(), 0};
    while (true) {
      const std::size_t in_before = input.pos;
      const std::size_t out_before = output.pos;
      const std::size_t status = ZSTD_decompressStream(context, &output, &input);
      if (ZSTD_isError(status)) return corrupt(status);
      if (input.pos == input.size && status == 0) return output.pos;
      if (input.pos == in_before && output.pos == out_before) {
        if (output.pos == output.size) {
          return codec_error(name_, "decompresses to more than {} bytes", out.size());
        }
        return codec_error(name_, "the last frame is truncated");
      }
    }
  }

  Error corrupt(std::size_t status) const {
    return codec_error(name_, "corrupt data ({})", ZSTD_getErrorName(status));
  }

  std::string name_;
};

}  // namespace

Result<AnyCodec> make_zstd_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"level", "checksum"}));
  return AnyCodec(std::make_shared<const ZstdCodec>(std::string(spec.name)));
}

}  // namespace floe::codecs
