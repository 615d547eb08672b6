// bench/floe_bench_grib_decode.cc owns the GRIB2 decode benchmark's messages and floe/ecCodes
// timing.
//
// Issue 6: the messages are written with ecCodes, then floe's decoder is timed against ecCodes'
// C API on each, and both must decode the same values.
//   floe_bench_grib_decode generate DIR [--testdata DIR]
//     Writes one GRIB2 message per file into DIR: synthetic-*.grib2, a 0.25-degree global field
//     (1440 x 721) packed by ecCodes with each data representation template (5.0 simple 16 bits,
//     5.2 complex 12 bits, 5.3 complex + second-order spatial differencing 12 bits, with and
//     without a land-sea bitmap, 5.4 IEEE float32, 5.40 JPEG2000, 5.41 PNG and 5.42 CCSDS at 16
//     bits), and testdata-<file>-<k>.grib2, every message of the real files in testdata/grib.
//
//   floe_bench_grib_decode time DIR [--warmup N] [--min-repeats N] [--max-repeats N]
//                              [--budget-ms MS] [--only SUBSTRING]
//     Times every DIR/*.grib2 on this thread. floe: Grib2Message::parse + packed_field(0) +
//     decode_field into a reused float buffer. ecCodes: codes_handle_new_from_message +
//     codes_get_double_array into a reused double buffer + codes_handle_delete (and, with ecCodes
//     >= 2.30, codes_get_float_array as tool "eccodes-float"). The tools alternate call by call:
//     --warmup untimed rounds, then timed rounds until at least --min-repeats and either
//     --budget-ms of floe's time or --max-repeats. One JSON line per message and tool with the
//     median, min and max milliseconds and the median thread CPU milliseconds (the same less the
//     time the thread waited for a core); floe's line also carries the check against ecCodes (same
//     missing points, largest difference against half a packing step plus float32 rounding,
//     points whose float differs from ecCodes' double rounded to float). Exits 1 if any message
//     fails to decode or disagrees.
#include <eccodes.h>
#include <eccodes_version.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "floe/codecs/grib2/decode.h"
#include "floe/codecs/grib2/message.h"

