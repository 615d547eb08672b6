// What the output sinks share: temporary files renamed into place, block checks, runs, element
// conversions.
#include "floe/read/output_support.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <vector>

namespace floe::read::detail {

static_assert(std::endian::native == std::endian::little,
              "output sinks hand little-endian element bytes straight to the files");

Error errno_error(int err, std::string_view action, std::string_view path) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::kNotFound;
  if (err == EACCES || err == EPERM || err == EROFS) code = ErrorCode::kPermissionDenied;
  if (err == EISDIR) code = ErrorCode::kInvalidArgument;
  return make_error(code, "{} {}: {}", action, path, std::strerror(err));
}

namespace {

std::string temporary_name_for(const std::filesystem::path& final_path) {
  std::random_device device;
  std::uint64_t random = (static_cast<std::uint64_t>(device()) << 32) | device();
  std::filesystem::path name =
      fmt::format(".{}.floe-tmp-{}-{:016x}", final_path.filename().string(),
                  static_cast<long>(::getpid()), random);
  return (final_path.parent_path() / name).string();
}

Status fsync_directory(const std::string& directory) {
  int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) return errno_error(errno, "open directory", directory);
  int status = ::fsync(descriptor);
  int err = errno;
  ::close(descriptor);
  // Some file systems cannot fsync a directory; the rename has happened either way.
  if (status != 0 && err != EINVAL && err != EROFS)
    return errno_error(err, "fsync directory", directory);
  return ok_status();
}

}  // namespace

TemporaryOutputFile::TemporaryOutputFile(std::string final_path, std::string temporary_path,
                                         int descriptor)
    : final_path_(std::move(final_path)),
      temporary_path_(std::move(temporary_path)),
      descriptor_(descriptor) {}

Result<std::unique_ptr<TemporaryOutputFile>> TemporaryOutputFile::create(
    const std::string& final_path) {
  if (final_path.empty())
    return make_error(ErrorCode::kInvalidArgument, "the output path is empty");
  struct stat info {};
  if (::stat(final_path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "output {} is a directory; give a file name such as {}/out.nc", final_path,
                      final_path);
  }
  std::filesystem::path path(final_path);
  if (path.filename().empty()) {
    return make_error(ErrorCode::kInvalidArgument, "output {} names no file (it ends with '/')",
                      final_path);
  }
  std::string temporary = temporary_name_for(path);
  int descriptor = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (descriptor < 0) {
    int err = errno;
    return std::move(errno_error(err, "create temporary file", temporary))
        .add_context(fmt::format("writing {}", final_path));
  }
  return std::unique_ptr<TemporaryOutputFile>(
      new TemporaryOutputFile(final_path, temporary, descriptor));
}

TemporaryOutputFile::~TemporaryOutputFile() {
  if (!committed_) discard();
}

void TemporaryOutputFile::close_descriptor() {
  if (descriptor_ >= 0) ::close(descriptor_);
  descriptor_ = -1;
}

void TemporaryOutputFile::discard() {
  close_descriptor();
  ::unlink(temporary_path_.c_str());
}

