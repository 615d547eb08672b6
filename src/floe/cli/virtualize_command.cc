// `floe virtualize`: NetCDF-3, NetCDF-4/HDF5 and GRIB sources (paths, URLs, globs) into one commit of a repository.
#include "floe/cli/virtualize_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

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
  cache.release(file.store.get(), file.key);  // what is needed is parsed: memory stays flat over many files
  return dataset;
}

// One `floe virtualize` run: the sources, the caches and pool they are read through, and the repository.
class VirtualizeJob {
 public:
  VirtualizeJob(const GlobalOptions& global, const VirtualizeArguments& arguments)
      : global_(global), arguments_(arguments), registry_(make_registry(global)) {}

  Status run() {
    FLOE_ASSIGN_OR_RETURN(format_, formats::parse_format(arguments_.format));
    FLOE_ASSIGN_OR_RETURN(files_, expand_sources(*registry_, arguments_.sources));
    // GRIB: sidecars matched by a glob are read with their GRIB file, not as sources; messages are hopped through
    // in 16 KiB blocks (a message's header fits one).
    grib_ = format_ == formats::Format::kGrib2;
    if (grib_) std::erase_if(files_, [](const SourceFile& file) { return formats::is_grib_sidecar(file.key); });
    if (files_.empty()) return make_error(ErrorCode::kInvalidArgument, "no sources given");
    const uint64_t block_size = grib_ ? std::min<uint64_t>(arguments_.metadata_block_size, 16 * 1024)
                                      : arguments_.metadata_block_size;
    cache_ = std::make_unique<io::BlockCache>(scheduler_, io::BlockCacheOptions{.block_size = block_size,
                                                                                .budget_bytes = 256ull << 20});
    for (const SourceFile& file : files_) {
      if (file.listed) cache_->set_object_meta(file.store.get(), file.key, file.meta);
    }
    FLOE_ASSIGN_OR_RETURN(combine_options_, combine_options_for(arguments_));
    pool_ = std::make_unique<ThreadPool>(default_jobs());
    if (arguments_.batch_files > 0) {
      if (grib_) return make_error(ErrorCode::kInvalidArgument, "--batch-files is for NetCDF / HDF5 sources");
      return run_batches();
    }
    ProgressReporter progress("virtualize", files_.size(), progress_mode());
    FLOE_ASSIGN_OR_RETURN(virt::VirtualDataset dataset, build(0, files_.size(), progress));
    progress.finish();
    FLOE_RETURN_IF_ERROR(open_repository_for(files_));
    if (!arguments_.tag.empty() && repository_->tag_target(arguments_.tag).ok()) {
      return make_error(ErrorCode::kConflict, "tag {} already exists in {}; nothing was written (tags are immutable)",
                        arguments_.tag, repository_->url());
    }
    FLOE_ASSIGN_OR_RETURN(Committed committed,
                          commit(std::move(dataset), 0, files_.size(), arguments_.append_dim, arguments_.message, {}));
    if (!arguments_.tag.empty()) {
      Status tagged = repository_->create_tag(arguments_.tag, committed.snapshot);
      if (!tagged.ok()) {
        return std::move(tagged).error().add_context(
            fmt::format("snapshot {} is committed to branch {} but could not be tagged",
                        icechunk::to_string(committed.snapshot), arguments_.branch));
      }
    }
    report(committed, files_.size(), 0);
    return ok_status();
  }

 private:
  struct Committed {
    icechunk::Id12 snapshot{};
    virt::WriteSummary written;
    std::optional<virt::AppendPlan> append;
    std::string append_dim;
  };

  // Files parsed at once: --jobs; else, for local files, one per core (more only hold more files in memory), and
  // for remote ones 16 (their latency overlaps).
  size_t default_jobs() const {
    if (arguments_.jobs) return arguments_.jobs;
    const bool local = std::all_of(files_.begin(), files_.end(),
                                   [](const SourceFile& file) { return file.location.starts_with("file://"); });
    const size_t cores = std::max<size_t>(2, std::thread::hardware_concurrency());
    return std::min<size_t>(files_.size(), local ? cores : 16);
  }

  ProgressReporter::Mode progress_mode() const {
    return global_.quiet || global_.json ? ProgressReporter::Mode::kNever : ProgressReporter::Mode::kAuto;
  }

