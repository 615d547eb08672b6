// The NetCDF-4 sink through libnetcdf: dimensions, coordinates, attributes, a chunked and deflated
// variable written block by block with nc_put_vara. Conventions: NetCDF User Guide (attributes,
// _FillValue), CF 1.11 section 5 (the "coordinates" attribute), and xarray's encodings of bool
// (dtype = "bool") and datetime64.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netcdf.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "floe/read/output.h"
#include "floe/read/output_support.h"

namespace floe::read {
namespace {

using zarr::DataType;
using zarr::TypeKind;

// libnetcdf (and the HDF5 under it, as Debian builds it) keeps process-wide state and is not
// thread-safe: every call in this file holds this lock.
std::mutex& libnetcdf_lock() {
  static std::mutex lock;
  return lock;
}

Error netcdf_error(int status, std::string_view action, std::string_view path) {
  ErrorCode code =
      status == NC_ENOMEM || status == NC_EHDFERR || status == NC_EIO || status == NC_EPERM
          ? ErrorCode::kIo
          : ErrorCode::kInvalidArgument;
  return make_error(code, "netCDF: {} {}: {}", action, path, nc_strerror(status));
}

// How the elements handed to write_block become netCDF values.
enum class Conversion {
  kNone,               // same bytes
  kHalfToFloat,        // float16 widened to NC_FLOAT
  kUtf32ToString,      // fixed UTF-32 to NC_STRING (UTF-8)
  kFixedBytesAsChars,  // fixed bytes as NC_CHAR along an extra string dimension
};

struct NetcdfType {
  nc_type type = NC_NAT;
  Conversion conversion = Conversion::kNone;
  std::uint32_t string_length = 0;  // kFixedBytesAsChars
  std::string time_units;           // datetime64/timedelta64: the CF unit word ("seconds")
  bool is_datetime = false;
  bool is_bool = false;
  bool numeric() const { return type != NC_CHAR && type != NC_STRING; }
};

Result<std::string> cf_time_unit(const DataType& type, std::string_view what) {
  if (type.scale != 1) {
    return make_error(
        ErrorCode::kUnsupported,
        "{} has data type {} with a unit scale of {}; netCDF units cannot say that: write .npy",
        what, type.name(), type.scale);
  }
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"W", "weeks"},   {"D", "days"},          {"h", "hours"},         {"m", "minutes"},
      {"s", "seconds"}, {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}};
  for (const auto& [numpy_unit, cf_unit] : kUnits) {
    if (type.unit == numpy_unit) return std::string(cf_unit);
  }
  return make_error(
      ErrorCode::kUnsupported,
      "{} has data type {} (unit \"{}\"), which CF time units cannot express; write .npy", what,
      type.name(), type.unit);
}

Result<NetcdfType> netcdf_type_of(const DataType& type, std::string_view what) {
  NetcdfType out;
  switch (type.kind) {
    case TypeKind::kBool:
      out.type = NC_BYTE;
      out.is_bool = true;
      return out;
    case TypeKind::kInt:
    case TypeKind::kUInt: {
      bool is_signed = type.kind == TypeKind::kInt;
      switch (type.size) {
        case 1:
          out.type = is_signed ? NC_BYTE : NC_UBYTE;
          return out;
        case 2:
          out.type = is_signed ? NC_SHORT : NC_USHORT;
          return out;
        case 4:
          out.type = is_signed ? NC_INT : NC_UINT;
          return out;
        case 8:
          out.type = is_signed ? NC_INT64 : NC_UINT64;
          return out;
        default:
          break;
      }
      break;
    }
    case TypeKind::kFloat:
      if (type.size == 2) {
        out.type = NC_FLOAT;
        out.conversion = Conversion::kHalfToFloat;
        return out;
      }
      if (type.size == 4 || type.size == 8) {
        out.type = type.size == 4 ? NC_FLOAT : NC_DOUBLE;
        return out;
      }
      break;
    case TypeKind::kComplex:
      return make_error(
          ErrorCode::kUnsupported,
          "{} is {}: netCDF has no complex type; write .npy instead (numpy keeps complex values)",
          what, type.name());
    case TypeKind::kRawBytes:
      return make_error(
          ErrorCode::kUnsupported,
          "{} is {} (opaque bytes), which floe does not write to netCDF; write .npy instead", what,
          type.name());
    case TypeKind::kFixedUtf32:
      out.type = NC_STRING;
      out.conversion = Conversion::kUtf32ToString;
      return out;
    case TypeKind::kFixedBytes:
      out.type = NC_CHAR;
      out.conversion = Conversion::kFixedBytesAsChars;
      out.string_length = type.size;
      return out;
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64: {
      FLOE_ASSIGN_OR_RETURN(out.time_units, cf_time_unit(type, what));
      out.type = NC_INT64;
      out.is_datetime = type.kind == TypeKind::kDateTime64;
      return out;
    }
  }
  return make_error(ErrorCode::kUnsupported,
                    "{} has data type {}, which floe cannot write to netCDF", what, type.name());
}

