// The .npy sink: NumPy format 1.0/2.0 header, a preallocated file, blocks written with pwrite in
// place. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "floe/read/output.h"
#include "floe/read/output_support.h"

namespace floe::read {
namespace {

using detail::errno_error;

// numpy aligns the data to 64 bytes (ARRAY_ALIGN in numpy/lib/format.py).
constexpr std::size_t kDataAlignment = 64;

// Magic, version and header length, then the dict padded with spaces and ended by '\n'.
std::string npy_header(const OutputVariable& variable) {
  std::string shape;
  if (variable.shape.size() == 1) {
    shape = fmt::format("({},)", variable.shape[0]);
  } else {
    shape = fmt::format("({})", fmt::join(variable.shape, ", "));
  }
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 variable.data_type.numpy_descr(), shape);
  // Version 1.0 stores the header length in 2 bytes, 2.0 in 4.
  int version = 1;
  std::size_t prefix = 10;
  std::size_t total =
      (prefix + dict.size() + 1 + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
  if (total - prefix > 65535) {
    version = 2;
    prefix = 12;
    total = (prefix + dict.size() + 1 + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
  }
  std::size_t header_length = total - prefix;
  std::string header("\x93NUMPY", 6);
  header += static_cast<char>(version);
  header += '\0';
  for (std::size_t i = 0; i < prefix - 8; ++i)
    header += static_cast<char>((header_length >> (8 * i)) & 0xff);
  header += dict;
  header.append(total - header.size() - 1, ' ');
  header += '\n';
  return header;
}

Status pwrite_fully(int descriptor, const std::uint8_t* data, std::uint64_t length,
                    std::uint64_t offset, const std::string& path) {
  std::uint64_t done = 0;
  while (done < length) {
    ssize_t wrote =
        ::pwrite(descriptor, data + done, length - done, static_cast<off_t>(offset + done));
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return errno_error(
          errno, fmt::format("write {} bytes at offset {} of", length, offset + done), path);
    }
    done += static_cast<std::uint64_t>(wrote);
  }
  return ok_status();
}

class NpyOutput final : public OutputSink {
 public:
  NpyOutput(OutputVariable variable, std::unique_ptr<detail::TemporaryOutputFile> file,
            std::uint64_t data_offset, std::uint64_t elements, bool fsync)
      : variable_(std::move(variable)),
        file_(std::move(file)),
        data_offset_(data_offset),
        coverage_(elements),
        fsync_(fsync) {}

  Status write_block(std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                     std::span<const std::uint8_t> data) override {
    const std::string& path = file_->final_path();
    if (finished_)
      return make_error(ErrorCode::kInternal, "output {}: a block after finish()", path);
    FLOE_ASSIGN_OR_RETURN(std::uint64_t elements,
                          detail::validate_block(variable_, start, count, data.size(), path));
    FLOE_RETURN_IF_ERROR(detail::for_each_contiguous_run(
        variable_.shape, start, count, variable_.data_type.size,
        [&](std::uint64_t output_offset, std::uint64_t block_offset, std::uint64_t length) {
          return pwrite_fully(file_->descriptor(), data.data() + block_offset, length,
                              data_offset_ + output_offset, file_->temporary_path());
        }));
    coverage_.add(elements);
    return ok_status();
  }

  Status finish() override {
    const std::string& path = file_->final_path();
    if (finished_) return make_error(ErrorCode::kInternal, "output {}: finish() twice", path);
    finished_ = true;
    FLOE_RETURN_IF_ERROR(coverage_.check_complete(path));
    return file_->commit(fsync_);
  }

 private:
  OutputVariable variable_;
  std::unique_ptr<detail::TemporaryOutputFile> file_;
  std::uint64_t data_offset_;
  detail::BlockCoverage coverage_;
  bool fsync_;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> open_npy_output(const std::string& path,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options) {
  FLOE_RETURN_IF_ERROR(detail::validate_variable(variable, path));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t elements, detail::checked_element_count(
                                                    variable.shape, variable.data_type.size, path));
  std::string header = npy_header(variable);
  FLOE_ASSIGN_OR_RETURN(auto file, detail::TemporaryOutputFile::create(path));
  FLOE_RETURN_IF_ERROR(pwrite_fully(file->descriptor(),
                                    reinterpret_cast<const std::uint8_t*>(header.data()),
                                    header.size(), 0, file->temporary_path()));
  // The whole file at once: blocks land at their offsets in any order; a full disk shows up on
  // write.
  std::uint64_t file_size = header.size() + elements * variable.data_type.size;
  if (::ftruncate(file->descriptor(), static_cast<off_t>(file_size)) != 0) {
    return std::move(errno_error(errno, fmt::format("extend to {} bytes", file_size),
                                 file->temporary_path()))
        .add_context(fmt::format("writing {}", path));
  }
  return std::unique_ptr<OutputSink>(
      new NpyOutput(variable, std::move(file), header.size(), elements, options.fsync));
}

}  // namespace floe::read
