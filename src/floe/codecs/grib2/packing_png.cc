// PNG packing (GRIB2 template 5.41, data template 7.41): a PNG image decoded by libpng from memory
// without transformations; each pixel's bits (bit depth x channels, big-endian) are one packed
// integer. The bit depth comes from the image header, not section 5: ecCodes writes 16-bit images
// for 12-bit fields.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <vector>

#include "floe/codecs/grib2/packing.h"

namespace floe::codecs::grib {
namespace {

// Everything libpng's callbacks touch; plain data, because libpng reports errors by longjmp.
struct PngInput {
  const std::uint8_t* data;
  std::uint64_t size;
  std::uint64_t position;
  char error[160];
};

void read_input(png_structp png, png_bytep out, png_size_t bytes) {
  auto* input = static_cast<PngInput*>(png_get_io_ptr(png));
  if (bytes > input->size - input->position) png_error(png, "the PNG stream is truncated");
  std::memcpy(out, input->data + input->position, bytes);
  input->position += bytes;
}

void on_error(png_structp png, png_const_charp message) {
  auto* input = static_cast<PngInput*>(png_get_error_ptr(png));
  std::snprintf(input->error, sizeof(input->error), "%s", message);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

struct PngHeader {
  png_uint_32 width;
  png_uint_32 height;
  int bit_depth;
  int channels;
  png_size_t row_bytes;
};

// The two functions that call into libpng hold no C++ objects with destructors, since an error
// longjmps out of them.
bool read_png_header(png_structp png, png_infop info, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, png_get_io_ptr(png), read_input);
  png_read_info(png, info);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  header->channels = png_get_channels(png, info);
  header->row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool read_png_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_png_source(const PackedField& field) {
  const std::uint64_t count = field.value_count;
  if (field.bits_per_value == 0 || count == 0) {
    return ValueSourcePtr<T>(std::make_unique<ConstantSource<T>>(field.reference_value));
  }
  PngInput input{field.data.data(), field.data.size(), 0, {}};
  if (input.size < 8 || png_sig_cmp(input.data, 0, 8) != 0) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}) does not start with the PNG signature",
                       field.data_offset);
  }
  PngReader reader;
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &input, on_error, on_warning);
  if (reader.png != nullptr) reader.info = png_create_info_struct(reader.png);
  if (reader.png == nullptr || reader.info == nullptr) {
    return field_error(field, ErrorCode::kInternal, "libpng could not create a decoder");
  }
  png_set_read_fn(reader.png, &input, read_input);
  // Ancillary chunks cannot make libpng allocate more than this.
  png_set_chunk_malloc_max(reader.png, 1 << 20);
  PngHeader header{};
  if (!read_png_header(reader.png, reader.info, &header)) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): PNG header unreadable (libpng: {})",
                       field.data_offset, input.error);
  }
  const unsigned pixel_bits = static_cast<unsigned>(header.bit_depth * header.channels);
  if (std::uint64_t{header.width} * header.height != count) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): the PNG image is {} x {}, section 5 gives {} "
                       "values",
                       field.data_offset, header.width, header.height, count);
  }
  if (pixel_bits > 32 || header.row_bytes < (std::uint64_t{header.width} * pixel_bits + 7) / 8) {
    return field_error(field, ErrorCode::kUnsupported,
                       "data section (byte {}): PNG pixels of {} bits (depth {} x {} channels) "
                       "are not supported (at most 32)",
                       field.data_offset, pixel_bits, header.bit_depth, header.channels);
  }
  std::vector<std::uint8_t> image(header.row_bytes * header.height);
  std::vector<png_bytep> rows(header.height);
  for (png_uint_32 r = 0; r < header.height; ++r) rows[r] = image.data() + r * header.row_bytes;
  if (!read_png_rows(reader.png, rows.data())) {
    return field_error(field, ErrorCode::kCorrupt,
                       "data section (byte {}): PNG decoding failed (libpng: {})",
                       field.data_offset, input.error);
  }
  auto codes = allocate_codes<std::uint32_t>(count);
  std::uint32_t* out = codes.get();
  for (png_uint_32 r = 0; r < header.height; ++r) {
    const std::uint8_t* row = rows[r];
    switch (pixel_bits) {
      case 8:
        for (png_uint_32 c = 0; c < header.width; ++c) out[c] = row[c];
        break;
      case 16:
        for (png_uint_32 c = 0; c < header.width; ++c) out[c] = be16(row + 2 * c);
        break;
      case 24:
        for (png_uint_32 c = 0; c < header.width; ++c) out[c] = be24(row + 3 * c);
        break;
      case 32:
        for (png_uint_32 c = 0; c < header.width; ++c) out[c] = be32(row + 4 * c);
        break;
      default: {
        BitReader bits({row, header.row_bytes});
        for (png_uint_32 c = 0; c < header.width; ++c) out[c] = bits.read(pixel_bits);
      }
    }
    out += header.width;
  }
  return ValueSourcePtr<T>(
      std::make_unique<CodeSource<T, std::uint32_t>>(std::move(codes), Scaling::of(field)));
}

template Result<ValueSourcePtr<float>> make_png_source<float>(const PackedField&);
template Result<ValueSourcePtr<double>> make_png_source<double>(const PackedField&);

}  // namespace floe::codecs::grib