namespace {

namespace fs = std::filesystem;
namespace grib = floe::codecs::grib;
using Bytes = std::vector<std::uint8_t>;

struct HandleDeleter {
  void operator()(codes_handle* handle) const { codes_handle_delete(handle); }
};
using Handle = std::unique_ptr<codes_handle, HandleDeleter>;

// ecCodes reports missing points as `missingValue`; the check sets it to this, which no field
// holds.
constexpr double kMissingSentinel = -3.0e300;

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool write_bytes(const fs::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return static_cast<bool>(out);
}

// ---------------------------------------------------------------- generate

constexpr long kNi = 1440;
constexpr long kNj = 721;
constexpr double kStep = 0.25;
constexpr double kMissingInput = 9999.0;

// A 2 m temperature-like field in kelvin, rows from 90N to 90S, columns from 0E eastward: the
// pole-to-equator gradient, planetary waves, a diurnal-like land contrast and Gaussian noise
// (0.3 K, fixed seed) so that the packers see realistic entropy.
std::vector<double> temperature_field() {
  std::vector<double> values(static_cast<std::size_t>(kNi * kNj));
  std::mt19937_64 random(6);
  std::normal_distribution<double> noise(0.0, 0.3);
  const double radians = std::numbers::pi / 180.0;
  for (long j = 0; j < kNj; ++j) {
    const double lat = (90.0 - kStep * j) * radians;
    for (long i = 0; i < kNi; ++i) {
      const double lon = kStep * i * radians;
      const double base = 302.0 - 48.0 * std::pow(std::sin(lat), 2);
      const double waves = 6.0 * std::cos(lat) * std::sin(3.0 * lon + 1.5 * lat) +
                           3.0 * std::cos(7.0 * lon - 2.0 * lat) * std::cos(lat) +
                           1.5 * std::sin(17.0 * lon + 11.0 * lat);
      values[static_cast<std::size_t>(j * kNi + i)] = base + waves + noise(random);
    }
  }
  return values;
}

// Smooth "continents": about a third of the points, whole regions rather than scattered points.
bool is_land(long i, long j) {
  const double radians = std::numbers::pi / 180.0;
  const double lat = (90.0 - kStep * j) * radians;
  const double lon = kStep * i * radians;
  return std::sin(2.0 * lon) * std::cos(3.0 * lat) + 0.4 * std::sin(5.0 * lon + 2.0 * lat) > 0.45;
}

// How the complex-packing variants are laid out. ecCodes 2.28 writes templates 5.2 and 5.3 only
// without spatial differencing and in groups of about a thousand values; NCEP's GFS, HRRR and NBM
// messages (testdata/grib) use second-order differencing and groups of 10-30 values. The
// "ncep-like" variants keep ecCodes' message, reference value and scale factors, and re-pack its
// integer codes as NCEP lays them out (repack_complex below).
enum class ComplexLayout { kNotComplex, kEccodes, kNcepLike };

struct SyntheticVariant {
  const char* name;
  const char* packing;
  long bits;  // 0 for IEEE
  bool land_sea_bitmap;
  long expected_template;
  ComplexLayout complex_layout = ComplexLayout::kNotComplex;
  unsigned spatial_order = 0;  // kNcepLike: 0 (template 5.2) or 2 (5.3)
};

constexpr SyntheticVariant kVariants[] = {
    {"5.0-simple-16bit", "grid_simple", 16, false, 0},
    {"5.2-complex-12bit", "grid_complex", 12, false, 2, ComplexLayout::kNcepLike, 0},
    {"5.2-complex-12bit-eccodes-groups", "grid_complex", 12, false, 2, ComplexLayout::kEccodes},
    {"5.3-complex-sd2-12bit", "grid_complex_spatial_differencing", 12, false, 3,
     ComplexLayout::kNcepLike, 2},
    {"5.3-complex-sd2-12bit-landsea-bitmap", "grid_complex_spatial_differencing", 12, true, 3,
     ComplexLayout::kNcepLike, 2},
    {"5.4-ieee-float32", "grid_ieee", 0, false, 4},
    {"5.40-jpeg2000-16bit", "grid_jpeg", 16, false, 40},
    {"5.41-png-16bit", "grid_png", 16, false, 41},
    {"5.42-ccsds-16bit", "grid_ccsds", 16, false, 42},
};

bool check(int status, const std::string& what) {
  if (status == 0) return true;
  fmt::print(stderr, "floe_bench_grib_decode: ecCodes {}: {}\n", what,
             codes_get_error_message(status));
  return false;
}

bool set_long(codes_handle* h, const char* key, long value) {
  return check(codes_set_long(h, key, value), fmt::format("set {}={}", key, value));
}
bool set_double(codes_handle* h, const char* key, double value) {
  return check(codes_set_double(h, key, value), fmt::format("set {}={}", key, value));
}
long get_long(codes_handle* h, const char* key) {
  long value = -1;
  codes_get_long(h, key, &value);
  return value;
}

// ---------------------------------------------------------------- NCEP-like complex packing

// Big-endian bit fields appended one after another (generation only: bit by bit is fast enough).
class BitWriter {
 public:
  void put(std::uint64_t value, unsigned bits) {
    for (unsigned k = bits; k-- > 0;) {
      if (position_ % 8 == 0) bytes_.push_back(0);
      if (((value >> k) & 1) != 0) {
        bytes_.back() = static_cast<std::uint8_t>(bytes_.back() | (0x80u >> (position_ % 8)));
      }
      ++position_;
    }
  }
  void align_to_byte() { position_ = (position_ + 7) & ~std::uint64_t{7}; }
  Bytes& bytes() { return bytes_; }

