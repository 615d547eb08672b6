// "numcodecs.imagecodecs_szip" (imagecodecs Szip, the bytes of HDF5 filter 4 "szip", H5Zszip.c):
// with header=true (HDF5's framing) a 4-byte little-endian decoded size, then a CCSDS 121.0 (AEC)
// stream decoded by libaec's szlib interface with HDF5's parameters (options_mask,
// pixels_per_block, bits_per_pixel, pixels_per_scanline).
extern "C" {  // szlib.h has no C++ guard
#include <szlib.h>
}

#include <climits>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

constexpr const char* kName = "numcodecs.imagecodecs_szip";

class SzipCodec final : public BytesToBytesCodec {
 public:
  SzipCodec(SZ_com_t parameters, bool header) : parameters_(parameters), header_(header) {}

  std::string describe() const override {
    return fmt::format("{}({} bits, {} per block)", kName, parameters_.bits_per_pixel,
                       parameters_.pixels_per_block);
  }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    if (header_) {
      FLOE_ASSIGN_OR_RETURN(std::uint64_t size, header_size(encoded));
      if (size != out.size()) {
        return codec_error(kName, "the header says {} bytes, expected {}", size, out.size());
      }
      encoded = encoded.subspan(4);
    }
    return decompress(encoded, out);
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    if (!header_) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: without the size header, the decoded size must follow from the array",
                        kName);
    }
    FLOE_ASSIGN_OR_RETURN(std::uint64_t size, header_size(encoded));
    if (size > max_decoded_size) {
      return codec_error(kName, "the header says {} bytes, more than the limit of {}", size,
                         max_decoded_size);
    }
    std::vector<std::uint8_t> out(size);
    FLOE_RETURN_IF_ERROR(decompress(encoded.subspan(4), out));
    return out;
  }

 private:
  static Result<std::uint64_t> header_size(std::span<const std::uint8_t> encoded) {
    if (encoded.size() < 4) {
      return codec_error(kName, "{} bytes cannot hold the 4-byte size header", encoded.size());
    }
    return read_le32(encoded.data());
  }

  Status decompress(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const {
    if (out.empty()) return {};
    std::size_t produced = out.size();
    SZ_com_t parameters = parameters_;
    const int status =
        SZ_BufftoBuffDecompress(out.data(), &produced, encoded.data(), encoded.size(), &parameters);
    if (status != SZ_OK) {
      return codec_error(kName, "corrupt data (libaec szlib error {})", status);
    }
    if (produced != out.size()) {
      return codec_error(kName, "decompressed {} bytes, expected {}", produced, out.size());
    }
    return {};
  }

  SZ_com_t parameters_;
  bool header_;
};

}  // namespace

Result<AnyCodec> make_szip_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(
      spec,
      {"options_mask", "pixels_per_block", "bits_per_pixel", "pixels_per_scanline", "header"}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t options_mask, config_unsigned(spec, "options_mask", {}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t pixels_per_block,
                        config_unsigned(spec, "pixels_per_block", {}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t bits_per_pixel, config_unsigned(spec, "bits_per_pixel", {}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t pixels_per_scanline,
                        config_unsigned(spec, "pixels_per_scanline", {}));
  const Json header = spec.configuration.value("header", Json(true));
  if (!header.is_boolean()) return config_error(kName, "header {} is not a boolean", header.dump());
  // libaec checks the combination; these bounds only keep the values inside an int.
  if (pixels_per_block == 0 || pixels_per_block > SZ_MAX_PIXELS_PER_BLOCK || bits_per_pixel == 0 ||
      bits_per_pixel > 64 || pixels_per_scanline == 0 || pixels_per_scanline > INT_MAX ||
      options_mask > INT_MAX) {
    return config_error(kName,
                        "pixels_per_block {}, bits_per_pixel {}, pixels_per_scanline {} are "
                        "out of range",
                        pixels_per_block, bits_per_pixel, pixels_per_scanline);
  }
  SZ_com_t parameters{static_cast<int>(options_mask), static_cast<int>(bits_per_pixel),
                      static_cast<int>(pixels_per_block), static_cast<int>(pixels_per_scanline)};
  return AnyCodec(std::make_shared<const SzipCodec>(parameters, header.get<bool>()));
}

}  // namespace floe::codecs
