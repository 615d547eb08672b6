// Values of virtual arrays in memory: whole-array decoding, box copies, loading small arrays from
// sources.
#include "floe/virtual/array_values.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "floe/codecs/pipeline.h"
#include "floe/virtual/writer.h"

namespace floe::virt {

double element_as_double(const uint8_t* element, const zarr::DataType& type) {
  auto load = [&](auto value) {
    std::memcpy(&value, element, sizeof(value));
    return static_cast<double>(value);
  };
  if (type.kind == zarr::TypeKind::kFloat) return type.size == 4 ? load(float{}) : load(double{});
  const bool is_unsigned = type.kind == zarr::TypeKind::kUInt;
  switch (type.size) {
    case 1:
      return is_unsigned ? load(uint8_t{}) : load(int8_t{});
    case 2:
      return is_unsigned ? load(uint16_t{}) : load(int16_t{});
    case 4:
      return is_unsigned ? load(uint32_t{}) : load(int32_t{});
    default:
      return is_unsigned ? load(uint64_t{}) : load(int64_t{});
  }
}

bool comparable_type(const zarr::DataType& type) {
  switch (type.kind) {
    case zarr::TypeKind::kInt:
    case zarr::TypeKind::kUInt:
    case zarr::TypeKind::kDateTime64:
    case zarr::TypeKind::kTimeDelta64:
      return true;
    case zarr::TypeKind::kFloat:
      return type.size == 4 || type.size == 8;
    default:
      return false;
  }
}

void scatter(const uint8_t* source, const std::vector<uint64_t>& source_shape, uint8_t* target,
             const std::vector<uint64_t>& target_shape,
             const std::vector<std::vector<uint64_t>>& position, const std::vector<uint64_t>& limit,
             size_t element_size) {
  const size_t rank = source_shape.size();
  if (rank == 0) {
    std::memcpy(target, source, element_size);
    return;
  }
  for (uint64_t extent : limit) {
    if (extent == 0) return;
  }
  std::vector<uint64_t> index(rank, 0);
  while (true) {
    uint64_t from = 0;
    uint64_t to = 0;
    for (size_t axis = 0; axis < rank; ++axis) {
      from = from * source_shape[axis] + index[axis];
      to = to * target_shape[axis] + position[axis][index[axis]];
    }
    std::memcpy(target + to * element_size, source + from * element_size, element_size);
    size_t axis = rank;
    while (axis > 0 && ++index[axis - 1] == limit[axis - 1]) index[--axis] = 0;
    if (axis == 0) return;
  }
}

std::vector<std::vector<uint64_t>> offset_positions(const std::vector<uint64_t>& origin,
                                                    const std::vector<uint64_t>& extent) {
  std::vector<std::vector<uint64_t>> position(origin.size());
  for (size_t axis = 0; axis < origin.size(); ++axis) {
    for (uint64_t i = 0; i < extent[axis]; ++i) position[axis].push_back(origin[axis] + i);
  }
  return position;
}

uint64_t element_count(const std::vector<uint64_t>& shape) {
  uint64_t count = 1;
  for (uint64_t extent : shape) count *= extent;
  return count;
}

std::vector<uint8_t> filled(uint64_t elements, const std::vector<uint8_t>& fill) {
  std::vector<uint8_t> values(elements * fill.size());
  for (uint64_t i = 0; i < elements; ++i)
    std::memcpy(values.data() + i * fill.size(), fill.data(), fill.size());
  return values;
}

std::span<const uint8_t> as_u8(const Bytes& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

Result<std::vector<uint8_t>> decode_whole(const zarr::ArrayMetadata& metadata,
                                          const ChunkGetter& chunk_at, std::string_view path,
                                          uint64_t max_bytes) {
  const uint64_t elements = element_count(metadata.shape);
  const uint64_t size = metadata.element_size();
  if (metadata.rectilinear()) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: decoding a whole array of a rectilinear chunk grid in memory is "
                      "not supported",
                      path);
  }
  if (elements > max_bytes / std::max<uint64_t>(size, 1)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "{}: {} elements of {} bytes are more than --append-dim merges in memory ({} bytes)", path,
        elements, size, max_bytes);
  }
  codecs::CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  codecs::ChunkLayout layout{.data_type = metadata.data_type,
                             .shape = metadata.chunk_shape,
                             .fill_value = metadata.fill_value};
  Result<codecs::CodecPipeline> pipeline =
      codecs::CodecPipeline::create(registry, metadata.codecs, layout);
  if (!pipeline.ok()) return std::move(pipeline).error().add_context(fmt::format("array {}", path));
  std::vector<uint8_t> whole = filled(elements, metadata.fill_value);
  if (metadata.shape.empty()) {
    FLOE_ASSIGN_OR_RETURN(std::optional<Bytes> encoded, chunk_at({}));
    if (encoded) FLOE_RETURN_IF_ERROR(pipeline->decode(as_u8(*encoded), whole));
    return whole;
  }
  const std::vector<uint64_t> counts = metadata.chunk_counts();
  std::vector<uint8_t> chunk(layout.byte_size());
  for (uint64_t number = 0; number < element_count(counts); ++number) {
    const std::vector<uint64_t> coords = chunk_coordinates(number, counts);
    FLOE_ASSIGN_OR_RETURN(std::optional<Bytes> encoded, chunk_at(coords));
    if (!encoded) continue;
    Status decoded = pipeline->decode(as_u8(*encoded), chunk);
    if (!decoded.ok()) return std::move(decoded).error().add_context(fmt::format("array {}", path));
    std::vector<uint64_t> origin(coords.size());
    std::vector<uint64_t> limit(coords.size());
    for (size_t axis = 0; axis < coords.size(); ++axis) {
      origin[axis] = coords[axis] * metadata.chunk_shape[axis];
      limit[axis] = std::min(metadata.chunk_shape[axis], metadata.shape[axis] - origin[axis]);
    }
    scatter(chunk.data(), metadata.chunk_shape, whole.data(), metadata.shape,
            offset_positions(origin, limit), limit, size);
  }
  return whole;
}

