// Checksum codecs: "crc32c" (Zarr v3 core codec, spec 3.0 "crc32c codec": 4-byte little-endian
// CRC-32C after the data) and "numcodecs.fletcher32" (HDF5 filter 3: 4-byte little-endian
// Fletcher-32 after the data). Interop trap: HDF5 before 1.6.3 wrote the Fletcher-32 with the bytes
// of each 16-bit half swapped, and libhdf5 still accepts that form, so floe does too.
#include "floe/codecs/checksums.h"
#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

class ChecksumCodec final : public BytesToBytesCodec {
 public:
  enum class Kind { kCrc32c, kFletcher32 };
  explicit ChecksumCodec(Kind kind) : kind_(kind) {}

  std::string describe() const override { return name(); }
  std::optional<std::uint64_t> encoded_size(std::uint64_t decoded_size) const override {
    return decoded_size + 4;
  }

  std::optional<Result<std::span<const std::uint8_t>>> verify_and_strip(
      std::span<const std::uint8_t> encoded) const override {
    return strip(encoded);
  }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    FLOE_ASSIGN_OR_RETURN(auto payload, strip(encoded));
    if (payload.size() != out.size()) {
      return codec_error(name(), "holds {} bytes of data, expected {}", payload.size(), out.size());
    }
    std::memcpy(out.data(), payload.data(), payload.size());
    return {};
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t) const override {
    FLOE_ASSIGN_OR_RETURN(auto payload, strip(encoded));
    return std::vector<std::uint8_t>(payload.begin(), payload.end());
  }

 private:
  const char* name() const { return kind_ == Kind::kCrc32c ? "crc32c" : "numcodecs.fletcher32"; }

  Result<std::span<const std::uint8_t>> strip(std::span<const std::uint8_t> encoded) const {
    if (encoded.size() < 4) {
      return codec_error(name(), "{} bytes cannot hold a 4-byte checksum", encoded.size());
    }
    const auto payload = encoded.first(encoded.size() - 4);
    const std::uint32_t stored = read_le32(encoded.data() + payload.size());
    if (kind_ == Kind::kCrc32c) {
      const std::uint32_t computed = crc32c(payload);
      if (computed != stored) {
        return codec_error(name(), "checksum mismatch: stored {:#010x}, computed {:#010x}", stored,
                           computed);
      }
    } else {
      const std::uint32_t computed = hdf5_fletcher32(payload);
      const std::uint32_t swapped_halves =
          ((computed & 0x00ff00ffu) << 8) | ((computed >> 8) & 0x00ff00ffu);
      if (computed != stored && swapped_halves != stored) {
        return codec_error(name(), "checksum mismatch: stored {:#010x}, computed {:#010x}", stored,
                           computed);
      }
    }
    return payload;
  }

  Kind kind_;
};

}  // namespace

Result<AnyCodec> make_crc32c_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {}));
  return AnyCodec(std::make_shared<const ChecksumCodec>(ChecksumCodec::Kind::kCrc32c));
}

Result<AnyCodec> make_fletcher32_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {}));
  return AnyCodec(std::make_shared<const ChecksumCodec>(ChecksumCodec::Kind::kFletcher32));
}

}  // namespace floe::codecs
