// `floe read --stats`: min, max, mean and counts of a selection, computed as its blocks stream
// past.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "floe/read/output.h"

namespace floe::read {

// An extreme exactly as the element type holds it: int64 for signed integers and
// datetime64/timedelta64, uint64 for unsigned integers and bool, double for floats. monostate when
// no element counted.
using StatValue = std::variant<std::monostate, std::int64_t, std::uint64_t, double>;

struct Stats {
  std::string variable;
  std::string data_type;
  std::uint64_t element_count = 0;  // every element of the selection
  std::uint64_t valid_count = 0;    // the elements min, max and mean are over
  std::uint64_t nan_count = 0;      // NaN (floats) and NaT (datetime64/timedelta64)
  std::uint64_t fill_count = 0;     // equal to the fill value (NaN fill values count as NaN)
  bool has_fill_value = false;
  StatValue min;
  StatValue max;
  double mean = std::numeric_limits<double>::quiet_NaN();  // NaN when valid_count is 0

  // {"variable", "data_type", "count", "valid", "nan", "fill" (when there is a fill value), "min",
  // "max", "mean"}; min/max/mean are null when nothing was valid.
  Json to_json() const;
  // A few aligned lines: "min", "max", "mean", "count" with the NaN and fill counts.
  std::string to_text() const;
};

double stat_value_as_double(const StatValue& value);

// A sink that writes nothing and keeps statistics. Elements equal to the variable's fill value are
// counted apart and left out; NaN and NaT are counted and left out. The mean is a compensated
// (Neumaier) sum in double per block, and blocks are added in the order of their position in the
// array, so the result does not depend on which thread delivered which block first.
class StatsSink final : public OutputSink {
 public:
  // Refuses complex, string and raw-bytes data.
  static Result<std::unique_ptr<StatsSink>> create(const OutputVariable& variable);

  Status write_block(std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                     std::span<const std::uint8_t> data) override;
  Status finish() override;  // checks that the blocks covered the selection
  Stats result() const;      // what the blocks so far add up to

  // The summary of one block; public for the implementation's helpers.
  struct BlockSummary {
    std::uint64_t elements = 0;
    std::uint64_t valid = 0;
    std::uint64_t nan = 0;
    std::uint64_t fill = 0;
    double sum = 0;
    double compensation = 0;
    StatValue min;
    StatValue max;
  };

 private:
  StatsSink(OutputVariable variable, std::uint64_t elements);

  OutputVariable variable_;
  std::uint64_t total_elements_;
  bool finished_ = false;
  mutable std::mutex mutex_;
  std::multimap<std::uint64_t, BlockSummary>
      blocks_;  // by the flat index of the block's first element
};

}  // namespace floe::read
