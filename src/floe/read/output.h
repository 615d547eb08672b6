// Output sinks of `floe read`: the selection arrives in blocks and streams into NetCDF-4, .npy or
// CSV.
//
// The reader hands a selection to a sink as blocks: hyperslabs of the OUTPUT array, each in C
// order, in any order. Every element must be covered by exactly one block; finish() checks that the
// blocks added up to the whole array and then moves the file into place. A file never appears under
// its final name half written: it is written under `.<name>.floe-tmp-<pid>-<random>` in the same
// directory and renamed by finish(); a sink destroyed without finish() (an error, a cancelled read)
// removes its temporary.
//
// Threads: write_block() may be called from several threads at once for disjoint blocks. The .npy
// sink writes with pwrite and takes no lock; the CSV sink copies into disjoint parts of its buffer;
// the NetCDF sink serializes libnetcdf calls under one process-wide lock (libnetcdf is not
// thread-safe, so its compression runs on one core at a time); statistics are computed per block
// without a lock and merged under one. finish() and the destructor must not run concurrently with
// write_block().
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/zarr/data_type.h"

namespace floe::read {

using Json = nlohmann::json;

// A coordinate that goes along with the variable: 1-D along one of its dimensions (`dim`), or a
// scalar
// (`dim` empty, one element). A coordinate whose name equals its dim is that dimension's
// coordinate.
struct OutputCoordinate {
  std::string name;
  std::string dim;
  zarr::DataType data_type;
  std::vector<std::uint8_t> values;  // every element, little-endian, C order
  Json attributes = Json::object();
};

struct OutputVariable {
  std::string name;
  std::vector<std::string> dims;
  std::vector<std::uint64_t> shape;
  zarr::DataType data_type;  // of the values handed to write_block (raw or CF-decoded float)
  std::vector<std::uint8_t> fill_value;  // element bytes; empty: no fill value
  Json attributes = Json::object();  // written as attributes (CF ones included when values are raw)
  std::vector<OutputCoordinate> coordinates;
  Json global_attributes = Json::object();
};

// Turns a coordinate value into CSV text, e.g. CF time offsets into ISO dates.
using CoordinateFormatter = std::function<std::string(double)>;

struct OutputOptions {
  // The shape of the largest block the reader will hand in (empty: unknown). NetCDF chunks are
  // chosen to divide it, so aligned blocks never split a chunk between two writes.
  std::vector<std::uint64_t> block_shape;
  int deflate_level = 1;  // NetCDF: 0 disables deflate and shuffle
  std::uint64_t target_chunk_bytes = std::uint64_t{4}
                                     << 20;     // NetCDF: chunks at most this (or one row)
  bool fsync = true;                            // fsync the file before the rename
  std::uint64_t csv_max_elements = 10'000'000;  // CSV: larger selections are refused
  // CSV: formatter per coordinate name (dimension coordinates are named like their dimension).
  // Coordinates without one print their raw values.
  std::map<std::string, CoordinateFormatter> csv_formatters;
};

class OutputSink {
 public:
  virtual ~OutputSink();
  OutputSink() = default;
  OutputSink(const OutputSink&) = delete;
  OutputSink& operator=(const OutputSink&) = delete;

  // One block of the output in C order: `start` and `count` per dimension of the OUTPUT array (both
  // empty for a 0-d variable); `data` holds product(count) * element size bytes, little-endian.
  virtual Status write_block(std::span<const std::uint64_t> start,
                             std::span<const std::uint64_t> count,
                             std::span<const std::uint8_t> data) = 0;
  // Checks that the blocks covered the array, flushes, fsyncs and renames the temporary into place.
  // Called once; after it, write_block() fails.
  virtual Status finish() = 0;
};

// NetCDF-4 (HDF5) with dimensions, the variable (deflate + shuffle, chunked), coordinate variables
// and attributes. Types: ints and floats as themselves, float16 widened to float (netCDF has no
// half), bool as NC_BYTE with the attribute dtype = "bool" (xarray turns it back into bool), fixed
// bytes as NC_CHAR along an extra `string<N>` dimension, fixed UTF-32 as NC_STRING,
// datetime64/timedelta64 as NC_INT64 with CF units. Complex and raw bytes are refused (use .npy).
Result<std::unique_ptr<OutputSink>> open_netcdf_output(const std::string& path,
                                                       const OutputVariable& variable,
                                                       const OutputOptions& options = {});

// NumPy .npy, format 1.0 (2.0 when the header exceeds 65535 bytes), any data type numpy_descr()
// names. Coordinates and attributes are not stored (.npy holds one array).
Result<std::unique_ptr<OutputSink>> open_npy_output(const std::string& path,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options = {});

// CSV: a header of the dimension names, the other coordinates' names and the variable's name, then
// one row per element in C order with the coordinate values (the index where a dimension has no
// coordinate). Meant for points and small selections: more than options.csv_max_elements elements
// are refused. "-" writes to standard output. Rows are buffered and written by finish().
Result<std::unique_ptr<OutputSink>> open_csv_output(const std::string& path,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options = {});
// The same into an open stream (not closed; flushed by finish()). `stream_name` is used in
// messages.
Result<std::unique_ptr<OutputSink>> open_csv_stream(std::FILE* stream, std::string stream_name,
                                                    const OutputVariable& variable,
                                                    const OutputOptions& options = {});

// Chooses by extension: .nc (also .nc4), .npy, .csv or "-" (CSV to standard output).
Result<std::unique_ptr<OutputSink>> open_output(const std::string& path,
                                                const OutputVariable& variable,
                                                const OutputOptions& options = {});

}  // namespace floe::read