  // The dataset of files [begin, end): parsed a bounded window at a time (metadata only, small arrays loaded) and
  // folded into the combination in order, so memory holds references, not files. GRIB files make one datacube.
  Result<virt::VirtualDataset> build(size_t begin, size_t end, ProgressReporter& progress) {
    const virt::ParseOptions parse_options{.max_chunk_bytes = arguments_.max_chunk_bytes};
    const size_t window = grib_ ? end - begin : std::max<size_t>(64, pool_->size() * 16);
    std::optional<virt::Combiner> combiner;
    std::vector<std::optional<Result<virt::VirtualDataset>>> parsed;
    for (size_t start = begin; start < end; start += window) {
      const size_t count = std::min(window, end - start);
      parsed.assign(count, std::nullopt);
      pool_->parallel_for(count, [&](size_t k) {
        parsed[k] = parse_file(*cache_, files_[start + k], format_, parse_options, arguments_);
        progress.advance();
      });
      for (size_t k = 0; k < count; ++k) {
        if (!parsed[k]->ok()) return std::move(*parsed[k]).error();
      }
      if (grib_) break;
      for (size_t k = 0; k < count; ++k) {
        virt::VirtualDataset file = std::move(*parsed[k]).value();
        take_warnings(file);
        if (!combiner) {
          // Several files and no say in how: along the first file's one unlimited dimension.
          if (files_.size() > 1 && combine_options_.dims.empty() && combine_options_.stack_dim.empty() &&
              file.unlimited_dims.size() == 1) {
            combine_options_.dims = file.unlimited_dims;
          }
          combiner.emplace(combine_options_);
        }
        FLOE_RETURN_IF_ERROR(combiner->add(std::move(file)));
      }
    }
    virt::VirtualDataset dataset;
    if (grib_) {
      std::vector<formats::Source> sources;
      for (size_t i = begin; i < end; ++i) {
        sources.push_back({files_[i].store.get(), files_[i].key, files_[i].location, files_[i].neighbours.get()});
      }
      FLOE_ASSIGN_OR_RETURN(dataset,
                            formats::open_grib_collection(*cache_, sources, arguments_.layout, arguments_.index));
      FLOE_RETURN_IF_ERROR(
          virt::apply_variable_policy(dataset, split_names(arguments_.loadable), split_names(arguments_.drop)));
    } else {
      FLOE_ASSIGN_OR_RETURN(dataset, combiner->finish(&combine_report_));
    }
    take_warnings(dataset);
    return dataset;
  }

  void take_warnings(virt::VirtualDataset& dataset) {
    for (std::string& warning : dataset.warnings) warnings_.push_back(std::move(warning));
    dataset.warnings.clear();
  }

  // The repository: opened, or created with the containers; existing ones gain missing containers.
  Status open_repository_for(const std::vector<SourceFile>& files) {
    FLOE_ASSIGN_OR_RETURN(std::vector<icechunk::VirtualChunkContainer> containers,
                          containers_for(arguments_, global_, files));
    auto opened = open_repository(registry_, arguments_.repo);
    if (opened.ok()) {
      repository_ = std::move(opened).value();
      return repository_->add_containers(containers);
    }
    if (opened.error().code() != ErrorCode::kNotFound) return std::move(opened).error();
    icechunk::CreateOptions options;
    options.containers = containers;
    FLOE_ASSIGN_OR_RETURN(repository_, create_repository(registry_, arguments_.repo, options));
    return ok_status();
  }

