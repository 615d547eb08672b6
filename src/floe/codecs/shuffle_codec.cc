// "numcodecs.shuffle" (numcodecs Shuffle, same bytes as HDF5 filter 2): byte j of every element is
// stored together, element by element, for j = 0 .. elementsize-1; bytes past the last whole
// element are copied unchanged at the end (H5Zshuffle.c), and a buffer of at most one element is
// left as it is.
#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

template <std::size_t kElement>
void unshuffle_fixed(const std::uint8_t* in, std::uint8_t* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t j = 0; j < kElement; ++j) out[i * kElement + j] = in[j * count + i];
  }
}

void unshuffle(const std::uint8_t* in, std::uint8_t* out, std::size_t size, std::size_t element) {
  const std::size_t count = size / element;
  if (count <= 1) {
    std::memcpy(out, in, size);
    return;
  }
  switch (element) {
    case 2:
      unshuffle_fixed<2>(in, out, count);
      break;
    case 4:
      unshuffle_fixed<4>(in, out, count);
      break;
    case 8:
      unshuffle_fixed<8>(in, out, count);
      break;
    default:
      for (std::size_t j = 0; j < element; ++j) {
        const std::uint8_t* row = in + j * count;
        for (std::size_t i = 0; i < count; ++i) out[i * element + j] = row[i];
      }
  }
  const std::size_t whole = count * element;
  std::memcpy(out + whole, in + whole, size - whole);
}

class ShuffleCodec final : public BytesToBytesCodec {
 public:
  explicit ShuffleCodec(std::size_t element_size) : element_size_(element_size) {}

  std::string describe() const override {
    return fmt::format("numcodecs.shuffle({})", element_size_);
  }
  std::optional<std::uint64_t> encoded_size(std::uint64_t decoded_size) const override {
    return decoded_size;
  }

  Status decode_into(std::span<const std::uint8_t> encoded,
                     std::span<std::uint8_t> out) const override {
    if (encoded.size() != out.size()) {
      return codec_error("numcodecs.shuffle", "holds {} bytes, expected {}", encoded.size(),
                         out.size());
    }
    if (element_size_ <= 1) {
      std::memcpy(out.data(), encoded.data(), encoded.size());
    } else {
      unshuffle(encoded.data(), out.data(), encoded.size(), element_size_);
    }
    return {};
  }

  Result<std::vector<std::uint8_t>> decode_bounded(std::span<const std::uint8_t> encoded,
                                                   std::uint64_t) const override {
    std::vector<std::uint8_t> out(encoded.size());
    FLOE_RETURN_IF_ERROR(decode_into(encoded, out));
    return out;
  }

 private:
  std::size_t element_size_;
};

}  // namespace

Result<AnyCodec> make_shuffle_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"elementsize"}));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t element_size, config_unsigned(spec, "elementsize", 4));
  if (element_size == 0 || element_size > (1u << 16)) {
    return config_error("numcodecs.shuffle", "elementsize {} is not in 1..65536", element_size);
  }
  return AnyCodec(std::make_shared<const ShuffleCodec>(element_size));
}

}  // namespace floe::codecs
