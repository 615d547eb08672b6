// Combining many files' datasets into one: along existing dimensions ordered by coordinate values
// (concat, nested N-D), along a new dimension (stack), and merging files that hold different
// variables. Files are added one at a time and reduced to their references and a few values, so
// memory grows with references, not files.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/virtual/dataset.h"

namespace floe::virt {

// How a combined axis is chunked when the files' chunks do not tile it regularly (a month of 31
// days in chunks of 10 is followed by one of 28).
enum class ChunkGridPolicy {
  kAuto,  // regular when the chunks tile the axis; else uncompressed chunks cut into single steps;
          // else a rectilinear grid (zarr-python reads it with zarr.config
          // "array.rectilinear_chunks")
  kRegular,      // never rectilinear: single steps where the data allows, else an error
  kRectilinear,  // rectilinear whenever the chunks do not tile the axis regularly
};

struct CombineOptions {
  // Dimensions the files are combined along, outermost first (--nested dims, then --concat-dim).
  // Each file's place along one comes from its coordinate variable of that name; a dimension
  // without one is allowed only when it is the only one, and then the files' order is used.
  std::vector<std::string> dims;
  // A new dimension the files are stacked along (--stack-dim): it goes in front of every variable
  // that differs between files. Its values are `stack_values` (one per file, in the order files are
  // added), or a scalar variable of that name in each file, or 0, 1, 2 ...
  std::string stack_dim;
  std::vector<double> stack_values;
  ChunkGridPolicy grid = ChunkGridPolicy::kAuto;
};

// What a combination did, besides the dataset.
struct CombineReport {
  uint64_t files = 0;
  uint64_t references = 0;
  uint64_t manifest_bytes = 0;  // memory of the combined chunk manifests
  std::vector<std::string> warnings;
};

// The first value of the file's in-memory coordinate of `dim` (where a file starts along it), if it
// has one.
std::optional<double> first_coordinate_value(const VirtualDataset& file, const std::string& dim);

class Combiner {
 public:
  explicit Combiner(CombineOptions options);
  ~Combiner();
  Combiner(Combiner&&) noexcept;
  Combiner& operator=(Combiner&&) noexcept;

  // Adds one file's dataset (its small arrays already loaded: coordinates must be in memory to
  // place it). Structural differences from the first file with the same variables are errors naming
  // both files.
  Status add(VirtualDataset file);
  // Orders the files, checks they tile the combined dimensions (gaps, overlaps, duplicates, missing
  // cells are errors or warnings naming the files), and builds the dataset.
  Result<VirtualDataset> finish(CombineReport* report = nullptr);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace floe::virt