 private:
  Bytes bytes_;
  std::uint64_t position_ = 0;
};

unsigned bits_for(std::uint64_t value) {
  unsigned bits = 0;
  for (; value > 0; value >>= 1) ++bits;
  return bits;
}

void put_be(Bytes& bytes, std::size_t at, std::uint64_t value, unsigned octets) {
  for (unsigned k = 0; k < octets; ++k) {
    bytes[at + k] = static_cast<std::uint8_t>(value >> (8 * (octets - 1 - k)));
  }
}

std::uint64_t get_be(const Bytes& bytes, std::size_t at, unsigned octets) {
  std::uint64_t value = 0;
  for (unsigned k = 0; k < octets; ++k) value = (value << 8) | bytes[at + k];
  return value;
}

struct Group {
  std::uint64_t reference;
  unsigned width;
  std::uint64_t length;
};

// Greedy general group splitting: a group takes the next value while its width does not grow, or
// while it is shorter than kMinLength, and holds at most kMaxLength values. The bounds give groups
// of the sizes NCEP's encoder makes (testdata/grib: 27 values a group on GFS 0.25-degree TMP, 17 on
// HRRR TMP, 17-53 on NBM).
std::vector<Group> split_groups(const std::vector<std::uint64_t>& values) {
  constexpr std::uint64_t kMinLength = 8;
  constexpr std::uint64_t kMaxLength = 32;
  std::vector<Group> groups;
  std::size_t i = 0;
  while (i < values.size()) {
    std::uint64_t low = values[i];
    std::uint64_t high = values[i];
    std::uint64_t length = 1;
    while (i + length < values.size() && length < kMaxLength) {
      const std::uint64_t v = values[i + length];
      const std::uint64_t new_low = std::min(low, v);
      const std::uint64_t new_high = std::max(high, v);
      if (length >= kMinLength && bits_for(new_high - new_low) > bits_for(high - low)) break;
      low = new_low;
      high = new_high;
      ++length;
    }
    groups.push_back({low, bits_for(high - low), length});
    i += length;
  }
  return groups;
}

// Re-packs the complex-packed `message` (one field, written by ecCodes) as NCEP does: the same
// reference value, scale factors and integer codes (`codes`, the packed values in order), with
// spatial differencing of `order` 0 (template 5.2) or 2 (5.3), general group splitting, and the
// group widths and lengths as offsets from their minimum. Sections other than 5 and 7 are kept.
Bytes repack_complex(const Bytes& message, const std::vector<std::int64_t>& codes, unsigned order) {
  // Spatial differencing: the first `order` codes go into the descriptors, and the rest become
  // second differences less their minimum (the placeholders at the start are 0).
  std::vector<std::uint64_t> packed(codes.size(), 0);
  std::int64_t minimum = 0;
  if (order == 2 && codes.size() > 2) {
    std::vector<std::int64_t> differences(codes.size(), 0);
    minimum = std::numeric_limits<std::int64_t>::max();
    for (std::size_t k = 2; k < codes.size(); ++k) {
      differences[k] = codes[k] - 2 * codes[k - 1] + codes[k - 2];
      minimum = std::min(minimum, differences[k]);
    }
    for (std::size_t k = 2; k < codes.size(); ++k) {
      packed[k] = static_cast<std::uint64_t>(differences[k] - minimum);
    }
  } else {
    for (std::size_t k = 0; k < codes.size(); ++k) packed[k] = static_cast<std::uint64_t>(codes[k]);
  }
  const std::vector<Group> groups = split_groups(packed);
  std::uint64_t max_reference = 0;
  unsigned min_width = 32;
  unsigned max_width = 0;
  std::uint64_t max_length = 0;
  for (const Group& group : groups) {
    max_reference = std::max(max_reference, group.reference);
    min_width = std::min(min_width, group.width);
    max_width = std::max(max_width, group.width);
    max_length = std::max(max_length, group.length);
  }
  const unsigned reference_bits = std::max(1u, bits_for(max_reference));
  const unsigned width_bits = bits_for(max_width - min_width);
  const unsigned length_bits = bits_for(max_length);
  unsigned descriptor_octets = 0;
  if (order == 2) {
    const auto magnitude = static_cast<std::uint64_t>(minimum < 0 ? -minimum : minimum);
    const unsigned bits =
        std::max({bits_for(static_cast<std::uint64_t>(codes[0])),
                  bits_for(static_cast<std::uint64_t>(codes[1])), bits_for(magnitude) + 1});
    descriptor_octets = (bits + 7) / 8;
  }

  BitWriter data;
  if (order == 2) {
    data.put(static_cast<std::uint64_t>(codes[0]), 8 * descriptor_octets);
    data.put(static_cast<std::uint64_t>(codes[1]), 8 * descriptor_octets);
    const std::uint64_t sign = minimum < 0 ? std::uint64_t{1} << (8 * descriptor_octets - 1) : 0;
    data.put(sign | static_cast<std::uint64_t>(minimum < 0 ? -minimum : minimum),
             8 * descriptor_octets);
  }
  for (const Group& group : groups) data.put(group.reference, reference_bits);
  data.align_to_byte();
  for (const Group& group : groups) data.put(group.width - min_width, width_bits);
  data.align_to_byte();
  // Every group's length is stored, the last one's too (its true length is in section 5).
  for (const Group& group : groups) data.put(group.length, length_bits);
  data.align_to_byte();
  std::size_t at = 0;
  for (const Group& group : groups) {
    for (std::uint64_t k = 0; k < group.length; ++k, ++at) {
      data.put(packed[at] - group.reference, group.width);
    }
  }

  Bytes out(message.begin(), message.begin() + 16);
  std::size_t offset = 16;
  while (offset + 4 <= message.size() && std::memcmp(message.data() + offset, "7777", 4) != 0) {
    const auto length = static_cast<std::size_t>(get_be(message, offset, 4));
    const std::uint8_t number = message[offset + 4];
    if (number == 5) {
      // Template 5.2 (47 octets) or 5.3 (49): octets 1-21 (count, R, E, D, original type) and
      // 24-31 (missing value substitutes) kept, the group description rewritten.
      Bytes section(order == 2 ? 49 : 47, 0);
      std::copy(message.begin() + offset, message.begin() + offset + 21, section.begin());
      std::copy(message.begin() + offset + 23, message.begin() + offset + 31, section.begin() + 23);
      put_be(section, 0, section.size(), 4);
      put_be(section, 9, order == 2 ? 3 : 2, 2);
      section[19] = static_cast<std::uint8_t>(reference_bits);
      section[21] = 1;  // general group splitting
      section[22] = 0;  // no missing values inside the data
      put_be(section, 31, groups.size(), 4);
      section[35] = static_cast<std::uint8_t>(min_width);
      section[36] = static_cast<std::uint8_t>(width_bits);
      put_be(section, 37, 0, 4);  // reference for group lengths
      section[41] = 1;            // length increment
      put_be(section, 42, groups.back().length, 4);
      section[46] = static_cast<std::uint8_t>(length_bits);
      if (order == 2) {
        section[47] = 2;
        section[48] = static_cast<std::uint8_t>(descriptor_octets);
      }
      out.insert(out.end(), section.begin(), section.end());
    } else if (number == 7) {
      Bytes header(5, 0);
      put_be(header, 0, 5 + data.bytes().size(), 4);
      header[4] = 7;
      out.insert(out.end(), header.begin(), header.end());
      out.insert(out.end(), data.bytes().begin(), data.bytes().end());
    } else {
      out.insert(out.end(), message.begin() + offset, message.begin() + offset + length);
    }
    offset += length;
  }
  out.insert(out.end(), {'7', '7', '7', '7'});
  put_be(out, 8, out.size(), 8);
  return out;
}

// ecCodes' values of a message, missing points as kMissingSentinel; empty if it cannot decode.
std::vector<double> eccodes_values(const std::uint8_t* message, std::size_t size) {
  Handle handle(codes_handle_new_from_message_copy(nullptr, message, size));
  std::size_t count = 0;
  if (!handle || codes_set_double(handle.get(), "missingValue", kMissingSentinel) != 0 ||
      codes_get_size(handle.get(), "values", &count) != 0) {
    return {};
  }
  std::vector<double> values(count);
  if (codes_get_double_array(handle.get(), "values", values.data(), &count) != 0) return {};
  return values;
}

bool write_synthetic(const SyntheticVariant& variant, const std::vector<double>& temperature,
                     const fs::path& dir) {
  Handle handle(codes_grib_handle_new_from_samples(nullptr, "regular_ll_sfc_grib2"));
  if (!handle) {
    fmt::print(stderr, "floe_bench_grib_decode: no ecCodes sample regular_ll_sfc_grib2\n");
    return false;
  }
  codes_handle* h = handle.get();
  bool ok = set_long(h, "Ni", kNi) && set_long(h, "Nj", kNj) &&
            set_double(h, "latitudeOfFirstGridPointInDegrees", 90.0) &&
            set_double(h, "longitudeOfFirstGridPointInDegrees", 0.0) &&
            set_double(h, "latitudeOfLastGridPointInDegrees", -90.0) &&
            set_double(h, "longitudeOfLastGridPointInDegrees", 360.0 - kStep) &&
            set_double(h, "iDirectionIncrementInDegrees", kStep) &&
            set_double(h, "jDirectionIncrementInDegrees", kStep) && set_long(h, "discipline", 0) &&
            set_long(h, "parameterCategory", 0) && set_long(h, "parameterNumber", 0);
  std::vector<double> values = temperature;
  if (variant.land_sea_bitmap) {
    // A sea-surface field: missing over land, through the bitmap.
    for (long j = 0; j < kNj; ++j) {
      for (long i = 0; i < kNi; ++i) {
        if (is_land(i, j)) values[static_cast<std::size_t>(j * kNi + i)] = kMissingInput;
      }
    }
    ok = ok && set_long(h, "bitmapPresent", 1) && set_double(h, "missingValue", kMissingInput);
  }
  // Packed simple first (the sample's packing), then repacked: changing packingType while the
  // sample's own 496 values are in place makes ecCodes complain about the new grid's size.
  const auto set_values = [&] {
    return check(codes_set_double_array(h, "values", values.data(), values.size()), "set values");
  };
  if (variant.bits > 0) ok = ok && set_long(h, "bitsPerValue", variant.bits);
  ok = ok && set_values();
  std::size_t length = std::strlen(variant.packing);
  ok = ok && check(codes_set_string(h, "packingType", variant.packing, &length),
                   fmt::format("set packingType={}", variant.packing));
  if (variant.bits == 0) ok = ok && set_long(h, "precision", 1);
  // Packed again from the original values, not from the simple packing's rounded ones.
  ok = ok && set_values();
  if (!ok) return false;
  const long template_number = get_long(h, "dataRepresentationTemplateNumber");
  if (template_number != variant.expected_template ||
      (variant.bits > 0 && get_long(h, "bitsPerValue") != variant.bits)) {
    fmt::print(stderr, "floe_bench_grib_decode: {}: ecCodes wrote template 5.{} with {} bits\n",
               variant.name, template_number, get_long(h, "bitsPerValue"));
    return false;
  }
  const void* raw = nullptr;
  std::size_t size = 0;
  if (!check(codes_get_message(h, &raw, &size), "get message")) return false;
  const auto* message = static_cast<const std::uint8_t*>(raw);
  Bytes bytes(message, message + size);
  if (variant.complex_layout == ComplexLayout::kNcepLike) {
    // ecCodes' integer codes: its packed values are exactly (X * 2^E + R) * 10^-D.
    std::size_t count = 0;
    if (!check(codes_get_size(h, "codedValues", &count), "size of codedValues")) return false;
    std::vector<double> coded(count);
    if (!check(codes_get_double_array(h, "codedValues", coded.data(), &count), "codedValues")) {
      return false;
    }
    double reference = 0;
    if (!check(codes_get_double(h, "referenceValue", &reference), "referenceValue")) return false;
    const double binary = std::ldexp(1.0, static_cast<int>(-get_long(h, "binaryScaleFactor")));
    const double decimal = std::pow(10.0, static_cast<double>(get_long(h, "decimalScaleFactor")));
    std::vector<std::int64_t> codes(count);
    for (std::size_t k = 0; k < count; ++k) {
      codes[k] = std::llround((coded[k] * decimal - reference) * binary);
    }
    bytes = repack_complex(bytes, codes, variant.spatial_order);
    // The re-packed message must hold exactly what ecCodes packed.
    const std::vector<double> expected = eccodes_values(message, size);
    if (expected.empty() || eccodes_values(bytes.data(), bytes.size()) != expected) {
      fmt::print(stderr,
                 "floe_bench_grib_decode: {}: ecCodes does not read the re-packed message back "
                 "as its own packing\n",
                 variant.name);
      return false;
    }
  }
  const fs::path path = dir / fmt::format("synthetic-{}.grib2", variant.name);
  fmt::print(stderr, "  {} ({} bytes)\n", path.filename().string(), bytes.size());
  return write_bytes(path, bytes.data(), bytes.size());
}

// Every GRIB2 message of the real files, one file each; floe's indicator reader steps from one to
// the next.
bool write_testdata(const fs::path& testdata, const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(testdata / "grib")) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".grib2" || ext == ".grb2"))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    fmt::print(stderr, "floe_bench_grib_decode: no GRIB2 files in {}\n",
               (testdata / "grib").string());
    return false;
  }
  for (const fs::path& file : files) {
    const Bytes bytes = read_bytes(file);
    std::uint64_t at = 0;
    int index = 0;
    while (at + 16 <= bytes.size()) {
      if (std::memcmp(bytes.data() + at, "GRIB", 4) != 0) {
        ++at;
        continue;
      }
      auto indicator = grib::read_indicator({bytes.data() + at, bytes.size() - at}, at);
      if (!indicator.ok() || indicator->total_length > bytes.size() - at) {
        fmt::print(stderr, "floe_bench_grib_decode: {}: {}\n", file.string(),
                   indicator.ok() ? "message runs past the end" : indicator.error().to_string());
        return false;
      }
      const fs::path path =
          dir / fmt::format("testdata-{}-{:02d}.grib2", file.stem().string(), index++);
      if (!write_bytes(path, bytes.data() + at, indicator->total_length)) return false;
      at += indicator->total_length;
    }
    fmt::print(stderr, "  {}: {} message(s)\n", file.filename().string(), index);
  }
  return true;
}