// Attributes libnetcdf computes or reserves (nc4internal.h NC_RESERVED_*): writing them fails or
// corrupts what ncdump reads back.
bool is_reserved_attribute(std::string_view name) {
  static constexpr std::string_view kReserved[] = {
      "_NCProperties",
      "_IsNetcdf4",
      "_SuperblockVersion",
      "_Format",
      "_Netcdf4Dimid",
      "_Netcdf4Coordinates",
      "_Codecs",
      "_nc3_strict",
      "DIMENSION_LIST",
      "CLASS",
      "NAME",
      "REFERENCE_LIST",
      "_Storage",
      "_ChunkSizes",
      "_Filter",
      "_DeflateLevel",
      "_Shuffle",
      "_Endianness",
      "_NoFill",
      "_Fletcher32",
      "_QuantizeBitGroomNumberOfSignificantDigits",
      "_QuantizeGranularBitRoundNumberOfSignificantDigits",
      "_QuantizeBitRoundNumberOfSignificantBits"};
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

// CF wants these in the variable's own type (NUG "Attribute Conventions"; CF 2.5.1).
bool takes_variable_type(std::string_view name) {
  return name == "missing_value" || name == "valid_min" || name == "valid_max" ||
         name == "valid_range";
}

class AttributeWriter {
 public:
  AttributeWriter(int ncid, int varid, std::string owner, const std::string& path)
      : ncid_(ncid), varid_(varid), owner_(std::move(owner)), path_(path) {}

  // Numbers become NC_INT64 (NC_UINT64 above INT64_MAX) or NC_DOUBLE, booleans NC_BYTE, strings
  // text, arrays of strings NC_STRING; `value_type` (the variable's type) is used for the CF
  // attributes that take it. Objects and mixed arrays are written as their JSON text; null and
  // empty arrays are left out.
  Status put(const std::string& name, const Json& value, std::optional<nc_type> value_type) {
    if (value.is_null()) return ok_status();
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      return check(nc_put_att_text(ncid_, varid_, name.c_str(), text.size(), text.data()), name);
    }
    Json items = value.is_array() ? value : Json::array({value});
    if (value.is_object() || items.empty()) {
      if (items.empty()) return ok_status();
      return put_text(name, value.dump());
    }
    bool all_bool = true, all_string = true, all_number = true, any_float = false,
         any_negative = false, any_above_int64 = false;
    for (const Json& item : items) {
      all_bool = all_bool && item.is_boolean();
      all_string = all_string && item.is_string();
      all_number = all_number && item.is_number();
      any_float = any_float || item.is_number_float();
      any_negative = any_negative || (item.is_number_integer() && !item.is_number_unsigned() &&
                                      item.get<std::int64_t>() < 0);
      any_above_int64 = any_above_int64 ||
                        (item.is_number_unsigned() &&
                         item.get<std::uint64_t>() >
                             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    }
    if (all_bool) {
      std::vector<signed char> flags;
      for (const Json& item : items) flags.push_back(item.get<bool>() ? 1 : 0);
      return check(
          nc_put_att_schar(ncid_, varid_, name.c_str(), NC_BYTE, flags.size(), flags.data()), name);
    }
    if (all_string) {
      std::vector<std::string> strings;
      std::vector<const char*> pointers;
      for (const Json& item : items) strings.push_back(item.get<std::string>());
      for (const std::string& s : strings) pointers.push_back(s.c_str());
      return check(nc_put_att_string(ncid_, varid_, name.c_str(), pointers.size(), pointers.data()),
                   name);
    }
    if (!all_number) return put_text(name, value.dump());
    if (value_type && takes_variable_type(name)) {
      int status = put_numbers(name, items, *value_type, any_float, any_negative, any_above_int64);
      if (status == NC_NOERR) return ok_status();
      if (status != NC_ERANGE) return check(status, name);
      // Out of the variable's range: keep the values in a wider type rather than lose them.
    }
    nc_type wide = any_float || (any_negative && any_above_int64) ? NC_DOUBLE
                   : any_above_int64                              ? NC_UINT64
                                                                  : NC_INT64;
    return check(put_numbers(name, items, wide, any_float, any_negative, any_above_int64), name);
  }

  Status put_text(const std::string& name, const std::string& text) {
    return check(nc_put_att_text(ncid_, varid_, name.c_str(), text.size(), text.data()), name);
  }

 private:
  int put_numbers(const std::string& name, const Json& items, nc_type type, bool any_float,
                  bool any_negative, bool any_above_int64) {
    if (any_float || (any_negative && any_above_int64)) {
      std::vector<double> numbers;
      for (const Json& item : items) numbers.push_back(item.get<double>());
      return nc_put_att_double(ncid_, varid_, name.c_str(), type, numbers.size(), numbers.data());
    }
    if (any_above_int64) {
      std::vector<unsigned long long> numbers;  // NOLINT(google-runtime-int): libnetcdf's type
      for (const Json& item : items) numbers.push_back(item.get<std::uint64_t>());
      return nc_put_att_ulonglong(ncid_, varid_, name.c_str(), type, numbers.size(),
                                  numbers.data());
    }
    std::vector<long long> numbers;  // NOLINT(google-runtime-int): libnetcdf's type
    for (const Json& item : items) numbers.push_back(item.get<std::int64_t>());
    return nc_put_att_longlong(ncid_, varid_, name.c_str(), type, numbers.size(), numbers.data());
  }

  Status check(int status, const std::string& name) {
    if (status == NC_NOERR) return ok_status();
    return netcdf_error(status, fmt::format("write attribute \"{}\" of {} in", name, owner_),
                        path_);
  }

  int ncid_;
  int varid_;
  std::string owner_;
  const std::string& path_;
};

// Chunks no larger than the blocks (and dividing them when that keeps them at least half the wanted
// size), shrunk from the outermost dimension in until one holds at most `target_bytes`.
std::vector<std::size_t> choose_chunk_shape(const std::vector<std::uint64_t>& shape,
                                            const std::vector<std::uint64_t>& block_shape,
                                            std::uint64_t element_size,
                                            std::uint64_t target_bytes) {
  std::size_t rank = shape.size();
  bool have_blocks = block_shape.size() == rank;
  std::vector<std::uint64_t> base(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    base[d] =
        std::max<std::uint64_t>(1, have_blocks ? std::min(shape[d], block_shape[d]) : shape[d]);
  }
  std::vector<std::uint64_t> chunk = base;
  for (std::size_t d = 0; d < rank; ++d) {
    std::uint64_t inner_bytes = element_size;
    for (std::size_t e = d + 1; e < rank; ++e) inner_bytes *= chunk[e];
    if (chunk[d] * inner_bytes <= target_bytes) break;
    std::uint64_t wanted = std::max<std::uint64_t>(1, target_bytes / inner_bytes);
    std::uint64_t divisor = wanted;
    if (have_blocks) {
      while (divisor > 1 && base[d] % divisor != 0) --divisor;
      if (divisor * 2 < wanted) divisor = wanted;
    }
    chunk[d] = divisor;
  }
  return {chunk.begin(), chunk.end()};
}

class NetcdfOutput final : public OutputSink {
 public:
  NetcdfOutput(OutputVariable variable, std::unique_ptr<detail::TemporaryOutputFile> file,
               bool fsync)
      : variable_(std::move(variable)),
        file_(std::move(file)),
        coverage_(detail::checked_element_count(variable_.shape, 1, "").value_or(0)),
        fsync_(fsync) {}

  ~NetcdfOutput() override {
    if (ncid_ >= 0) {
      std::lock_guard lock(libnetcdf_lock());
      nc_close(ncid_);
    }
  }

  Status define(const OutputOptions& options) {
    const std::string& path = file_->final_path();
    FLOE_ASSIGN_OR_RETURN(
        NetcdfType type,
        netcdf_type_of(variable_.data_type, fmt::format("variable \"{}\"", variable_.name)));
    variable_type_ = type;
    std::vector<NetcdfType> coordinate_types;
    for (const OutputCoordinate& coordinate : variable_.coordinates) {
      FLOE_ASSIGN_OR_RETURN(
          NetcdfType coordinate_type,
          netcdf_type_of(coordinate.data_type, fmt::format("coordinate \"{}\"", coordinate.name)));
      coordinate_types.push_back(std::move(coordinate_type));
    }
    file_->close_descriptor();  // libnetcdf truncates and rewrites the temporary by name

    std::lock_guard lock(libnetcdf_lock());
    auto check = [&](int status, std::string_view action) -> Status {
      if (status == NC_NOERR) return ok_status();
      return std::move(netcdf_error(status, action, file_->temporary_path()))
          .add_context(fmt::format("writing {}", path));
    };
    FLOE_RETURN_IF_ERROR(check(
        nc_create(file_->temporary_path().c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid_), "create"));

    AttributeWriter global(ncid_, NC_GLOBAL, "the file", path);
    if (variable_.global_attributes.is_object()) {
      for (const auto& [name, value] : variable_.global_attributes.items()) {
        if (is_reserved_attribute(name)) continue;
        FLOE_RETURN_IF_ERROR(global.put(name, value, std::nullopt));
      }
    }

    for (std::size_t d = 0; d < variable_.dims.size(); ++d) {
      int dimid = -1;
      FLOE_RETURN_IF_ERROR(
          check(nc_def_dim(ncid_, variable_.dims[d].c_str(), variable_.shape[d], &dimid),
                fmt::format("define dimension \"{}\" in", variable_.dims[d])));
      dimids_.push_back(dimid);
    }

    std::vector<std::string> auxiliary_names;
    for (std::size_t c = 0; c < variable_.coordinates.size(); ++c) {
      const OutputCoordinate& coordinate = variable_.coordinates[c];
      std::vector<int> dimids;
      if (!coordinate.dim.empty()) {
        auto found = std::find(variable_.dims.begin(), variable_.dims.end(), coordinate.dim);
        dimids.push_back(dimids_[static_cast<std::size_t>(found - variable_.dims.begin())]);
      }
      if (coordinate.name != coordinate.dim) auxiliary_names.push_back(coordinate.name);
      FLOE_ASSIGN_OR_RETURN(int varid,
                            define_variable(coordinate.name, coordinate_types[c], dimids, check));
      coordinate_varids_.push_back(varid);
      FLOE_RETURN_IF_ERROR(put_attributes(varid, fmt::format("coordinate \"{}\"", coordinate.name),
                                          coordinate.data_type, coordinate_types[c],
                                          coordinate.attributes, {}, check));
    }

    FLOE_ASSIGN_OR_RETURN(varid_, define_variable(variable_.name, type, dimids_, check));
    std::string owner = fmt::format("variable \"{}\"", variable_.name);
    if (!dimids_.empty()) {
      std::uint64_t element_size =
          type.conversion == Conversion::kHalfToFloat ? 4 : variable_.data_type.size;
      std::vector<std::size_t> chunks = choose_chunk_shape(
          variable_.shape, options.block_shape, element_size, options.target_chunk_bytes);
      if (type.conversion == Conversion::kFixedBytesAsChars) chunks.push_back(type.string_length);
      FLOE_RETURN_IF_ERROR(check(nc_def_var_chunking(ncid_, varid_, NC_CHUNKED, chunks.data()),
                                 fmt::format("set the chunking of {} in", owner)));
      if (options.deflate_level > 0 && type.type != NC_STRING) {
        int shuffle = element_size > 1 && type.type != NC_CHAR ? 1 : 0;
        FLOE_RETURN_IF_ERROR(
            check(nc_def_var_deflate(ncid_, varid_, shuffle, 1, std::min(options.deflate_level, 9)),
                  fmt::format("set the compression of {} in", owner)));
      }
    }
    FLOE_RETURN_IF_ERROR(put_attributes(varid_, owner, variable_.data_type, type,
                                        variable_.attributes, variable_.fill_value, check));
    if (!auxiliary_names.empty()) {
      AttributeWriter writer(ncid_, varid_, owner, path);
      FLOE_RETURN_IF_ERROR(
          writer.put_text("coordinates", fmt::format("{}", fmt::join(auxiliary_names, " "))));
    }
    FLOE_RETURN_IF_ERROR(check(nc_enddef(ncid_), "end the definitions of"));

    for (std::size_t c = 0; c < variable_.coordinates.size(); ++c) {
      const OutputCoordinate& coordinate = variable_.coordinates[c];
      std::vector<std::uint64_t> start, count;
      if (!coordinate.dim.empty()) {
        start.push_back(0);
        count.push_back(coordinate.values.size() / coordinate.data_type.size);
      }
      FLOE_RETURN_IF_ERROR(put_values(coordinate_varids_[c], coordinate_types[c],
                                      coordinate.data_type.size, start, count, coordinate.values,
                                      fmt::format("coordinate \"{}\"", coordinate.name)));
    }
    return ok_status();
  }

  Status write_block(std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                     std::span<const std::uint8_t> data) override {
    const std::string& path = file_->final_path();
    if (finished_)
      return make_error(ErrorCode::kInternal, "output {}: a block after finish()", path);
    FLOE_ASSIGN_OR_RETURN(std::uint64_t elements,
                          detail::validate_block(variable_, start, count, data.size(), path));
    if (elements == 0) return ok_status();
    {
      std::lock_guard lock(libnetcdf_lock());
      FLOE_RETURN_IF_ERROR(put_values(varid_, variable_type_, variable_.data_type.size, start,
                                      count, data, fmt::format("variable \"{}\"", variable_.name)));
    }
    coverage_.add(elements);
    return ok_status();
  }

  Status finish() override {
    const std::string& path = file_->final_path();
    if (finished_) return make_error(ErrorCode::kInternal, "output {}: finish() twice", path);
    finished_ = true;
    FLOE_RETURN_IF_ERROR(coverage_.check_complete(path));
    {
      std::lock_guard lock(libnetcdf_lock());
      int status = nc_close(ncid_);
      ncid_ = -1;
      if (status != NC_NOERR) {
        return std::move(netcdf_error(status, "close", file_->temporary_path()))
            .add_context(fmt::format("writing {}", path));
      }
    }
    return file_->commit(fsync_);
  }

 private:
  using Check = std::function<Status(int, std::string_view)>;

  // The string dimension of fixed-bytes variables, shared by every variable of that length.
  Result<int> string_dimension(std::uint32_t length, const Check& check) {
    auto found = string_dimids_.find(length);
    if (found != string_dimids_.end()) return found->second;
    std::string name = fmt::format("string{}", length);
    while (std::find(variable_.dims.begin(), variable_.dims.end(), name) != variable_.dims.end())
      name += "_";
    int dimid = -1;
    FLOE_RETURN_IF_ERROR(check(nc_def_dim(ncid_, name.c_str(), length, &dimid),
                               fmt::format("define dimension \"{}\" in", name)));
    string_dimids_[length] = dimid;
    return dimid;
  }

  Result<int> define_variable(const std::string& name, const NetcdfType& type,
                              std::vector<int> dimids, const Check& check) {
    if (type.conversion == Conversion::kFixedBytesAsChars) {
      FLOE_ASSIGN_OR_RETURN(int string_dimid, string_dimension(type.string_length, check));
      dimids.push_back(string_dimid);
    }
    int varid = -1;
    FLOE_RETURN_IF_ERROR(check(nc_def_var(ncid_, name.c_str(), type.type,
                                          static_cast<int>(dimids.size()), dimids.data(), &varid),
                               fmt::format("define variable \"{}\" in", name)));
    return varid;
  }

  // The fill value (from `fill_value` bytes, else a `_FillValue` attribute) through
  // nc_def_var_fill, the attributes the encoding implies, then the others.
  Status put_attributes(int varid, const std::string& owner, const DataType& data_type,
                        const NetcdfType& type, const Json& attributes,
                        const std::vector<std::uint8_t>& fill_value, const Check& check) {
    AttributeWriter writer(ncid_, varid, owner, file_->final_path());
    std::vector<std::uint8_t> fill = fill_value;
    if (fill.empty() && attributes.is_object() && attributes.contains("_FillValue")) {
      auto converted = zarr::fill_value_bytes(data_type, attributes["_FillValue"]);
      if (!converted.ok()) {
        return std::move(converted).error().add_context(
            fmt::format("the _FillValue attribute of {} in {}", owner, file_->final_path()));
      }
      fill = std::move(converted).value();
    }
    if (!fill.empty() && type.numeric()) {
      float widened = 0;
      const void* fill_pointer = fill.data();
      if (type.conversion == Conversion::kHalfToFloat) {
        widened = zarr::half_to_float(static_cast<std::uint16_t>(fill[0] | fill[1] << 8));
        fill_pointer = &widened;
      }
      FLOE_RETURN_IF_ERROR(check(nc_def_var_fill(ncid_, varid, 0, fill_pointer),
                                 fmt::format("set the fill value of {} in", owner)));
    }
    std::set<std::string> encoding_attributes;
    if (type.is_bool) {
      FLOE_RETURN_IF_ERROR(writer.put_text("dtype", "bool"));
      encoding_attributes = {"dtype"};
    }
    if (!type.time_units.empty()) {
      if (type.is_datetime) {
        FLOE_RETURN_IF_ERROR(
            writer.put_text("units", type.time_units + " since 1970-01-01T00:00:00"));
        FLOE_RETURN_IF_ERROR(writer.put_text("calendar", "proleptic_gregorian"));
      } else {
        FLOE_RETURN_IF_ERROR(writer.put_text("units", type.time_units));
      }
      encoding_attributes = {"units", "calendar"};
    }
    if (!attributes.is_object()) return ok_status();
    std::optional<nc_type> value_type;
    if (type.numeric()) value_type = type.type;
    for (const auto& [name, value] : attributes.items()) {
      // The fill value went through nc_def_var_fill; "coordinates" would name variables not in this
      // file.
      if (name == "_FillValue" || name == "coordinates" || is_reserved_attribute(name) ||
          encoding_attributes.count(name) != 0) {
        continue;
      }
      FLOE_RETURN_IF_ERROR(writer.put(name, value, value_type));
    }
    return ok_status();
  }

  // Caller holds libnetcdf_lock().
  Status put_values(int varid, const NetcdfType& type, std::uint32_t element_size,
                    std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                    std::span<const std::uint8_t> data, const std::string& owner) {
    std::vector<std::size_t> nc_start(start.begin(), start.end());
    std::vector<std::size_t> nc_count(count.begin(), count.end());
    std::size_t elements = data.size() / element_size;
    int status = NC_NOERR;
    switch (type.conversion) {
      case Conversion::kNone:
        status = nc_put_vara(ncid_, varid, nc_start.data(), nc_count.data(), data.data());
        break;
      case Conversion::kHalfToFloat: {
        std::vector<float> widened(elements);
        for (std::size_t i = 0; i < elements; ++i) {
          widened[i] =
              zarr::half_to_float(static_cast<std::uint16_t>(data[2 * i] | data[2 * i + 1] << 8));
        }
        status = nc_put_vara_float(ncid_, varid, nc_start.data(), nc_count.data(), widened.data());
        break;
      }
      case Conversion::kUtf32ToString: {
        std::vector<std::string> strings(elements);
        std::vector<const char*> pointers(elements);
        for (std::size_t i = 0; i < elements; ++i) {
          strings[i] = detail::utf32_to_utf8(data.subspan(i * element_size, element_size));
          pointers[i] = strings[i].c_str();
        }
        status =
            nc_put_vara_string(ncid_, varid, nc_start.data(), nc_count.data(), pointers.data());
        break;
      }
      case Conversion::kFixedBytesAsChars:
        nc_start.push_back(0);
        nc_count.push_back(type.string_length);
        status = nc_put_vara_text(ncid_, varid, nc_start.data(), nc_count.data(),
                                  reinterpret_cast<const char*>(data.data()));
        break;
    }
    if (status == NC_NOERR) return ok_status();
    return std::move(netcdf_error(status,
                                  fmt::format("write [{}] + [{}] of {} in", fmt::join(start, ", "),
                                              fmt::join(count, ", "), owner),
                                  file_->temporary_path()))
        .add_context(fmt::format("writing {}", file_->final_path()));
  }

  OutputVariable variable_;
  std::unique_ptr<detail::TemporaryOutputFile> file_;
  detail::BlockCoverage coverage_;
  bool fsync_;
  bool finished_ = false;
  int ncid_ = -1;
  int varid_ = -1;
  NetcdfType variable_type_;
  std::vector<int> dimids_;
  std::vector<int> coordinate_varids_;
  std::map<std::uint32_t, int> string_dimids_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> open_netcdf_output(const std::string& path,
                                                       const OutputVariable& variable,
                                                       const OutputOptions& options) {
  FLOE_RETURN_IF_ERROR(detail::validate_variable(variable, path));
  // Refuse types netCDF cannot hold before creating anything.
  FLOE_RETURN_IF_ERROR(netcdf_type_of(
      variable.data_type, fmt::format("output {}: variable \"{}\"", path, variable.name)));
  FLOE_ASSIGN_OR_RETURN(auto file, detail::TemporaryOutputFile::create(path));
  auto sink = std::make_unique<NetcdfOutput>(variable, std::move(file), options.fsync);
  FLOE_RETURN_IF_ERROR(sink->define(options));
  return std::unique_ptr<OutputSink>(std::move(sink));
}

}  // namespace floe::read
