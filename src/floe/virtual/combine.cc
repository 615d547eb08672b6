// Combining files' datasets: families of files with the same variables, each file placed on an N-D
// grid by its coordinate values, chunk references moved to their combined positions, small arrays
// merged by value.
#include "floe/virtual/combine.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <set>

#include "floe/virtual/array_values.h"
#include "floe/virtual/time_harmonize.h"

namespace floe::virt {
namespace {

std::string describe(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix + "/" + name;
}

bool is_cf_time(const VirtualArray& array) {
  auto units = array.attributes.find("units");
  return units != array.attributes.end() && units->is_string() &&
         units->get_ref<const std::string&>().find(" since ") != std::string::npos;
}

bool uncompressed(const VirtualArray& array) {
  return array.codecs.is_array() && array.codecs.size() == 1 && array.codecs[0].is_object() &&
         array.codecs[0].value("name", "") == "bytes";
}

// The first difference between two arrays that must agree, or "". Axes in `free_axes` may differ in
// length and chunk length; `time_coordinate` arrays may differ in units and calendar (they are
// harmonized).
std::string difference(const VirtualArray& a, const VirtualArray& b,
                       const std::vector<bool>& free_axes, bool time_coordinate) {
  if (a.dims != b.dims)
    return fmt::format("dimensions ({}) vs ({})", fmt::join(a.dims, ", "), fmt::join(b.dims, ", "));
  if (a.data_type != b.data_type)
    return fmt::format("data type {} vs {}", describe(a.data_type), describe(b.data_type));
  if (a.codecs != b.codecs)
    return fmt::format("codecs {} vs {}", describe(a.codecs), describe(b.codecs));
  for (size_t axis = 0; axis < a.shape.size(); ++axis) {
    if (axis < free_axes.size() && free_axes[axis]) continue;
    if (a.shape[axis] != b.shape[axis]) {
      return fmt::format("length of dimension {} {} vs {}", a.dims[axis], a.shape[axis],
                         b.shape[axis]);
    }
    if (a.chunk_shape[axis] != b.chunk_shape[axis]) {
      return fmt::format("chunk length along {} {} vs {}", a.dims[axis], a.chunk_shape[axis],
                         b.chunk_shape[axis]);
    }
  }
  if (a.fill_value != b.fill_value)
    return fmt::format("fill value {} vs {}", describe(a.fill_value), describe(b.fill_value));
  for (const char* key : {"scale_factor", "add_offset", "units", "calendar", "_FillValue",
                          "missing_value", "_Unsigned"}) {
    if (time_coordinate &&
        (std::string_view(key) == "units" || std::string_view(key) == "calendar"))
      continue;
    const Json none;
    const Json& va = a.attributes.contains(key) ? a.attributes[key] : none;
    const Json& vb = b.attributes.contains(key) ? b.attributes[key] : none;
    if (va != vb) return fmt::format("attribute {} {} vs {}", key, describe(va), describe(vb));
  }
  return "";
}

// The values of an in-memory array (none for an array with a zero-length axis).
Bytes memory_values(const VirtualArray& array) {
  return array.inline_chunks.empty() ? Bytes() : array.inline_chunks.begin()->second;
}

bool same_bytes(const Bytes& a, const Bytes& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// The first element where two in-memory arrays differ, described.
std::string value_difference(const VirtualArray& a, const VirtualArray& b) {
  std::vector<double> va = values_as_doubles(a), vb = values_as_doubles(b);
  for (size_t i = 0; i < std::min(va.size(), vb.size()); ++i) {
    if (va[i] != vb[i] && !(std::isnan(va[i]) && std::isnan(vb[i]))) {
      return fmt::format("value {} at index {} vs {}", va[i], i, vb[i]);
    }
  }
  return "values differ";
}

void store_double(uint8_t* element, const zarr::DataType& type, double value) {
  auto put = [&](auto typed) { std::memcpy(element, &typed, sizeof(typed)); };
  if (type.kind == zarr::TypeKind::kFloat) {
    type.size == 4 ? put(static_cast<float>(value)) : put(value);
    return;
  }
  const bool is_unsigned = type.kind == zarr::TypeKind::kUInt;
  switch (type.size) {
    case 1:
      is_unsigned ? put(static_cast<uint8_t>(value)) : put(static_cast<int8_t>(value));
      break;
    case 2:
      is_unsigned ? put(static_cast<uint16_t>(value)) : put(static_cast<int16_t>(value));
      break;
    case 4:
      is_unsigned ? put(static_cast<uint32_t>(value)) : put(static_cast<int32_t>(value));
      break;
    default:
      is_unsigned ? put(static_cast<uint64_t>(value)) : put(static_cast<int64_t>(value));
      break;
  }
}

Bytes bytes_of(const std::vector<uint8_t>& values) {
  return Bytes::copy_of(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(values.data()), values.size()));
}

// One file of a family: where it came from and its values along each combined dimension.
struct FileRecord {
  std::string source;
  std::vector<std::vector<double>>
      values;                      // per combined dimension; empty: no coordinate (file order)
  std::vector<std::string> units;  // per combined dimension: CF time units, "" otherwise
  std::vector<std::string> calendars;
  std::vector<uint64_t> block;  // per combined dimension, set by finish
};

// One combined dimension's blocks: the distinct runs of values files hold along it, in order.
struct DimensionBlocks {
  std::vector<std::vector<double>> values;  // per block
  std::vector<uint64_t> start;              // element offset of each block
  std::vector<uint64_t> lengths;            // of each block
  std::vector<size_t> example_file;         // a file holding each block, for messages
  uint64_t length = 0;
  std::string units, calendar;  // the combined coordinate's encoding (CF time), "" otherwise
  bool unit_blocks = true;      // every block has length 1 (files can be stacked along it)
};

// The references and values one array accumulates over the files of its family.
struct ArrayAccumulator {
  std::string path;
  VirtualArray* array = nullptr;  // the family's first file's, rebuilt by finish
  std::vector<int> axis_of_dim;   // per combined dimension: the array's axis, or -1
  bool combined_coordinate =
      false;           // the coordinate of a combined dimension: rebuilt from the blocks
  ChunkManifest refs;  // chunk numbers local to each file's grid until finish
  std::vector<uint32_t> part_file;    // per file part: the file
  std::vector<uint64_t> part_first;   // per file part: its first ref
  std::vector<uint64_t> part_extent;  // per file part and combined axis: length, chunk length
  std::vector<std::tuple<uint32_t, uint64_t, Bytes>> inline_parts;  // file, local chunk, bytes
  std::vector<Bytes> values;  // in-memory arrays that vary: per file
  bool varies = false;        // in-memory array differing between files (or along combined axes)
  size_t first_differing_file = 0;

