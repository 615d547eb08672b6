// The CSV sink: the whole (small) selection buffered in C order, then one row per element with the
// values of its coordinates, written by finish(). Fields are quoted as RFC 4180 says.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "floe/read/output.h"
#include "floe/read/output_support.h"

namespace floe::read {
namespace {

using zarr::DataType;
using zarr::TypeKind;

constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

template <typename T>
T load(const std::uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

bool converts_to_double(const DataType& type) {
  switch (type.kind) {
    case TypeKind::kBool:
    case TypeKind::kInt:
    case TypeKind::kUInt:
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64:
      return type.size == 1 || type.size == 2 || type.size == 4 || type.size == 8;
    case TypeKind::kFloat:
      return type.size == 2 || type.size == 4 || type.size == 8;
    default:
      return false;
  }
}

// For coordinate formatters; only types converts_to_double() accepts.
double element_as_double(const DataType& type, const std::uint8_t* bytes) {
  bool is_signed = type.kind == TypeKind::kInt || type.kind == TypeKind::kDateTime64 ||
                   type.kind == TypeKind::kTimeDelta64;
  if (type.kind == TypeKind::kFloat) {
    if (type.size == 2) return zarr::half_to_float(load<std::uint16_t>(bytes));
    if (type.size == 4) return load<float>(bytes);
    return load<double>(bytes);
  }
  switch (type.size) {
    case 1:
      return is_signed ? load<std::int8_t>(bytes) : load<std::uint8_t>(bytes);
    case 2:
      return is_signed ? load<std::int16_t>(bytes) : load<std::uint16_t>(bytes);
    case 4:
      return is_signed ? load<std::int32_t>(bytes) : load<std::uint32_t>(bytes);
    default:
      return is_signed ? static_cast<double>(load<std::int64_t>(bytes))
                       : static_cast<double>(load<std::uint64_t>(bytes));
  }
}

void append_field(fmt::memory_buffer& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

template <typename T>
void append_integer(fmt::memory_buffer& out, const std::uint8_t* bytes) {
  fmt::format_to(std::back_inserter(out), "{}", load<T>(bytes));
}

// numpy's spelling for what Python's float() cannot name differently: nan, inf, -inf.
void append_element(fmt::memory_buffer& out, const DataType& type, const std::uint8_t* bytes) {
  auto it = std::back_inserter(out);
  switch (type.kind) {
    case TypeKind::kBool:
      out.append(std::string_view(bytes[0] != 0 ? "true" : "false"));
      return;
    case TypeKind::kInt:
    case TypeKind::kUInt: {
      bool is_signed = type.kind == TypeKind::kInt;
      switch (type.size) {
        case 1:
          return is_signed ? append_integer<std::int8_t>(out, bytes)
                           : append_integer<std::uint8_t>(out, bytes);
        case 2:
          return is_signed ? append_integer<std::int16_t>(out, bytes)
                           : append_integer<std::uint16_t>(out, bytes);
        case 4:
          return is_signed ? append_integer<std::int32_t>(out, bytes)
                           : append_integer<std::uint32_t>(out, bytes);
        default:
          return is_signed ? append_integer<std::int64_t>(out, bytes)
                           : append_integer<std::uint64_t>(out, bytes);
      }
    }
    case TypeKind::kFloat:
      if (type.size == 2) {
        fmt::format_to(it, "{}", zarr::half_to_float(load<std::uint16_t>(bytes)));
      } else if (type.size == 4) {
        fmt::format_to(it, "{}", load<float>(bytes));
      } else {
        fmt::format_to(it, "{}", load<double>(bytes));
      }
      return;
    case TypeKind::kComplex:
      if (type.size == 8) {
        fmt::format_to(it, "({}{:+}j)", load<float>(bytes), load<float>(bytes + 4));
      } else {
        fmt::format_to(it, "({}{:+}j)", load<double>(bytes), load<double>(bytes + 8));
      }
      return;
    case TypeKind::kDateTime64:
    case TypeKind::kTimeDelta64: {
      auto value = load<std::int64_t>(bytes);
      if (value == std::numeric_limits<std::int64_t>::min()) {
        out.append(std::string_view("NaT"));
      } else {
        fmt::format_to(it, "{}", value);
      }
      return;
    }
    case TypeKind::kFixedUtf32:
      append_field(out, detail::utf32_to_utf8({bytes, type.size}));
      return;
    case TypeKind::kFixedBytes: {
      std::size_t length = type.size;
      while (length > 0 && bytes[length - 1] == 0) --length;
      append_field(out, std::string_view(reinterpret_cast<const char*>(bytes), length));
      return;
    }
    case TypeKind::kRawBytes:
      out.append(std::string_view("0x"));
      for (std::uint32_t i = 0; i < type.size; ++i) fmt::format_to(it, "{:02x}", bytes[i]);
      return;
  }
}

// One column before the variable's: a dimension (its coordinate or the index) or another
// coordinate.
struct Column {
  std::string header;
  const OutputCoordinate* coordinate = nullptr;  // null: print the index along `dim`
  int dim = -1;                                  // index into the variable's dims; -1 for a scalar
  const CoordinateFormatter* formatter = nullptr;
};

class CsvOutput final : public OutputSink {
 public:
  CsvOutput(OutputVariable variable, std::map<std::string, CoordinateFormatter> formatters,
            std::unique_ptr<detail::TemporaryOutputFile> file, std::FILE* stream,
            std::string output_name, std::uint64_t elements, bool fsync)
      : variable_(std::move(variable)),
        formatters_(std::move(formatters)),
        file_(std::move(file)),
        stream_(stream),
        output_name_(std::move(output_name)),
        values_(elements * variable_.data_type.size),
        coverage_(elements),
        fsync_(fsync) {
    for (std::size_t d = 0; d < variable_.dims.size(); ++d) {
      Column column{.header = variable_.dims[d], .dim = static_cast<int>(d)};
      for (const OutputCoordinate& coordinate : variable_.coordinates) {
        if (coordinate.name == variable_.dims[d] && coordinate.dim == coordinate.name) {
          column.coordinate = &coordinate;
        }
      }
      columns_.push_back(column);
    }
    for (const OutputCoordinate& coordinate : variable_.coordinates) {
      if (coordinate.name == coordinate.dim) continue;
      int dim = -1;
      for (std::size_t d = 0; d < variable_.dims.size(); ++d) {
        if (variable_.dims[d] == coordinate.dim) dim = static_cast<int>(d);
      }
      columns_.push_back(Column{.header = coordinate.name, .coordinate = &coordinate, .dim = dim});
    }
    for (Column& column : columns_) {
      if (column.coordinate == nullptr) continue;
      auto found = formatters_.find(column.coordinate->name);
      if (found != formatters_.end()) column.formatter = &found->second;
    }
  }

  Status write_block(std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                     std::span<const std::uint8_t> data) override {
    if (finished_)
      return make_error(ErrorCode::kInternal, "output {}: a block after finish()", output_name_);
    FLOE_ASSIGN_OR_RETURN(
        std::uint64_t elements,
        detail::validate_block(variable_, start, count, data.size(), output_name_));
    FLOE_RETURN_IF_ERROR(detail::for_each_contiguous_run(
        variable_.shape, start, count, variable_.data_type.size,
        [&](std::uint64_t output_offset, std::uint64_t block_offset, std::uint64_t length) {
          std::memcpy(values_.data() + output_offset, data.data() + block_offset, length);
          return ok_status();
        }));
    coverage_.add(elements);
    return ok_status();
  }

  Status finish() override {
    if (finished_)
      return make_error(ErrorCode::kInternal, "output {}: finish() twice", output_name_);
    finished_ = true;
    FLOE_RETURN_IF_ERROR(coverage_.check_complete(output_name_));
    FLOE_RETURN_IF_ERROR(write_rows());
    if (file_) return file_->commit(fsync_);
    if (std::fflush(stream_) != 0 || std::ferror(stream_)) {
      return make_error(ErrorCode::kIo, "write {}: {}", output_name_, std::strerror(errno));
    }
    return ok_status();
  }

 private:
  Status emit(fmt::memory_buffer& buffer) {
    if (file_) {
      std::size_t done = 0;
      while (done < buffer.size()) {
        ssize_t wrote = ::write(file_->descriptor(), buffer.data() + done, buffer.size() - done);
        if (wrote < 0) {
          if (errno == EINTR) continue;
          return std::move(detail::errno_error(errno, "write", file_->temporary_path()))
              .add_context(fmt::format("writing {}", output_name_));
        }
        done += static_cast<std::size_t>(wrote);
      }
    } else if (std::fwrite(buffer.data(), 1, buffer.size(), stream_) != buffer.size()) {
      return make_error(ErrorCode::kIo, "write {}: {}", output_name_, std::strerror(errno));
    }
    buffer.clear();
    return ok_status();
  }

  void append_coordinate(fmt::memory_buffer& out, const Column& column, std::uint64_t index) {
    const OutputCoordinate& coordinate = *column.coordinate;
    const std::uint8_t* element = coordinate.values.data() + index * coordinate.data_type.size;
    if (column.formatter != nullptr) {
      append_field(out, (*column.formatter)(element_as_double(coordinate.data_type, element)));
    } else {
      append_element(out, coordinate.data_type, element);
    }
  }

  Status write_rows() {
    fmt::memory_buffer out;
    for (const Column& column : columns_) {
      append_field(out, column.header);
      out.push_back(',');
    }
    append_field(out, variable_.name);
    out.push_back('\n');
    std::size_t rank = variable_.shape.size();
    std::vector<std::uint64_t> index(rank, 0);
    std::uint64_t elements = values_.size() / variable_.data_type.size;
    for (std::uint64_t flat = 0; flat < elements; ++flat) {
      for (const Column& column : columns_) {
        std::uint64_t position = column.dim < 0 ? 0 : index[static_cast<std::size_t>(column.dim)];
        if (column.coordinate == nullptr) {
          fmt::format_to(std::back_inserter(out), "{}", position);
        } else {
          append_coordinate(out, column, position);
        }
        out.push_back(',');
      }
      append_element(out, variable_.data_type, values_.data() + flat * variable_.data_type.size);
      out.push_back('\n');
      for (std::size_t d = rank; d > 0; --d) {
        if (++index[d - 1] < variable_.shape[d - 1]) break;
        index[d - 1] = 0;
      }
      if (out.size() >= kFlushBytes) FLOE_RETURN_IF_ERROR(emit(out));
    }
    return emit(out);
  }

  OutputVariable variable_;
  std::map<std::string, CoordinateFormatter> formatters_;
  std::unique_ptr<detail::TemporaryOutputFile> file_;  // null when writing to `stream_`
  std::FILE* stream_;
  std::string output_name_;
  std::vector<std::uint8_t> values_;
  std::vector<Column> columns_;
  detail::BlockCoverage coverage_;
  bool fsync_;
  bool finished_ = false;
};

Result<std::uint64_t> check_csv_variable(const std::string& output_name,
                                         const OutputVariable& variable,
                                         const OutputOptions& options) {
  FLOE_RETURN_IF_ERROR(detail::validate_variable(variable, output_name));
  FLOE_ASSIGN_OR_RETURN(
      std::uint64_t elements,
      detail::checked_element_count(variable.shape, variable.data_type.size, output_name));
  if (elements > options.csv_max_elements) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "output {}: the selection of \"{}\" has {} elements, more than the {} CSV takes (CSV is "
        "for points and small selections); write .nc or .npy instead, or select less",
        output_name, variable.name, elements, options.csv_max_elements);
  }
  for (const auto& [name, formatter] : options.csv_formatters) {
    for (const OutputCoordinate& coordinate : variable.coordinates) {
      if (coordinate.name == name && !converts_to_double(coordinate.data_type)) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "output {}: coordinate \"{}\" holds {}, which a number formatter cannot format",
            output_name, name, coordinate.data_type.name());
      }
    }
    (void)formatter;
  }
  return elements;
}

}  // namespace

Result<std::unique_ptr<OutputSink>> open_csv_stream(std::FILE* stream, std::string stream_name,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options) {
  FLOE_ASSIGN_OR_RETURN(std::uint64_t elements, check_csv_variable(stream_name, variable, options));
  return std::unique_ptr<OutputSink>(new CsvOutput(
      variable, options.csv_formatters, nullptr, stream, std::move(stream_name), elements, false));
}

Result<std::unique_ptr<OutputSink>> open_csv_output(const std::string& path,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options) {
  if (path == "-") return open_csv_stream(stdout, "standard output", variable, options);
  FLOE_ASSIGN_OR_RETURN(std::uint64_t elements, check_csv_variable(path, variable, options));
  FLOE_ASSIGN_OR_RETURN(auto file, detail::TemporaryOutputFile::create(path));
  return std::unique_ptr<OutputSink>(new CsvOutput(
      variable, options.csv_formatters, std::move(file), nullptr, path, elements, options.fsync));
}

}  // namespace floe::read
