// `floe virtualize`: NetCDF-3, NetCDF-4/HDF5 and GRIB sources (paths, URLs, globs) into one commit of a repository.
#include "floe/cli/virtualize_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "floe/cli/global_options.h"
#include "floe/cli/repo_command.h"
#include "floe/core/progress.h"
#include "floe/core/thread_pool.h"
#include "floe/formats/open.h"
#include "floe/icechunk/session.h"
#include "floe/io/credentials.h"
#include "floe/io/glob.h"
#include "floe/io/url.h"
#include "floe/formats/grib2/cube.h"
#include "floe/virtual/append.h"
#include "floe/virtual/array_values.h"
#include "floe/virtual/combine.h"
#include "floe/virtual/writer.h"

namespace floe::cli {
namespace {

using Json = nlohmann::json;

struct VirtualizeArguments {
  std::vector<std::string> sources;
  std::string repo;
  std::string branch = "main";
  std::string message;
  std::string concat_dim;
  std::string nested;      // DIM,DIM,...: files placed on an N-D grid by their coordinates
  std::string stack_dim;   // DIM[=V1,V2,...]: a new dimension, one step per file
  std::string chunk_grid = "auto";
  size_t batch_files = 0;  // commit every N files; a rerun skips files already committed
  std::string append_dim;  // append to the committed dataset along it instead of replacing it
  std::string tag;         // tag the new snapshot
  std::string group = "/";
  std::string format = "auto";
  std::string layout = "generic";  // GRIB forecast collections
  std::string index = "auto";      // GRIB sidecars: auto | idx | ecmwf-index | scan
  std::vector<std::string> loadable;
  std::vector<std::string> drop;
  std::vector<std::string> containers;
  uint64_t max_chunk_bytes = 64ull << 20;
  uint64_t metadata_block_size = 256 * 1024;
  uint64_t first_read_bytes = 1 << 20;
  size_t jobs = 0;
};

struct SourceFile {
  std::shared_ptr<io::ObjectStore> store;
  std::string key;
  std::string location;  // URL written into chunk references
  io::ObjectMeta meta;
  bool listed = false;  // size and etag came from a glob's listing; otherwise from the first read
  // Key -> size of everything that listing showed (shared by the files it found), for finding GRIB sidecars.
  std::shared_ptr<const std::map<std::string, uint64_t>> neighbours;
};

// "file:///abs/path" for local paths, the URL itself otherwise.
Result<std::string> location_of(std::string_view source) {
  FLOE_ASSIGN_OR_RETURN(io::Url url, io::parse_url(source));
  if (url.scheme != io::Scheme::kFile) return std::string(source);
  std::string path = source.starts_with("file://") ? std::string(source.substr(7)) : std::string(source);
  std::error_code ignored;
  std::filesystem::path absolute = std::filesystem::absolute(path, ignored).lexically_normal();
  return "file://" + absolute.string();
}

std::string scheme_prefix_of(std::string_view location) {
  size_t scheme_end = location.find("://");
  return scheme_end == std::string_view::npos ? "" : std::string(location.substr(0, scheme_end + 3));
}

// Every source file, globs expanded (sorted), duplicates kept out; listed ones with their size and etag (the
// others learn theirs from their first read, which needs no HEAD).
Result<std::vector<SourceFile>> expand_sources(io::StoreRegistry& registry, const std::vector<std::string>& sources) {
  std::vector<SourceFile> files;
  for (const std::string& source : sources) {
    FLOE_ASSIGN_OR_RETURN(std::string location, location_of(source));
    FLOE_ASSIGN_OR_RETURN(io::ResolvedUrl resolved, registry.resolve(location.starts_with("file://")
                                                                         ? location.substr(7) : location));
    if (io::has_glob_characters(resolved.key)) {
      std::vector<io::ObjectMeta> listed;
      FLOE_ASSIGN_OR_RETURN(std::vector<io::ObjectMeta> matches,
                            io::expand_glob(*resolved.store, resolved.key, &listed));
      if (matches.empty()) return make_error(ErrorCode::kNotFound, "{}: no file matches", source);
      auto neighbours = std::make_shared<std::map<std::string, uint64_t>>();
      for (const io::ObjectMeta& meta : listed) neighbours->emplace(meta.key, meta.size);
      std::string base = scheme_prefix_of(location);
      for (io::ObjectMeta& meta : matches) {
        std::string match_location = resolved.store->url_for(meta.key);
        if (base == "file://") match_location = "file://" + match_location;
        files.push_back({resolved.store, meta.key, std::move(match_location), std::move(meta), true, neighbours});
      }
      continue;
    }
    files.push_back({resolved.store, resolved.key, location, io::ObjectMeta{.key = resolved.key}});
  }
  std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.location < b.location; });
  files.erase(std::unique(files.begin(), files.end(),
                          [](const SourceFile& a, const SourceFile& b) { return a.location == b.location; }),
              files.end());
  return files;
}