  bool has_combined_axis() const {
    return std::any_of(axis_of_dim.begin(), axis_of_dim.end(), [](int axis) { return axis >= 0; });
  }
};

struct Family {
  VirtualDataset first;
  std::vector<FileRecord> files;
  std::map<std::string, ArrayAccumulator> arrays;  // by path
};

void visit_arrays(VirtualGroup& group, const std::string& prefix,
                  const std::function<void(VirtualArray&, const std::string&)>& visit) {
  for (VirtualArray& array : group.arrays) visit(array, join_path(prefix, array.name));
  for (VirtualGroup& child : group.groups)
    visit_arrays(child, join_path(prefix, child.name), visit);
}

std::string signature_of(VirtualDataset& dataset) {
  std::string signature;
  visit_arrays(dataset.root, "",
               [&](VirtualArray&, const std::string& path) { signature += path + "\n"; });
  return signature;
}

// The coordinate of `dim` for an array in group `prefix`: the 1-D array named like it in the group
// or the nearest enclosing one.
VirtualArray* find_coordinate(VirtualGroup& root, const std::string& dim) {
  for (VirtualArray& array : root.arrays) {
    if (array.name == dim && array.dims.size() == 1 && array.dims[0] == dim) return &array;
  }
  return nullptr;
}

VirtualArray* find_scalar(VirtualGroup& root, const std::string& name) {
  for (VirtualArray& array : root.arrays) {
    if (array.name == name && array.shape.empty()) return &array;
  }
  return nullptr;
}

}  // namespace

std::optional<double> first_coordinate_value(const VirtualDataset& file, const std::string& dim) {
  for (const VirtualArray& array : file.root.arrays) {
    if (array.name != dim || array.dims.size() != 1 || array.dims[0] != dim || !array.in_memory)
      continue;
    const std::vector<double> values = values_as_doubles(array);
    if (!values.empty()) return values.front();
  }
  return std::nullopt;
}

struct Combiner::State {
  CombineOptions options;
  std::vector<std::string> dims;  // options.dims, then the stack dimension
  std::vector<Family> families;
  std::map<std::string, size_t> family_by_signature;
  uint64_t files = 0;
  std::vector<std::string> warnings;

  size_t stack_index() const { return options.stack_dim.empty() ? SIZE_MAX : dims.size() - 1; }

  Status add(VirtualDataset file);
  Status add_first(Family& family, VirtualDataset& file);
  Status add_array(Family& family, ArrayAccumulator& accumulator, VirtualArray& array,
                   uint32_t file_index);
  Result<FileRecord> record_of(VirtualDataset& file);
  Result<VirtualDataset> finish_family(Family& family);
  Result<std::vector<DimensionBlocks>> place_files(Family& family);
  Status build_array(Family& family, ArrayAccumulator& accumulator,
                     const std::vector<DimensionBlocks>& blocks);
  Status build_values(Family& family, ArrayAccumulator& accumulator,
                      const std::vector<DimensionBlocks>& blocks);
  Status build_refs(Family& family, ArrayAccumulator& accumulator,
                    const std::vector<DimensionBlocks>& blocks);
};

Combiner::Combiner(CombineOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->dims = state_->options.dims;
  if (!state_->options.stack_dim.empty()) state_->dims.push_back(state_->options.stack_dim);
}
Combiner::~Combiner() = default;
Combiner::Combiner(Combiner&&) noexcept = default;
Combiner& Combiner::operator=(Combiner&&) noexcept = default;

Status Combiner::add(VirtualDataset file) { return state_->add(std::move(file)); }

Result<FileRecord> Combiner::State::record_of(VirtualDataset& file) {
  FileRecord record;
  record.source = file.source_url;
  for (size_t d = 0; d < dims.size(); ++d) {
    const std::string& dim = dims[d];
    std::vector<double> values;
    std::string units, calendar;
    if (d == stack_index()) {
      if (!options.stack_values.empty()) {
        if (files >= options.stack_values.size()) {
          return make_error(ErrorCode::kInvalidArgument,
                            "{} values given for --stack-dim {} but {} is file {}",
                            options.stack_values.size(), dim, file.source_url, files + 1);
        }
        values = {options.stack_values[files]};
      } else if (VirtualArray* scalar = find_scalar(file.root, dim); scalar && scalar->in_memory) {
        values = values_as_doubles(*scalar);
      } else {
        values = {static_cast<double>(files)};
      }
    } else if (VirtualArray* coordinate = find_coordinate(file.root, dim)) {
      if (!coordinate->in_memory) {
        return make_error(ErrorCode::kUnsupported,
                          "{}: the coordinate {} could not be loaded (data type {}), so the file "
                          "cannot be placed "
                          "along it",
                          file.source_url, dim, describe(coordinate->data_type));
      }
      values = values_as_doubles(*coordinate);
      if (is_cf_time(*coordinate)) {
        units = coordinate->attributes["units"].get<std::string>();
        calendar = coordinate->attributes.value("calendar", "");
      }
    } else if (dims.size() > 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{} has no coordinate variable {}; combining along several dimensions "
                        "places each file by "
                        "its coordinate values",
                        file.source_url, dim);
    }
    record.values.push_back(std::move(values));
    record.units.push_back(std::move(units));
    record.calendars.push_back(std::move(calendar));
  }
  return record;
}

Status Combiner::State::add(VirtualDataset file) {
  // Stacking: a scalar of the stack dimension's name is its coordinate, not a variable.
  FLOE_ASSIGN_OR_RETURN(FileRecord record, record_of(file));
  if (!options.stack_dim.empty()) {
    std::erase_if(file.root.arrays, [&](const VirtualArray& a) {
      return a.name == options.stack_dim && a.shape.empty();
    });
  }
  const std::string signature = signature_of(file);
  auto found = family_by_signature.find(signature);
  ++files;
  if (found == family_by_signature.end()) {
    family_by_signature.emplace(signature, families.size());
    Family& family = families.emplace_back();
    family.files.push_back(std::move(record));
    return add_first(family, file);
  }
  Family& family = families[found->second];
  const auto file_index = static_cast<uint32_t>(family.files.size());
  family.files.push_back(std::move(record));
  Status status = ok_status();
  visit_arrays(file.root, "", [&](VirtualArray& array, const std::string& path) {
    if (!status.ok()) return;
    status = add_array(family, family.arrays.at(path), array, file_index);
  });
  return status;
}

