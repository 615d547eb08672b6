// "numcodecs.shuffle" (numcodecs Shuffle, same bytes as HDF5 filter 2): byte j of every element is
// stored together, element by element, for j = 0 .. elementsize-1; bytes past the last whole
// element are copied unchanged at the end (H5Zshuffle.c), and a buffer of at most one element is
// left as it is.
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

template <std::size_t kElement>
void unshuffle_fixed(const std::uint8_t* in, std::uint8_t* out, std::size_t begin,
                     std::size_t count) {
  for (std::size_t i = begin; i < count; ++i) {
    for (std::size_t j = 0; j < kElement; ++j) out[i * kElement + j] = in[j * count + i];
  }
}

#if defined(__SSE2__)
// 16 elements at a time: the byte rows are interleaved with unpack instructions (SSE2 is part of
// x86-64).
inline __m128i load(const std::uint8_t* at) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
}
inline void store(std::uint8_t* at, __m128i value) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(at), value);
}

std::size_t unshuffle_simd_2(const std::uint8_t* in, std::uint8_t* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i b0 = load(in + i);
    const __m128i b1 = load(in + count + i);
    store(out + 2 * i, _mm_unpacklo_epi8(b0, b1));
    store(out + 2 * i + 16, _mm_unpackhi_epi8(b0, b1));
  }
  return i;
}

std::size_t unshuffle_simd_4(const std::uint8_t* in, std::uint8_t* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m128i b0 = load(in + i);
    const __m128i b1 = load(in + count + i);
    const __m128i b2 = load(in + 2 * count + i);
    const __m128i b3 = load(in + 3 * count + i);
    const __m128i low01 = _mm_unpacklo_epi8(b0, b1);
    const __m128i high01 = _mm_unpackhi_epi8(b0, b1);
    const __m128i low23 = _mm_unpacklo_epi8(b2, b3);
    const __m128i high23 = _mm_unpackhi_epi8(b2, b3);
    std::uint8_t* target = out + 4 * i;
    store(target, _mm_unpacklo_epi16(low01, low23));
    store(target + 16, _mm_unpackhi_epi16(low01, low23));
    store(target + 32, _mm_unpacklo_epi16(high01, high23));
    store(target + 48, _mm_unpackhi_epi16(high01, high23));
  }
  return i;
}

std::size_t unshuffle_simd_8(const std::uint8_t* in, std::uint8_t* out, std::size_t count) {
  std::size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    __m128i rows[8];
    for (std::size_t j = 0; j < 8; ++j) rows[j] = load(in + j * count + i);
    // Byte rows paired (0,1) (2,3) (4,5) (6,7), pairs into quads, quads into whole elements.
    __m128i pairs[8];
    for (std::size_t j = 0; j < 4; ++j) {
      pairs[2 * j] = _mm_unpacklo_epi8(rows[2 * j], rows[2 * j + 1]);
      pairs[2 * j + 1] = _mm_unpackhi_epi8(rows[2 * j], rows[2 * j + 1]);
    }
    // quads[k], k < 4: bytes 0-3 of elements 4k..4k+3; quads[4 + k]: their bytes 4-7.
    __m128i quads[8];
    for (std::size_t half = 0; half < 2; ++half) {
      const __m128i* p = pairs + 4 * half;
      quads[4 * half + 0] = _mm_unpacklo_epi16(p[0], p[2]);
      quads[4 * half + 1] = _mm_unpackhi_epi16(p[0], p[2]);
      quads[4 * half + 2] = _mm_unpacklo_epi16(p[1], p[3]);
      quads[4 * half + 3] = _mm_unpackhi_epi16(p[1], p[3]);
    }
    std::uint8_t* target = out + 8 * i;
    for (std::size_t k = 0; k < 4; ++k) {
      store(target + 32 * k, _mm_unpacklo_epi32(quads[k], quads[4 + k]));
      store(target + 32 * k + 16, _mm_unpackhi_epi32(quads[k], quads[4 + k]));
    }
  }
  return i;
}
#else
std::size_t unshuffle_simd_2(const std::uint8_t*, std::uint8_t*, std::size_t) { return 0; }
std::size_t unshuffle_simd_4(const std::uint8_t*, std::uint8_t*, std::size_t) { return 0; }
std::size_t unshuffle_simd_8(const std::uint8_t*, std::uint8_t*, std::size_t) { return 0; }
#endif

void unshuffle(const std::uint8_t* in, std::uint8_t* out, std::size_t size, std::size_t element) {
  const std::size_t count = size / element;
  if (count <= 1) {
    std::memcpy(out, in, size);
    return;
  }
  switch (element) {
    case 2:
      unshuffle_fixed<2>(in, out, unshuffle_simd_2(in, out, count), count);
      break;
    case 4:
      unshuffle_fixed<4>(in, out, unshuffle_simd_4(in, out, count), count);
      break;
    case 8:
      unshuffle_fixed<8>(in, out, unshuffle_simd_8(in, out, count), count);
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
