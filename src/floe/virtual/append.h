// Appending to a committed dataset (`floe virtualize --append-dim`): the new dataset goes after the
// committed one along a dimension, chosen other dimensions' coordinates are united, and every array
// of the group grows to match, without moving or rewriting any chunk reference already committed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "floe/core/result.h"
#include "floe/icechunk/session.h"
#include "floe/virtual/dataset.h"

namespace floe::virt {

struct AppendOptions {
  std::string dim;  // the dimension appended along ("init_time", "time")
  // Other dimensions whose coordinate may gain values (a later run with more steps, a new pressure
  // level). New values go after the committed ones, so they must be larger than all of them. Every
  // other dimension must keep its length, and its coordinate its values.
  std::vector<std::string> extendable_dims;
  uint64_t max_rewritten_bytes = 64ull << 20;  // bound on one in-repository array merged by value
};

struct AppendPlan {
  // What to write with write_dataset: arrays at their merged shapes, chunk references moved to
  // their merged positions, arrays held in the repository (coordinates) rewritten whole with the
  // committed values kept. Arrays the append leaves as they are (latitude, longitude) are not in
  // it.
  VirtualDataset dataset;
  std::vector<std::pair<std::string, std::string>>
      resized;                    // absolute path, zarr.json: arrays only the
                                  // repository holds, grown to the merged shape
  uint64_t committed_length = 0;  // of the append dimension, before
  uint64_t appended_length = 0;   // added by this dataset
  bool first = false;  // nothing in the group is along the dimension yet: `dataset` is the incoming
                       // one as is
  // Merged values of every coordinate compared ("init_time", "step", "mb/level"), committed ones
  // first: for arrays derived from several coordinates (a forecast's valid_time) that the caller
  // rebuilds.
  std::map<std::string, std::vector<double>> coordinates;
};

// Plans appending `incoming` to the group at `group_path` of the snapshot `committed` reads. Errors
// name the array or coordinate and the value: kConflict for a value of the append dimension already
// committed; kInvalidArgument for a value before the committed ones, a length or coordinate that
// differs on a dimension that must match, arrays whose dimensions, data type or chunking differ,
// chunking that cannot take the new positions. Arrays whose codec differs from the committed one
// keep their committed chunks only and grow; a warning in plan.dataset.warnings names each.
Result<AppendPlan> plan_append(const icechunk::ReadSession& committed, std::string_view group_path,
                               VirtualDataset incoming, const AppendOptions& options);

// Writes plan.resized into the session (after write_dataset has written plan.dataset).
Status apply_resizes(const AppendPlan& plan, icechunk::WriteSession& session);

}  // namespace floe::virt