Status TemporaryOutputFile::commit(bool fsync) {
  auto fail = [&](Error error) -> Status {
    discard();
    committed_ = true;  // nothing left to remove
    return std::move(error).add_context(fmt::format("writing {}", final_path_));
  };
  if (committed_)
    return make_error(ErrorCode::kInternal, "{} was already moved into place", final_path_);
  if (fsync) {
    int descriptor =
        descriptor_ >= 0 ? descriptor_ : ::open(temporary_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return fail(errno_error(errno, "open", temporary_path_));
    int status = ::fsync(descriptor);
    int err = errno;
    if (descriptor != descriptor_) ::close(descriptor);
    if (status != 0) return fail(errno_error(err, "fsync", temporary_path_));
  }
  if (descriptor_ >= 0) {
    int status = ::close(descriptor_);
    descriptor_ = -1;
    if (status != 0) return fail(errno_error(errno, "close", temporary_path_));
  }
  if (::rename(temporary_path_.c_str(), final_path_.c_str()) != 0) {
    return fail(errno_error(errno, fmt::format("rename {} to", temporary_path_), final_path_));
  }
  committed_ = true;
  if (fsync) {
    std::string directory = std::filesystem::path(final_path_).parent_path().string();
    FLOE_RETURN_IF_ERROR(fsync_directory(directory.empty() ? "." : directory));
  }
  return ok_status();
}

Result<std::uint64_t> checked_element_count(std::span<const std::uint64_t> shape,
                                            std::uint64_t element_size, std::string_view what) {
  std::uint64_t count = 1;
  for (std::uint64_t extent : shape) {
    if (extent != 0 && count > (std::uint64_t{1} << 62) / extent) {
      return make_error(ErrorCode::kInvalidArgument, "{}: the shape has more elements than 2^62",
                        what);
    }
    count *= extent;
  }
  if (element_size != 0 && count > (std::uint64_t{1} << 62) / element_size) {
    return make_error(ErrorCode::kInvalidArgument, "{}: the array has more bytes than 2^62", what);
  }
  return count;
}

Status validate_variable(const OutputVariable& variable, std::string_view output_name) {
  auto bad = [&](std::string message) {
    return make_error(ErrorCode::kInvalidArgument, "output {}: variable \"{}\": {}", output_name,
                      variable.name, message);
  };
  if (variable.name.empty()) return bad("the variable has no name");
  if (variable.dims.size() != variable.shape.size()) {
    return bad(fmt::format("{} dimension names for {} dimensions", variable.dims.size(),
                           variable.shape.size()));
  }
  if (variable.data_type.size == 0) return bad("the data type has no element size");
  FLOE_RETURN_IF_ERROR(checked_element_count(variable.shape, variable.data_type.size, output_name));
  std::set<std::string> dims;
  for (const std::string& dim : variable.dims) {
    if (dim.empty()) return bad("a dimension has no name");
    if (!dims.insert(dim).second) return bad(fmt::format("dimension \"{}\" appears twice", dim));
  }
  if (!variable.fill_value.empty() && variable.fill_value.size() != variable.data_type.size) {
    return bad(fmt::format("the fill value has {} bytes, the data type {} has {}",
                           variable.fill_value.size(), variable.data_type.name(),
                           variable.data_type.size));
  }
  std::set<std::string> names{variable.name};
  for (const OutputCoordinate& coordinate : variable.coordinates) {
    if (coordinate.name.empty()) return bad("a coordinate has no name");
    if (!names.insert(coordinate.name).second) {
      return bad(fmt::format("the name \"{}\" is used twice among the variable and its coordinates",
                             coordinate.name));
    }
    if (coordinate.data_type.size == 0) {
      return bad(fmt::format("coordinate \"{}\" has no element size", coordinate.name));
    }
    std::uint64_t length = 1;
    if (!coordinate.dim.empty()) {
      auto found = std::find(variable.dims.begin(), variable.dims.end(), coordinate.dim);
      if (found == variable.dims.end()) {
        return bad(
            fmt::format("coordinate \"{}\" lies along \"{}\", which is not one of its dimensions",
                        coordinate.name, coordinate.dim));
      }
      length = variable.shape[static_cast<std::size_t>(found - variable.dims.begin())];
    }
    if (coordinate.values.size() != length * coordinate.data_type.size) {
      return bad(fmt::format("coordinate \"{}\" has {} bytes of values, {} elements of {} need {}",
                             coordinate.name, coordinate.values.size(), length,
                             coordinate.data_type.name(), length * coordinate.data_type.size));
    }
  }
  return ok_status();
}

Result<std::uint64_t> validate_block(const OutputVariable& variable,
                                     std::span<const std::uint64_t> start,
                                     std::span<const std::uint64_t> count, std::size_t data_size,
                                     std::string_view output_name) {
  std::size_t rank = variable.shape.size();
  if (start.size() != rank || count.size() != rank) {
    return make_error(
        ErrorCode::kInternal,
        "output {}: a block with {} start and {} count values for a {}-dimensional variable",
        output_name, start.size(), count.size(), rank);
  }
  std::uint64_t elements = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (start[d] > variable.shape[d] || count[d] > variable.shape[d] - start[d]) {
      return make_error(
          ErrorCode::kInternal,
          "output {}: block [{}] + [{}] reaches past the shape [{}] in dimension \"{}\"",
          output_name, fmt::join(start, ", "), fmt::join(count, ", "),
          fmt::join(variable.shape, ", "), variable.dims[d]);
    }
    elements *= count[d];
  }
  if (data_size != elements * variable.data_type.size) {
    return make_error(ErrorCode::kInternal,
                      "output {}: block [{}] + [{}] came with {} bytes, {} elements of {} need {}",
                      output_name, fmt::join(start, ", "), fmt::join(count, ", "), data_size,
                      elements, variable.data_type.name(), elements * variable.data_type.size);
  }
  return elements;
}