// The longest directory prefix ("…/") shared by every location.
std::string common_directory(const std::vector<SourceFile>& files) {
  std::string prefix = files.front().location;
  for (const SourceFile& file : files) {
    size_t n = 0;
    while (n < prefix.size() && n < file.location.size() && prefix[n] == file.location[n]) ++n;
    prefix.resize(n);
  }
  size_t slash = prefix.rfind('/');
  return slash == std::string::npos ? prefix : prefix.substr(0, slash + 1);
}

// The containers the repository needs: the caller's, or one for the sources' common directory (their bucket on
// S3), configured from the global S3 options.
Result<std::vector<icechunk::VirtualChunkContainer>> containers_for(const VirtualizeArguments& arguments,
                                                                    const GlobalOptions& global,
                                                                    const std::vector<SourceFile>& files) {
  std::vector<icechunk::VirtualChunkContainer> containers;
  for (const std::string& spec : arguments.containers) {
    FLOE_ASSIGN_OR_RETURN(icechunk::VirtualChunkContainer container, parse_container_spec(spec));
    containers.push_back(std::move(container));
  }
  for (const SourceFile& file : files) {
    bool covered = std::any_of(containers.begin(), containers.end(), [&](const auto& container) {
      return file.location.starts_with(container.url_prefix);
    });
    if (covered) continue;
    std::string prefix = common_directory(files);
    // An S3 container is the whole bucket: the next day's run, in another directory, uses it as well (and readers
    // authorize the bucket once).
    if (prefix.starts_with("s3://")) {
      const size_t bucket_end = prefix.find('/', 5);
      if (bucket_end != std::string::npos) prefix.resize(bucket_end + 1);
    }
    if (prefix.find("://") == std::string::npos || prefix.size() <= scheme_prefix_of(prefix).size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{} is not under any --container prefix and the sources share no directory; pass --container",
                        file.location);
    }
    std::string spec = prefix;
    if (prefix.starts_with("s3://")) {
      std::vector<std::string> options;
      if (global.anonymous) options.push_back("anonymous");
      // The container is read by other tools too: name the region even when it came from the environment
      // (icechunk-python otherwise signs for no region and the server refuses).
      const io::Environment environment = io::Environment::from_process();
      std::optional<std::string> region = global.region.empty() ? environment.get("AWS_REGION") : global.region;
      if (!region) region = environment.get("AWS_DEFAULT_REGION");
      if (region && !region->empty()) options.push_back("region=" + *region);
      if (!global.endpoint.empty()) options.push_back("endpoint=" + global.endpoint);
      if (!options.empty()) spec += "=" + fmt::format("{}", fmt::join(options, ","));
    }
    FLOE_ASSIGN_OR_RETURN(icechunk::VirtualChunkContainer container, parse_container_spec(spec));
    containers.push_back(std::move(container));
    break;
  }
  return containers;
}

std::vector<std::string> split_names(const std::vector<std::string>& lists) {
  std::vector<std::string> names;
  for (const std::string& list : lists) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) names.push_back(std::move(name));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return names;
}

// After a forecast run was appended: valid_time over the merged init_time and step.
Status rebuild_forecast_valid_time(const virt::AppendPlan& plan, virt::VirtualDataset& dataset) {
  auto init_times = plan.coordinates.find("init_time");
  auto steps = plan.coordinates.find("step");
  if (init_times == plan.coordinates.end() || steps == plan.coordinates.end()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the repository's group holds no forecast datacube (init_time and step); append GRIB runs "
                      "to a group written by floe virtualize --format grib2");
  }
  auto as_seconds = [](const std::vector<double>& values) {
    return std::vector<int64_t>(values.begin(), values.end());
  };
  formats::grib2::rebuild_valid_time(dataset, as_seconds(init_times->second), as_seconds(steps->second));
  return ok_status();
}

