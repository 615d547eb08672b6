// Inflate through libdeflate: "gzip" (Zarr v3 core codec, RFC 1952 members) and its alias
// "numcodecs.gzip", and "numcodecs.zlib" (RFC 1950 stream, what HDF5 filter 1 "deflate" stores).
// Interop traps: Python's gzip writes one member but may read several, so floe reads concatenated
// members; the level in the configuration does not matter for decoding.
#include <libdeflate.h>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* decompressor) const {
    libdeflate_free_decompressor(decompressor);
  }
};
using Decompressor = std::unique_ptr<libdeflate_decompressor, DecompressorDeleter>;

class DeflateCodec final : public BytesToBytesCodec {
 public:
  enum class Framing { kZlib, kGzip };
  DeflateCodec(std::string name, Framing framing) : name_(std::move(name)), framing_(framing) {}

  std::string describe() const override { return name_; }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    Decompressor decompressor(libdeflate_alloc_decompressor());
    if (!decompressor) return Error(ErrorCode::kInternal, name_ + ": out of memory");
    std::size_t in_at = 0;
    std::size_t out_at = 0;
    // One zlib stream; one or more gzip members, each inflated straight into the output.
    do {
      std::size_t consumed = 0;
      std::size_t produced = 0;
      const libdeflate_result result = inflate(decompressor.get(), encoded.subspan(in_at),
                                               out.subspan(out_at), &consumed, &produced);
      if (result == LIBDEFLATE_INSUFFICIENT_SPACE) {
        return codec_error(name_, "inflates to more than the expected {} bytes", out.size());
      }
      if (result != LIBDEFLATE_SUCCESS) return corrupt_stream(result, in_at);
      in_at += consumed;
      out_at += produced;
    } while (framing_ == Framing::kGzip && in_at < encoded.size());
    if (in_at != encoded.size()) {
      return codec_error(name_, "{} bytes follow the end of the stream", encoded.size() - in_at);
    }
    if (out_at != out.size()) {
      return codec_error(name_, "inflated {} bytes, expected {}", out_at, out.size());
    }
    return {};
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    Decompressor decompressor(libdeflate_alloc_decompressor());
    if (!decompressor) return Error(ErrorCode::kInternal, name_ + ": out of memory");
    std::vector<std::uint8_t> out;
    std::size_t in_at = 0;
    std::size_t out_at = 0;
    std::size_t capacity = std::min<std::uint64_t>(
        max_decoded_size, std::max<std::uint64_t>(std::uint64_t{4} * encoded.size(), 1 << 16));
    while (true) {
      std::size_t consumed = 0;
      std::size_t produced = 0;
      out.resize(capacity);
      const libdeflate_result result =
          inflate(decompressor.get(), encoded.subspan(in_at),
                  std::span<std::uint8_t>(out).subspan(out_at), &consumed, &produced);
      if (result == LIBDEFLATE_INSUFFICIENT_SPACE) {
        if (capacity >= max_decoded_size) {
          return codec_error(name_, "inflates to more than {} bytes", max_decoded_size);
        }
        capacity = std::min<std::uint64_t>(max_decoded_size, std::uint64_t{2} * capacity);
        continue;  // inflate this member again into the larger buffer
      }
      if (result != LIBDEFLATE_SUCCESS) return corrupt_stream(result, in_at);
      in_at += consumed;
      out_at += produced;
      if (framing_ == Framing::kZlib || in_at >= encoded.size()) break;
    }
    if (in_at != encoded.size()) {
      return codec_error(name_, "{} bytes follow the end of the stream", encoded.size() - in_at);
    }
    out.resize(out_at);
    return out;
  }

 private:
  libdeflate_result inflate(libdeflate_decompressor* decompressor, std::span<const std::uint8_t> in,
                            std::span<std::uint8_t> out, std::size_t* consumed,
                            std::size_t* produced) const {
    if (framing_ == Framing::kZlib) {
      return libdeflate_zlib_decompress_ex(decompressor, in.data(), in.size(), out.data(),
                                           out.size(), consumed, produced);
    }
    return libdeflate_gzip_decompress_ex(decompressor, in.data(), in.size(), out.data(), out.size(),
                                         consumed, produced);
  }

  Error corrupt_stream(libdeflate_result result, std::size_t offset) const {
    return codec_error(name_, "the {} stream at byte {} is corrupt ({})",
                       framing_ == Framing::kZlib ? "zlib" : "gzip", offset,
                       result == LIBDEFLATE_SHORT_OUTPUT ? "short output" : "bad data");
  }

  std::string name_;
  Framing framing_;
};

}  // namespace

Result<AnyCodec> make_gzip_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"level"}));
  return AnyCodec(
      std::make_shared<const DeflateCodec>(std::string(spec.name), DeflateCodec::Framing::kGzip));
}

Result<AnyCodec> make_zlib_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"level"}));
  return AnyCodec(
      std::make_shared<const DeflateCodec>(std::string(spec.name), DeflateCodec::Framing::kZlib));
}

}  // namespace floe::codecs
