// Writing a VirtualDataset into an Icechunk write session: Zarr v3 metadata for groups and arrays, virtual
// refs, inline chunks, and the bytes of loadable arrays copied into the repository.
#pragma once

#include <cstdint>
#include <string>

#include "floe/core/result.h"
#include "floe/icechunk/session.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/store_registry.h"
#include "floe/virtual/dataset.h"

namespace floe::virt {

struct WriteSummary {
  uint64_t groups = 0;
  uint64_t arrays = 0;
  uint64_t virtual_refs = 0;
  uint64_t stored_chunks = 0;  // inline or native chunks written into the repository
  uint64_t stored_bytes = 0;
};

// Source validators for virtual refs: a changed source then fails on read instead of returning wrong bytes.
struct SourceChecksum {
  std::string etag;
  uint32_t last_modified = 0;  // seconds since the epoch; 0 = none
};

struct WriteContext {
  io::StoreRegistry* registry = nullptr;        // resolves source URLs for loadable arrays
  const io::FetchScheduler* scheduler = nullptr;
  std::map<std::string, SourceChecksum> checksums;  // by source URL
};

// `group_path` is where the dataset's root goes ("/" or "/grp").
Result<WriteSummary> write_dataset(const VirtualDataset& dataset, icechunk::WriteSession& session,
                                   const WriteContext& context, std::string_view group_path = "/");

// The Zarr v3 zarr.json of an array / a group, as written.
Json array_metadata(const VirtualArray& array);
Json group_metadata(const VirtualGroup& group);

// `_FillValue` the way xarray's Zarr v3 backend decodes it (base64 of a little-endian double for floats, the
// integer for ints, base64 bytes for byte strings).
Json encode_fill_value_attribute(const Json& value, const Json& data_type);

}  // namespace floe::virt