// How the files combine: --nested dims, then --concat-dim; --stack-dim DIM[=V1,V2,...].
Result<virt::CombineOptions> combine_options_for(const VirtualizeArguments& arguments) {
  virt::CombineOptions options;
  options.dims = split_names({arguments.nested});
  if (!arguments.concat_dim.empty()) {
    if (std::find(options.dims.begin(), options.dims.end(), arguments.concat_dim) != options.dims.end()) {
      return make_error(ErrorCode::kInvalidArgument, "--concat-dim {} is already one of --nested", arguments.concat_dim);
    }
    options.dims.push_back(arguments.concat_dim);
  }
  if (!arguments.stack_dim.empty()) {
    const size_t equals = arguments.stack_dim.find('=');
    options.stack_dim = arguments.stack_dim.substr(0, equals);
    if (equals != std::string::npos) {
      for (const std::string& text : split_names({arguments.stack_dim.substr(equals + 1)})) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') {
          return make_error(ErrorCode::kInvalidArgument, "--stack-dim {}: {} is not a number",
                            arguments.stack_dim, text);
        }
        options.stack_values.push_back(value);
      }
    }
    if (std::find(options.dims.begin(), options.dims.end(), options.stack_dim) != options.dims.end()) {
      return make_error(ErrorCode::kInvalidArgument, "--stack-dim {} is also combined along as an existing dimension",
                        options.stack_dim);
    }
  }
  if (arguments.chunk_grid == "auto") {
    options.grid = virt::ChunkGridPolicy::kAuto;
  } else if (arguments.chunk_grid == "regular") {
    options.grid = virt::ChunkGridPolicy::kRegular;
  } else if (arguments.chunk_grid == "rectilinear") {
    options.grid = virt::ChunkGridPolicy::kRectilinear;
  } else {
    return make_error(ErrorCode::kInvalidArgument, "--chunk-grid {}: expected auto, regular or rectilinear",
                      arguments.chunk_grid);
  }
  return options;
}

// One file parsed: metadata, the variable policy, and its small arrays (coordinates, scalars) loaded.
Result<virt::VirtualDataset> parse_file(io::BlockCache& cache, SourceFile& file, formats::Format format,
                                        const virt::ParseOptions& parse_options, const VirtualizeArguments& arguments) {
  const bool grib = format == formats::Format::kGrib2;
  // A listed GRIB file has its size and ETag from the listing; its first bytes are read with its messages'
  // headers (one datacube of all files, afterwards).
  if (grib && file.listed) return virt::VirtualDataset{};
  const uint64_t first_read_bytes = grib ? std::min<uint64_t>(arguments.metadata_block_size, 16 * 1024)
                                         : arguments.first_read_bytes;
  // The first read brings the file's size and ETag (for the references' checksums) with its first bytes.
  auto meta = cache.open(file.store.get(), file.key, first_read_bytes);
  if (!meta.ok()) return std::move(meta).error().add_context(fmt::format("source {}", file.location));
  if (!file.listed) file.meta = std::move(meta).value();
  if (grib) return virt::VirtualDataset{};
  formats::Source source{file.store.get(), file.key, file.location};
  FLOE_ASSIGN_OR_RETURN(virt::VirtualDataset dataset, formats::open_virtual(cache, source, format, parse_options));
  dataset.source_url = file.location;
  FLOE_RETURN_IF_ERROR(
      virt::apply_variable_policy(dataset, split_names(arguments.loadable), split_names(arguments.drop)));
  auto read = [&](const std::string&, uint64_t offset, uint64_t length) {
    return cache.read_one(file.store.get(), file.key, offset, length);
  };
  FLOE_RETURN_IF_ERROR(virt::load_small_arrays(dataset, read));
  return dataset;
}

