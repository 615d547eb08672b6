// Parses the Data Layout message (versions 1-5) into a DataLayout: storage kind, addresses, chunk dims, index.
#include "floe/formats/hdf5/layout.h"

#include <fmt/format.h>

namespace floe::formats::hdf5 {
namespace {

constexpr std::string_view kStructure = "data layout message";
// The library's limit on the rank of a dataset (H5S_MAX_RANK), plus the element-size entry of chunked layouts.
constexpr size_t kMaxRank = 32;

// Compact storage: `size` bytes of data at the cursor, inside the message that starts at `address`.
Status take_compact(Cursor& in, uint64_t address, uint64_t size, DataLayout& layout) {
  layout.kind = StorageKind::kCompact;
  size_t position = in.position();
  layout.compact_data = in.take(size);
  if (!in.ok()) return in.error();
  layout.compact_address = address + position;
  layout.size = size;
  return ok_status();
}

// Versions 1 and 2: one format for every class, dimension sizes as 4-byte values.
Result<DataLayout> parse_old(const FileReader& file, Cursor& in, uint64_t address, int version, size_t rank) {
  DataLayout layout;
  layout.version = version;
  size_t ndims = in.u8();
  uint8_t layout_class = in.u8();
  in.skip(5);
  if (!in.ok()) return in.error();
  if (ndims == 0 || ndims > kMaxRank + 1) {
    return file.corrupt(kStructure, address, fmt::format("dimensionality {} is not 1..{}", ndims, kMaxRank + 1));
  }
  uint64_t data_address = kUndefinedAddress;
  if (layout_class != 0) data_address = in.offset();
  std::vector<uint64_t> dims(ndims);
  for (auto& dim : dims) dim = in.u32();
  if (!in.ok()) return in.error();
  switch (layout_class) {
    case 0: {  // compact
      uint32_t size = in.u32();
      FLOE_RETURN_IF_ERROR(take_compact(in, address, size, layout));
      return layout;
    }
    case 1: {  // contiguous: the dims are the dataset's (rank + 1 with the element size last when written so)
      layout.kind = StorageKind::kContiguous;
      layout.address = data_address;
      uint64_t size = 1;
      for (uint64_t dim : dims) {
        if (dim != 0 && size > ~0ull / dim) return file.corrupt(kStructure, address, "contiguous size overflows");
        size *= dim;
      }
      layout.size = size;
      return layout;
    }
    case 2: {  // chunked: rank + 1 dims, the last being the element size
      layout.kind = StorageKind::kChunked;
      layout.index = ChunkIndexKind::kBTreeV1;
      layout.index_address = data_address;
      if (ndims < 2) return file.corrupt(kStructure, address, "chunked layout needs at least 2 dimensions");
      if (rank != 0 && ndims != rank + 1) {
        return file.corrupt(kStructure, address,
                            fmt::format("chunked dimensionality {} does not match the dataspace rank {} + 1", ndims,
                                        rank));
      }
      layout.element_size = static_cast<uint32_t>(dims.back());
      dims.pop_back();
      for (uint64_t dim : dims) {
        if (dim == 0) return file.corrupt(kStructure, address, "chunk dimension of 0");
      }
      layout.chunk_dims = std::move(dims);
      return layout;
    }
    default:
      return file.corrupt(kStructure, address, fmt::format("unknown layout class {}", layout_class));
  }
}

Status check_chunk_dims(const FileReader& file, uint64_t address, std::vector<uint64_t>& dims, size_t rank,
                        DataLayout& layout) {
  if (dims.size() < 2 || dims.size() > kMaxRank + 1) {
    return file.corrupt(kStructure, address, fmt::format("chunk dimensionality {} is not 2..{}", dims.size(),
                                                         kMaxRank + 1));
  }
  if (rank != 0 && dims.size() != rank + 1) {
    return file.corrupt(kStructure, address,
                        fmt::format("chunk dimensionality {} does not match the dataspace rank {} + 1", dims.size(),
                                    rank));
  }
  if (dims.back() == 0 || dims.back() > 0xffffffffu) {
    return file.corrupt(kStructure, address, fmt::format("element size {} in the chunk dimensions", dims.back()));
  }
  layout.element_size = static_cast<uint32_t>(dims.back());
  dims.pop_back();
  for (uint64_t dim : dims) {
    if (dim == 0) return file.corrupt(kStructure, address, "chunk dimension of 0");
  }
  layout.chunk_dims = std::move(dims);
  return ok_status();
}

Result<DataLayout> parse_new(const FileReader& file, Cursor& in, uint64_t address, int version, size_t rank) {
  DataLayout layout;
  layout.version = version;
  uint8_t layout_class = in.u8();
  if (!in.ok()) return in.error();
  switch (layout_class) {
    case 0: {
      uint16_t size = in.u16();
      FLOE_RETURN_IF_ERROR(take_compact(in, address, size, layout));
      return layout;
    }
    case 1:
      layout.kind = StorageKind::kContiguous;
      layout.address = in.offset();
      layout.size = in.length();
      if (!in.ok()) return in.error();
      return layout;
    case 2:
      break;
    case 3:
      return file.unsupported(kStructure, address, "virtual dataset (VDS) storage is not supported");
    default:
      return file.corrupt(kStructure, address, fmt::format("unknown layout class {}", layout_class));
  }
  layout.kind = StorageKind::kChunked;
  if (version == 3) {
    size_t ndims = in.u8();
    layout.index = ChunkIndexKind::kBTreeV1;
    layout.index_address = in.offset();
    if (!in.ok()) return in.error();
    if (ndims > kMaxRank + 1) return file.corrupt(kStructure, address, fmt::format("dimensionality {}", ndims));
    std::vector<uint64_t> dims(ndims);
    for (auto& dim : dims) dim = in.u32();
    if (!in.ok()) return in.error();
    FLOE_RETURN_IF_ERROR(check_chunk_dims(file, address, dims, rank, layout));
    return layout;
  }
  // Version 4.
  layout.flags = in.u8();
  size_t ndims = in.u8();
  size_t width = in.u8();
  if (!in.ok()) return in.error();
  if (ndims > kMaxRank + 1) return file.corrupt(kStructure, address, fmt::format("dimensionality {}", ndims));
  if (width == 0 || width > 8) {
    return file.corrupt(kStructure, address, fmt::format("dimension size width {} is not 1..8", width));
  }
  std::vector<uint64_t> dims(ndims);
  for (auto& dim : dims) dim = in.uint(width);
  uint8_t index_type = in.u8();
  if (!in.ok()) return in.error();
  FLOE_RETURN_IF_ERROR(check_chunk_dims(file, address, dims, rank, layout));
  switch (index_type) {
    case 1:
      layout.index = ChunkIndexKind::kSingleChunk;
      if (layout.flags & 0x02) {
        layout.single_chunk_filtered_size = in.length();
        layout.single_chunk_filter_mask = in.u32();
      }
      break;
    case 2:
      layout.index = ChunkIndexKind::kImplicit;
      break;
    case 3:
      layout.index = ChunkIndexKind::kFixedArray;
      layout.fixed_array_page_bits = in.u8();
      break;
    case 4:
      layout.index = ChunkIndexKind::kExtensibleArray;
      layout.ea_max_bits = in.u8();
      layout.ea_index_elements = in.u8();
      layout.ea_min_pointers = in.u8();
      layout.ea_min_elements = in.u8();
      // The specification shows 2 bytes, but the library writes 1 (H5O__layout_encode).
      layout.ea_page_bits = in.u8();
      break;
    case 5:
      layout.index = ChunkIndexKind::kBTreeV2;
      layout.bt2_node_size = in.u32();
      layout.bt2_split_percent = in.u8();
      layout.bt2_merge_percent = in.u8();
      break;
    default:
      return file.corrupt(kStructure, address, fmt::format("unknown chunk index type {}", index_type));
  }
  layout.index_address = in.offset();
  if (!in.ok()) return in.error();
  return layout;
}

}  // namespace

Result<DataLayout> parse_layout_message(const FileReader& file, const Bytes& body, uint64_t address, size_t rank) {
  Cursor in(file, body, address, kStructure);
  uint8_t version = in.u8();
  if (!in.ok()) return in.error();
  if (version == 1 || version == 2) return parse_old(file, in, address, version, rank);
  // Version 5 (HDF5 2.0, filtered datasets) has the version-4 body; only the chunk indexes store filtered
  // sizes in full width, which they read from their own headers' entry sizes.
  if (version >= 3 && version <= 5) return parse_new(file, in, address, version, rank);
  return file.unsupported(kStructure, address, fmt::format("layout message version {}", version));
}

}  // namespace floe::formats::hdf5
