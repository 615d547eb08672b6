// CCSDS packing (GRIB2 template 5.42, data template 7.42): a CCSDS 121.0-B (adaptive entropy
// coding) stream decoded by libaec with section 5's flags, block size and reference sample
// interval. The flags that only choose the in-memory sample layout (AEC_DATA_MSB, AEC_DATA_3BYTE)
// are replaced by native little-endian 1-, 2- or 4-byte samples, as ecCodes does.
#include <libaec.h>

#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

const char* aec_status_name(int status) {
  switch (status) {
    case AEC_CONF_ERROR:
      return "configuration error";
    case AEC_STREAM_ERROR:
      return "stream error";
    case AEC_DATA_ERROR:
      return "data error";
    case AEC_MEM_ERROR:
      return "out of memory";
    default:
      return "error";
  }
}

// Decodes the stream into samples of Code (1, 2 or 4 bytes, as libaec stores `bits`-bit samples).
template <typename T, typename Code>
Result<ValueSourcePtr<T>> decode_samples(const PackedField& field, unsigned bits) {
  const std::uint64_t count = field.value_count;
  aec_stream stream{};
  stream.bits_per_sample = bits;
  stream.block_size = field.ccsds.block_size;
  stream.rsi = field.ccsds.reference_sample_interval;
  stream.flags = field.ccsds.flags & ~static_cast<unsigned>(AEC_DATA_MSB | AEC_DATA_3BYTE);
  stream.next_in = field.data.data();
  stream.avail_in = field.data.size();
  auto codes = allocate_codes<Code>(count);
  stream.next_out = reinterpret_cast<unsigned char*>(codes.get());
  stream.avail_out = count * sizeof(Code);
  const int status = aec_buffer_decode(&stream);
  if (status != AEC_OK) {
    return field_error(field,
                       status == AEC_CONF_ERROR ? ErrorCode::kUnsupported : ErrorCode::kCorrupt,
                       "data section (byte {}): CCSDS decoding failed (libaec {} {}; flags {}, "
                       "block size {}, reference sample interval {}, {} bits)",
                       field.data_offset, status, aec_status_name(status), field.ccsds.flags,
                       field.ccsds.block_size, field.ccsds.reference_sample_interval, bits);
  }
  if (stream.total_out != count * sizeof(Code)) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): the CCSDS stream holds {} samples, section 5 "
                       "gives {} values",
                       field.data_offset, stream.total_out / sizeof(Code), count);
  }
  return ValueSourcePtr<T>(
      std::make_unique<CodeSource<T, Code>>(std::move(codes), Scaling::of(field)));
}

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_ccsds_source(const PackedField& field) {
  const unsigned bits = field.bits_per_value;
  if (bits == 0 || field.value_count == 0) {
    return ValueSourcePtr<T>(std::make_unique<ConstantSource<T>>(field.reference_value));
  }
  if (bits > 32) {
    return field_error(field, ErrorCode::kUnsupported,
                       "section 5 template 5.42 with {} bits per value (libaec decodes up to 32)",
                       bits);
  }
  // libaec 1.0.6 does not reject every bad combination itself (a block size of 0 with a large
  // reference sample interval crashes it), so CCSDS 121.0-B's ranges are checked here.
  const unsigned block = field.ccsds.block_size;
  const unsigned interval = field.ccsds.reference_sample_interval;
  const bool block_ok = (field.ccsds.flags & AEC_NOT_ENFORCE) != 0
                            ? block != 0 && block % 2 == 0 && block <= 64
                            : block == 8 || block == 16 || block == 32 || block == 64;
  if (!block_ok || interval == 0 || interval > 4096) {
    return field_error(field, ErrorCode::kCorrupt,
                       "section 5 template 5.42: block size {} and reference sample interval {} "
                       "are outside CCSDS 121.0-B (8, 16, 32 or 64; 1 to 4096)",
                       block, interval);
  }
  if (bits <= 8) return decode_samples<T, std::uint8_t>(field, bits);
  if (bits <= 16) return decode_samples<T, std::uint16_t>(field, bits);
  return decode_samples<T, std::uint32_t>(field, bits);
}

template Result<ValueSourcePtr<float>> make_ccsds_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_ccsds_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