Status Combiner::State::add_first(Family& family, VirtualDataset& file) {
  family.first = std::move(file);
  Status status = ok_status();
  visit_arrays(family.first.root, "", [&](VirtualArray& array, const std::string& path) {
    ArrayAccumulator& accumulator = family.arrays[path];
    accumulator.path = path;
    accumulator.array = &array;
    for (size_t d = 0; d < dims.size(); ++d) {
      auto axis = std::find(array.dims.begin(), array.dims.end(), dims[d]);
      accumulator.axis_of_dim.push_back(
          axis == array.dims.end() ? -1 : static_cast<int>(axis - array.dims.begin()));
    }
    accumulator.combined_coordinate = array.dims.size() == 1 && array.name == array.dims[0] &&
                                      std::find(dims.begin(), dims.end(), array.name) != dims.end();
    // Data stacked along a new dimension gains it in front.
    if (!options.stack_dim.empty() && !array.in_memory && !array.dimension_coordinate) {
      array.dims.insert(array.dims.begin(), options.stack_dim);
      array.shape.insert(array.shape.begin(), 1);
      array.chunk_shape.insert(array.chunk_shape.begin(), 1);
      if (!array.chunk_edges.empty())
        array.chunk_edges.insert(array.chunk_edges.begin(), std::vector<uint64_t>{});
      for (int& axis : accumulator.axis_of_dim)
        if (axis >= 0) ++axis;
      accumulator.axis_of_dim[stack_index()] = 0;
    }
    if (!status.ok()) return;
    // The first file's references are moved into the accumulator like every other file's.
    VirtualArray copy;
    copy.refs = std::move(array.refs);
    copy.inline_chunks = std::move(array.inline_chunks);
    array.refs = ChunkManifest();
    array.inline_chunks.clear();
    if (array.in_memory) array.inline_chunks = copy.inline_chunks;
    copy.shape = array.shape;
    copy.chunk_shape = array.chunk_shape;
    copy.in_memory = array.in_memory;
    copy.dims = array.dims;
    status = add_array(family, accumulator, copy, 0);
  });
  return status;
}

Status Combiner::State::add_array(Family& family, ArrayAccumulator& accumulator,
                                  VirtualArray& array, uint32_t file_index) {
  const VirtualArray& first = *accumulator.array;
  const FileRecord& record = family.files[file_index];
  std::vector<bool> free_axes(first.shape.size(), false);
  for (int axis : accumulator.axis_of_dim)
    if (axis >= 0) free_axes[axis] = true;
  const bool stacked_here = !options.stack_dim.empty() &&
                            accumulator.axis_of_dim[stack_index()] == 0 &&
                            array.dims.size() + 1 == first.dims.size();
  if (stacked_here) {  // the file's array lacks the stack dimension: give it a length-1 axis
    array.dims.insert(array.dims.begin(), options.stack_dim);
    array.shape.insert(array.shape.begin(), 1);
    array.chunk_shape.insert(array.chunk_shape.begin(), 1);
  }
  if (file_index > 0) {
    const std::string diff =
        difference(first, array, free_axes, accumulator.combined_coordinate && is_cf_time(first));
    if (!diff.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "{} and {} differ in variable {}: {}",
                        family.files[0].source, record.source, accumulator.path, diff);
    }
  }
  // Lengths along combined axes must be those of the file's coordinates.
  for (size_t d = 0; d < dims.size(); ++d) {
    const int axis = accumulator.axis_of_dim[d];
    if (axis < 0 || record.values[d].empty()) continue;
    if (array.shape[axis] != record.values[d].size()) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "{}: variable {} has {} along {} but the file's coordinate {} has {} values",
          record.source, accumulator.path, array.shape[axis], dims[d], dims[d],
          record.values[d].size());
    }
  }
  if (accumulator.combined_coordinate) return ok_status();  // rebuilt from the files' values
  if (array.in_memory) {
    const Bytes values = memory_values(array);
    if (accumulator.has_combined_axis()) {
      accumulator.varies = true;
      accumulator.values.push_back(values);
      return ok_status();
    }
    if (file_index == 0) return ok_status();
    if (!accumulator.varies && same_bytes(values, memory_values(first))) return ok_status();
    if (!accumulator.varies) {
      accumulator.varies = true;
      accumulator.first_differing_file = file_index;
      accumulator.values.assign(file_index, memory_values(first));
      if (first.dimension_coordinate) {
        return make_error(ErrorCode::kInvalidArgument, "{} and {} differ in coordinate {}: {}",
                          family.files[0].source, record.source, accumulator.path,
                          value_difference(first, array));
      }
    }
    accumulator.values.push_back(values);
    return ok_status();
  }
  if (!accumulator.has_combined_axis() && file_index > 0)
    return ok_status();  // the first file's is kept
  accumulator.part_file.push_back(file_index);
  accumulator.part_first.push_back(accumulator.refs.size());
  for (int axis : accumulator.axis_of_dim) {
    if (axis < 0) continue;
    accumulator.part_extent.push_back(array.shape[axis]);
    accumulator.part_extent.push_back(std::max<uint64_t>(array.chunk_shape[axis], 1));
  }
  accumulator.refs.append(array.refs, [](uint64_t chunk) { return chunk; });
  for (auto& [chunk, bytes] : array.inline_chunks)
    accumulator.inline_parts.emplace_back(file_index, chunk, bytes);
  return ok_status();
}