  // Writes the dataset of files [begin, end) (appended along `append_dim` when given) and commits it.
  Result<Committed> commit(virt::VirtualDataset dataset, size_t begin, size_t end, const std::string& append_dim,
                           std::string message, Json metadata) {
    Committed committed;
    committed.append_dim = append_dim;
    FLOE_ASSIGN_OR_RETURN(auto session, repository_->write_session(arguments_.branch));
    if (!append_dim.empty()) {
      FLOE_ASSIGN_OR_RETURN(auto base, repository_->read_session(session->base_snapshot()));
      virt::AppendOptions options{.dim = append_dim};
      // A forecast run may have more steps, members or levels than the runs before it.
      if (grib_) options.extendable_dims = {"step", "member", "level"};
      FLOE_ASSIGN_OR_RETURN(committed.append, virt::plan_append(*base, arguments_.group, std::move(dataset), options));
      dataset = std::move(committed.append->dataset);
      take_warnings(dataset);
      if (grib_ && !committed.append->first) {
        FLOE_RETURN_IF_ERROR(rebuild_forecast_valid_time(*committed.append, dataset));
      }
    }
    virt::WriteContext context{.registry = registry_.get(), .scheduler = &scheduler_};
    for (size_t i = begin; i < end; ++i) {
      const SourceFile& file = files_[i];
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
    FLOE_ASSIGN_OR_RETURN(committed.written, virt::write_dataset(dataset, *session, context, arguments_.group));
    if (committed.append) FLOE_RETURN_IF_ERROR(virt::apply_resizes(*committed.append, *session));
    const size_t count = end - begin;
    if (message.empty()) {
      message = fmt::format("virtualize {} file{}", count, count == 1 ? "" : "s");
      if (committed.append && !committed.append->first) {
        message = fmt::format("append {} {} ({} file{}) after {}", committed.append->appended_length, append_dim,
                              count, count == 1 ? "" : "s", committed.append->committed_length);
      }
    }
    if (!metadata.contains("floe_sources")) {
      Json sources = Json::array();
      for (size_t i = begin; i < end && count <= 1000; ++i) sources.push_back(files_[i].location);
      metadata["floe_sources"] = count <= 1000 ? sources : Json(count);
    }
    FLOE_ASSIGN_OR_RETURN(committed.snapshot, session->commit(message, metadata));
    return committed;
  }

  // The files already committed by earlier --batch-files runs on the branch (their commits' metadata).
  Result<std::set<std::string>> committed_batch_files() {
    std::set<std::string> done;
    auto tip = repository_->branch_tip(arguments_.branch);
    if (!tip.ok()) return tip.error().code() == ErrorCode::kNotFound ? Result<std::set<std::string>>(done)
                                                                    : Result<std::set<std::string>>(tip.error());
    FLOE_ASSIGN_OR_RETURN(std::vector<icechunk::SnapshotSummary> ancestry, repository_->ancestry(*tip));
    for (const icechunk::SnapshotSummary& snapshot : ancestry) {
      auto batch = snapshot.metadata.find("floe_batch_files");
      if (batch == snapshot.metadata.end() || !batch->is_array()) continue;
      for (const Json& location : *batch) {
        if (location.is_string()) done.insert(location.get<std::string>());
      }
    }
    return done;
  }

  // --batch-files N: a commit every N files (extended to the end of the outermost combined dimension's value, so
  // each batch appends whole slabs), recorded in the commit's metadata; a rerun skips what is committed.
  Status run_batches() {
    FLOE_RETURN_IF_ERROR(open_repository_for(files_));
    FLOE_ASSIGN_OR_RETURN(std::set<std::string> done, committed_batch_files());
    const size_t before = files_.size();
    std::erase_if(files_, [&](const SourceFile& file) { return done.count(file.location) > 0; });
    const size_t skipped = before - files_.size();
    if (!global_.quiet && !global_.json && skipped > 0 && !files_.empty()) {
      fmt::print(stderr, "floe: {} of {} files are already committed on {}; continuing with the other {}\n", skipped,
                 before, arguments_.branch, files_.size());
    }
    if (combine_options_.dims.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--batch-files appends each batch along a dimension: give --concat-dim or --nested");
    }
    const std::string append_dim = combine_options_.dims.front();
    // Where file i starts along the append dimension (its first block is cached: parsing it again is cheap).
    auto leading_value = [&](size_t i) -> Result<std::optional<double>> {
      FLOE_ASSIGN_OR_RETURN(virt::VirtualDataset file,
                            parse_file(*cache_, files_[i], format_, {.max_chunk_bytes = arguments_.max_chunk_bytes},
                                       arguments_));
      return virt::first_coordinate_value(file, append_dim);
    };
    ProgressReporter progress("virtualize", files_.size(), progress_mode());
    std::optional<Committed> last;
    size_t batches = 0;
    for (size_t begin = 0; begin < files_.size();) {
      size_t end = std::min(begin + arguments_.batch_files, files_.size());
      // A batch ends where the outermost dimension's value changes: each commit appends whole slabs.
      if (combine_options_.dims.size() > 1 && end < files_.size()) {
        FLOE_ASSIGN_OR_RETURN(std::optional<double> last_value, leading_value(end - 1));
        while (end < files_.size() && last_value) {
          FLOE_ASSIGN_OR_RETURN(std::optional<double> next_value, leading_value(end));
          if (next_value != last_value) break;
          ++end;
        }
      }
      FLOE_ASSIGN_OR_RETURN(virt::VirtualDataset dataset, build(begin, end, progress));
      Json metadata{{"floe_batch_files", Json::array()}};
      for (size_t i = begin; i < end; ++i) metadata["floe_batch_files"].push_back(files_[i].location);
      auto committed = commit(std::move(dataset), begin, end, append_dim, arguments_.message, std::move(metadata));
      if (!committed.ok()) {
        return std::move(committed).error().add_context(fmt::format(
            "batch {} (files {} to {} of {}): --batch-files appends each batch along {}, so the files must be ordered "
            "along it; {} batches are committed and a rerun continues after them",
            batches + 1, begin + 1, end, files_.size(), append_dim, batches));
      }
      last = std::move(committed).value();
      ++batches;
      begin = end;
    }
    progress.finish();
    if (!last) {
      if (global_.json) {
        fmt::print("{}\n", Json{{"repo", repository_->url()}, {"files", 0}, {"skipped_files", skipped},
                                {"batches", 0}}.dump(2));
      } else if (!global_.quiet) {
        fmt::print("nothing to do: all {} files are committed on {}\n", skipped, arguments_.branch);
      }
      return ok_status();
    }
    report(*last, files_.size(), skipped, batches);
    return ok_status();
  }

  void report(const Committed& committed, size_t files, size_t skipped, size_t batches = 1) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const io::BlockCacheStats stats = cache_->stats();
    const std::optional<virt::AppendPlan>& append = committed.append;
    const bool appended = append && !append->first && arguments_.batch_files == 0;
    if (global_.json) {
      Json summary{{"repo", repository_->url()},
                   {"branch", arguments_.branch},
                   {"snapshot", icechunk::to_string(committed.snapshot)},
                   {"files", files},
                   {"groups", committed.written.groups},
                   {"arrays", committed.written.arrays},
                   {"virtual_refs", committed.written.virtual_refs},
                   {"inline_chunks", committed.written.stored_chunks},
                   {"stored_bytes", committed.written.stored_bytes},
                   {"manifest_bytes_per_ref",
                    combine_report_.references
                        ? static_cast<double>(combine_report_.manifest_bytes) / combine_report_.references
                        : 0.0},
                   {"warnings", warnings_},
                   {"tag", arguments_.tag.empty() ? Json(nullptr) : Json(arguments_.tag)},
                   {"appended", appended ? Json{{"dim", committed.append_dim},
                                                {"committed_length", append->committed_length},
                                                {"appended_length", append->appended_length},
                                                {"resized_arrays", append->resized.size()}}
                                         : Json(nullptr)},
                   {"requests", {{"metadata_gets", stats.requests},
                                 {"metadata_bytes", stats.bytes_fetched},
                                 {"metadata_rounds", stats.fetch_rounds},
                                 {"heads", stats.heads}}},
                   {"seconds", seconds}};
      if (arguments_.batch_files > 0) {
        summary["batches"] = batches;
        summary["skipped_files"] = skipped;
      }
      fmt::print("{}\n", summary.dump(2, ' ', false, Json::error_handler_t::replace));
      return;
    }
    for (const std::string& warning : warnings_) fmt::print(stderr, "floe: warning: {}\n", warning);
    if (global_.quiet) return;
    if (appended) {
      fmt::print("appended {} {} after the {} committed; {} arrays only the repository holds grew with it\n",
                 append->appended_length, committed.append_dim, append->committed_length, append->resized.size());
    }
    if (arguments_.batch_files > 0) {
      fmt::print("{} file{} in {} batch commits → {} (branch {}, last snapshot {}); {} already committed were "
                 "skipped; {:.2f} s\n",
                 files, files == 1 ? "" : "s", batches, repository_->url(), arguments_.branch,
                 icechunk::to_string(committed.snapshot), skipped, seconds);
      return;
    }
    fmt::print("{} file{} → {} (branch {}, snapshot {}): {} arrays, {} virtual refs, {} stored chunks; "
               "{} metadata GETs in {} rounds, {:.2f} s\n",
               files, files == 1 ? "" : "s", repository_->url(), arguments_.branch,
               icechunk::to_string(committed.snapshot), committed.written.arrays, committed.written.virtual_refs,
               committed.written.stored_chunks, stats.requests, stats.fetch_rounds, seconds);
  }

