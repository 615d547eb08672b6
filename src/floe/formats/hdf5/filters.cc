// Parses the Filter Pipeline message (versions 1 and 2) and maps HDF5 filters to Zarr v3 codecs.
#include "floe/formats/hdf5/filters.h"

#include <fmt/format.h>

namespace floe::formats::hdf5 {
namespace {

constexpr std::string_view kStructure = "filter pipeline message";
constexpr size_t kMaxFilters = 32;  // H5Z_MAX_NFILTERS

std::string trim_name(const Bytes& raw) {
  std::string_view view = raw.view();
  size_t end = view.find('\0');
  return std::string(view.substr(0, end));
}

nlohmann::json codec(std::string_view name, nlohmann::json configuration = nlohmann::json::object()) {
  return nlohmann::json{{"name", name}, {"configuration", std::move(configuration)}};
}

uint32_t value_or(const Filter& filter, size_t index, uint32_t fallback) {
  return index < filter.client_data.size() ? filter.client_data[index] : fallback;
}

std::string filter_label(const Filter& filter) {
  return filter.name.empty() ? fmt::format("filter {}", filter.id)
                             : fmt::format("filter {} (\"{}\")", filter.id, filter.name);
}

}  // namespace

Result<std::vector<Filter>> parse_filter_pipeline(const FileReader& file, const Bytes& body, uint64_t address) {
  Cursor in(file, body, address, kStructure);
  uint8_t version = in.u8();
  size_t count = in.u8();
  if (!in.ok()) return in.error();
  if (version != 1 && version != 2) {
    return file.unsupported(kStructure, address, fmt::format("filter pipeline message version {}", version));
  }
  if (count > kMaxFilters) {
    return file.corrupt(kStructure, address, fmt::format("{} filters (at most {})", count, kMaxFilters));
  }
  if (version == 1) in.skip(6);  // reserved
  std::vector<Filter> filters;
  filters.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Filter filter;
    filter.id = in.u16();
    size_t name_length = 0;
    if (version == 1 || filter.id >= 256) name_length = in.u16();
    filter.flags = in.u16();
    size_t values = in.u16();
    if (!in.ok()) return in.error();
    if (name_length > 0) {
      // Version 1 pads the name (with its null terminator) to a multiple of eight bytes.
      size_t stored = version == 1 ? (name_length + 7) / 8 * 8 : name_length;
      filter.name = trim_name(in.take(stored));
    }
    if (values > in.remaining() / 4) {
      if (!in.ok()) return in.error();
      return file.corrupt(kStructure, address,
                          fmt::format("{} client data values of {} exceed the message", values, filter_label(filter)));
    }
    filter.client_data.resize(values);
    for (auto& value : filter.client_data) value = in.u32();
    if (version == 1 && values % 2 == 1) in.skip(4);
    if (!in.ok()) return in.error();
    filters.push_back(std::move(filter));
  }
  return filters;
}

Result<nlohmann::json> filters_to_codecs(const std::vector<Filter>& filters, uint32_t element_size) {
  nlohmann::json codecs = nlohmann::json::array();
  for (const Filter& filter : filters) {
    switch (filter.id) {
      case 1:  // deflate: a zlib (RFC 1950) stream
        codecs.push_back(codec("numcodecs.zlib", {{"level", value_or(filter, 0, 6)}}));
        break;
      case 2:  // shuffle: the element size is set per dataset (set_local) as the first value
        codecs.push_back(codec("numcodecs.shuffle", {{"elementsize", value_or(filter, 0, element_size)}}));
        break;
      case 3:  // fletcher32: checksum appended to the chunk
        codecs.push_back(codec("numcodecs.fletcher32"));
        break;
      case 4: {  // szip: H5Z_filter_szip writes a 4-byte size header then an AEC stream
        if (filter.client_data.size() < 4) {
          return make_error(ErrorCode::kUnsupported, "szip filter with {} parameters (expected 4 after set_local)",
                            filter.client_data.size());
        }
        codecs.push_back(codec("numcodecs.imagecodecs_szip", {{"options_mask", filter.client_data[0]},
                                                               {"pixels_per_block", filter.client_data[1]},
                                                               {"bits_per_pixel", filter.client_data[2]},
                                                               {"pixels_per_scanline", filter.client_data[3]},
                                                               {"header", true}}));
        break;
      }
      case 307:  // bzip2: a plain bz2 stream; the parameter is the block size (= bz2 level)
        codecs.push_back(codec("numcodecs.bz2", {{"level", value_or(filter, 0, 9)}}));
        break;
      case 32001: {  // blosc: self-describing blosc1 frames
        static constexpr std::string_view kCompressors[] = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};
        static constexpr std::string_view kShuffles[] = {"noshuffle", "shuffle", "bitshuffle"};
        uint32_t typesize = value_or(filter, 2, element_size);
        uint32_t clevel = value_or(filter, 4, 5);
        uint32_t shuffle = value_or(filter, 5, 1);
        uint32_t compressor = value_or(filter, 6, 0);
        if (compressor >= std::size(kCompressors) || shuffle >= std::size(kShuffles)) {
          return make_error(ErrorCode::kUnsupported, "blosc filter with compressor {} and shuffle {}", compressor,
                            shuffle);
        }
        codecs.push_back(codec("blosc", {{"cname", kCompressors[compressor]},
                                         {"clevel", clevel},
                                         {"shuffle", kShuffles[shuffle]},
                                         {"typesize", typesize == 0 ? 1u : typesize},
                                         {"blocksize", 0}}));
        break;
      }
      case 32004: {  // lz4 in the HDF5 plugin's framing (big-endian sizes, per-block lengths)
        nlohmann::json configuration = nlohmann::json::object();
        if (!filter.client_data.empty() && filter.client_data[0] != 0) {
          configuration["blocksize"] = filter.client_data[0];
        }
        codecs.push_back(codec("numcodecs.imagecodecs_lz4h5", std::move(configuration)));
        break;
      }
      case 32008:  // bitshuffle: the plugin's framing is not expressible by any codec we can name
        return make_error(ErrorCode::kUnsupported,
                          "{} (bitshuffle): the HDF5 plugin's block framing has no Zarr codec", filter_label(filter));
      case 32015:  // zstd: plain zstd frames
        codecs.push_back(codec("zstd", {{"level", static_cast<int32_t>(value_or(filter, 0, 3))}, {"checksum", false}}));
        break;
      case 5:
        return make_error(ErrorCode::kUnsupported, "{} (nbit) has no Zarr codec", filter_label(filter));
      case 6:
        return make_error(ErrorCode::kUnsupported, "{} (scaleoffset) has no Zarr codec", filter_label(filter));
      default:
        return make_error(ErrorCode::kUnsupported, "{} has no Zarr codec", filter_label(filter));
    }
  }
  return codecs;
}

}  // namespace floe::formats::hdf5