Status BlockCoverage::check_complete(std::string_view output_name) const {
  std::uint64_t written = written_.load(std::memory_order_relaxed);
  if (written == total_) return ok_status();
  return make_error(ErrorCode::kInternal,
                    "output {}: the blocks delivered {} elements of {}; the file was not written",
                    output_name, written, total_);
}

Status for_each_contiguous_run(
    std::span<const std::uint64_t> shape, std::span<const std::uint64_t> start,
    std::span<const std::uint64_t> count, std::uint64_t element_size,
    const std::function<Status(std::uint64_t, std::uint64_t, std::uint64_t)>& run) {
  std::size_t rank = shape.size();
  if (rank == 0) return run(0, 0, element_size);
  for (std::uint64_t extent : count) {
    if (extent == 0) return ok_status();
  }
  // Element strides of the output in C order.
  std::vector<std::uint64_t> stride(rank, 1);
  for (std::size_t d = rank - 1; d > 0; --d) stride[d - 1] = stride[d] * shape[d];
  // `merged` is the outermost dimension of the run: every dimension after it is spanned fully.
  std::size_t merged = rank - 1;
  while (merged > 0 && count[merged] == shape[merged]) --merged;
  std::uint64_t run_bytes = count[merged] * stride[merged] * element_size;
  std::vector<std::uint64_t> index(merged, 0);  // position within the block in the outer dimensions
  std::uint64_t block_offset = 0;
  while (true) {
    std::uint64_t element = start[merged] * stride[merged];
    for (std::size_t d = 0; d < merged; ++d) element += (start[d] + index[d]) * stride[d];
    FLOE_RETURN_IF_ERROR(run(element * element_size, block_offset, run_bytes));
    block_offset += run_bytes;
    std::size_t d = merged;
    while (d > 0) {
      --d;
      if (++index[d] < count[d]) break;
      index[d] = 0;
      if (d == 0) return ok_status();
    }
    if (merged == 0) return ok_status();
  }
}

std::string utf32_to_utf8(std::span<const std::uint8_t> element) {
  std::size_t code_points = element.size() / 4;
  auto code_point_at = [&](std::size_t i) {
    return static_cast<std::uint32_t>(element[4 * i]) |
           static_cast<std::uint32_t>(element[4 * i + 1]) << 8 |
           static_cast<std::uint32_t>(element[4 * i + 2]) << 16 |
           static_cast<std::uint32_t>(element[4 * i + 3]) << 24;
  };
  // numpy strips trailing NULs only; an embedded NUL is part of the string.
  while (code_points > 0 && code_point_at(code_points - 1) == 0) --code_points;
  std::string out;
  out.reserve(code_points);
  for (std::size_t i = 0; i < code_points; ++i) {
    std::uint32_t c = code_point_at(i);
    if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

}  // namespace floe::read::detail