int generate(const fs::path& dir, const fs::path& testdata) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    fmt::print(stderr, "floe_bench_grib_decode: cannot create {}: {}\n", dir.string(),
               error.message());
    return 1;
  }
  const std::vector<double> temperature = temperature_field();
  for (const SyntheticVariant& variant : kVariants) {
    if (!write_synthetic(variant, temperature, dir)) return 1;
  }
  return write_testdata(testdata, dir) ? 0 : 1;
}

// ---------------------------------------------------------------- time

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double thread_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n == 0 ? NAN : (n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2);
}

// Wall and thread CPU milliseconds of the timed calls of one tool on one message. CPU time leaves
// out the time the thread waited for a core (the machine is shared).
struct Samples {
  std::vector<double> ms;
  std::vector<double> cpu_ms;
  double median() const { return median_of(ms); }
  double min() const { return ms.empty() ? NAN : *std::min_element(ms.begin(), ms.end()); }
  double max() const { return ms.empty() ? NAN : *std::max_element(ms.begin(), ms.end()); }
  double total() const {
    double sum = 0;
    for (double v : ms) sum += v;
    return sum;
  }
};

// Runs `call` once, adding its times to `samples` when `record` is set; false when it failed.
template <typename Call>
bool measure(Samples& samples, bool record, Call&& call) {
  const double cpu_start = thread_cpu_ms();
  const Clock::time_point start = Clock::now();
  if (!call()) return false;
  if (record) {
    samples.ms.push_back(milliseconds_since(start));
    samples.cpu_ms.push_back(thread_cpu_ms() - cpu_start);
  }
  return true;
}