Result<VirtualDataset> Combiner::finish(CombineReport* report) {
  State& state = *state_;
  if (state.families.empty()) return make_error(ErrorCode::kInvalidArgument, "no files to combine");
  std::vector<VirtualDataset> combined;
  for (Family& family : state.families) {
    FLOE_ASSIGN_OR_RETURN(VirtualDataset dataset, state.finish_family(family));
    combined.push_back(std::move(dataset));
  }
  VirtualDataset result = std::move(combined.front());
  // Families hold different variables (u10 files, v10 files): merged; what two hold must be the
  // same.
  for (size_t i = 1; i < combined.size(); ++i) {
    std::map<std::string, VirtualArray*> present;
    visit_arrays(result.root, "",
                 [&](VirtualArray& array, const std::string& path) { present[path] = &array; });
    // For messages: what only one of the two holds.
    std::set<std::string> incoming;
    visit_arrays(combined[i].root, "",
                 [&](VirtualArray&, const std::string& path) { incoming.insert(path); });
    std::vector<std::string> only;
    for (const auto& [path, array] : present) {
      if (!incoming.count(path))
        only.push_back(fmt::format("only {} has {}", result.source_url, path));
    }
    for (const std::string& path : incoming) {
      if (!present.count(path))
        only.push_back(fmt::format("only {} has {}", combined[i].source_url, path));
    }
    const std::string only_in_one = fmt::format("{}", fmt::join(only, "; "));
    std::function<Status(VirtualGroup&, VirtualGroup&, const std::string&)> merge =
        [&](VirtualGroup& into, VirtualGroup& from, const std::string& prefix) -> Status {
      for (VirtualArray& array : from.arrays) {
        auto found = present.find(join_path(prefix, array.name));
        if (found == present.end()) {
          into.arrays.push_back(std::move(array));
          continue;
        }
        const VirtualArray& kept = *found->second;
        std::string diff = difference(kept, array, {}, false);
        if (diff.empty() && kept.in_memory != array.in_memory) diff = "stored differently";
        if (diff.empty() && kept.in_memory &&
            !same_bytes(memory_values(kept), memory_values(array))) {
          diff = value_difference(kept, array);
        }
        if (!diff.empty()) {
          return make_error(ErrorCode::kInvalidArgument,
                            "{} and {} hold different variables ({}) and could not be merged: "
                            "variable {} differs: {}",
                            result.source_url, combined[i].source_url, only_in_one, found->first,
                            diff);
        }
      }
      for (VirtualGroup& child : from.groups) {
        auto same = std::find_if(into.groups.begin(), into.groups.end(),
                                 [&](const VirtualGroup& g) { return g.name == child.name; });
        if (same == into.groups.end()) {
          into.groups.push_back(std::move(child));
          continue;
        }
        FLOE_RETURN_IF_ERROR(merge(*same, child, join_path(prefix, child.name)));
      }
      return ok_status();
    };
    FLOE_RETURN_IF_ERROR(merge(result.root, combined[i].root, ""));
  }
  if (report) {
    report->files = state.files;
    report->warnings = state.warnings;
    visit_arrays(result.root, "", [&](VirtualArray& array, const std::string&) {
      report->references += array.refs.size();
      report->manifest_bytes += array.refs.memory_bytes();
    });
  }
  for (std::string& warning : state.warnings) result.warnings.push_back(std::move(warning));
  return result;
}

