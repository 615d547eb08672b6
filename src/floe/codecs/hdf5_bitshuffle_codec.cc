// "floe.hdf5_bitshuffle": the bytes of HDF5 filter 32008 (the bitshuffle plugin, bshuf_h5filter.c).
// hdf5plugin exposes no numcodecs codec and imagecodecs_bitshuffle has no HDF5 framing, so floe
// names it. Configuration: elementsize (bytes), blocksize (elements, 0 = the plugin's default),
// compression
// ("none", "lz4", "zstd"). With compression: an 8-byte big-endian decoded size, a 4-byte big-endian
// block size in bytes, then per block a 4-byte big-endian compressed size and an LZ4 block or zstd
// frame that decodes to the bitshuffled block. Without: the bitshuffled blocks alone. A last
// partial block is cut to a multiple of 8 elements and the remaining (count % 8) elements are
// copied raw at the end.
#include <lz4.h>
#include <zstd.h>

#include <climits>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

constexpr const char* kName = "floe.hdf5_bitshuffle";
constexpr std::size_t kBlockMultiple = 8;

// bshuf_default_block_size: ~8 KiB of elements, a multiple of 8, at least 128.
std::size_t default_block_size(std::size_t element_size) {
  const std::size_t block = (8192 / element_size) / kBlockMultiple * kBlockMultiple;
  return std::max<std::size_t>(block, 128);
}

// Transposes an 8x8 bit matrix held one row per byte (Hacker's Delight 7-3).
inline std::uint64_t transpose_8x8(std::uint64_t x) {
  std::uint64_t t = (x ^ (x >> 7)) & 0x00aa00aa00aa00aaull;
  x = x ^ t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000cccc0000ccccull;
  x = x ^ t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000f0f0f0f0ull;
  return x ^ t ^ (t << 28);
}

// Inverse bitshuffle of one block of `count` elements (a multiple of 8). The shuffled block holds
// element_size * 8 bit-rows of count / 8 bytes: row (8 * byte + bit) has that bit of that byte of
// every element, element i at bit (i % 8) of byte (i / 8).
void bitunshuffle_block(const std::uint8_t* in, std::uint8_t* out, std::size_t count,
                        std::size_t element_size) {
  const std::size_t row_bytes = count / 8;
  for (std::size_t group = 0; group < row_bytes; ++group) {
    std::uint8_t* group_out = out + group * 8 * element_size;
    for (std::size_t byte = 0; byte < element_size; ++byte) {
      const std::uint8_t* column = in + byte * 8 * row_bytes + group;
      std::uint64_t rows = 0;
      for (std::size_t bit = 0; bit < 8; ++bit)
        rows |= std::uint64_t{column[bit * row_bytes]} << (8 * bit);
      const std::uint64_t elements = transpose_8x8(rows);
      for (std::size_t k = 0; k < 8; ++k) {
        group_out[k * element_size + byte] = static_cast<std::uint8_t>(elements >> (8 * k));
      }
    }
  }
}

class Hdf5BitshuffleCodec final : public BytesToBytesCodec {
 public:
  enum class Compression { kNone, kLz4, kZstd };
  Hdf5BitshuffleCodec(std::size_t element_size, std::size_t block_size, Compression compression)
      : element_size_(element_size), block_size_(block_size), compression_(compression) {}