struct TimingOptions {
  int warmup = 1;
  int min_repeats = 5;
  int max_repeats = 51;
  double budget_ms = 300;
};

// What the message is, from floe's parse (the check below holds it to ecCodes').
struct MessageInfo {
  std::string name;
  std::string source;
  std::uint16_t template_number = 0;
  std::uint64_t bytes = 0;
  std::uint64_t points = 0;
  unsigned bits = 0;
  bool bitmap = false;
  std::string grid;
  double packing_step = 0;  // 2^E * 10^-D; 0 for IEEE
};

// Parses `message` and takes its first field (spans into `message`); false with `error` set when
// either step fails.
bool first_field(const Bytes& message, grib::Grib2Message* parsed, grib::PackedField* field,
                 std::string* error) {
  auto result = grib::Grib2Message::parse(message);
  if (!result.ok()) {
    *error = result.error().to_string();
    return false;
  }
  *parsed = std::move(*result);
  auto packed = parsed->packed_field(0);
  if (!packed.ok()) {
    *error = packed.error().to_string();
    return false;
  }
  *field = std::move(*packed);
  return true;
}

// floe's timed call: parse, field 0, decode into `out` (north-up, the default layout).
bool floe_decode(const Bytes& message, std::vector<float>& out, std::string* error,
                 const grib::DecodeOptions& options = {}) {
  grib::Grib2Message parsed;
  grib::PackedField field;
  if (!first_field(message, &parsed, &field, error)) return false;
  const floe::Status status =
      grib::decode_field(field, std::span<float>(out.data(), field.points), options);
  if (!status.ok()) {
    *error = status.error().to_string();
    return false;
  }
  return true;
}