Status run_virtualize(const GlobalOptions& global, const VirtualizeArguments& arguments) {
  const auto started = std::chrono::steady_clock::now();
  std::shared_ptr<io::StoreRegistry> registry = make_registry(global);
  FLOE_ASSIGN_OR_RETURN(formats::Format format, formats::parse_format(arguments.format));
  FLOE_ASSIGN_OR_RETURN(std::vector<SourceFile> files, expand_sources(*registry, arguments.sources));
  // GRIB: sidecars matched by a glob are read with their GRIB file, not as sources; messages are hopped through in
  // 16 KiB blocks (a message's header fits one).
  const bool grib = format == formats::Format::kGrib2;
  if (grib) std::erase_if(files, [](const SourceFile& file) { return formats::is_grib_sidecar(file.key); });
  if (files.empty()) return make_error(ErrorCode::kInvalidArgument, "no sources given");
  const uint64_t block_size = grib ? std::min<uint64_t>(arguments.metadata_block_size, 16 * 1024)
                                   : arguments.metadata_block_size;

  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler, {.block_size = block_size, .budget_bytes = 256ull << 20});
  for (const SourceFile& file : files) {
    if (file.listed) cache.set_object_meta(file.store.get(), file.key, file.meta);
  }

  // Parse every file (metadata only, small arrays loaded), a bounded window at a time, and fold each into the
  // combination in order: memory holds references, not files.
  const virt::ParseOptions parse_options{.max_chunk_bytes = arguments.max_chunk_bytes};
  FLOE_ASSIGN_OR_RETURN(virt::CombineOptions combine_options, combine_options_for(arguments));
  std::optional<virt::Combiner> combiner;
  virt::VirtualDataset dataset;
  virt::CombineReport combine_report;
  std::vector<std::string> warnings;
  {
    ProgressReporter progress("virtualize", files.size(),
                              global.quiet || global.json ? ProgressReporter::Mode::kNever
                                                          : ProgressReporter::Mode::kAuto);
    const size_t jobs = arguments.jobs ? arguments.jobs : std::min<size_t>(files.size(), 16);
    ThreadPool pool(jobs);
    const size_t window = grib ? files.size() : std::max<size_t>(64, jobs * 16);
    std::vector<std::optional<Result<virt::VirtualDataset>>> parsed;
    for (size_t start = 0; start < files.size(); start += window) {
      const size_t count = std::min(window, files.size() - start);
      parsed.assign(count, std::nullopt);
      pool.parallel_for(count, [&](size_t k) {
        parsed[k] = parse_file(cache, files[start + k], format, parse_options, arguments);
        progress.advance();
      });
      if (grib) break;
      for (size_t k = 0; k < count; ++k) {
        if (!parsed[k]->ok()) return std::move(*parsed[k]).error();
        virt::VirtualDataset file = std::move(*parsed[k]).value();
        for (std::string& warning : file.warnings) warnings.push_back(std::move(warning));
        file.warnings.clear();
        if (!combiner) {
          // Several files and no say in how: along the first file's one unlimited dimension.
          if (files.size() > 1 && combine_options.dims.empty() && combine_options.stack_dim.empty() &&
              file.unlimited_dims.size() == 1) {
            combine_options.dims = file.unlimited_dims;
          }
          combiner.emplace(combine_options);
        }
        FLOE_RETURN_IF_ERROR(combiner->add(std::move(file)));
      }
    }
    progress.finish();
    if (grib) {
      std::vector<formats::Source> sources;
      for (size_t i = 0; i < files.size(); ++i) {
        if (!parsed[i]->ok()) return std::move(*parsed[i]).error();
        sources.push_back({files[i].store.get(), files[i].key, files[i].location, files[i].neighbours.get()});
      }
      FLOE_ASSIGN_OR_RETURN(dataset, formats::open_grib_collection(cache, sources, arguments.layout, arguments.index));
      for (std::string& warning : dataset.warnings) warnings.push_back(std::move(warning));
      dataset.warnings.clear();
      FLOE_RETURN_IF_ERROR(
          virt::apply_variable_policy(dataset, split_names(arguments.loadable), split_names(arguments.drop)));
    } else {
      FLOE_ASSIGN_OR_RETURN(dataset, combiner->finish(&combine_report));
      for (std::string& warning : dataset.warnings) warnings.push_back(std::move(warning));
      dataset.warnings.clear();
    }
  }

  // The repository: opened, or created with the containers; existing ones gain missing containers.
  FLOE_ASSIGN_OR_RETURN(std::vector<icechunk::VirtualChunkContainer> containers,
                        containers_for(arguments, global, files));
  std::shared_ptr<icechunk::Repository> repository;
  auto opened = open_repository(registry, arguments.repo);
  if (opened.ok()) {
    repository = std::move(opened).value();
    FLOE_RETURN_IF_ERROR(repository->add_containers(containers));
  } else if (opened.error().code() == ErrorCode::kNotFound) {
    icechunk::CreateOptions options;
    options.containers = containers;
    FLOE_ASSIGN_OR_RETURN(repository, create_repository(registry, arguments.repo, options));
  } else {
    return std::move(opened).error();
  }

  if (!arguments.tag.empty() && repository->tag_target(arguments.tag).ok()) {
    return make_error(ErrorCode::kConflict, "tag {} already exists in {}; nothing was written (tags are immutable)",
                      arguments.tag, repository->url());
  }
  FLOE_ASSIGN_OR_RETURN(auto session, repository->write_session(arguments.branch));
  std::optional<virt::AppendPlan> append;
  if (!arguments.append_dim.empty()) {
    FLOE_ASSIGN_OR_RETURN(auto committed, repository->read_session(session->base_snapshot()));
    virt::AppendOptions options{.dim = arguments.append_dim};
    // A forecast run may have more steps, members or levels than the runs before it.
    if (grib) options.extendable_dims = {"step", "member", "level"};
    FLOE_ASSIGN_OR_RETURN(append, virt::plan_append(*committed, arguments.group, std::move(dataset), options));
    dataset = std::move(append->dataset);
    for (std::string& warning : dataset.warnings) warnings.push_back(std::move(warning));
    dataset.warnings.clear();
    if (grib && !append->first) FLOE_RETURN_IF_ERROR(rebuild_forecast_valid_time(*append, dataset));
  }
  virt::WriteContext context{.registry = registry.get(), .scheduler = &scheduler};
  for (const SourceFile& file : files) {
    // Local files are pinned by modification time: readers of other implementations compute a local file's ETag
    // their own way, while "not modified since" means the same to all of them. The listing gives whole seconds
    // and icechunk compares against the sub-second mtime, so the pin is the next second.
    if (file.location.starts_with("file://")) {
      if (file.meta.last_modified && *file.meta.last_modified > 0) {
        context.checksums[file.location] =
            virt::SourceChecksum{.last_modified = static_cast<uint32_t>(*file.meta.last_modified + 1)};
      }
    } else if (!file.meta.etag.empty()) {
      context.checksums[file.location] = virt::SourceChecksum{.etag = file.meta.etag};
    }
  }
  FLOE_ASSIGN_OR_RETURN(virt::WriteSummary written, virt::write_dataset(dataset, *session, context, arguments.group));
  if (append) FLOE_RETURN_IF_ERROR(virt::apply_resizes(*append, *session));
  Json sources = Json::array();
  for (const SourceFile& file : files) sources.push_back(file.location);
  std::string message = arguments.message;
  if (message.empty()) {
    message = fmt::format("virtualize {} file{}", files.size(), files.size() == 1 ? "" : "s");
    if (append && !append->first) {
      message = fmt::format("append {} {} ({} file{}) after {}", append->appended_length, arguments.append_dim,
                            files.size(), files.size() == 1 ? "" : "s", append->committed_length);
    }
  }
  FLOE_ASSIGN_OR_RETURN(icechunk::Id12 snapshot,
                        session->commit(message, Json{{"floe_sources", files.size() <= 1000 ? sources : Json(files.size())}}));
  if (!arguments.tag.empty()) {
    Status tagged = repository->create_tag(arguments.tag, snapshot);
    if (!tagged.ok()) {
      return std::move(tagged).error().add_context(
          fmt::format("snapshot {} is committed to branch {} but could not be tagged", icechunk::to_string(snapshot),
                      arguments.branch));
    }
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const io::BlockCacheStats stats = cache.stats();
  if (global.json) {
    Json summary{{"repo", repository->url()},
                 {"branch", arguments.branch},
                 {"snapshot", icechunk::to_string(snapshot)},
                 {"files", files.size()},
                 {"groups", written.groups},
                 {"arrays", written.arrays},
                 {"virtual_refs", written.virtual_refs},
                 {"inline_chunks", written.stored_chunks},
                 {"stored_bytes", written.stored_bytes},
                 {"warnings", warnings},
                 {"tag", arguments.tag.empty() ? Json(nullptr) : Json(arguments.tag)},
                 {"appended", append && !append->first
                                  ? Json{{"dim", arguments.append_dim},
                                         {"committed_length", append->committed_length},
                                         {"appended_length", append->appended_length},
                                         {"resized_arrays", append->resized.size()}}
                                  : Json(nullptr)},
                 {"requests", {{"metadata_gets", stats.requests},
                               {"metadata_bytes", stats.bytes_fetched},
                               {"metadata_rounds", stats.fetch_rounds},
                               {"heads", stats.heads}}},
                 {"seconds", seconds}};
    fmt::print("{}\n", summary.dump(2, ' ', false, Json::error_handler_t::replace));
    return ok_status();
  }
  for (const std::string& warning : warnings) fmt::print(stderr, "floe: warning: {}\n", warning);
  if (!global.quiet && append && !append->first) {
    fmt::print("appended {} {} after the {} committed; {} arrays only the repository holds grew with it\n",
               append->appended_length, arguments.append_dim, append->committed_length, append->resized.size());
  }
  if (!global.quiet) {
    fmt::print("{} file{} → {} (branch {}, snapshot {}): {} arrays, {} virtual refs, {} stored chunks; "
               "{} metadata GETs in {} rounds, {:.2f} s\n",
               files.size(), files.size() == 1 ? "" : "s", repository->url(), arguments.branch,
               icechunk::to_string(snapshot), written.arrays, written.virtual_refs, written.stored_chunks,
               stats.requests, stats.fetch_rounds, seconds);
  }
  return ok_status();
}

}  // namespace