  std::string describe() const override {
    static constexpr const char* kCompressions[] = {"none", "lz4", "zstd"};
    return fmt::format("{}({}, {})", kName, element_size_,
                       kCompressions[static_cast<int>(compression_)]);
  }
  std::optional<std::uint64_t> encoded_size(std::uint64_t decoded_size) const override {
    if (compression_ == Compression::kNone) return decoded_size;
    return std::nullopt;
  }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    if (compression_ == Compression::kNone) {
      if (encoded.size() != out.size()) {
        return codec_error(kName, "holds {} bytes, expected {}", encoded.size(), out.size());
      }
      return unshuffle_all(encoded, out, block_size_);
    }
    FLOE_ASSIGN_OR_RETURN(std::uint64_t size, header_size(encoded));
    if (size != out.size()) {
      return codec_error(kName, "the header says {} bytes, expected {}", size, out.size());
    }
    return decompress(encoded, out);
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    std::uint64_t size = encoded.size();
    if (compression_ != Compression::kNone) {
      FLOE_ASSIGN_OR_RETURN(size, header_size(encoded));
    }
    if (size > max_decoded_size) {
      return codec_error(kName, "the header says {} bytes, more than the limit of {}", size,
                         max_decoded_size);
    }
    std::vector<std::uint8_t> out(size);
    FLOE_RETURN_IF_ERROR(decode_into(encoded, out));
    return out;
  }

 private:
  static Result<std::uint64_t> header_size(std::span<const std::uint8_t> encoded) {
    if (encoded.size() < 12) {
      return codec_error(kName, "{} bytes cannot hold the 12-byte header", encoded.size());
    }
    return read_be64(encoded.data());
  }

  Status check_element_count(std::size_t size) const {
    if (size % element_size_ != 0) {
      return codec_error(kName, "{} bytes are not a whole number of {}-byte elements", size,
                         element_size_);
    }
    return {};
  }

  // The uncompressed form: every block bitshuffled in place, the leftover elements raw.
  Status unshuffle_all(std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                       std::size_t block_size) const {
    FLOE_RETURN_IF_ERROR(check_element_count(in.size()));
    const std::size_t count = in.size() / element_size_;
    std::size_t at = 0;
    while (count - at >= block_size) {
      bitunshuffle_block(in.data() + at * element_size_, out.data() + at * element_size_,
                         block_size, element_size_);
      at += block_size;
    }
    const std::size_t last = (count - at) / kBlockMultiple * kBlockMultiple;
    if (last > 0) {
      bitunshuffle_block(in.data() + at * element_size_, out.data() + at * element_size_, last,
                         element_size_);
      at += last;
    }
    std::memcpy(out.data() + at * element_size_, in.data() + at * element_size_,
                (count - at) * element_size_);
    return {};
  }

  Status decompress(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const {
    FLOE_RETURN_IF_ERROR(check_element_count(out.size()));
    const std::uint32_t block_bytes = read_be32(encoded.data() + 8);
    const std::size_t block_size = block_bytes / element_size_;
    if (block_bytes % element_size_ != 0 || block_size == 0 || block_size % kBlockMultiple != 0) {
      return codec_error(kName, "block size {} bytes is not a positive multiple of 8 elements",
                         block_bytes);
    }
    const std::size_t count = out.size() / element_size_;
    ScratchBuffer shuffled(std::min(block_size, count) * element_size_);
    std::size_t in_at = 12;
    std::size_t at = 0;
    while (count - at >= kBlockMultiple) {
      const std::size_t this_block =
          count - at >= block_size ? block_size : (count - at) / kBlockMultiple * kBlockMultiple;
      const std::size_t this_bytes = this_block * element_size_;
      if (encoded.size() - in_at < 4) {
        return codec_error(kName, "truncated before the block of element {}", at);
      }
      const std::uint32_t compressed = read_be32(encoded.data() + in_at);
      in_at += 4;
      if (compressed > encoded.size() - in_at) {
        return codec_error(kName, "the block at byte {} claims {} bytes, {} are left", in_at - 4,
                           compressed, encoded.size() - in_at);
      }
      FLOE_RETURN_IF_ERROR(decompress_block(encoded.subspan(in_at, compressed),
                                            shuffled.span().first(this_bytes), in_at - 4));
      bitunshuffle_block(shuffled.span().data(), out.data() + at * element_size_, this_block,
                         element_size_);
      in_at += compressed;
      at += this_block;
    }
    const std::size_t leftover = (count - at) * element_size_;
    if (encoded.size() - in_at != leftover) {
      return codec_error(kName, "{} bytes follow the last block, expected {} raw bytes",
                         encoded.size() - in_at, leftover);
    }
    std::memcpy(out.data() + at * element_size_, encoded.data() + in_at, leftover);
    return {};
  }

  Status decompress_block(std::span<const std::uint8_t> compressed, std::span<std::uint8_t> out,
                          std::size_t offset) const {
    if (compression_ == Compression::kLz4) {
      if (compressed.size() > INT_MAX || out.size() > INT_MAX) {
        return codec_error(kName, "a block larger than 2 GiB is not supported");
      }
      const int produced = LZ4_decompress_safe(
          reinterpret_cast<const char*>(compressed.data()), reinterpret_cast<char*>(out.data()),
          static_cast<int>(compressed.size()), static_cast<int>(out.size()));
      if (produced < 0 || static_cast<std::size_t>(produced) != out.size()) {
        return codec_error(kName, "the LZ4 block at byte {} is corrupt", offset);
      }
      return {};
    }
    const std::size_t produced =
        ZSTD_decompress(out.data(), out.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(produced) || produced != out.size()) {
      return codec_error(kName, "the zstd block at byte {} is corrupt", offset);
    }
    return {};
  }

  std::size_t element_size_;
  std::size_t block_size_;  // elements, for the uncompressed form
  Compression compression_;
};

}  // namespace

Result<AnyCodec> make_hdf5_bitshuffle_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(
      config_keys_known(spec, {"elementsize", "blocksize", "compression", "level"}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t element_size,
                        config_unsigned(spec, "elementsize", spec.layout.data_type.size));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t block_size, config_unsigned(spec, "blocksize", 0));
  FLOE_ASSIGN_OR_RETURN(std::string compression,
                        config_string(spec, "compression", std::string("none")));
  if (element_size == 0 || element_size > (1u << 16)) {
    return config_error(kName, "elementsize {} is not in 1..65536", element_size);
  }
  if (block_size == 0) block_size = default_block_size(element_size);
  if (block_size % kBlockMultiple != 0 || block_size > (std::uint64_t{1} << 32)) {
    return config_error(kName, "blocksize {} is not a multiple of 8 elements", block_size);
  }
  Hdf5BitshuffleCodec::Compression mode = Hdf5BitshuffleCodec::Compression::kNone;
  if (compression == "lz4") {
    mode = Hdf5BitshuffleCodec::Compression::kLz4;
  } else if (compression == "zstd") {
    mode = Hdf5BitshuffleCodec::Compression::kZstd;
  } else if (compression != "none") {
    return config_error(kName, "compression \"{}\" is not one of none, lz4, zstd", compression);
  }
  return AnyCodec(std::make_shared<const Hdf5BitshuffleCodec>(element_size, block_size, mode));
}

}  // namespace floe::codecs
