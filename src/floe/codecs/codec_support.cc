// Configuration readers, the codec registry, chunk layout sizes and n-dimensional block copies.
#include "floe/codecs/codec_support.h"

#include <algorithm>

#include "floe/codecs/sharding_codec.h"

namespace floe::codecs {

std::uint64_t ChunkLayout::element_count() const {
  std::uint64_t count = 1;
  for (std::uint64_t extent : shape) count *= extent;
  return count;
}

void CodecRegistry::add(std::string name, CodecFactory factory) {
  factories_[std::move(name)] = std::move(factory);
}

const CodecFactory* CodecRegistry::find(std::string_view name) const {
  const auto found = factories_.find(name);
  return found == factories_.end() ? nullptr : &found->second;
}

std::vector<std::string> CodecRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories_) names.push_back(name);
  return names;
}

void register_builtin_codecs(CodecRegistry& registry) {
  registry.add("bytes", make_bytes_codec);
  registry.add("transpose", make_transpose_codec);
  registry.add("crc32c", make_crc32c_codec);
  registry.add("gzip", make_gzip_codec);
  registry.add("zstd", make_zstd_codec);
  registry.add("blosc", make_blosc_codec);
  registry.add("sharding_indexed", ShardingCodec::create);
  registry.add("numcodecs.zlib", make_zlib_codec);
  registry.add("numcodecs.gzip", make_gzip_codec);
  registry.add("numcodecs.zstd", make_zstd_codec);
  registry.add("numcodecs.blosc", make_blosc_codec);
  registry.add("numcodecs.shuffle", make_shuffle_codec);
  registry.add("numcodecs.fletcher32", make_fletcher32_codec);
  registry.add("numcodecs.bz2", make_bz2_codec);
  registry.add("numcodecs.imagecodecs_lz4h5", make_lz4h5_codec);
  registry.add("numcodecs.imagecodecs_szip", make_szip_codec);
  registry.add("floe.hdf5_bitshuffle", make_hdf5_bitshuffle_codec);
  registry.add("gribberish", make_gribberish_codec);
  registry.add("floe.grib", make_floe_grib_codec);
}

Result<std::uint64_t> config_unsigned(const CodecSpec& spec, std::string_view key,
                                      std::optional<std::uint64_t> fallback) {
  const auto found = spec.configuration.find(key);
  if (found == spec.configuration.end() || found->is_null()) {
    if (fallback) return *fallback;
    return config_error(spec.name, "\"{}\" is required", key);
  }
  if (!found->is_number_unsigned()) {
    return config_error(spec.name, "\"{}\" is {}, not a non-negative integer", key, found->dump());
  }
  return found->get<std::uint64_t>();
}

Result<std::string> config_string(const CodecSpec& spec, std::string_view key,
                                  std::optional<std::string> fallback) {
  const auto found = spec.configuration.find(key);
  if (found == spec.configuration.end() || found->is_null()) {
    if (fallback) return *fallback;
    return config_error(spec.name, "\"{}\" is required", key);
  }
  if (!found->is_string()) {
    return config_error(spec.name, "\"{}\" is {}, not a string", key, found->dump());
  }
  return found->get<std::string>();
}

Status config_keys_known(const CodecSpec& spec, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : spec.configuration.items()) {
    // numcodecs' own configurations carry their "id"; some writers copy it into zarr.json.
    if (key == "id") continue;
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return make_error(ErrorCode::kUnsupported, "{} configuration: unknown key \"{}\"", spec.name,
                        key);
    }
  }
  return {};
}

namespace {

// Visits every contiguous innermost run of a block at `origin` in an array of `out_shape`, calling
// visit(out_byte_offset, block_byte_offset, run_bytes).
template <typename Visit>
void for_each_run(std::span<const std::uint64_t> out_shape, std::span<const std::uint64_t> origin,
                  std::span<const std::uint64_t> block_shape, std::size_t element_size,
                  Visit&& visit) {
  const std::size_t rank = out_shape.size();
  if (rank == 0) {
    visit(0, 0, element_size);
    return;
  }
  for (std::uint64_t extent : block_shape) {
    if (extent == 0) return;
  }
  // Merge trailing dimensions where the block spans the whole array extent into one run.
  std::size_t inner = rank - 1;
  std::uint64_t run = block_shape[inner];
  while (inner > 0 && block_shape[inner] == out_shape[inner] && origin[inner] == 0) {
    --inner;
    run *= block_shape[inner];
  }
  std::vector<std::uint64_t> out_strides(rank, 1);
  for (std::size_t d = rank - 1; d > 0; --d) out_strides[d - 1] = out_strides[d] * out_shape[d];
  std::vector<std::uint64_t> index(inner, 0);
  std::uint64_t block_offset = 0;
  const std::uint64_t run_bytes = run * element_size;
  while (true) {
    std::uint64_t out_offset = origin[inner] * out_strides[inner];
    for (std::size_t d = 0; d < inner; ++d) out_offset += (origin[d] + index[d]) * out_strides[d];
    visit(out_offset * element_size, block_offset, run_bytes);
    block_offset += run_bytes;
    std::size_t d = inner;
    while (d > 0) {
      --d;
      if (++index[d] < block_shape[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (inner == 0) return;
  }
}

}  // namespace

void copy_block_into(std::span<const std::uint8_t> block,
                     std::span<const std::uint64_t> block_shape, std::span<std::uint8_t> out,
                     std::span<const std::uint64_t> out_shape,
                     std::span<const std::uint64_t> origin, std::size_t element_size) {
  for_each_run(out_shape, origin, block_shape, element_size,
               [&](std::uint64_t out_offset, std::uint64_t block_offset, std::uint64_t bytes) {
                 std::memcpy(out.data() + out_offset, block.data() + block_offset, bytes);
               });
}

void fill_block(std::span<std::uint8_t> out, std::span<const std::uint64_t> out_shape,
                std::span<const std::uint64_t> origin, std::span<const std::uint64_t> block_shape,
                std::span<const std::uint8_t> fill, std::size_t element_size) {
  const bool zeros = fill.empty() || std::all_of(fill.begin(), fill.end(),
                                                 [](std::uint8_t byte) { return byte == 0; });
  for_each_run(out_shape, origin, block_shape, element_size,
               [&](std::uint64_t out_offset, std::uint64_t, std::uint64_t bytes) {
                 std::uint8_t* target = out.data() + out_offset;
                 if (zeros) {
                   std::memset(target, 0, bytes);
                   return;
                 }
                 for (std::uint64_t at = 0; at < bytes; at += element_size) {
                   std::memcpy(target + at, fill.data(), element_size);
                 }
               });
}

}  // namespace floe::codecs