  const GlobalOptions& global_;
  const VirtualizeArguments& arguments_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::shared_ptr<io::StoreRegistry> registry_;
  formats::Format format_ = formats::Format::kAuto;
  bool grib_ = false;
  std::vector<SourceFile> files_;
  io::FetchScheduler scheduler_;
  std::unique_ptr<io::BlockCache> cache_;
  std::unique_ptr<ThreadPool> pool_;
  virt::CombineOptions combine_options_;
  virt::CombineReport combine_report_;
  std::shared_ptr<icechunk::Repository> repository_;
  std::vector<std::string> warnings_;
};

Status run_virtualize(const GlobalOptions& global, const VirtualizeArguments& arguments) {
  VirtualizeJob job(global, arguments);
  return job.run();
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
  command->add_option("--jobs", arguments->jobs, "Files parsed at once (default: one per core for local files, 16 for remote ones)");
  command->add_option("--batch-files", arguments->batch_files,
                      "Commit every N files, appending along the outermost combined dimension; a rerun skips the "
                      "files already committed (recorded in each commit's metadata)");
  command->callback([&global, arguments, &run] {
    run = [&global, arguments] {
      Status status = run_virtualize(global, *arguments);
      return status.ok() ? 0 : report_error(status.error());
    };
  });
}

}  // namespace floe::cli