void add_virtualize_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto arguments = std::make_shared<VirtualizeArguments>();
  CLI::App* command = app.add_subcommand("virtualize", "NetCDF / HDF5 files into a repository as virtual chunks");
  command->add_option("sources", arguments->sources, "Files: paths, s3:// or http(s):// URLs, globs")->required();
  command->add_option("--repo", arguments->repo, "Repository URL (created if absent)")->required();
  command->add_option("--branch", arguments->branch, "Branch to commit to (default main)");
  command->add_option("--message", arguments->message, "Commit message");
  command->add_option("--concat-dim", arguments->concat_dim,
                      "Join many files along this dimension (default: the unlimited one)");
  command->add_option("--nested", arguments->nested,
                      "Place files on a grid along these dimensions by their coordinate values (DIM,DIM,...; "
                      "outermost first; --concat-dim is the innermost)");
  command->add_option("--stack-dim", arguments->stack_dim,
                      "Stack files along a new dimension: DIM, or DIM=V1,V2,... (one value per file, in sorted "
                      "order; default a scalar variable DIM in each file, else 0, 1, 2 ...)");
  command->add_option("--chunk-grid", arguments->chunk_grid,
                      "Where the files' chunks do not tile a combined axis: auto (single steps for uncompressed "
                      "data, else rectilinear) | regular | rectilinear");
  command->add_option("--append-dim", arguments->append_dim,
                      "Append to the committed dataset along this dimension (a forecast run: init_time) as a new "
                      "commit, instead of replacing it");
  command->add_option("--tag", arguments->tag, "Tag the new snapshot (a run name)");
  command->add_option("--group", arguments->group, "Group to write the dataset into (default /)");
  command->add_option("--format", arguments->format, "auto | netcdf3 | netcdf4 | hdf5 | grib2 (default auto)");
  command->add_option("--layout", arguments->layout, "GRIB datacube layout: generic | gefs | ecmwf-ens | gfs | hrrr");
  command->add_option("--index", arguments->index,
                      "GRIB sidecars: auto (whichever exists) | idx | ecmwf-index | scan (ignore them)");
  command->add_option("--loadable", arguments->loadable, "Variables stored in the repository (VAR,...)");
  command->add_option("--drop", arguments->drop, "Variables left out (VAR,...)");
  command->add_option("--container", arguments->containers,
                      "Virtual chunk container PREFIX[=anonymous|env|region=R,endpoint=E] (repeatable)");
  command->add_option("--max-chunk-bytes", arguments->max_chunk_bytes,
                      "Contiguous data is cut into virtual chunks of at most this many bytes");
  command->add_option("--metadata-block-size", arguments->metadata_block_size,
                      "Bytes per metadata read (paged HDF5 files use their page size)");
  command->add_option("--first-read-size", arguments->first_read_bytes,
                      "Bytes read first from each file, with its size and ETag (default 1 MiB, whole blocks)");
  command->add_option("--jobs", arguments->jobs, "Files parsed at once (default min(files, 16))");
  command->callback([&global, arguments, &run] {
    run = [&global, arguments] {
      Status status = run_virtualize(global, *arguments);
      return status.ok() ? 0 : report_error(status.error());
    };
  });
}

}  // namespace floe::cli