Json uncompressed_codecs(uint32_t element_size) {
  if (element_size <= 1) return Json::array({{{"name", "bytes"}}});
  return Json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
}

Result<zarr::DataType> data_type_of(const VirtualArray& array) {
  return zarr::DataType::from_json(array.data_type);
}

std::vector<double> values_as_doubles(const VirtualArray& array) {
  auto type = data_type_of(array);
  if (!array.in_memory || !type.ok() || !comparable_type(*type) || array.inline_chunks.empty())
    return {};
  const Bytes& bytes = array.inline_chunks.begin()->second;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  std::vector<double> values(bytes.size() / type->size);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = element_as_double(data + i * type->size, *type);
  return values;
}

namespace {

Status load_array(VirtualArray& array, const std::string& path, const std::string& source,
                  const RangeReader& read, uint64_t max_bytes) {
  FLOE_ASSIGN_OR_RETURN(zarr::ArrayMetadata metadata,
                        zarr::ArrayMetadata::parse(array_metadata(array).dump(), path));
  std::map<uint64_t, std::pair<size_t, bool>>
      by_chunk;  // chunk number -> (ref index or inline, is_ref)
  for (size_t i = 0; i < array.refs.size(); ++i) by_chunk[array.refs.chunk(i)] = {i, true};
  for (const auto& [number, bytes] : array.inline_chunks) by_chunk[number] = {0, false};
  const std::vector<uint64_t> counts = chunk_counts(array);
  auto chunk_at = [&](const std::vector<uint64_t>& coords) -> Result<std::optional<Bytes>> {
    const uint64_t number = coords.empty() ? 0 : chunk_number(coords, counts);
    auto found = by_chunk.find(number);
    if (found == by_chunk.end()) return std::optional<Bytes>();
    if (!found->second.second) return std::optional<Bytes>(array.inline_chunks.at(number));
    const size_t i = found->second.first;
    Result<Bytes> bytes = read(array.refs.path(i), array.refs.offset(i), array.refs.length(i));
    if (!bytes.ok()) {
      return std::move(bytes).error().add_context(
          fmt::format("loading {} chunk {} from {}", path, number, source));
    }
    return std::optional<Bytes>(std::move(bytes).value());
  };
  Result<std::vector<uint8_t>> values = decode_whole(metadata, chunk_at, path, max_bytes);
  if (!values.ok()) return std::move(values).error().add_context(fmt::format("source {}", source));
  array.refs = ChunkManifest();
  array.chunk_edges.clear();
  array.chunk_shape.clear();
  for (uint64_t extent : array.shape) array.chunk_shape.push_back(std::max<uint64_t>(extent, 1));
  array.inline_chunks.clear();
  array.loadable = false;
  array.in_memory = true;
  array.codecs = uncompressed_codecs(array.element_size);
  if (element_count(array.shape) == 0) return ok_status();  // a zero-length axis has no chunks
  array.inline_chunks.emplace(
      0, Bytes::copy_of(std::span<const std::byte>(
             reinterpret_cast<const std::byte*>(values->data()), values->size())));
  return ok_status();
}

Status load_group(VirtualGroup& group, const std::string& prefix, const std::string& source,
                  const RangeReader& read, uint64_t max_bytes) {
  for (VirtualArray& array : group.arrays) {
    if (!array.loadable || array.in_memory) continue;
    auto type = data_type_of(array);
    if (!type.ok() || !type->is_numeric() || type->size != array.element_size) continue;
    if (element_count(array.shape) > max_bytes / std::max<uint32_t>(array.element_size, 1))
      continue;
    FLOE_RETURN_IF_ERROR(load_array(array, prefix + "/" + array.name, source, read, max_bytes));
  }
  for (VirtualGroup& child : group.groups) {
    FLOE_RETURN_IF_ERROR(load_group(child, prefix + "/" + child.name, source, read, max_bytes));
  }
  return ok_status();
}

}  // namespace

Status load_small_arrays(VirtualDataset& dataset, const RangeReader& read, uint64_t max_bytes) {
  return load_group(dataset.root, "", dataset.source_url, read, max_bytes);
}

}  // namespace floe::virt