Result<std::vector<DimensionBlocks>> Combiner::State::place_files(Family& family) {
  std::vector<DimensionBlocks> blocks(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    DimensionBlocks& dim_blocks = blocks[d];
    // CF time in different units per file: one encoding for all.
    bool harmonize = false;
    for (const FileRecord& file : family.files) {
      if (!file.units[d].empty() && (file.units[d] != family.files[0].units[d] ||
                                     file.calendars[d] != family.files[0].calendars[d])) {
        harmonize = true;
      }
    }
    dim_blocks.units = family.files[0].units[d];
    dim_blocks.calendar = family.files[0].calendars[d];
    if (harmonize) {
      bool integer_storage = false;
      auto coordinate = family.arrays.find("/" + dims[d]);
      // The coordinate's CF bounds are in its units too: harmonized with it, file by file.
      ArrayAccumulator* bounds = nullptr;
      std::optional<zarr::DataType> bounds_type;
      if (coordinate != family.arrays.end()) {
        auto type = data_type_of(*coordinate->second.array);
        integer_storage = type.ok() && type->kind != zarr::TypeKind::kFloat;
        auto bounds_name = coordinate->second.array->attributes.find("bounds");
        if (bounds_name != coordinate->second.array->attributes.end() && bounds_name->is_string()) {
          auto found = family.arrays.find("/" + bounds_name->get<std::string>());
          if (found != family.arrays.end() && found->second.array->in_memory &&
              found->second.values.size() == family.files.size()) {
            auto found_type = data_type_of(*found->second.array);
            if (found_type.ok() && comparable_type(*found_type)) {
              bounds = &found->second;
              bounds_type = *found_type;
            }
          }
        }
      }
      std::vector<FileTimes> times;
      times.reserve(family.files.size());
      for (size_t f = 0; f < family.files.size(); ++f) {
        const FileRecord& file = family.files[f];
        times.push_back({file.source, file.units[d], file.calendars[d], file.values[d]});
        if (!bounds) continue;
        const Bytes& raw = bounds->values[f];
        const auto* data = reinterpret_cast<const uint8_t*>(raw.data());
        for (size_t i = 0; i < raw.size() / bounds_type->size; ++i) {
          times.back().values.push_back(
              element_as_double(data + i * bounds_type->size, *bounds_type));
        }
      }
      FLOE_ASSIGN_OR_RETURN(HarmonizedTimes harmonized, harmonize_times(times, integer_storage));
      for (size_t f = 0; f < family.files.size(); ++f) {
        std::vector<double>& values = harmonized.values[f];
        const size_t own = family.files[f].values[d].size();
        if (bounds) {
          std::vector<uint8_t> raw((values.size() - own) * bounds_type->size);
          for (size_t i = own; i < values.size(); ++i) {
            store_double(raw.data() + (i - own) * bounds_type->size, *bounds_type, values[i]);
          }
          bounds->values[f] = bytes_of(raw);
          values.resize(own);
        }
        family.files[f].values[d] = std::move(values);
      }
      dim_blocks.units = harmonized.units;
      dim_blocks.calendar = harmonized.calendar;
    }
    // Files without a coordinate (one dimension only): each file is a block, in order.
    if (family.files[0].values[d].empty()) {
      auto accumulator =
          std::find_if(family.arrays.begin(), family.arrays.end(), [&](const auto& entry) {
            return entry.second.axis_of_dim[d] >= 0 && !entry.second.part_file.empty();
          });
      if (accumulator == family.arrays.end()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "no variable of {} has the dimension {} to combine along",
                          family.files[0].source, dims[d]);
      }
      const ArrayAccumulator& a = accumulator->second;
      size_t per_part = 0;
      for (int axis : a.axis_of_dim) per_part += axis >= 0 ? 2 : 0;
      size_t slot = 0;
      for (size_t k = 0; k < d; ++k) slot += a.axis_of_dim[k] >= 0 ? 2 : 0;
      for (size_t p = 0; p < a.part_file.size(); ++p) {
        const uint64_t length = a.part_extent[p * per_part + slot];
        family.files[a.part_file[p]].block.resize(dims.size());
        family.files[a.part_file[p]].block[d] = p;
        dim_blocks.values.emplace_back();
        dim_blocks.start.push_back(dim_blocks.length);
        dim_blocks.lengths.push_back(length);
        dim_blocks.example_file.push_back(a.part_file[p]);
        dim_blocks.unit_blocks = dim_blocks.unit_blocks && length == 1;
        dim_blocks.length += length;
      }
      continue;
    }
    // Blocks by their first value; files sharing a first value must agree on all values.
    std::map<double, size_t> first_file_of;  // first value -> a file
    for (size_t f = 0; f < family.files.size(); ++f) {
      const std::vector<double>& values = family.files[f].values[d];
      if (values.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "{} has no values along {}",
                          family.files[f].source, dims[d]);
      }
      auto [it, inserted] = first_file_of.emplace(values.front(), f);
      if (!inserted && family.files[it->second].values[d] != values) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "{} and {} both start at {} = {} but differ after it (overlapping {} values)",
            family.files[it->second].source, family.files[f].source, dims[d], values.front(),
            dims[d]);
      }
    }
    bool descending = false;
    for (const auto& [first_value, f] : first_file_of) {
      const std::vector<double>& values = family.files[f].values[d];
      if (values.size() > 1) {
        descending = values[1] < values[0];
        break;
      }
    }
    std::vector<std::pair<double, size_t>> ordered(first_file_of.begin(), first_file_of.end());
    if (descending) std::reverse(ordered.begin(), ordered.end());
    std::map<double, uint64_t> block_of_first;
    std::optional<double> step;
    bool regular_step = true;
    for (const auto& [first_value, f] : ordered) {
      const std::vector<double>& values = family.files[f].values[d];
      for (size_t i = 1; i < values.size(); ++i) {
        const double delta = values[i] - values[i - 1];
        if ((descending ? -delta : delta) <= 0) {
          return make_error(ErrorCode::kInvalidArgument,
                            "{}: the {} values are not monotonic ({} then {} at index {})",
                            family.files[f].source, dims[d], values[i - 1], values[i], i);
        }
        if (!step) step = delta;
        regular_step = regular_step && delta == *step;
      }
    }
    for (size_t b = 0; b < ordered.size(); ++b) {
      const size_t f = ordered[b].second;
      const std::vector<double>& values = family.files[f].values[d];
      if (b > 0) {
        const std::vector<double>& previous = dim_blocks.values.back();
        const size_t previous_file = dim_blocks.example_file.back();
        const bool overlaps =
            descending ? values.front() >= previous.back() : values.front() <= previous.back();
        if (overlaps) {
          return make_error(ErrorCode::kInvalidArgument,
                            "{} and {} overlap along {}: {} ends at {} and {} starts at {}",
                            family.files[previous_file].source, family.files[f].source, dims[d],
                            family.files[previous_file].source, previous.back(),
                            family.files[f].source, values.front());
        }
        if (step && regular_step && values.front() - previous.back() != *step) {
          warnings.push_back(
              fmt::format("gap along {} between {} (ends at {}) and {} (starts at {}); the step "
                          "elsewhere is {}",
                          dims[d], family.files[previous_file].source, previous.back(),
                          family.files[f].source, values.front(), *step));
        }
      }
      block_of_first[ordered[b].first] = b;
      dim_blocks.values.push_back(values);
      dim_blocks.start.push_back(dim_blocks.length);
      dim_blocks.lengths.push_back(values.size());
      dim_blocks.example_file.push_back(f);
      dim_blocks.unit_blocks = dim_blocks.unit_blocks && values.size() == 1;
      dim_blocks.length += values.size();
    }
    for (FileRecord& file : family.files) {
      file.block.resize(dims.size());
      file.block[d] = block_of_first.at(file.values[d].front());
    }
  }
  // Every cell of the grid holds exactly one file.
  std::vector<uint64_t> counts;
  for (const DimensionBlocks& dim_blocks : blocks)
    counts.push_back(std::max<size_t>(dim_blocks.lengths.size(), 1));
  std::vector<uint32_t> cell_file(family.files.size(), UINT32_MAX);
  uint64_t cells = 1;
  for (uint64_t count : counts) cells = cells > family.files.size() ? cells : cells * count;
  auto describe_cell = [&](const std::vector<uint64_t>& cell) {
    std::vector<std::string> parts;
    for (size_t d = 0; d < dims.size(); ++d) {
      if (blocks[d].values.empty() || blocks[d].values[cell[d]].empty()) continue;
      parts.push_back(fmt::format("{}={}", dims[d], blocks[d].values[cell[d]].front()));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  };
  if (cells == family.files.size()) {
    for (size_t f = 0; f < family.files.size(); ++f) {
      const uint64_t cell = chunk_number(family.files[f].block, counts);
      if (cell_file[cell] != UINT32_MAX) {
        return make_error(ErrorCode::kInvalidArgument, "{} and {} are both at {}: duplicate files",
                          family.files[cell_file[cell]].source, family.files[f].source,
                          describe_cell(family.files[f].block));
      }
      cell_file[cell] = static_cast<uint32_t>(f);
    }
    return blocks;
  }
  // Fewer or more files than cells: name a duplicate or a missing cell.
  std::map<std::vector<uint64_t>, size_t> seen;
  for (size_t f = 0; f < family.files.size(); ++f) {
    auto [it, inserted] = seen.emplace(family.files[f].block, f);
    if (!inserted) {
      return make_error(ErrorCode::kInvalidArgument, "{} and {} are both at {}: duplicate files",
                        family.files[it->second].source, family.files[f].source,
                        describe_cell(family.files[f].block));
    }
  }
  for (uint64_t cell = 0; cell <= family.files.size(); ++cell) {
    std::vector<uint64_t> position = chunk_coordinates(cell, counts);
    if (!seen.count(position)) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "no file for {} ({} files for a grid of {} along {}); the files must fill the grid",
          describe_cell(position), family.files.size(), fmt::join(counts, " x "),
          fmt::join(dims, ", "));
    }
  }
  return make_error(ErrorCode::kInternal, "files do not fill the grid");
}