// ecCodes' timed call: a handle on the message bytes (no copy), the values, the handle deleted.
template <typename Value>
bool eccodes_decode(const Bytes& message, std::vector<Value>& out, std::string* error) {
  codes_handle* raw = codes_handle_new_from_message(nullptr, message.data(), message.size());
  if (raw == nullptr) {
    *error = "codes_handle_new_from_message failed";
    return false;
  }
  Handle handle(raw);
  std::size_t length = out.size();
  int status;
  if constexpr (std::is_same_v<Value, double>) {
    status = codes_get_double_array(raw, "values", out.data(), &length);
  } else {
#if ECCODES_VERSION >= 23000
    status = codes_get_float_array(raw, "values", out.data(), &length);
#else
    status = -1;
#endif
  }
  if (status != 0) {
    *error = codes_get_error_message(status);
    return false;
  }
  return true;
}

constexpr bool kEccodesFloatApi = ECCODES_VERSION >= 23000;

struct Check {
  std::uint64_t floe_nan = 0;
  std::uint64_t eccodes_missing = 0;
  std::uint64_t missing_mismatches = 0;  // points missing in one decoder only
  std::uint64_t float32_mismatches = 0;  // floe's float != ecCodes' double rounded to float
  double max_abs_diff = 0;
  double tolerance = 0;
  bool agrees = false;
};

