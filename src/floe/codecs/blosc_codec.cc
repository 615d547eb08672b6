// "blosc" (Zarr v3 codec, zarr-specs blosc extension; alias "numcodecs.blosc"): a Blosc 1 frame.
// The 16-byte header names the inner compressor (blosclz, lz4, lz4hc, snappy, zlib, zstd), the
// shuffle mode (none, byte, bit) and the sizes, so the configuration is not needed to decode.
// libblosc's blosc_decompress_ctx is thread-safe and is run single-threaded: floe decodes chunks in
// parallel. Interop trap: blosc_decompress_ctx is not told the compressed size, so
// blosc_cbuffer_validate checks the header against the bytes held before anything is decompressed.
#include <blosc.h>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

class BloscCodec final : public BytesToBytesCodec {
 public:
  BloscCodec(std::string name, std::string description)
      : name_(std::move(name)), description_(std::move(description)) {}

  std::string describe() const override { return description_; }
  std::optional<std::uint64_t> encoded_size(std::uint64_t) const override { return std::nullopt; }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    FLOE_ASSIGN_OR_RETURN(std::size_t size, decoded_size(encoded));
    if (size != out.size()) {
      return codec_error(name_, "the frame holds {} bytes, expected {}", size, out.size());
    }
    return decompress(encoded, out);
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t max_decoded_size) const override {
    FLOE_ASSIGN_OR_RETURN(std::size_t size, decoded_size(encoded));
    if (size > max_decoded_size) {
      return codec_error(name_, "the frame holds {} bytes, more than the limit of {}", size,
                         max_decoded_size);
    }
    std::vector<std::uint8_t> out(size);
    FLOE_RETURN_IF_ERROR(decompress(encoded, out));
    return out;
  }

 private:
  Result<std::size_t> decoded_size(std::span<const std::uint8_t> encoded) const {
    if (encoded.size() < BLOSC_MIN_HEADER_LENGTH) {
      return codec_error(name_, "{} bytes cannot hold the {}-byte header", encoded.size(),
                         BLOSC_MIN_HEADER_LENGTH);
    }
    std::size_t size = 0;
    if (blosc_cbuffer_validate(encoded.data(), encoded.size(), &size) != 0) {
      return codec_error(name_, "the header does not match the {} bytes held", encoded.size());
    }
    int version = 0;
    int compressor_version = 0;
    blosc_cbuffer_versions(encoded.data(), &version, &compressor_version);
    if (version > BLOSC_VERSION_FORMAT) {
      return make_error(ErrorCode::kUnsupported,
                        "{}: format version {} is newer than libblosc's {}", name_, version,
                        BLOSC_VERSION_FORMAT);
    }
    return size;
  }

  Status decompress(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const {
    if (out.empty()) return {};
    const int produced =
        blosc_decompress_ctx(encoded.data(), out.data(), out.size(), /*numinternalthreads=*/1);
    if (produced < 0) {
      const char* compressor = blosc_cbuffer_complib(encoded.data());
      return codec_error(name_, "corrupt data (libblosc error {}; inner compressor {})", produced,
                         compressor ? compressor : "unknown");
    }
    if (static_cast<std::size_t>(produced) != out.size()) {
      return codec_error(name_, "decompressed {} bytes, expected {}", produced, out.size());
    }
    return {};
  }

  std::string name_;
  std::string description_;
};

}  // namespace

Result<AnyCodec> make_blosc_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(
      config_keys_known(spec, {"cname", "clevel", "shuffle", "typesize", "blocksize"}));
  // numcodecs writes shuffle as 0/1/2 (or -1 for its automatic choice); Zarr v3 as a name.
  std::string shuffle = "noshuffle";
  const Json shuffle_json = spec.configuration.value("shuffle", Json("noshuffle"));
  if (shuffle_json.is_string()) {
    shuffle = shuffle_json.get<std::string>();
  } else if (shuffle_json.is_number_integer()) {
    const auto mode = shuffle_json.get<std::int64_t>();
    shuffle = mode == 0 ? "noshuffle" : mode == 1 ? "shuffle" : mode == 2 ? "bitshuffle" : "auto";
  }
  FLOE_ASSIGN_OR_RETURN(std::string cname, config_string(spec, "cname", std::string("lz4")));
  return AnyCodec(std::make_shared<const BloscCodec>(
      std::string(spec.name), fmt::format("{}({}, {})", spec.name, cname, shuffle)));
}

}  // namespace floe::codecs