Result<VirtualDataset> Combiner::State::finish_family(Family& family) {
  FLOE_ASSIGN_OR_RETURN(std::vector<DimensionBlocks> blocks, place_files(family));
  for (auto& [path, accumulator] : family.arrays)
    FLOE_RETURN_IF_ERROR(build_array(family, accumulator, blocks));
  // The stack dimension's coordinate.
  if (!options.stack_dim.empty() && !find_coordinate(family.first.root, options.stack_dim)) {
    const DimensionBlocks& stack = blocks[stack_index()];
    VirtualArray coordinate;
    coordinate.name = options.stack_dim;
    coordinate.dims = {options.stack_dim};
    coordinate.shape = {stack.length};
    coordinate.chunk_shape = {std::max<uint64_t>(stack.length, 1)};
    bool integral = true;
    for (const auto& values : stack.values)
      integral = integral && values.front() == std::floor(values.front());
    coordinate.data_type = integral ? "int64" : "float64";
    coordinate.element_size = 8;
    coordinate.fill_value = integral ? Json(0) : Json("NaN");
    coordinate.codecs = uncompressed_codecs(8);
    coordinate.dimension_coordinate = true;
    coordinate.in_memory = true;
    std::vector<uint8_t> bytes(stack.length * 8);
    for (size_t b = 0; b < stack.values.size(); ++b) {
      const double value = stack.values[b].front();
      if (integral) {
        const auto as_integer = static_cast<int64_t>(value);
        std::memcpy(bytes.data() + b * 8, &as_integer, 8);
      } else {
        std::memcpy(bytes.data() + b * 8, &value, 8);
      }
    }
    coordinate.inline_chunks.emplace(0, bytes_of(bytes));
    family.first.root.arrays.insert(family.first.root.arrays.begin(), std::move(coordinate));
  }
  return std::move(family.first);
}

Status Combiner::State::build_array(Family& family, ArrayAccumulator& accumulator,
                                    const std::vector<DimensionBlocks>& blocks) {
  VirtualArray& array = *accumulator.array;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (accumulator.axis_of_dim[d] >= 0) array.shape[accumulator.axis_of_dim[d]] = blocks[d].length;
  }
  if (accumulator.combined_coordinate || array.in_memory)
    return build_values(family, accumulator, blocks);
  return build_refs(family, accumulator, blocks);
}

// In-memory arrays: combined coordinates from the blocks' values; arrays along combined dimensions
// assembled from every file's values; arrays that differ between files stacked along the dimensions
// files have one step of.
Status Combiner::State::build_values(Family& family, ArrayAccumulator& accumulator,
                                     const std::vector<DimensionBlocks>& blocks) {
  VirtualArray& array = *accumulator.array;
  FLOE_ASSIGN_OR_RETURN(zarr::DataType type, data_type_of(array));
  const size_t size = type.size;
  if (accumulator.combined_coordinate) {
    const size_t d = std::find(dims.begin(), dims.end(), array.name) - dims.begin();
    const DimensionBlocks& dim_blocks = blocks[d];
    if (dim_blocks.values.front().empty())
      return ok_status();  // no values: kept as the first file's
    std::vector<uint8_t> bytes(dim_blocks.length * size);
    uint64_t index = 0;
    for (const auto& values : dim_blocks.values) {
      for (double value : values) store_double(bytes.data() + (index++) * size, type, value);
    }
    if (!dim_blocks.units.empty()) {
      array.attributes["units"] = dim_blocks.units;
      if (!dim_blocks.calendar.empty()) array.attributes["calendar"] = dim_blocks.calendar;
    }
    array.chunk_shape = {std::max<uint64_t>(dim_blocks.length, 1)};
    array.inline_chunks.clear();
    if (dim_blocks.length > 0) array.inline_chunks.emplace(0, bytes_of(bytes));
    return ok_status();
  }
  if (!accumulator.varies) return ok_status();
  // Along combined axes: each file's values at its block's offsets. Otherwise stacked along unit
  // dimensions.
  std::vector<size_t> stack_dims;
  if (!accumulator.has_combined_axis()) {
    for (size_t d = 0; d < dims.size(); ++d) {
      if (blocks[d].unit_blocks && !blocks[d].values.empty()) stack_dims.push_back(d);
    }
    if (stack_dims.empty()) {
      const size_t f = accumulator.first_differing_file;
      return make_error(ErrorCode::kInvalidArgument,
                        "{} and {} differ in variable {} and no combined dimension has one value "
                        "per file to stack "
                        "it along; leave it out with --drop {} or make it a per-file coordinate",
                        family.files[0].source, family.files[f].source, accumulator.path,
                        array.name);
    }
    for (auto it = stack_dims.rbegin(); it != stack_dims.rend(); ++it) {
      array.dims.insert(array.dims.begin(), dims[*it]);
      array.shape.insert(array.shape.begin(), blocks[*it].length);
    }
  }
  std::vector<uint64_t> file_shape = array.shape;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (accumulator.axis_of_dim[d] >= 0)
      file_shape[accumulator.axis_of_dim[d]] = 0;  // per file below
  }
  std::vector<uint8_t> fill = filled(1, std::vector<uint8_t>(size, 0));
  if (auto fill_bytes = zarr::fill_value_bytes(type, array.fill_value); fill_bytes.ok())
    fill = *fill_bytes;
  std::vector<uint8_t> whole = filled(element_count(array.shape), fill);
  for (size_t f = 0; f < family.files.size(); ++f) {
    const FileRecord& file = family.files[f];
    std::vector<uint64_t> origin(array.shape.size(), 0), extent = array.shape;
    size_t axis_offset = 0;
    for (size_t d : stack_dims) {
      origin[axis_offset] = blocks[d].start[file.block[d]];
      extent[axis_offset] = 1;
      ++axis_offset;
    }
    for (size_t d = 0; d < dims.size(); ++d) {
      const int axis = accumulator.axis_of_dim[d];
      if (axis < 0) continue;
      origin[axis] = blocks[d].start[file.block[d]];
      extent[axis] = blocks[d].lengths[file.block[d]];
    }
    const Bytes& values = accumulator.values[f];
    if (values.size() != element_count(extent) * size) {
      return make_error(ErrorCode::kInvalidArgument, "{}: variable {} holds {} bytes, expected {}",
                        file.source, accumulator.path, values.size(), element_count(extent) * size);
    }
    scatter(reinterpret_cast<const uint8_t*>(values.data()), extent, whole.data(), array.shape,
            offset_positions(origin, extent), extent, size);
  }
  array.chunk_shape.clear();
  for (uint64_t extent : array.shape) array.chunk_shape.push_back(std::max<uint64_t>(extent, 1));
  array.inline_chunks.clear();
  if (!whole.empty()) array.inline_chunks.emplace(0, bytes_of(whole));
  accumulator.values.clear();
  return ok_status();
}

