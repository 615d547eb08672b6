// CRC-32C (hardware crc32 instruction or slicing-by-8 tables) and HDF5 Fletcher-32.
#include "floe/codecs/checksums.h"

#include <array>
#include <bit>
#include <cstring>

namespace floe::codecs {
namespace {

constexpr std::uint32_t kCastagnoliReflected = 0x82f63b78u;

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_crc32c_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kCastagnoliReflected : 0u);
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::uint32_t byte = 0; byte < 256; ++byte) {
      const std::uint32_t previous = tables[k - 1][byte];
      tables[k][byte] = (previous >> 8) ^ tables[0][previous & 0xffu];
    }
  }
  return tables;
}

constexpr auto kCrc32cTables = make_crc32c_tables();

std::uint32_t crc32c_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data, 8);
    word ^= crc;  // little-endian host: the low four bytes take the running crc
    crc = kCrc32cTables[7][word & 0xff] ^ kCrc32cTables[6][(word >> 8) & 0xff] ^
          kCrc32cTables[5][(word >> 16) & 0xff] ^ kCrc32cTables[4][(word >> 24) & 0xff] ^
          kCrc32cTables[3][(word >> 32) & 0xff] ^ kCrc32cTables[2][(word >> 40) & 0xff] ^
          kCrc32cTables[1][(word >> 48) & 0xff] ^ kCrc32cTables[0][word >> 56];
    data += 8;
    size -= 8;
  }
  while (size-- > 0) crc = (crc >> 8) ^ kCrc32cTables[0][(crc ^ *data++) & 0xffu];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             const std::uint8_t* data,
                                                             std::size_t size) {
  std::uint64_t wide = crc;
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, data, 8);
    wide = __builtin_ia32_crc32di(wide, word);
    data += 8;
    size -= 8;
  }
  auto narrow = static_cast<std::uint32_t>(wide);
  while (size-- > 0) narrow = __builtin_ia32_crc32qi(narrow, *data++);
  return narrow;
}
#endif

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> data) {
  static_assert(std::endian::native == std::endian::little, "the table walk assumes little-endian");
  const std::uint32_t initial = 0xffffffffu;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) {
    return crc32c_sse42(initial, data.data(), data.size()) ^ 0xffffffffu;
  }
#endif
  return crc32c_portable(initial, data.data(), data.size()) ^ 0xffffffffu;
}

std::uint32_t hdf5_fletcher32(std::span<const std::uint8_t> data) {
  // H5checksum.c: sums are folded every 360 words so the 32-bit accumulators cannot overflow.
  const std::uint8_t* bytes = data.data();
  std::size_t words = data.size() / 2;
  std::uint32_t sum1 = 0;
  std::uint32_t sum2 = 0;
  while (words > 0) {
    std::size_t block = words > 360 ? 360 : words;
    words -= block;
    do {
      sum1 += (std::uint32_t{bytes[0]} << 8) | bytes[1];
      bytes += 2;
      sum2 += sum1;
    } while (--block > 0);
    sum1 = (sum1 & 0xffffu) + (sum1 >> 16);
    sum2 = (sum2 & 0xffffu) + (sum2 >> 16);
  }
  if (data.size() % 2 != 0) {
    sum1 += std::uint32_t{*bytes} << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffffu) + (sum1 >> 16);
    sum2 = (sum2 & 0xffffu) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffffu) + (sum1 >> 16);
  sum2 = (sum2 & 0xffffu) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

}  // namespace floe::codecs