// floe in storage order (the gribberish layout without flags) against ecCodes' doubles with
// missing points as a sentinel.
Check compare_with_eccodes(const Bytes& message, const MessageInfo& info, std::string* error) {
  Check check;
  std::vector<float> floe_values(info.points);
  grib::DecodeOptions storage_order;
  storage_order.gribberish_layout = true;
  if (!floe_decode(message, floe_values, error, storage_order)) return check;
  Handle handle(codes_handle_new_from_message_copy(nullptr, message.data(), message.size()));
  std::size_t count = 0;
  if (!handle || codes_set_double(handle.get(), "missingValue", kMissingSentinel) != 0 ||
      codes_get_size(handle.get(), "values", &count) != 0 || count != info.points) {
    *error = fmt::format("ecCodes does not give {} values", info.points);
    return check;
  }
  std::vector<double> reference(count);
  if (codes_get_double_array(handle.get(), "values", reference.data(), &count) != 0) {
    *error = "ecCodes codes_get_double_array failed";
    return check;
  }
  double largest = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const bool floe_missing = std::isnan(floe_values[k]);
    const bool eccodes_missing = reference[k] == kMissingSentinel;
    check.floe_nan += floe_missing ? 1 : 0;
    check.eccodes_missing += eccodes_missing ? 1 : 0;
    if (floe_missing != eccodes_missing) {
      ++check.missing_mismatches;
      continue;
    }
    if (floe_missing) continue;
    largest = std::max(largest, std::abs(reference[k]));
    check.max_abs_diff =
        std::max(check.max_abs_diff, std::abs(static_cast<double>(floe_values[k]) - reference[k]));
    if (floe_values[k] != static_cast<float>(reference[k])) ++check.float32_mismatches;
  }
  // Half a packing step (a different integer code is a whole step off) plus float32 rounding.
  check.tolerance = 0.5 * info.packing_step + largest * std::ldexp(1.0, -23);
  check.agrees = check.missing_mismatches == 0 && check.max_abs_diff <= check.tolerance;
  return check;
}

bool describe(const fs::path& path, const Bytes& message, MessageInfo* info, std::string* error) {
  info->name = path.stem().string();
  info->source = info->name.substr(0, info->name.find('-'));
  info->bytes = message.size();
  grib::Grib2Message parsed;
  grib::PackedField field;
  if (!first_field(message, &parsed, &field, error)) return false;
  info->template_number = field.template_number;
  info->points = field.points;
  info->bits = field.bits_per_value;
  info->bitmap = field.has_bitmap;
  const std::uint16_t grid = parsed.grids()[parsed.fields()[0].grid_index].template_number;
  info->grid = fmt::format("3.{} {}x{}", grid, field.ni, field.nj);
  if (!field.rectangular) info->grid = fmt::format("3.{} reduced", grid);
  info->packing_step =
      field.packing == grib::Packing::kIeee
          ? 0.0
          : std::ldexp(1.0, field.binary_scale) * std::pow(10.0, -field.decimal_scale);
  return true;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A JSON number; NaN and infinities (which JSON lacks) become null.
std::string json_number(double value) {
  return std::isfinite(value) ? fmt::format("{:.6g}", value) : "null";
}

std::string record_prefix(const char* tool, const MessageInfo& info) {
  return fmt::format(
      "{{\"bench\": \"grib_decode\", \"tool\": \"{}\", \"message\": {}, \"source\": \"{}\", "
      "\"template\": \"5.{}\", \"grid\": \"{}\", \"bytes\": {}, \"points\": {}, \"bits\": {}, "
      "\"bitmap\": {}",
      tool, json_string(info.name), info.source, info.template_number, info.grid, info.bytes,
      info.points, info.bits, info.bitmap ? "true" : "false");
}

std::string timing_fields(const Samples& samples) {
  return fmt::format(
      ", \"median_ms\": {}, \"min_ms\": {}, \"max_ms\": {}, \"median_cpu_ms\": {}, "
      "\"repeats\": {}",
      json_number(samples.median()), json_number(samples.min()), json_number(samples.max()),
      json_number(median_of(samples.cpu_ms)), samples.ms.size());
}

// Times one message; prints its records. False when a decoder failed or the values disagree.
bool time_message(const fs::path& path, const TimingOptions& options, std::vector<float>& floats,
                  std::vector<double>& doubles, std::vector<float>& eccodes_floats) {
  const Bytes message = read_bytes(path);
  MessageInfo info;
  std::string error;
  if (!describe(path, message, &info, &error)) {
    fmt::print(stderr, "floe_bench_grib_decode: {}: {}\n", path.string(), error);
    return false;
  }
  if (floats.size() < info.points) {
    floats.assign(info.points, 0.0F);  // touched once here, not inside the timing
    doubles.assign(info.points, 0.0);
    if (kEccodesFloatApi) eccodes_floats.assign(info.points, 0.0F);
  }
  Samples floe_samples;
  Samples eccodes_samples;
  Samples eccodes_float_samples;
  for (int round = 0;; ++round) {
    const bool timed = round >= options.warmup;
    const int repeats = round - options.warmup;
    if (timed && repeats >= options.min_repeats &&
        (repeats >= options.max_repeats || floe_samples.total() >= options.budget_ms)) {
      break;
    }
    const auto failed = [&](const char* tool) {
      fmt::print(stderr, "floe_bench_grib_decode: {}: {}: {}\n", info.name, tool, error);
      return false;
    };
    if (!measure(floe_samples, timed, [&] { return floe_decode(message, floats, &error); })) {
      return failed("floe");
    }
    if (!measure(eccodes_samples, timed,
                 [&] { return eccodes_decode(message, doubles, &error); })) {
      return failed("ecCodes");
    }
    if (kEccodesFloatApi && !measure(eccodes_float_samples, timed, [&] {
          return eccodes_decode(message, eccodes_floats, &error);
        })) {
      return failed("ecCodes (float)");
    }
  }
  const Check check = compare_with_eccodes(message, info, &error);
  if (!error.empty()) {
    fmt::print(stderr, "floe_bench_grib_decode: {}: check: {}\n", info.name, error);
    return false;
  }
  fmt::print(
      "{}{}, \"floe_nan\": {}, \"eccodes_missing\": {}, \"missing_mismatches\": {}, "
      "\"max_abs_diff\": {}, \"tolerance\": {}, \"float32_mismatches\": {}, \"agrees\": {}}}\n",
      record_prefix("floe", info), timing_fields(floe_samples), check.floe_nan,
      check.eccodes_missing, check.missing_mismatches, json_number(check.max_abs_diff),
      json_number(check.tolerance), check.float32_mismatches, check.agrees ? "true" : "false");
  fmt::print("{}{}, \"api\": \"codes_get_double_array\", \"eccodes_version\": \"{}\"}}\n",
             record_prefix("eccodes", info), timing_fields(eccodes_samples),
             codes_get_api_version());
  if (kEccodesFloatApi) {
    fmt::print("{}{}, \"api\": \"codes_get_float_array\", \"eccodes_version\": \"{}\"}}\n",
               record_prefix("eccodes-float", info), timing_fields(eccodes_float_samples),
               codes_get_api_version());
  }
  std::fflush(stdout);
  fmt::print(stderr, "  {:52s} 5.{:<3} floe {:8.3f} ms  ecCodes {:8.3f} ms  {:5.2f}x{}\n",
             info.name, info.template_number, floe_samples.median(), eccodes_samples.median(),
             eccodes_samples.median() / floe_samples.median(),
             check.agrees ? "" : "  VALUES DISAGREE");
  return check.agrees;
}

int time_all(const fs::path& dir, const TimingOptions& options, const std::string& only) {
  std::vector<fs::path> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".grib2" && name.find(only) != std::string::npos) {
      paths.push_back(entry.path());
    }
  }
  if (error || paths.empty()) {
    fmt::print(stderr, "floe_bench_grib_decode: no *.grib2 in {} (run `generate` first)\n",
               dir.string());
    return 1;
  }
  std::sort(paths.begin(), paths.end());
  std::vector<float> floats;
  std::vector<double> doubles;
  std::vector<float> eccodes_floats;
  int failed = 0;
  for (const fs::path& path : paths) {
    if (!time_message(path, options, floats, doubles, eccodes_floats)) ++failed;
  }
  if (failed > 0) {
    fmt::print(stderr, "floe_bench_grib_decode: {} of {} messages failed or disagree\n", failed,
               paths.size());
  }
  return failed == 0 ? 0 : 1;
}