// Referencing arrays: per combined axis, the chunk offset of each block; the grid regular when
// every file's chunks tile the axis, else single steps (uncompressed data) or rectilinear; then
// each reference renumbered.
Status Combiner::State::build_refs(Family& family, ArrayAccumulator& accumulator,
                                   const std::vector<DimensionBlocks>& blocks) {
  VirtualArray& array = *accumulator.array;
  const size_t rank = array.shape.size();
  std::vector<size_t> combined_dims;
  for (size_t d = 0; d < dims.size(); ++d)
    if (accumulator.axis_of_dim[d] >= 0) combined_dims.push_back(d);
  const size_t per_part = combined_dims.size() * 2;
  if (combined_dims.empty()) {  // the first file's references, as they were
    array.refs = std::move(accumulator.refs);
    for (auto& [file, chunk, bytes] : accumulator.inline_parts)
      array.inline_chunks.emplace(chunk, std::move(bytes));
    return ok_status();
  }
  // Per combined dimension and block: length and chunk length (the files of one block must agree).
  struct BlockChunks {
    uint64_t length = 0, chunk = 0;
    size_t file = 0;
  };
  std::vector<std::vector<BlockChunks>> block_chunks(combined_dims.size());
  for (size_t k = 0; k < combined_dims.size(); ++k)
    block_chunks[k].resize(blocks[combined_dims[k]].start.size());
  for (size_t p = 0; p < accumulator.part_file.size(); ++p) {
    const FileRecord& file = family.files[accumulator.part_file[p]];
    for (size_t k = 0; k < combined_dims.size(); ++k) {
      BlockChunks& block = block_chunks[k][file.block[combined_dims[k]]];
      const uint64_t length = accumulator.part_extent[p * per_part + 2 * k];
      const uint64_t chunk = accumulator.part_extent[p * per_part + 2 * k + 1];
      if (block.chunk == 0) {
        block = {length, chunk, accumulator.part_file[p]};
      } else if (block.chunk != chunk) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "{} and {} differ in variable {}: chunk length along {} {} vs {} (files at the same {} "
            "must be chunked alike)",
            family.files[block.file].source, file.source, accumulator.path, dims[combined_dims[k]],
            block.chunk, chunk, dims[combined_dims[k]]);
      }
    }
  }
  // Each combined axis: regular, single steps, or rectilinear.
  enum class AxisGrid { kRegular, kSingleSteps, kRectilinear };
  std::vector<AxisGrid> grids(combined_dims.size(), AxisGrid::kRegular);
  std::vector<std::vector<uint64_t>> chunk_offset(combined_dims.size());  // per block
  std::vector<uint64_t> global_counts = chunk_counts(array);
  std::vector<std::vector<uint64_t>> edges(rank);
  const uint64_t slab_bytes = [&] {
    uint64_t bytes = array.element_size;
    for (size_t axis = 1; axis < rank; ++axis)
      bytes *= std::max<uint64_t>(array.chunk_shape[axis], 1);
    return bytes;
  }();
  for (size_t k = 0; k < combined_dims.size(); ++k) {
    const size_t axis = accumulator.axis_of_dim[combined_dims[k]];
    const std::vector<BlockChunks>& per_block = block_chunks[k];
    bool regular = true;
    for (size_t b = 0; b < per_block.size(); ++b) {
      if (per_block[b].chunk != per_block[0].chunk) regular = false;
      if (b + 1 < per_block.size() && per_block[b].length % per_block[b].chunk != 0)
        regular = false;
    }
    const bool splittable = axis == 0 && uncompressed(array) && accumulator.inline_parts.empty();
    if (!regular) {
      if (options.grid != ChunkGridPolicy::kRectilinear && splittable) {
        grids[k] = AxisGrid::kSingleSteps;
      } else if (options.grid == ChunkGridPolicy::kRegular) {
        return make_error(
            ErrorCode::kUnsupported,
            "variable {}: the files' chunks along {} do not tile it regularly ({} has {} in chunks "
            "of "
            "{}) and its chunks are compressed, so they cannot be cut into single steps; use "
            "--chunk-grid auto for a rectilinear grid",
            accumulator.path, dims[combined_dims[k]], family.files[per_block[0].file].source,
            per_block[0].length, per_block[0].chunk);
      } else {
        grids[k] = AxisGrid::kRectilinear;
      }
    }
    uint64_t offset = 0;
    for (size_t b = 0; b < per_block.size(); ++b) {
      chunk_offset[k].push_back(offset);
      const uint64_t length = per_block[b].length, chunk = per_block[b].chunk;
      const uint64_t local = grids[k] == AxisGrid::kSingleSteps
                                 ? length
                                 : (length + chunk - 1) / std::max<uint64_t>(chunk, 1);
      offset += local;
      if (grids[k] != AxisGrid::kRectilinear) continue;
      for (uint64_t c = 0; c + 1 < local; ++c) edges[axis].push_back(chunk);
      const uint64_t rest = length - (local - 1) * chunk;
      const bool last_block = b + 1 == per_block.size();
      if (rest < chunk && !last_block && !(axis == 0 && uncompressed(array))) {
        return make_error(
            ErrorCode::kUnsupported,
            "variable {}: {} has {} along {} in chunks of {}, so its last chunk holds {} and is "
            "stored "
            "compressed at full size; no Zarr chunk grid can place the next file right after it. "
            "Rechunk the files so their length along {} is a multiple of the chunk length",
            accumulator.path, family.files[per_block[b].file].source, length,
            dims[combined_dims[k]], chunk, rest, dims[combined_dims[k]]);
      }
      // The last file's last chunk may reach past the array as stored (compressed chunks are full
      // size).
      edges[axis].push_back(rest < chunk && last_block && !uncompressed(array) ? chunk : rest);
    }
    global_counts[axis] = offset;
    if (grids[k] == AxisGrid::kSingleSteps) array.chunk_shape[axis] = 1;
    if (grids[k] == AxisGrid::kRectilinear) {
      array.chunk_shape[axis] = *std::max_element(edges[axis].begin(), edges[axis].end());
      array.chunk_edges.resize(rank);
      array.chunk_edges[axis] = edges[axis];
    } else if (grids[k] == AxisGrid::kRegular) {
      array.chunk_shape[axis] = per_block[0].chunk;
    }
    if (grids[k] != AxisGrid::kRegular) {
      warnings.push_back(fmt::format(
          "variable {}: the files' chunks along {} do not tile it regularly; {}", accumulator.path,
          dims[combined_dims[k]],
          grids[k] == AxisGrid::kSingleSteps
              ? "its uncompressed chunks are referenced one step at a time"
              : "the repository uses a rectilinear chunk grid (zarr-python reads it with "
                "zarr.config.set({'array.rectilinear_chunks': True}))"));
    }
  }
  const bool split = std::find(grids.begin(), grids.end(), AxisGrid::kSingleSteps) != grids.end();
  // Renumber: each file part's chunks from its own grid to the combined one.
  ChunkManifest& refs = accumulator.refs;
  ChunkManifest split_refs;
  std::vector<uint64_t> local_counts(rank);
  const std::vector<uint64_t> template_counts = [&] {
    std::vector<uint64_t> counts;
    for (size_t axis = 0; axis < rank; ++axis) {
      counts.push_back(std::max<uint64_t>(1, (array.shape[axis] + array.chunk_shape[axis] - 1) /
                                                 std::max<uint64_t>(array.chunk_shape[axis], 1)));
    }
    return counts;
  }();
  std::vector<uint64_t> file_chunk(rank);
  std::set<std::vector<uint64_t>>
      seen_positions;  // arrays along some combined dimensions only: first file wins
  std::map<uint64_t, Bytes> inline_chunks;
  size_t next_inline = 0;
  for (size_t p = 0; p < accumulator.part_file.size(); ++p) {
    const FileRecord& file = family.files[accumulator.part_file[p]];
    std::vector<uint64_t> position;
    for (size_t d : combined_dims) position.push_back(file.block[d]);
    const bool duplicate = !seen_positions.insert(position).second;
    // The file's own grid.
    for (size_t axis = 0; axis < rank; ++axis) {
      local_counts[axis] = template_counts[axis];
      file_chunk[axis] = array.chunk_shape[axis];
    }
    std::vector<uint64_t> length_of(rank, 0);
    for (size_t k = 0; k < combined_dims.size(); ++k) {
      const size_t axis = accumulator.axis_of_dim[combined_dims[k]];
      const uint64_t length = accumulator.part_extent[p * per_part + 2 * k];
      const uint64_t chunk = accumulator.part_extent[p * per_part + 2 * k + 1];
      local_counts[axis] = std::max<uint64_t>(1, (length + chunk - 1) / chunk);
      file_chunk[axis] = chunk;
      length_of[axis] = length;
    }
    const uint64_t first = accumulator.part_first[p];
    const uint64_t end =
        p + 1 < accumulator.part_first.size() ? accumulator.part_first[p + 1] : refs.size();
    auto place = [&](uint64_t local, std::vector<uint64_t>& coords) {
      coords = chunk_coordinates(local, local_counts);
      for (size_t k = 0; k < combined_dims.size(); ++k) {
        const size_t axis = accumulator.axis_of_dim[combined_dims[k]];
        const uint64_t offset = chunk_offset[k][file.block[combined_dims[k]]];
        coords[axis] =
            offset +
            (grids[k] == AxisGrid::kSingleSteps ? coords[axis] * file_chunk[axis] : coords[axis]);
      }
    };
    std::vector<uint64_t> coords;
    for (uint64_t i = first; i < end; ++i) {
      if (duplicate) {
        refs.set_chunk(i, UINT64_MAX);
        continue;
      }
      place(refs.chunk(i), coords);
      if (!split) {
        refs.set_chunk(i, chunk_number(coords, global_counts));
        // A partial chunk followed by another file's: only its rows are referenced.
        if (!array.chunk_edges.empty() && !array.chunk_edges[0].empty() && uncompressed(array)) {
          const uint64_t rows = array.chunk_edges[0][coords[0]];
          refs.set_length(i, std::min(refs.length(i), rows * slab_bytes));
        }
        continue;
      }
      // Single steps along axis 0: one reference per row of the chunk.
      const uint64_t local_row0 = chunk_coordinates(refs.chunk(i), local_counts)[0] * file_chunk[0];
      const uint64_t rows = std::min(file_chunk[0], length_of[0] - local_row0);
      const uint32_t path = split_refs.intern(refs.path(i));
      for (uint64_t r = 0; r < rows; ++r) {
        if ((r + 1) * slab_bytes > refs.length(i)) {
          return make_error(
              ErrorCode::kInvalidArgument,
              "{}: variable {} chunk {} holds {} bytes, fewer than its {} rows of {} bytes",
              file.source, accumulator.path, refs.chunk(i), refs.length(i), rows, slab_bytes);
        }
        std::vector<uint64_t> row = coords;
        row[0] += r;
        split_refs.add(chunk_number(row, global_counts), path, refs.offset(i) + r * slab_bytes,
                       slab_bytes);
      }
    }
    while (next_inline < accumulator.inline_parts.size() &&
           std::get<0>(accumulator.inline_parts[next_inline]) == accumulator.part_file[p]) {
      auto& [owner, local, bytes] = accumulator.inline_parts[next_inline++];
      if (duplicate) continue;
      place(local, coords);
      inline_chunks.emplace(chunk_number(coords, global_counts), std::move(bytes));
    }
  }
  if (split) {
    array.refs = std::move(split_refs);
  } else {
    // Drop duplicates' references (marked above) by compacting.
    bool any_duplicate = false;
    for (size_t i = 0; i < refs.size() && !any_duplicate; ++i)
      any_duplicate = refs.chunk(i) == UINT64_MAX;
    if (any_duplicate) {
      ChunkManifest kept;
      for (size_t i = 0; i < refs.size(); ++i) {
        if (refs.chunk(i) != UINT64_MAX)
          kept.add(refs.chunk(i), kept.intern(refs.path(i)), refs.offset(i), refs.length(i));
      }
      array.refs = std::move(kept);
    } else {
      array.refs = std::move(refs);
    }
  }
  array.inline_chunks = std::move(inline_chunks);
  accumulator.refs = ChunkManifest();
  return ok_status();
}

}  // namespace floe::virt
