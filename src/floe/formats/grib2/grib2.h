// GRIB files (with or without NOAA .idx / ECMWF .index sidecars) as one forecast datacube: sidecars
// parsed or messages scanned, every message's header read in batched rounds and checked, fields
// placed by the cube builder.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/formats/grib2/cube.h"
#include "floe/formats/grib2/headers.h"
#include "floe/formats/grib2/scan.h"
#include "floe/io/block_cache.h"
#include "floe/io/object_store.h"
#include "floe/virtual/dataset.h"

namespace floe::formats::grib2 {

struct GribFile {
  io::ObjectStore* store = nullptr;
  std::string key;                     // inside the store
  std::string location;                // the URL chunk references name
  std::optional<std::string> sidecar;  // the text of its .idx / .index, when there is one
  std::string sidecar_url;             // named in errors and warnings
};

struct GribOptions {
  CubeLayout layout = CubeLayout::kGeneric;
  ScanOptions scan;
  HeaderOptions headers;
  // Write gribberish's codec name (readable from Python with the gribberish package) where it
  // decodes a field exactly as floe.grib does: a GRIB2 message holding one field, packed
  // as 5.0/5.2/5.3 (spatial differencing order 1 or 2)/5.40/5.41/5.42, scanning rows +i with -j or
  // +j (gribberish's north_up). Arrays with any other field use floe.grib throughout.
  bool gribberish_codec = true;
};

// Sizes come from the BlockCache (open the files first to avoid HEADs). Messages whose header is
// damaged or disagrees with the sidecar, fields on unsupported grids or with unreadable times, and
// fields the cube leaves out are reported in dataset.warnings (one per message or per reason) and
// left out. A sidecar that does not parse or names ranges past its file's end leaves that file out with a warning
// (one bad file does not stop a run). Errors: a file that does not scan, no field left at all.
Result<virt::VirtualDataset> virtualize_grib(io::BlockCache& cache, std::span<const GribFile> files,
                                             const GribOptions& options = {});

// The codec for field `field_index` of a message of `field_count` fields: gribberish's where it
// decodes the same as floe.grib (see GribOptions::gribberish_codec), else {"name": "floe.grib",
// "configuration": {"field": n}}.
nlohmann::json codec_for_field(const FieldHeader& field, size_t field_count, bool allow_gribberish);
nlohmann::json floe_grib_codec(uint32_t field_index);

}  // namespace floe::formats::grib2
