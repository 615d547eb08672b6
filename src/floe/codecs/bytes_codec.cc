// "bytes" (Zarr v3 core codec, spec 3.0 "bytes codec"): elements in C order with the configured
// byte order. Interop traps: "endian" is omitted by zarr-python for one-byte types; complex numbers
// swap each half, fixed_length_utf32 swaps each 4-byte code point, raw and null-terminated bytes
// never swap.
#include <algorithm>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

class BytesCodec final : public ArrayToBytesCodec {
 public:
  BytesCodec(std::uint64_t size, std::uint32_t swap_unit, bool big_endian, bool endian_given)
      : size_(size), swap_unit_(swap_unit), big_endian_(big_endian), endian_given_(endian_given) {}

  std::string describe() const override {
    if (!endian_given_) return "bytes";
    return big_endian_ ? "bytes(big)" : "bytes(little)";
  }
  std::optional<std::uint64_t> encoded_size() const override { return size_; }
  bool is_identity() const override { return !big_endian_ || swap_unit_ == 1; }

  Status decode(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const override {
    if (encoded.size() != size_) {
      return codec_error("bytes", "chunk holds {} bytes, expected {}", encoded.size(), size_);
    }
    if (is_identity()) {
      if (encoded.data() != out.data()) std::memcpy(out.data(), encoded.data(), size_);
      return {};
    }
    switch (swap_unit_) {
      case 2:
        swap<2>(encoded, out);
        break;
      case 4:
        swap<4>(encoded, out);
        break;
      case 8:
        swap<8>(encoded, out);
        break;
      default:
        for (std::uint64_t at = 0; at < size_; at += swap_unit_) {
          std::reverse_copy(encoded.data() + at, encoded.data() + at + swap_unit_, out.data() + at);
        }
    }
    return {};
  }

 private:
  template <std::size_t kUnit>
  void swap(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const {
    for (std::uint64_t at = 0; at < size_; at += kUnit) {
      for (std::size_t k = 0; k < kUnit; ++k) out[at + k] = encoded[at + kUnit - 1 - k];
    }
  }

  std::uint64_t size_;
  std::uint32_t swap_unit_;
  bool big_endian_;
  bool endian_given_;
};

// The unit whose bytes the byte order applies to.
std::uint32_t swap_unit(const zarr::DataType& type) {
  switch (type.kind) {
    case zarr::TypeKind::kComplex:
      return type.size / 2;
    case zarr::TypeKind::kFixedUtf32:
      return 4;
    case zarr::TypeKind::kRawBytes:
    case zarr::TypeKind::kFixedBytes:
    case zarr::TypeKind::kBool:
      return 1;
    default:
      return type.size;
  }
}

}  // namespace

Result<AnyCodec> make_bytes_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"endian"}));
  const std::uint32_t unit = swap_unit(spec.layout.data_type);
  const bool endian_given = spec.configuration.contains("endian");
  FLOE_ASSIGN_OR_RETURN(std::string endian, config_string(spec, "endian", std::string("little")));
  if (endian != "little" && endian != "big") {
    return config_error("bytes", "endian \"{}\" is neither \"little\" nor \"big\"", endian);
  }
  if (!endian_given && unit > 1) {
    return config_error("bytes", "endian is required for {}", spec.layout.data_type.name());
  }
  return AnyCodec(std::make_shared<const BytesCodec>(spec.layout.byte_size(), unit, endian == "big",
                                                     endian_given));
}

}  // namespace floe::codecs
