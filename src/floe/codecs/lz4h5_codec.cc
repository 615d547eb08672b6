// "numcodecs.imagecodecs_lz4h5" (imagecodecs Lz4h5, the bytes of HDF5 filter 32004 "lz4",
// H5Zlz4.c): an 8-byte big-endian decoded size, a 4-byte big-endian block size, then per block a
// 4-byte big-endian compressed size and an LZ4 block; a block whose compressed size equals its
// decoded size is stored raw. The last block holds the remainder.
#include <lz4.h>

#include <climits>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

constexpr const char* kName = "numcodecs.imagecodecs_lz4h5";

class Lz4h5Codec final : public BytesToBytesCodec {
 public:
  std::string describe() const override { return kName; }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    FLOE_ASSIGN_OR_RETURN(std::uint64_t size, decoded_size(encoded));
    if (size != out.size()) {
      return codec_error(kName, "the header says {} bytes, expected {}", size, out.size());
    }
    return decompress(encoded, out);
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    FLOE_ASSIGN_OR_RETURN(std::uint64_t size, decoded_size(encoded));
    if (size > max_decoded_size) {
      return codec_error(kName, "the header says {} bytes, more than the limit of {}", size,
                         max_decoded_size);
    }
    std::vector<std::uint8_t> out(size);
    FLOE_RETURN_IF_ERROR(decompress(encoded, out));
    return out;
  }

 private:
  static Result<std::uint64_t> decoded_size(std::span<const std::uint8_t> encoded) {
    if (encoded.size() < 12) {
      return codec_error(kName, "{} bytes cannot hold the 12-byte header", encoded.size());
    }
    return read_be64(encoded.data());
  }

  static Status decompress(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) {
    std::uint64_t block_size = read_be32(encoded.data() + 8);
    if (block_size == 0 && !out.empty()) return codec_error(kName, "the block size is 0");
    if (block_size > out.size()) block_size = out.size();
    std::size_t in_at = 12;
    std::size_t out_at = 0;
    while (out_at < out.size()) {
      const std::size_t this_block = std::min<std::uint64_t>(block_size, out.size() - out_at);
      if (encoded.size() - in_at < 4) {
        return codec_error(kName, "truncated before the block at decoded offset {}", out_at);
      }
      const std::uint32_t compressed = read_be32(encoded.data() + in_at);
      in_at += 4;
      if (compressed > encoded.size() - in_at) {
        return codec_error(kName, "the block at byte {} claims {} bytes, {} are left", in_at - 4,
                           compressed, encoded.size() - in_at);
      }
      if (compressed == this_block) {
        std::memcpy(out.data() + out_at, encoded.data() + in_at, this_block);
      } else {
        if (compressed > INT_MAX || this_block > INT_MAX) {
          return codec_error(kName, "a block larger than 2 GiB is not supported");
        }
        const int produced =
            LZ4_decompress_safe(reinterpret_cast<const char*>(encoded.data() + in_at),
                                reinterpret_cast<char*>(out.data() + out_at),
                                static_cast<int>(compressed), static_cast<int>(this_block));
        if (produced < 0 || static_cast<std::size_t>(produced) != this_block) {
          return codec_error(kName, "the LZ4 block at byte {} is corrupt", in_at - 4);
        }
      }
      in_at += compressed;
      out_at += this_block;
    }
    if (in_at != encoded.size()) {
      return codec_error(kName, "{} bytes follow the last block", encoded.size() - in_at);
    }
    return {};
  }
};

}  // namespace

Result<AnyCodec> make_lz4h5_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"level", "blocksize", "nbytes"}));
  return AnyCodec(std::make_shared<const Lz4h5Codec>());
}

}  // namespace floe::codecs