int usage() {
  fmt::print(stderr,
             "usage: floe_bench_grib_decode generate DIR [--testdata DIR]\n"
             "       floe_bench_grib_decode time DIR [--warmup N] [--min-repeats N] "
             "[--max-repeats N] [--budget-ms MS] [--only SUBSTRING]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string command = argv[1];
  const fs::path dir = argv[2];
  fs::path testdata = FLOE_TESTDATA_DEFAULT;
  if (const char* overridden = std::getenv("FLOE_TESTDATA")) testdata = overridden;
  TimingOptions options;
  std::string only;
  for (int k = 3; k < argc; k += 2) {
    const std::string flag = argv[k];
    if (k + 1 >= argc) return usage();
    const std::string value = argv[k + 1];
    if (flag == "--testdata") {
      testdata = value;
    } else if (flag == "--warmup") {
      options.warmup = std::max(0, std::atoi(value.c_str()));
    } else if (flag == "--min-repeats") {
      options.min_repeats = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--max-repeats") {
      options.max_repeats = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--budget-ms") {
      options.budget_ms = std::atof(value.c_str());
    } else if (flag == "--only") {
      only = value;
    } else {
      return usage();
    }
  }
  options.max_repeats = std::max(options.max_repeats, options.min_repeats);
  if (command == "generate") return generate(dir, testdata);
  if (command == "time") return time_all(dir, options, only);
  return usage();
}
