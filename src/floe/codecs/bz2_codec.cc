// "numcodecs.bz2" (numcodecs BZ2, HDF5 filter 307 "bzip2"): one or more bzip2 streams, decoded by
// libbz2.
#include <bzlib.h>

#include <climits>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

class Bz2Codec final : public BytesToBytesCodec {
 public:
  std::string describe() const override { return "numcodecs.bz2"; }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    FLOE_ASSIGN_OR_RETURN(std::size_t produced, decompress(encoded, out, /*grow=*/nullptr, 0));
    if (produced != out.size()) {
      return codec_error(kName, "decompressed {} bytes, expected {}", produced, out.size());
    }
    return {};
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    std::vector<std::uint8_t> out(std::min<std::uint64_t>(
        max_decoded_size, std::max<std::uint64_t>(4 * encoded.size(), 1 << 16)));
    FLOE_ASSIGN_OR_RETURN(std::size_t produced, decompress(encoded, out, &out, max_decoded_size));
    out.resize(produced);
    return out;
  }

 private:
  static constexpr const char* kName = "numcodecs.bz2";

  // Decompresses every stream of `encoded` into `out`; with `grow`, the vector behind `out` doubles
  // up to `max_size` when full, otherwise a full output with input left is an error.
  static Result<std::size_t> decompress(std::span<const std::uint8_t> encoded,
                                        std::span<std::uint8_t> out,
                                        std::vector<std::uint8_t>* grow, std::uint64_t max_size) {
    std::size_t in_at = 0;
    std::size_t out_at = 0;
    do {
      bz_stream stream{};
      if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK) {
        return Error(ErrorCode::kInternal, "numcodecs.bz2: out of memory");
      }
      int status = BZ_OK;
      while (status == BZ_OK) {
        if (out_at == out.size()) {
          if (grow == nullptr || out.size() >= max_size) {
            BZ2_bzDecompressEnd(&stream);
            return codec_error(kName, "decompresses to more than {} bytes", out.size());
          }
          grow->resize(std::min<std::uint64_t>(max_size, 2 * grow->size() + 1));
          out = *grow;
        }
        const std::size_t in_chunk = std::min<std::size_t>(encoded.size() - in_at, UINT_MAX);
        const std::size_t out_chunk = std::min<std::size_t>(out.size() - out_at, UINT_MAX);
        stream.next_in = const_cast<char*>(reinterpret_cast<const char*>(encoded.data() + in_at));
        stream.avail_in = static_cast<unsigned>(in_chunk);
        stream.next_out = reinterpret_cast<char*>(out.data() + out_at);
        stream.avail_out = static_cast<unsigned>(out_chunk);
        status = BZ2_bzDecompress(&stream);
        in_at += in_chunk - stream.avail_in;
        out_at += out_chunk - stream.avail_out;
        if (status == BZ_OK && stream.avail_in == in_chunk && stream.avail_out == out_chunk) {
          BZ2_bzDecompressEnd(&stream);
          return codec_error(kName, "the stream is truncated");
        }
      }
      BZ2_bzDecompressEnd(&stream);
      if (status != BZ_STREAM_END) {
        return codec_error(kName, "corrupt data (libbz2 error {}) at byte {}", status, in_at);
      }
    } while (in_at < encoded.size());
    return out_at;
  }
};

}  // namespace

Result<AnyCodec> make_bz2_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"level"}));
  return AnyCodec(std::make_shared<const Bz2Codec>());
}

}  // namespace floe::codecs
