// What the output sinks share: the temporary file renamed into place, block validation and
// coverage, the walk over a block's contiguous runs, and element conversions (float16, UTF-32).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "floe/core/result.h"
#include "floe/read/output.h"

namespace floe::read::detail {

// Errors of POSIX calls: the code follows errno (missing directory: kNotFound, EACCES:
// kPermissionDenied).
Error errno_error(int err, std::string_view action, std::string_view path);

// A file written under `.<name>.floe-tmp-<pid>-<random>` next to its final path, renamed by
// commit().
class TemporaryOutputFile {
 public:
  // Creates the temporary exclusively (mode 0666 less the umask) after checking that the final path
  // is not a directory. Errors name the final path and the temporary.
  static Result<std::unique_ptr<TemporaryOutputFile>> create(const std::string& final_path);
  ~TemporaryOutputFile();  // closes and removes the temporary unless committed
  TemporaryOutputFile(const TemporaryOutputFile&) = delete;
  TemporaryOutputFile& operator=(const TemporaryOutputFile&) = delete;

  int descriptor() const { return descriptor_; }
  const std::string& temporary_path() const { return temporary_path_; }
  const std::string& final_path() const { return final_path_; }
  // For writers that open the file by name themselves (libnetcdf truncates and rewrites it).
  void close_descriptor();
  // fsync (when asked), close, rename over the final path, fsync the directory. On failure the
  // temporary is removed.
  Status commit(bool fsync);

 private:
  TemporaryOutputFile(std::string final_path, std::string temporary_path, int descriptor);
  void discard();

  std::string final_path_;
  std::string temporary_path_;
  int descriptor_ = -1;
  bool committed_ = false;
};

// Product of `shape`, or an error naming `what` when it overflows 64 bits.
Result<std::uint64_t> checked_element_count(std::span<const std::uint64_t> shape,
                                            std::uint64_t element_size, std::string_view what);

// Shared checks of a variable before any sink opens: dims/shape agree, names unique, coordinates
// lie along one of the dims with the right number of values, the fill value has the element size.
Status validate_variable(const OutputVariable& variable, std::string_view output_name);

// Checks a block against the variable's shape and returns its element count. Messages name
// `output_name`.
Result<std::uint64_t> validate_block(const OutputVariable& variable,
                                     std::span<const std::uint64_t> start,
                                     std::span<const std::uint64_t> count, std::size_t data_size,
                                     std::string_view output_name);

// Counts the elements blocks have delivered, so finish() can tell a complete output from one with
// holes.
class BlockCoverage {
 public:
  explicit BlockCoverage(std::uint64_t total_elements) : total_(total_elements) {}
  void add(std::uint64_t elements) { written_.fetch_add(elements, std::memory_order_relaxed); }
  // kInternal naming `output_name` unless exactly every element was delivered once.
  Status check_complete(std::string_view output_name) const;

 private:
  std::uint64_t total_;
  std::atomic<std::uint64_t> written_{0};
};

// Calls `run(output_byte_offset, block_byte_offset, byte_count)` for each contiguous run of a block
// inside the C-order output array, in block order. Trailing dimensions the block spans fully merge
// into one run.
Status for_each_contiguous_run(
    std::span<const std::uint64_t> shape, std::span<const std::uint64_t> start,
    std::span<const std::uint64_t> count, std::uint64_t element_size,
    const std::function<Status(std::uint64_t, std::uint64_t, std::uint64_t)>& run);


// UTF-32LE code points (stopping at the first NUL, as numpy does) as UTF-8; invalid ones become
// U+FFFD.
std::string utf32_to_utf8(std::span<const std::uint8_t> element);

}  // namespace floe::read::detail
