// Helpers shared by the codec implementations: configuration readers, errors that name the codec,
// uninitialized scratch buffers, big-endian reads and n-dimensional block copies.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "floe/codecs/codec.h"
#include "floe/core/result.h"

namespace floe::codecs {

template <typename... Args>
Error codec_error(std::string_view codec, fmt::format_string<Args...> format, Args&&... args) {
  return Error(ErrorCode::kCorrupt,
               fmt::format("{}: {}", codec, fmt::format(format, std::forward<Args>(args)...)));
}

template <typename... Args>
Error config_error(std::string_view codec, fmt::format_string<Args...> format, Args&&... args) {
  return Error(ErrorCode::kCorrupt, fmt::format("{} configuration: {}", codec,
                                                fmt::format(format, std::forward<Args>(args)...)));
}

// An unsigned configuration value; `fallback` when absent (nullopt: required).
Result<std::uint64_t> config_unsigned(const CodecSpec& spec, std::string_view key,
                                      std::optional<std::uint64_t> fallback);
// A string configuration value; `fallback` when absent (nullopt: required).
Result<std::string> config_string(const CodecSpec& spec, std::string_view key,
                                  std::optional<std::string> fallback);
// Refuses configuration keys outside `known` (catches typos and codecs floe would misread).
Status config_keys_known(const CodecSpec& spec, std::initializer_list<std::string_view> known);

// A buffer whose bytes start uninitialized: decoders overwrite every byte they report.
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t size)
      : data_(std::make_unique_for_overwrite<std::uint8_t[]>(size)), size_(size) {}
  std::span<std::uint8_t> span() { return {data_.get(), size_}; }
  std::span<const std::uint8_t> span() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_;
};

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline std::uint64_t read_be64(const std::uint8_t* p) {
  return (std::uint64_t{read_be32(p)} << 32) | read_be32(p + 4);
}
inline std::uint32_t read_le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}
inline std::uint64_t read_le64(const std::uint8_t* p) {
  return std::uint64_t{read_le32(p)} | (std::uint64_t{read_le32(p + 4)} << 32);
}

// Copies a C-order block of `block_shape` elements into the array `out` of `out_shape` at `origin`.
void copy_block_into(std::span<const std::uint8_t> block,
                     std::span<const std::uint64_t> block_shape, std::span<std::uint8_t> out,
                     std::span<const std::uint64_t> out_shape,
                     std::span<const std::uint64_t> origin, std::size_t element_size);
// Sets the block of `block_shape` at `origin` in `out` to the element `fill` (all zeros when
// empty).
void fill_block(std::span<std::uint8_t> out, std::span<const std::uint64_t> out_shape,
                std::span<const std::uint64_t> origin, std::span<const std::uint64_t> block_shape,
                std::span<const std::uint8_t> fill, std::size_t element_size);

// Factories of the built-in codecs (one source file each).
Result<AnyCodec> make_bytes_codec(const CodecSpec& spec);
Result<AnyCodec> make_transpose_codec(const CodecSpec& spec);
Result<AnyCodec> make_crc32c_codec(const CodecSpec& spec);
Result<AnyCodec> make_gzip_codec(const CodecSpec& spec);  // gzip, numcodecs.gzip
Result<AnyCodec> make_zlib_codec(const CodecSpec& spec);  // numcodecs.zlib
Result<AnyCodec> make_zstd_codec(const CodecSpec& spec);
Result<AnyCodec> make_blosc_codec(const CodecSpec& spec);
Result<AnyCodec> make_shuffle_codec(const CodecSpec& spec);
Result<AnyCodec> make_fletcher32_codec(const CodecSpec& spec);
Result<AnyCodec> make_bz2_codec(const CodecSpec& spec);
Result<AnyCodec> make_lz4h5_codec(const CodecSpec& spec);
Result<AnyCodec> make_szip_codec(const CodecSpec& spec);
Result<AnyCodec> make_hdf5_bitshuffle_codec(const CodecSpec& spec);
Result<AnyCodec> make_gribberish_codec(const CodecSpec& spec);  // grib2/grib_codec.cc
Result<AnyCodec> make_floe_grib_codec(const CodecSpec& spec);

}  // namespace floe::codecs
