// JPEG2000 packing (GRIB2 template 5.40, data template 7.40): a JPEG2000 code stream (or JP2 file)
// decoded by OpenJPEG from memory; the image's first component holds the packed integers.
#include <openjpeg.h>

#include <cstring>
#include <string>

#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

struct MemoryStream {
  const std::uint8_t* data;
  std::uint64_t size;
  std::uint64_t position;
};

OPJ_SIZE_T read_stream(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* stream = static_cast<MemoryStream*>(user);
  if (stream->position >= stream->size) return static_cast<OPJ_SIZE_T>(-1);
  const OPJ_SIZE_T n = std::min<std::uint64_t>(bytes, stream->size - stream->position);
  std::memcpy(buffer, stream->data + stream->position, n);
  stream->position += n;
  return n;
}

OPJ_OFF_T skip_stream(OPJ_OFF_T bytes, void* user) {
  auto* stream = static_cast<MemoryStream*>(user);
  if (bytes < 0) return -1;
  const std::uint64_t n = std::min<std::uint64_t>(bytes, stream->size - stream->position);
  stream->position += n;
  return static_cast<OPJ_OFF_T>(n);
}

OPJ_BOOL seek_stream(OPJ_OFF_T offset, void* user) {
  auto* stream = static_cast<MemoryStream*>(user);
  if (offset < 0 || static_cast<std::uint64_t>(offset) > stream->size) return OPJ_FALSE;
  stream->position = static_cast<std::uint64_t>(offset);
  return OPJ_TRUE;
}

// OpenJPEG reports through callbacks; the last error is kept for the message, warnings dropped.
void keep_error(const char* message, void* user) {
  auto* last = static_cast<std::string*>(user);
  *last = message;
  while (!last->empty() && (last->back() == '\n' || last->back() == ' ')) last->pop_back();
}
void ignore_message(const char*, void*) {}

struct StreamDeleter {
  void operator()(opj_stream_t* stream) const { opj_stream_destroy(stream); }
};
struct CodecDeleter {
  void operator()(opj_codec_t* codec) const { opj_destroy_codec(codec); }
};
struct ImageDeleter {
  void operator()(opj_image_t* image) const { opj_image_destroy(image); }
};

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_jpeg2000_source(const PackedField& field) {
  const std::uint64_t count = field.value_count;
  if (field.bits_per_value == 0 || count == 0) {
    return ValueSourcePtr<T>(std::make_unique<ConstantSource<T>>(field.reference_value));
  }
  static constexpr std::uint8_t kCodestream[] = {0xFF, 0x4F, 0xFF, 0x51};
  static constexpr std::uint8_t kJp2[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20};
  OPJ_CODEC_FORMAT format;
  if (field.data.size() >= 4 && std::memcmp(field.data.data(), kCodestream, 4) == 0) {
    format = OPJ_CODEC_J2K;
  } else if (field.data.size() >= 8 && std::memcmp(field.data.data(), kJp2, 8) == 0) {
    format = OPJ_CODEC_JP2;
  } else {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) is neither a JPEG2000 code stream nor a JP2 file",
                       field.data_offset);
  }
  MemoryStream memory{field.data.data(), field.data.size(), 0};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(1 << 16, OPJ_TRUE));
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(opj_create_decompress(format));
  if (!stream || !codec) {
    return field_error(field, ErrorCode::kInternal, "OpenJPEG could not create a decoder");
  }
  opj_stream_set_user_data(stream.get(), &memory, nullptr);
  opj_stream_set_user_data_length(stream.get(), memory.size);
  opj_stream_set_read_function(stream.get(), read_stream);
  opj_stream_set_skip_function(stream.get(), skip_stream);
  opj_stream_set_seek_function(stream.get(), seek_stream);
  std::string last_error;
  opj_set_error_handler(codec.get(), keep_error, &last_error);
  opj_set_warning_handler(codec.get(), ignore_message, nullptr);
  opj_set_info_handler(codec.get(), ignore_message, nullptr);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(codec.get(), &parameters)) {
    return field_error(field, ErrorCode::kInternal, "OpenJPEG: {}", last_error);
  }
  opj_image_t* raw_image = nullptr;
  const bool header_read = opj_read_header(stream.get(), codec.get(), &raw_image);
  std::unique_ptr<opj_image_t, ImageDeleter> image(raw_image);
  if (!header_read || !image) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): JPEG2000 header unreadable (OpenJPEG: {})",
                       field.data_offset, last_error);
  }
  // The image must hold exactly the packed values; checked before OpenJPEG allocates it.
  const std::uint64_t width = image->x1 - image->x0;
  const std::uint64_t height = image->y1 - image->y0;
  if (image->numcomps < 1 || image->x1 < image->x0 || image->y1 < image->y0 ||
      width * height != count) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): the JPEG2000 image is {} x {} with {} components, "
                       "section 5 gives {} values",
                       field.data_offset, width, height, image->numcomps, count);
  }
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): JPEG2000 decoding failed (OpenJPEG: {})",
                       field.data_offset, last_error);
  }
  const opj_image_comp_t& component = image->comps[0];
  if (component.data == nullptr || std::uint64_t{component.w} * component.h != count) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): the JPEG2000 component is {} x {}, section 5 "
                       "gives {} values",
                       field.data_offset, component.w, component.h, count);
  }
  auto codes = allocate_codes<std::uint32_t>(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    codes[i] = static_cast<std::uint32_t>(component.data[i]);
  }
  return ValueSourcePtr<T>(
      std::make_unique<CodeSource<T, std::uint32_t>>(std::move(codes), Scaling::of(field)));
}

template Result<ValueSourcePtr<float>> make_jpeg2000_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_jpeg2000_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
