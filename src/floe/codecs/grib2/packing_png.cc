// PNG packing (GRIB2 template 5.41, data template 7.41): a PNG image whose pixels' bits (bit depth
// x channels, big-endian) are the packed integers. The bit depth comes from the image header, not
// section 5: ecCodes writes 16-bit images for 12-bit fields. Non-interlaced images of whole-byte
// pixels (8 or 16 bits a sample, up to 32 bits a pixel) are read here, inflated by libdeflate (2-3x
// zlib's speed) with every chunk CRC and the Adler-32 checked; any other image, and any image that
// does not decode cleanly that way, is decoded by libpng, which also reports what is wrong.
#include <libdeflate.h>
#include <png.h>

#include <csetjmp>
#include <cstdlib>
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

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* decompressor) const {
    libdeflate_free_decompressor(decompressor);
  }
};

// Reverses PNG filter `filter` (0 none, 1 sub, 2 up, 3 average, 4 Paeth) on one row of `length`
// bytes with `bpp` bytes a pixel; `above` is the previous row unfiltered (nullptr for the first).
bool unfilter_row(std::uint8_t filter, std::uint8_t* row, const std::uint8_t* above,
                  std::size_t length, std::size_t bpp) {
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (std::size_t i = bpp; i < length; ++i)
        row[i] = static_cast<std::uint8_t>(row[i] + row[i - bpp]);
      return true;
    case 2:
      if (above != nullptr) {
        for (std::size_t i = 0; i < length; ++i)
          row[i] = static_cast<std::uint8_t>(row[i] + above[i]);
      }
      return true;
    case 3:
      for (std::size_t i = 0; i < length; ++i) {
        const unsigned left = i >= bpp ? row[i - bpp] : 0;
        const unsigned up = above != nullptr ? above[i] : 0;
        row[i] = static_cast<std::uint8_t>(row[i] + ((left + up) >> 1));
      }
      return true;
    case 4:
      for (std::size_t i = 0; i < length; ++i) {
        const int left = i >= bpp ? row[i - bpp] : 0;
        const int up = above != nullptr ? above[i] : 0;
        const int corner = i >= bpp && above != nullptr ? above[i - bpp] : 0;
        const int estimate = left + up - corner;
        const int to_left = std::abs(estimate - left);
        const int to_up = std::abs(estimate - up);
        const int to_corner = std::abs(estimate - corner);
        const int predictor =
            to_left <= to_up && to_left <= to_corner ? left : (to_up <= to_corner ? up : corner);
        row[i] = static_cast<std::uint8_t>(row[i] + predictor);
      }
      return true;
    default:
      return false;
  }
}

// The `count` packed integers of a non-interlaced grey, grey + alpha, RGB or RGBA image of 8 or 16
// bits a sample (at most 32 bits a pixel), or nullptr when the image is anything else or does not
// decode cleanly (bad chunk CRC, bad zlib stream or Adler-32, wrong size, unknown filter).
std::unique_ptr<std::uint32_t[]> decode_png_directly(std::span<const std::uint8_t> data,
                                                     std::uint64_t count) {
  static constexpr std::uint8_t kSignature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (data.size() < 8 || std::memcmp(data.data(), kSignature, 8) != 0) return nullptr;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  unsigned pixel_bytes = 0;
  std::vector<std::uint8_t> compressed;
  std::uint64_t at = 8;
  for (bool ended = false; !ended;) {
    if (data.size() - at < 12) return nullptr;
    const std::uint64_t length = be32(data.data() + at);
    if (length > data.size() - at - 12) return nullptr;
    const std::uint8_t* type = data.data() + at + 4;
    const std::uint8_t* body = type + 4;
    const bool critical = (type[0] & 0x20) == 0;
    if (critical && libdeflate_crc32(0, type, length + 4) != be32(body + length)) return nullptr;
    if (std::memcmp(type, "IHDR", 4) == 0) {
      // Compression, filter method and interlacing must all be 0.
      if (pixel_bytes != 0 || length != 13 || body[10] != 0 || body[11] != 0 || body[12] != 0) {
        return nullptr;
      }
      width = be32(body);
      height = be32(body + 4);
      const unsigned depth = body[8];
      const unsigned colour = body[9];
      const unsigned channels = colour == 0   ? 1
                                : colour == 2 ? 3
                                : colour == 4 ? 2
                                : colour == 6 ? 4
                                              : 0;
      if ((depth != 8 && depth != 16) || channels == 0 || channels * depth > 32) return nullptr;
      pixel_bytes = channels * depth / 8;
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      if (pixel_bytes == 0) return nullptr;
      compressed.insert(compressed.end(), body, body + length);
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      ended = true;
    } else if (critical) {
      return nullptr;  // PLTE, or a critical chunk this reader does not know
    }
    at += 12 + length;
  }
  if (pixel_bytes == 0 || width == 0 || std::uint64_t{width} * height != count) return nullptr;
  const std::size_t row_bytes = std::size_t{width} * pixel_bytes;
  std::vector<std::uint8_t> raw((row_bytes + 1) * height);
  std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> decompressor(
      libdeflate_alloc_decompressor());
  if (!decompressor ||
      libdeflate_zlib_decompress(decompressor.get(), compressed.data(), compressed.size(),
                                 raw.data(), raw.size(), nullptr) != LIBDEFLATE_SUCCESS) {
    return nullptr;
  }
  auto codes = allocate_codes<std::uint32_t>(count);
  std::uint32_t* out = codes.get();
  const std::uint8_t* above = nullptr;
  for (std::uint32_t r = 0; r < height; ++r, out += width) {
    std::uint8_t* row = raw.data() + r * (row_bytes + 1);
    if (!unfilter_row(row[0], row + 1, above, row_bytes, pixel_bytes)) return nullptr;
    const std::uint8_t* pixels = row + 1;
    switch (pixel_bytes) {
      case 1:
        for (std::uint32_t c = 0; c < width; ++c) out[c] = pixels[c];
        break;
      case 2:
        for (std::uint32_t c = 0; c < width; ++c) out[c] = be16(pixels + 2 * c);
        break;
      case 3:
        for (std::uint32_t c = 0; c < width; ++c) out[c] = be24(pixels + 3 * c);
        break;
      default:
        for (std::uint32_t c = 0; c < width; ++c) out[c] = be32(pixels + 4 * c);
        break;
    }
    above = pixels;
  }
  return codes;
}

}  // namespace

template <typename T>
Result<ValueSourcePtr<T>> make_png_source(const PackedField& field) {
  const std::uint64_t count = field.value_count;
  if (field.bits_per_value == 0 || count == 0) {
    return ValueSourcePtr<T>(std::make_unique<ConstantSource<T>>(field.reference_value));
  }
  if (auto codes = decode_png_directly(field.data, count)) {
    return ValueSourcePtr<T>(
        std::make_unique<CodeSource<T, std::uint32_t>>(std::move(codes), Scaling::of(field)));
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
