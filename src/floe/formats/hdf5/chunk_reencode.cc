// Shuffle, deflate (libdeflate, zlib framing) and Fletcher-32 encoders matching the HDF5 filters.
#include "floe/formats/hdf5/chunk_reencode.h"

#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <libdeflate.h>

namespace floe::formats::hdf5 {

bool can_re_encode(const std::vector<Filter>& filters) {
  for (const Filter& filter : filters) {
    if (filter.id != 1 && filter.id != 2 && filter.id != 3) return false;
  }
  return true;
}

uint32_t hdf5_fletcher32(std::span<const std::byte> data) {
  uint32_t sum1 = 0, sum2 = 0;
  size_t words = data.size() / 2;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  while (words > 0) {
    size_t block = std::min<size_t>(words, 360);
    words -= block;
    for (size_t i = 0; i < block; ++i, p += 2) {
      sum1 += (uint32_t{p[0]} << 8) | p[1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (data.size() % 2) {
    sum1 += uint32_t{*p} << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

namespace {

struct CompressorDeleter {
  void operator()(libdeflate_compressor* compressor) const { libdeflate_free_compressor(compressor); }
};

std::string shuffle(std::string_view in, size_t element_size) {
  std::string out(in.size(), '\0');
  if (element_size <= 1) return std::string(in);
  size_t count = in.size() / element_size;
  for (size_t byte = 0; byte < element_size; ++byte) {
    for (size_t i = 0; i < count; ++i) out[byte * count + i] = in[i * element_size + byte];
  }
  // Trailing bytes that do not make a whole element are left in place (H5Z__filter_shuffle).
  std::memcpy(out.data() + count * element_size, in.data() + count * element_size, in.size() - count * element_size);
  return out;
}

}  // namespace

Result<Bytes> re_encode_chunk(const std::vector<Filter>& filters, const Bytes& raw, uint32_t element_size) {
  std::string data(raw.view());
  for (const Filter& filter : filters) {
    switch (filter.id) {
      case 2:
        data = shuffle(data, filter.client_data.empty() ? element_size : filter.client_data[0]);
        break;
      case 1: {
        int level = filter.client_data.empty() ? 6 : static_cast<int>(std::min<uint32_t>(filter.client_data[0], 12));
        std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor(libdeflate_alloc_compressor(level));
        if (!compressor) return make_error(ErrorCode::kInternal, "libdeflate: no compressor for level {}", level);
        std::string out(libdeflate_zlib_compress_bound(compressor.get(), data.size()), '\0');
        size_t written = libdeflate_zlib_compress(compressor.get(), data.data(), data.size(), out.data(), out.size());
        if (written == 0) return make_error(ErrorCode::kInternal, "libdeflate: compression of {} bytes failed", data.size());
        out.resize(written);
        data = std::move(out);
        break;
      }
      case 3: {
        uint32_t checksum = hdf5_fletcher32(std::as_bytes(std::span(data.data(), data.size())));
        for (int i = 0; i < 4; ++i) data.push_back(static_cast<char>((checksum >> (8 * i)) & 0xff));
        break;
      }
      default:
        return make_error(ErrorCode::kUnsupported, "cannot re-encode a chunk through filter {}", filter.id);
    }
  }
  return Bytes::from_string(std::move(data));
}

}  // namespace floe::formats::hdf5
