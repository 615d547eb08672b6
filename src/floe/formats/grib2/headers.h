// Reading the headers of GRIB messages (sections 0-5: identification, grid, product, data
// representation) with one small ranged read per message, all messages of all files batched
// together, and checking them against what a sidecar index claimed (a "GRIB" at the offset, the
// same total length).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/formats/grib2/grid.h"
#include "floe/formats/grib2/idx.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"

namespace floe::formats::grib2 {

// A message to read: where a sidecar or a scan says it is.
struct MessageRequest {
  io::ObjectStore* store = nullptr;
  std::string key;
  std::string url;  // named in errors
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // the message's length, when known
  bool length_is_upper_bound =
      false;                   // the length runs to the end of the file (a sidecar's last message)
  uint32_t fields_needed = 1;  // how many fields the message must hold (N.M inventories: max M)
};

// What a field's header says, in the units the datacube needs.
struct FieldHeader {
  uint8_t edition = 2;
  uint32_t field_index = 0;  // within the message
  // Parameter: GRIB2 discipline / category / number; GRIB1 table version and indicator of parameter
  // (category 0).
  int discipline = 0;
  int category = 0;
  int number = 0;
  int centre = 0;
  std::string parameter_name;  // from the small built-in table (wgrib2 names), or "var{d}_{c}_{n}"
  // Level: code table 4.5 (GRIB1 table 3) type and values (hPa for isobaric levels, as wgrib2
  // writes them).
  int level_type_code = 255;
  std::string
      level_type;  // wgrib2 wording: "mb", "m above ground", "surface"; "level type N" otherwise
  std::optional<double> level;
  std::optional<double> level_bound;
  UnixSeconds reference_time = 0;
  int64_t step_seconds = 0;  // valid time - reference time (end of an interval)
  std::optional<int64_t> interval_start_seconds;  // statistically processed fields
  std::string statistic;             // "acc", "ave", "max", "min", ... (code table 4.10)
  std::optional<int32_t> member;     // ensemble member (4.1/4.11), 0 for controls
  std::optional<GridGeometry> grid;  // nullopt when the grid template is not supported
  std::string grid_problem;          // why not
  uint16_t product_template = 0;
  uint16_t representation_template = 0;
  // Template 5.3: code table 5.6 (1 or 2; ecCodes 2.28 writes 0 with no descriptors).
  uint8_t spatial_differencing_order = 0;
  uint8_t scanning_flags = 0;
};

struct MessageHeader {
  uint64_t offset = 0;
  uint64_t length = 0;  // from section 0
  uint8_t edition = 0;
  std::vector<FieldHeader> fields;
};

struct HeaderOptions {
  // Bytes read at each message's start first: sections 0-5 of a field fit unless section 2 or a
  // reduced grid's row list is large; those messages are read again, bigger, in a second round
  // (whole, up to max_message_bytes, when a later field of a multi-field message is needed).
  uint64_t window_bytes = 16 * 1024;
  uint64_t max_message_bytes = 64ull << 20;
};

// Reads the headers of every message in rounds of one BlockCache batch. Per message: kCorrupt
// naming the URL and offset when there is no GRIB message at the offset, its total length differs
// from the request's (or exceeds it when an upper bound), it holds fewer fields than needed, or its
// sections are damaged; kUnsupported for GRIB1 messages over max_message_bytes (GRIB1 is parsed
// whole). One message's error does not stop the others: callers report it and leave the message
// out.
std::vector<Result<MessageHeader>> read_message_headers(io::BlockCache& cache,
                                                        std::span<const MessageRequest> requests,
                                                        const HeaderOptions& options = {});

// wgrib2's abbreviation for a GRIB2 parameter (discipline, category, number) of the built-in table
// (the common NWP parameters of WMO tables and NCEP local ones); nullopt otherwise.
std::optional<std::string> grib2_parameter_name(int discipline, int category, int number);
// wgrib2's wording for a code table 4.5 level type: 100 -> "mb", 103 -> "m above ground"; nullopt
// otherwise.
std::optional<std::string> grib2_level_type_name(int code);

}  // namespace floe::formats::grib2
