// virtualize_hdf5: object tree -> netCDF-4 conventions (dimensions, hidden attributes) -> Zarr arrays with
// chunk references from every chunk index of the file, read together.
#include "floe/formats/hdf5/hdf5.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "floe/core/base64.h"
#include "floe/formats/hdf5/chunk_index.h"
#include "floe/formats/hdf5/chunk_reencode.h"
#include "floe/formats/hdf5/filters.h"
#include "floe/formats/hdf5/layout.h"
#include "floe/formats/hdf5/structure.h"
#include "floe/formats/hdf5/superblock.h"

namespace floe::formats::hdf5 {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kPureDimensionPrefix = "This is a netCDF dimension but not a netCDF variable";
constexpr std::string_view kNonCoordinatePrefix = "_nc4_non_coord_";
const std::set<std::string> kHiddenAttributes = {"CLASS",        "NAME",         "REFERENCE_LIST",
                                                 "DIMENSION_LIST", "_Netcdf4Dimid", "_Netcdf4Coordinates",
                                                 "_nc3_strict",  "_NCProperties"};

const Json* attribute(const HdfObject& object, std::string_view name) {
  for (const DecodedAttribute& a : object.attributes) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

bool is_dimension_scale(const HdfObject& object) {
  const Json* value = attribute(object, "CLASS");
  return value && value->is_string() && value->get<std::string>() == "DIMENSION_SCALE";
}

bool is_pure_dimension(const HdfObject& object) {
  if (!is_dimension_scale(object)) return false;
  const Json* name = attribute(object, "NAME");
  return name && name->is_string() && name->get<std::string>().rfind(kPureDimensionPrefix, 0) == 0;
}

std::string variable_name(const std::string& name) {
  if (name.rfind(kNonCoordinatePrefix, 0) == 0) return name.substr(kNonCoordinatePrefix.size());
  return name;
}

bool is_bool_enum(const Datatype& type) {
  return type.type_class == TypeClass::kEnum && type.enum_names.size() == 2 && type.enum_names[0] == "FALSE" &&
         type.enum_names[1] == "TRUE" && type.size == 1;
}

// The Zarr v3 data type of an HDF5 datatype, or why there is none.
Result<Json> zarr_data_type(const FileReader& file, const Datatype& type) {
  switch (type.type_class) {
    case TypeClass::kFixedPoint:
      if (type.size == 1 || type.size == 2 || type.size == 4 || type.size == 8) {
        return Json(fmt::format("{}int{}", type.is_signed ? "" : "u", type.size * 8));
      }
      break;
    case TypeClass::kFloat:
      if ((type.class_bits & 0x40) == 0 && (type.size == 2 || type.size == 4 || type.size == 8)) {
        return Json(fmt::format("float{}", type.size * 8));
      }
      break;
    case TypeClass::kEnum:
      if (is_bool_enum(type)) return Json("bool");
      if (!type.base.empty() && type.base[0].type_class == TypeClass::kFixedPoint) {
        return zarr_data_type(file, type.base[0]);
      }
      break;
    case TypeClass::kString:
      if (type.size > 0) {
        return Json{{"name", "null_terminated_bytes"}, {"configuration", {{"length_bytes", type.size}}}};
      }
      break;
    default:
      break;
  }
  return make_error(ErrorCode::kUnsupported, "its datatype ({}) has no Zarr v3 equivalent", type.describe());
}

bool big_endian(const Datatype& type) {
  if (type.type_class == TypeClass::kEnum && !type.base.empty()) return type.base[0].big_endian;
  return type.big_endian;
}

Json zero_fill(const Json& data_type) {
  if (data_type == "bool") return false;
  if (data_type.is_object()) return "";
  if (data_type.get<std::string>().rfind("float", 0) == 0) return 0.0;
  return 0;
}

struct PendingChunked {
  std::vector<size_t> group_path;  // child group positions from the root (groups move while the tree grows)
  size_t position = 0;             // in the group's arrays
  std::string path;
  size_t request = 0;
  std::vector<Filter> filters;
};

class Virtualizer {
 public:
  Virtualizer(FileReader& file, std::string_view location, const virt::ParseOptions& options)
      : file_(file), location_(location), options_(options) {}

  Result<virt::VirtualDataset> run() {
    FLOE_ASSIGN_OR_RETURN(structure_, read_file_structure(file_));
    FLOE_ASSIGN_OR_RETURN(file_size_, file_.size());
    dataset_.source_url = location_;
    dataset_.warnings = structure_.warnings;
    index_dimension_scales();
    FLOE_RETURN_IF_ERROR(build_group(0, dataset_.root, {}));
    FLOE_RETURN_IF_ERROR(read_chunk_references());
    return std::move(dataset_);
  }

 private:
  void warn(std::string message) { dataset_.warnings.push_back(std::move(message)); }

  void index_dimension_scales() {
    name_scales_by_links(0);
    for (size_t i = 0; i < structure_.objects.size(); ++i) {
      const HdfObject& object = structure_.objects[i];
      if (object.kind != ObjectKind::kDataset || !is_dimension_scale(object)) continue;
      std::string name = scale_dimension_name(i);
      // A 1-D scale that can grow names an unlimited dimension (the default dimension to join files along).
      if (object.dataspace.max_dims.size() == 1 && object.dataspace.max_dims[0] == kUnlimitedDimension &&
          std::find(dataset_.unlimited_dims.begin(), dataset_.unlimited_dims.end(), name) ==
              dataset_.unlimited_dims.end()) {
        dataset_.unlimited_dims.push_back(name);
      }
      scales_by_name_[{object.parent, std::move(name)}] = i;
      const Json* dimid = attribute(object, "_Netcdf4Dimid");
      if (dimid && dimid->is_number_integer()) dimension_ids_[{object.parent, dimid->get<int64_t>()}] = i;
    }
  }

  // netCDF-C reads a group's links in order, then its child groups, and makes a dimension of every link that
  // reaches a dimension scale; one with the _Netcdf4Dimid of an earlier one replaces it. So a scale with that
  // id is named by the last link reaching it in this order (a second hard link or a soft link renames it, even
  // from another group). Scales without the id keep the name of their first link.
  void name_scales_by_links(size_t group) {
    const HdfObject& object = structure_.objects[group];
    for (const GroupLink& link : object.links) {
      if (link.target == SIZE_MAX) continue;
      const HdfObject& target = structure_.objects[link.target];
      if (target.kind != ObjectKind::kDataset || !is_dimension_scale(target)) continue;
      const Json* dimid = attribute(target, "_Netcdf4Dimid");
      if (dimid && dimid->is_number_integer()) scale_names_[link.target] = variable_name(link.name);
    }
    for (size_t child : object.children) {
      if (structure_.objects[child].kind == ObjectKind::kGroup) name_scales_by_links(child);
    }
  }

  // The name of the dimension that the dimension scale `scale` stands for.
  std::string scale_dimension_name(size_t scale) const {
    auto found = scale_names_.find(scale);
    return found != scale_names_.end() ? found->second : dimension_name_of(scale);
  }

  // netCDF-4: a variable along an unlimited dimension that was written less far than the dimension still has the
  // dimension's length; the records never written read as the fill value (their chunks are absent).
  void extend_to_dimension_lengths(const HdfObject& object, virt::VirtualArray& array) const {
    for (size_t axis = 0; axis < array.shape.size() && axis < object.dataspace.max_dims.size(); ++axis) {
      if (object.dataspace.max_dims[axis] != kUnlimitedDimension) continue;
      for (size_t group = object.parent; group != SIZE_MAX; group = structure_.objects[group].parent) {
        auto found = scales_by_name_.find({group, array.dims[axis]});
        if (found == scales_by_name_.end()) continue;
        const auto& scale_dims = structure_.objects[found->second].dataspace.dims;
        if (scale_dims.size() == 1 && scale_dims[0] > array.shape[axis]) array.shape[axis] = scale_dims[0];
        break;
      }
    }
  }

  std::string dimension_name_of(size_t object) const { return variable_name(structure_.objects[object].name); }

  // Names of the axes of dataset `index` (rank entries), phony names for what no convention names.
  std::vector<std::string> dimension_names(size_t index) {
    const HdfObject& object = structure_.objects[index];
    const size_t rank = object.dataspace.dims.size();
    std::vector<std::optional<std::string>> names(rank);
    const Json* coordinates = attribute(object, "_Netcdf4Coordinates");
    if (coordinates) {
      Json ids = coordinates->is_array() ? *coordinates : Json::array({*coordinates});
      if (ids.size() == rank) {
        for (size_t axis = 0; axis < rank; ++axis) {
          if (!ids[axis].is_number_integer()) continue;
          for (size_t group = object.parent; group != SIZE_MAX; group = structure_.objects[group].parent) {
            auto found = dimension_ids_.find({group, ids[axis].get<int64_t>()});
            if (found != dimension_ids_.end()) {
              names[axis] = scale_dimension_name(found->second);
              break;
            }
          }
        }
      }
    }
    const Json* dimension_list = attribute(object, "DIMENSION_LIST");
    if (dimension_list && dimension_list->is_array()) {
      Json per_axis = *dimension_list;
      if (rank == 1 && (per_axis.empty() || !per_axis[0].is_array())) per_axis = Json::array({per_axis});
      for (size_t axis = 0; axis < rank && axis < per_axis.size(); ++axis) {
        if (names[axis] || !per_axis[axis].is_array() || per_axis[axis].empty()) continue;
        const Json& reference = per_axis[axis][0];
        if (!reference.is_number_unsigned()) continue;
        auto found = address_to_object_.find(reference.get<uint64_t>());
        if (found != address_to_object_.end()) names[axis] = scale_dimension_name(found->second);
      }
    }
    if (rank == 1 && !names[0] && is_dimension_scale(object)) names[0] = scale_dimension_name(index);
    std::vector<std::string> out;
    std::map<uint64_t, int> occurrences;
    auto& phony = phony_dimensions_[object.parent];
    for (size_t axis = 0; axis < rank; ++axis) {
      if (names[axis]) {
        out.push_back(*names[axis]);
        continue;
      }
      uint64_t length = object.dataspace.dims[axis];
      auto key = std::make_pair(length, occurrences[length]++);
      auto found = phony.find(key);
      if (found == phony.end()) found = phony.emplace(key, fmt::format("phony_dim_{}", phony.size())).first;
      out.push_back(found->second);
    }
    return out;
  }

  Json visible_attributes(const HdfObject& object) {
    Json attributes = Json::object();
    for (const DecodedAttribute& a : object.attributes) {
      if (kHiddenAttributes.count(a.name)) continue;
      attributes[a.name] = a.value;
    }
    return attributes;
  }

  virt::VirtualGroup& group_at(const std::vector<size_t>& group_path) {
    virt::VirtualGroup* group = &dataset_.root;
    for (size_t position : group_path) group = &group->groups[position];
    return *group;
  }

  virt::VirtualArray& chunked_array(const PendingChunked& pending) {
    return group_at(pending.group_path).arrays[pending.position];
  }

  Status build_group(size_t index, virt::VirtualGroup& group, const std::vector<size_t>& group_path) {
    const HdfObject& object = structure_.objects[index];
    group.name = object.name;
    group.attributes = visible_attributes(object);
    if (address_to_object_.empty()) {
      for (size_t i = 0; i < structure_.objects.size(); ++i) address_to_object_[structure_.objects[i].address] = i;
    }
    for (size_t child : object.children) {
      const HdfObject& member = structure_.objects[child];
      if (member.kind == ObjectKind::kDataset) {
        if (is_pure_dimension(member)) continue;
        FLOE_RETURN_IF_ERROR(build_array(child, group, group_path));
      } else if (member.kind == ObjectKind::kOther) {
        warn(fmt::format("\"{}\" is neither a group nor a dataset; skipped", member.path));
      }
    }
    for (size_t child : object.children) {
      if (structure_.objects[child].kind != ObjectKind::kGroup) continue;
      group.groups.emplace_back();
      std::vector<size_t> child_path = group_path;
      child_path.push_back(group.groups.size() - 1);
      FLOE_RETURN_IF_ERROR(build_group(child, group.groups.back(), child_path));
    }
    return ok_status();
  }

  void skip(const HdfObject& object, std::string_view why) {
    warn(fmt::format("variable \"{}\" skipped: {}", object.path, why));
  }

  Status build_array(size_t index, virt::VirtualGroup& group, const std::vector<size_t>& group_path) {
    const HdfObject& object = structure_.objects[index];
    if (!object.problems.empty()) {
      skip(object, object.problems.front());
      return ok_status();
    }
    if (object.external_storage) {
      skip(object, "its data is in external files (External Data Files message)");
      return ok_status();
    }
    if (object.dataspace.kind == DataspaceKind::kNull) {
      skip(object, "it has a null dataspace (no elements)");
      return ok_status();
    }
    if (!object.layout_message) {
      skip(object, "it has no layout message");
      return ok_status();
    }
    auto data_type = zarr_data_type(file_, object.datatype);
    if (!data_type.ok()) {
      if (data_type.error().code() != ErrorCode::kUnsupported) return std::move(data_type).error();
      skip(object, data_type.error().message());
      return ok_status();
    }
    virt::VirtualArray array;
    array.name = variable_name(object.name);
    array.shape = object.dataspace.dims;
    array.dims = dimension_names(index);
    extend_to_dimension_lengths(object, array);
    array.data_type = *data_type;
    array.element_size = object.datatype.size;
    array.attributes = visible_attributes(object);
    const bool single_byte = array.element_size == 1 || array.data_type.is_object();
    array.codecs = Json::array();
    array.codecs.push_back(single_byte ? Json{{"name", "bytes"}}
                                       : Json{{"name", "bytes"},
                                              {"configuration", {{"endian", big_endian(object.datatype) ? "big" : "little"}}}});
    std::vector<Filter> filters;
    if (object.filter_pipeline_message) {
      auto parsed = parse_filter_pipeline(file_, object.filter_pipeline_message->body,
                                          object.filter_pipeline_message->address);
      if (!parsed.ok()) {
        if (parsed.error().code() != ErrorCode::kUnsupported) return std::move(parsed).error();
        skip(object, parsed.error().message());
        return ok_status();
      }
      filters = std::move(parsed).value();
      auto codecs = filters_to_codecs(filters, array.element_size);
      if (!codecs.ok()) {
        skip(object, codecs.error().message());
        return ok_status();
      }
      for (auto& codec : *codecs) array.codecs.push_back(codec);
    }
    FLOE_ASSIGN_OR_RETURN(array.fill_value, fill_value(object, array.data_type));
    array.dimension_coordinate = array.shape.size() == 1 && array.dims[0] == array.name;

    auto layout_or = parse_layout_message(file_, object.layout_message->body, object.layout_message->address,
                                          array.shape.size());
    if (!layout_or.ok()) {
      if (layout_or.error().code() != ErrorCode::kUnsupported) return std::move(layout_or).error();
      skip(object, layout_or.error().message());
      return ok_status();
    }
    layouts_.push_back(std::move(layout_or).value());
    const DataLayout& layout = layouts_.back();
    switch (layout.kind) {
      case StorageKind::kCompact: {
        array.chunk_shape = virt::split_contiguous(array.shape, array.element_size, UINT64_MAX);
        uint64_t expected = array.element_size;
        for (uint64_t d : array.shape) expected *= d;
        if (layout.compact_data.size() < expected) {
          return file_.corrupt("data layout message", object.layout_message->address,
                               fmt::format("compact data of \"{}\" holds {} bytes, its shape needs {}", object.path,
                                           layout.compact_data.size(), expected));
        }
        if (expected > 0) array.inline_chunks.emplace(0, layout.compact_data.slice(0, expected));
        break;
      }
      case StorageKind::kContiguous:
        FLOE_RETURN_IF_ERROR(add_contiguous(object, layout, array));
        break;
      case StorageKind::kChunked: {
        if (layout.chunk_dims.size() != array.shape.size()) {
          return file_.corrupt("data layout message", object.layout_message->address,
                               fmt::format("chunk rank {} of \"{}\" differs from its rank {}", layout.chunk_dims.size(),
                                           object.path, array.shape.size()));
        }
        for (uint64_t d : layout.chunk_dims) array.chunk_shape.push_back(std::max<uint64_t>(d, 1));
        ChunkIndexRequest request;
        request.layout = &layout;
        request.shape = object.dataspace.dims;
        request.max_shape = object.dataspace.max_dims;
        request.filtered = !filters.empty();
        requests_.push_back(std::move(request));
        group.arrays.push_back(std::move(array));
        chunked_.push_back({group_path, group.arrays.size() - 1, object.path, requests_.size() - 1, std::move(filters)});
        return ok_status();
      }
      case StorageKind::kVirtual:
        skip(object, "it is a virtual dataset (VDS)");
        return ok_status();
    }
    group.arrays.push_back(std::move(array));
    return ok_status();
  }

  Result<Json> fill_value(const HdfObject& object, const Json& data_type) {
    const std::optional<FillValue>& fill = object.fill_value;
    if (!fill || !fill->defined || fill->value.size() != object.datatype.size) return zero_fill(data_type);
    if (data_type.is_object()) {
      std::string_view raw = fill->value.view();
      return Json(base64_encode(raw.substr(0, raw.find('\0'))));
    }
    auto lookup = [this](const GlobalHeapId&) -> Result<Bytes> {
      return file_.unsupported("fill value", 0, "variable-length fill value");
    };
    auto decoded = decode_elements(file_, object.datatype, fill->value, object.layout_message->address, 1, lookup);
    if (!decoded.ok()) return zero_fill(data_type);
    return (*decoded)[0];
  }

  Status add_contiguous(const HdfObject& object, const DataLayout& layout, virt::VirtualArray& array) {
    array.chunk_shape = virt::split_contiguous(array.shape, array.element_size, options_.max_chunk_bytes);
    if (layout.address == kUndefinedAddress) return ok_status();
    uint64_t total = array.element_size;
    for (uint64_t d : array.shape) {
      if (d != 0 && total > UINT64_MAX / d) return file_.corrupt("dataspace", 0, "array size overflows");
      total *= d;
    }
    if (total == 0) return ok_status();
    uint64_t start = file_.base_address + layout.address;
    if (start < layout.address || start > file_size_ || total > file_size_ - start) {
      return file_.corrupt("contiguous data", layout.address,
                           fmt::format("{} bytes of \"{}\" end past the end of the file ({} bytes); the file is "
                                       "truncated",
                                       total, object.path, file_size_));
    }
    uint64_t chunk_bytes = array.element_size;
    for (uint64_t d : array.chunk_shape) chunk_bytes *= d;
    if (total % chunk_bytes != 0 && (total / chunk_bytes + 1) * chunk_bytes > file_size_ - start) {
      // The data ends at the end of the file: a full-size edge chunk cannot be referenced, so cut evenly.
      array.chunk_shape = virt::split_contiguous_evenly(array.shape, array.element_size, options_.max_chunk_bytes);
      chunk_bytes = array.element_size;
      for (uint64_t d : array.chunk_shape) chunk_bytes *= d;
    }
    uint32_t path = array.refs.intern(location_);
    uint64_t chunks = (total + chunk_bytes - 1) / chunk_bytes;
    array.refs.reserve(chunks);
    for (uint64_t i = 0; i < chunks; ++i) {
      uint64_t offset = start + i * chunk_bytes;
      // The last chunk is referenced full-size (the file has the bytes, see above): Zarr decodes whole chunks
      // and ignores what lies past the array's edge.
      uint64_t length = chunk_bytes;
      array.refs.add(i, path, offset, length);
    }
    return ok_status();
  }

  Status read_chunk_references() {
    if (requests_.empty()) return ok_status();
    auto lists = read_chunk_indexes(file_, requests_);
    struct Reencode {
      size_t pending;
      uint64_t chunk;
      uint64_t address;
      uint64_t size;
    };
    std::vector<Reencode> reencode;
    std::vector<bool> dropped(chunked_.size(), false);
    for (size_t p = 0; p < chunked_.size(); ++p) {
      virt::VirtualArray& array = chunked_array(chunked_[p]);
      const std::string& path = chunked_[p].path;
      auto& list = lists[chunked_[p].request];
      if (!list.ok()) {
        if (list.error().code() == ErrorCode::kUnsupported) {
          warn(fmt::format("variable \"{}\" skipped: {}", path, list.error().message()));
          dropped[p] = true;
          continue;
        }
        return std::move(list).error().add_context(fmt::format("reading the chunk index of \"{}\"", path));
      }
      std::vector<uint64_t> counts = virt::chunk_counts(array);
      const size_t rank = array.shape.size();
      const uint32_t all_filters = chunked_[p].filters.size() >= 32 ? ~0u : (1u << chunked_[p].filters.size()) - 1;
      uint32_t location = array.refs.intern(location_);
      array.refs.reserve(list->size());
      for (size_t c = 0; c < list->size() && !dropped[p]; ++c) {
        uint64_t chunk = 0;
        bool inside = true;
        for (size_t axis = 0; axis < rank; ++axis) {
          uint64_t coordinate = list->coords[c * rank + axis];
          if (coordinate >= counts[axis]) inside = false;
          chunk = chunk * counts[axis] + coordinate;
        }
        if (!inside) continue;  // beyond the current shape (a shrunk dataset)
        uint64_t address = list->addresses[c], size = list->sizes[c];
        uint64_t start = file_.base_address + address;
        if (start < address || start > file_size_ || size > file_size_ - start) {
          return file_.corrupt("chunk", address,
                               fmt::format("chunk {} of \"{}\" ({} bytes) ends past the end of the file ({} bytes); "
                                           "the file is truncated",
                                           chunk, path, size, file_size_));
        }
        uint32_t mask = list->filter_masks[c] & all_filters;
        if (mask == 0) {
          array.refs.add(chunk, location, start, size);
        } else if (mask == all_filters && can_re_encode(chunked_[p].filters)) {
          reencode.push_back({p, chunk, address, size});
        } else {
          warn(fmt::format("variable \"{}\" skipped: chunk {} was stored with filter mask {:#x} (some filters "
                           "skipped), which Zarr cannot express",
                           path, chunk, list->filter_masks[c]));
          dropped[p] = true;
        }
      }
    }
    if (!reencode.empty()) {
      std::vector<Extent> extents;
      for (const Reencode& r : reencode) {
        if (!dropped[r.pending]) extents.push_back({r.address, r.size});
      }
      FLOE_RETURN_IF_ERROR(file_.prefetch(extents));
      for (const Reencode& r : reencode) {
        if (dropped[r.pending]) continue;
        FLOE_ASSIGN_OR_RETURN(Bytes raw, file_.read(r.address, r.size, "unfiltered chunk"));
        virt::VirtualArray& array = chunked_array(chunked_[r.pending]);
        FLOE_ASSIGN_OR_RETURN(Bytes encoded, re_encode_chunk(chunked_[r.pending].filters, raw, array.element_size));
        array.inline_chunks[r.chunk] = std::move(encoded);
      }
    }
    // Remove dropped arrays, last first so positions stay valid.
    for (size_t p = chunked_.size(); p-- > 0;) {
      if (!dropped[p]) continue;
      auto& arrays = group_at(chunked_[p].group_path).arrays;
      arrays.erase(arrays.begin() + static_cast<std::ptrdiff_t>(chunked_[p].position));
    }
    return ok_status();
  }

  FileReader& file_;
  std::string location_;
  const virt::ParseOptions& options_;
  FileStructure structure_;
  uint64_t file_size_ = 0;
  virt::VirtualDataset dataset_;
  std::map<std::pair<size_t, int64_t>, size_t> dimension_ids_;  // (group, _Netcdf4Dimid) -> scale
  std::map<size_t, std::string> scale_names_;                     // scale -> dimension name (netCDF-C's)
  std::map<std::pair<size_t, std::string>, size_t> scales_by_name_;  // (group, dimension name) -> scale
  std::map<uint64_t, size_t> address_to_object_;
  std::map<size_t, std::map<std::pair<uint64_t, int>, std::string>> phony_dimensions_;  // per group
  std::deque<DataLayout> layouts_;  // stable addresses for the chunk index requests
  std::vector<ChunkIndexRequest> requests_;
  std::vector<PendingChunked> chunked_;
};

}  // namespace

Result<virt::VirtualDataset> virtualize_hdf5(FileReader& file, std::string_view location,
                                             const virt::ParseOptions& options) {
  return Virtualizer(file, location, options).run();
}

bool looks_like_hdf5(std::span<const std::byte> first_bytes) {
  for (size_t position = 0; position < first_bytes.size(); position = position == 0 ? 512 : position * 2) {
    if (has_hdf5_signature_at(first_bytes, position)) return true;
  }
  return false;
}

}  // namespace floe::formats::hdf5
