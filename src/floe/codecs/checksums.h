// Checksums the codecs verify: CRC-32C (Castagnoli) and HDF5's Fletcher-32.
#pragma once

#include <cstdint>
#include <span>

namespace floe::codecs {

// CRC-32C of `data` (RFC 3720 parameters: reflected, initial and final xor 0xffffffff), with the
// SSE4.2 instruction where the CPU has it.
std::uint32_t crc32c(std::span<const std::uint8_t> data);

// HDF5's H5_checksum_fletcher32: big-endian 16-bit words, an odd last byte as the high half of a
// word.
std::uint32_t hdf5_fletcher32(std::span<const std::uint8_t> data);

}  // namespace floe::codecs
