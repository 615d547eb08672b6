// Format detection by magic bytes and dispatch to the NetCDF-3 and HDF5 parsers; GRIB collections with their sidecars.
#include "floe/formats/open.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "floe/core/thread_pool.h"
#include "floe/formats/grib2/grib2.h"
#include "floe/formats/hdf5/hdf5.h"
#include "floe/formats/hdf5/reader.h"
#include "floe/formats/netcdf3/netcdf3.h"

namespace floe::formats {

Result<Format> parse_format(std::string_view name) {
  if (name == "auto" || name == "netcdf" || name.empty()) return Format::kAuto;
  if (name == "netcdf3") return Format::kNetcdf3;
  if (name == "hdf5" || name == "netcdf4") return Format::kHdf5;
  if (name == "grib2" || name == "grib") return Format::kGrib2;
  return make_error(ErrorCode::kInvalidArgument, "--format {}: expected auto, netcdf, netcdf3, netcdf4, hdf5 or grib2",
                    name);
}

Result<virt::VirtualDataset> open_virtual(io::BlockCache& cache, const Source& source, Format format,
                                          const virt::ParseOptions& options) {
  FLOE_ASSIGN_OR_RETURN(uint64_t size, cache.object_size(source.store, source.key));
  if (size == 0) {
    return make_error(ErrorCode::kCorrupt, "{}: the file is empty", source.store->url_for(source.key));
  }
  if (format == Format::kAuto) {
    FLOE_ASSIGN_OR_RETURN(Bytes head, cache.read_one(source.store, source.key, 0, std::min<uint64_t>(size, 4096)));
    std::span<const std::byte> bytes(head.data(), head.size());
    if (netcdf3::looks_like_netcdf3(bytes)) {
      format = Format::kNetcdf3;
    } else if (hdf5::looks_like_hdf5(bytes) || size > 4096) {
      format = Format::kHdf5;  // a user block larger than 4 KiB hides the signature from this first look
    } else {
      return make_error(ErrorCode::kUnsupported,
                        "{}: not a NetCDF-3 or HDF5/NetCDF-4 file (no CDF or HDF5 signature in the first bytes)",
                        source.store->url_for(source.key));
    }
  }
  if (format == Format::kGrib2) return open_grib_collection(cache, {source}, "generic");
  if (format == Format::kNetcdf3) {
    return netcdf3::virtualize_netcdf3(cache, *source.store, source.key, source.location, options);
  }
  hdf5::FileReader reader(cache, *source.store, source.key);
  return hdf5::virtualize_hdf5(reader, source.location, options);
}

bool is_grib_sidecar(std::string_view key) { return key.ends_with(".idx") || key.ends_with(".index"); }

Result<virt::VirtualDataset> open_grib_collection(io::BlockCache& cache, const std::vector<Source>& sources,
                                                  std::string_view layout, std::string_view index) {
  FLOE_ASSIGN_OR_RETURN(grib2::CubeLayout cube_layout, grib2::parse_cube_layout(layout));
  if (index != "auto" && index != "idx" && index != "ecmwf-index" && index != "scan") {
    return make_error(ErrorCode::kInvalidArgument, "--index {}: expected auto, idx, ecmwf-index or scan", index);
  }
  std::vector<grib2::GribFile> files(sources.size());
  std::vector<std::optional<Error>> errors(sources.size());
  auto sidecar_candidates = [&](const std::string& key) {
    std::vector<std::string> candidates;
    if (index == "auto" || index == "idx") candidates.push_back(key + ".idx");
    if (index == "auto" || index == "ecmwf-index") {
      for (std::string_view extension : {".grib2", ".grb2", ".grib"}) {
        if (key.ends_with(extension)) candidates.push_back(key.substr(0, key.size() - extension.size()) + ".index");
      }
      candidates.push_back(key + ".index");
    }
    return candidates;
  };
  // Listed files: the listing says which sidecar exists and how long it is; all are fetched in one batch.
  std::vector<io::FetchRequest> requests;
  std::vector<size_t> requested_for;
  for (size_t i = 0; i < sources.size(); ++i) {
    const Source& source = sources[i];
    files[i] = grib2::GribFile{.store = source.store, .key = source.key, .location = source.location};
    if (!source.listed) continue;
    for (const std::string& candidate : sidecar_candidates(source.key)) {
      auto found = source.listed->find(candidate);
      if (found == source.listed->end()) continue;
      files[i].sidecar_url = source.store->url_for(candidate);
      if (found->second == 0) {
        files[i].sidecar = std::string();
      } else {
        requests.push_back({source.store, candidate, 0, found->second});
        requested_for.push_back(i);
      }
      break;
    }
  }
  if (!requests.empty()) {
    io::FetchScheduler scheduler;
    std::vector<Result<Bytes>> fetched = scheduler.fetch(requests);
    for (size_t r = 0; r < fetched.size(); ++r) {
      if (!fetched[r].ok()) {
        return std::move(fetched[r]).error().add_context(fmt::format("sidecar {}", files[requested_for[r]].sidecar_url));
      }
      files[requested_for[r]].sidecar = std::string(fetched[r]->view());
    }
  }
  // Files named directly: their sidecars are probed.
  ThreadPool pool(std::min<size_t>(std::max<size_t>(sources.size(), 1), 16));
  pool.parallel_for(sources.size(), [&](size_t i) {
    const Source& source = sources[i];
    grib2::GribFile& file = files[i];
    if (source.listed) return;
    for (const std::string& candidate : sidecar_candidates(source.key)) {
      auto sidecar = source.store->get(candidate);
      if (sidecar.ok()) {
        file.sidecar = sidecar->to_string();
        file.sidecar_url = source.store->url_for(candidate);
        return;
      }
      if (sidecar.error().code() != ErrorCode::kNotFound) {
        errors[i] = std::move(sidecar).error();
        return;
      }
    }
  });
  for (std::optional<Error>& error : errors) {
    if (error) return std::move(*error);
  }
  if (index == "idx" || index == "ecmwf-index") {
    for (const grib2::GribFile& file : files) {
      if (!file.sidecar) {
        return make_error(ErrorCode::kNotFound, "{}: no {} sidecar next to it (--index {}); use --index auto to scan "
                          "files without one", file.location, index == "idx" ? ".idx" : ".index", index);
      }
    }
  }
  return grib2::virtualize_grib(cache, files, grib2::GribOptions{.layout = cube_layout});
}

}  // namespace floe::formats
