// `floe read`: a region of one array, selected by index or coordinate value, into NetCDF, .npy, CSV
// or stats.
#include "floe/cli/read_command.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "floe/cli/repo_command.h"
#include "floe/codecs/codec.h"
#include "floe/core/thread_pool.h"
#include "floe/read/array_reader.h"
#include "floe/read/cf_decode.h"
#include "floe/read/dataset.h"
#include "floe/read/output.h"
#include "floe/read/selection.h"
#include "floe/read/stats.h"
#include "floe/virtual/cf_time.h"

namespace floe::cli {
namespace {

using read::Json;

struct ReadArguments {
  std::string url;
  std::string variable;
  std::vector<std::string> sel;
  std::vector<std::string> isel;
  std::string out;
  bool stats = false;
  bool decode_cf = false;
  std::vector<std::string> authorize;
  SnapshotSelector selector;
  int jobs = 0;
  std::uint64_t window_mib = 256;
};

// A dimension coordinate read whole: its values as stored and as doubles.
struct LoadedCoordinate {
  std::string path;
  read::VariableInfo info;
  std::vector<std::uint8_t> values;
  std::optional<std::vector<double>> numbers;  // when numeric
};

Result<LoadedCoordinate> load_coordinate(const icechunk::ReadSession& session,
                                         const std::string& path,
                                         const codecs::CodecRegistry& registry,
                                         const read::ReadOptions& options) {
  LoadedCoordinate coordinate;
  coordinate.path = path;
  FLOE_ASSIGN_OR_RETURN(coordinate.info, read::describe_array(session, path));
  FLOE_ASSIGN_OR_RETURN(read::ArrayReader reader, read::ArrayReader::open(session, path, registry));
  FLOE_ASSIGN_OR_RETURN(coordinate.values, reader.read_into_memory(reader.everything(), options));
  auto numbers = read::to_doubles(coordinate.info.metadata.data_type, coordinate.values);
  if (numbers.ok()) coordinate.numbers = std::move(numbers).value();
  return coordinate;
}

// The selected elements of a 1-D coordinate, in output order.
std::vector<std::uint8_t> gather(const std::vector<std::uint8_t>& values, std::size_t size,
                                 const read::DimSelection& selection) {
  std::vector<std::uint8_t> out;
  for (const read::IndexRange& range : selection.ranges) {
    out.insert(out.end(), values.begin() + static_cast<std::ptrdiff_t>(range.start * size),
               values.begin() + static_cast<std::ptrdiff_t>(range.stop * size));
  }
  return out;
}

std::optional<std::size_t> dim_index(const std::vector<std::string>& dims, const std::string& dim) {
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == dim) return d;
  }
  return std::nullopt;
}

Status run_read(const GlobalOptions& global, const ReadArguments& arguments) {
  const auto started = std::chrono::steady_clock::now();
  FLOE_ASSIGN_OR_RETURN(
      OpenedSnapshot opened,
      open_snapshot(global, arguments.url, arguments.selector, arguments.authorize));
  const icechunk::ReadSession& session = *opened.session;
  codecs::CodecRegistry registry;
  codecs::register_builtin_codecs(registry);
  const std::string path =
      arguments.variable.starts_with('/') ? arguments.variable : "/" + arguments.variable;
  FLOE_ASSIGN_OR_RETURN(read::VariableInfo info, read::describe_array(session, path));
  FLOE_ASSIGN_OR_RETURN(read::ArrayReader reader, read::ArrayReader::open(session, path, registry));

  ThreadPool pool(arguments.jobs > 0 ? static_cast<std::size_t>(arguments.jobs) : 0);
  read::ReadOptions options;
  options.pool = &pool;
  options.window_bytes = arguments.window_mib << 20;

  // Selections, with the dimension coordinates they need (read once).
  std::vector<read::DimSelection> selection = reader.everything();
  std::vector<bool> selected(info.dims.size(), false);
  std::map<std::string, LoadedCoordinate> coordinates;
  auto coordinate_of = [&](const std::string& dim) -> Result<const LoadedCoordinate*> {
    auto found = coordinates.find(dim);
    if (found != coordinates.end()) return &found->second;
    std::optional<std::string> coordinate_path =
        read::find_dimension_coordinate(session, path, dim);
    if (!coordinate_path) return static_cast<const LoadedCoordinate*>(nullptr);
    FLOE_ASSIGN_OR_RETURN(LoadedCoordinate loaded,
                          load_coordinate(session, *coordinate_path, registry, options));
    return &coordinates.emplace(dim, std::move(loaded)).first->second;
  };
  auto claim = [&](const std::string& dim) -> Result<std::size_t> {
    std::optional<std::size_t> d = dim_index(info.dims, dim);
    if (!d) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{} has no dimension {}; its dimensions are ({})", path, dim,
                        fmt::join(info.dims, ", "));
    }
    if (selected[*d])
      return make_error(ErrorCode::kInvalidArgument, "dimension {} is selected twice", dim);
    selected[*d] = true;
    return *d;
  };
  for (const std::string& text : arguments.isel) {
    FLOE_ASSIGN_OR_RETURN(read::SelectionArgument argument, read::parse_selection_argument(text));
    FLOE_ASSIGN_OR_RETURN(std::size_t d, claim(argument.dim));
    FLOE_ASSIGN_OR_RETURN(
        selection[d], read::select_by_index(argument.dim, argument.spec, info.metadata.shape[d]));
  }
  for (const std::string& text : arguments.sel) {
    FLOE_ASSIGN_OR_RETURN(read::SelectionArgument argument, read::parse_selection_argument(text));
    FLOE_ASSIGN_OR_RETURN(std::size_t d, claim(argument.dim));
    FLOE_ASSIGN_OR_RETURN(const LoadedCoordinate* coordinate, coordinate_of(argument.dim));
    if (coordinate == nullptr || !coordinate->numbers) {
      return make_error(ErrorCode::kInvalidArgument,
                        "dimension {} of {} has no numeric coordinate array to select by value; "
                        "use --isel {}=I:J",
                        argument.dim, path, argument.dim);
    }
    FLOE_ASSIGN_OR_RETURN(
        read::CoordinateInfo coordinate_info,
        read::describe_coordinate(coordinate->info.name, coordinate->info.metadata.attributes,
                                  coordinate->info.metadata.data_type));
    Result<read::DimSelection> by_value =
        read::select_by_value(argument.dim, argument.spec, *coordinate->numbers, coordinate_info);
    if (!by_value.ok())
      return std::move(by_value).error().add_context(fmt::format("--sel {}", text));
    selection[d] = std::move(by_value).value();
  }

  // What goes out: raw values, or CF-decoded ones.
  const zarr::DataType& raw_type = info.metadata.data_type;
  std::optional<read::CfDecoding> decoding;
  if (arguments.decode_cf) {
    Result<read::CfDecoding> planned =
        read::plan_cf_decoding(raw_type, info.metadata.attributes, info.metadata.fill_value);
    if (!planned.ok())
      return std::move(planned).error().add_context(fmt::format("--decode-cf of {}", path));
    if (!planned->is_identity()) decoding = std::move(planned).value();
  }
  read::OutputVariable variable;
  variable.name = info.name;
  variable.dims = info.dims;
  variable.shape = read::ArrayReader::output_shape(selection);
  if (decoding) {
    variable.data_type = decoding->output_type();
    variable.attributes = decoding->decoded_attributes(info.metadata.attributes);
    if (variable.data_type.kind == zarr::TypeKind::kFloat && variable.data_type.size >= 4) {
      variable.fill_value.resize(variable.data_type.size);
      if (variable.data_type.size == 4) {
        const float nan = std::nanf("");
        std::memcpy(variable.fill_value.data(), &nan, 4);
      } else {
        const double nan = std::nan("");
        std::memcpy(variable.fill_value.data(), &nan, 8);
      }
    }
  } else {
    variable.data_type = raw_type;
    variable.attributes = info.metadata.attributes;
    variable.fill_value = read::raw_fill_value_bytes(raw_type, info.metadata.attributes);
    variable.attributes.erase("_FillValue");
  }
  for (std::size_t d = 0; d < info.dims.size(); ++d) {
    FLOE_ASSIGN_OR_RETURN(const LoadedCoordinate* coordinate, coordinate_of(info.dims[d]));
    if (coordinate == nullptr || coordinate->info.metadata.shape[0] != info.metadata.shape[d])
      continue;
    if (coordinate->path == path)
      continue;  // a dimension coordinate read itself: it is the variable
    read::OutputCoordinate out;
    out.name = info.dims[d];
    out.dim = info.dims[d];
    out.data_type = coordinate->info.metadata.data_type;
    out.values = gather(coordinate->values, out.data_type.size, selection[d]);
    out.attributes = coordinate->info.metadata.attributes;
    out.attributes.erase("_FillValue");
    variable.coordinates.push_back(std::move(out));
  }
  {
    FLOE_ASSIGN_OR_RETURN(read::GroupView group,
                          read::describe_group(session, read::parent_path(path)));
    variable.global_attributes = group.attributes;
  }

  // The sink.
  std::unique_ptr<read::OutputSink> sink;
  read::StatsSink* stats_sink = nullptr;
  if (arguments.stats) {
    FLOE_ASSIGN_OR_RETURN(std::unique_ptr<read::StatsSink> created,
                          read::StatsSink::create(variable));
    stats_sink = created.get();
    sink = std::move(created);
  } else if (!arguments.out.empty()) {
    read::OutputOptions output_options;
    for (const read::OutputCoordinate& coordinate : variable.coordinates) {
      auto described =
          read::describe_coordinate(coordinate.name, coordinate.attributes, coordinate.data_type);
      if (!described.ok() || !described->time_units) continue;
      output_options.csv_formatters[coordinate.name] = [units =
                                                            *described->time_units](double value) {
        auto date = virt::decode_time(units, value);
        return date.ok() ? virt::format_datetime(*date) : fmt::format("{}", value);
      };
    }
    FLOE_ASSIGN_OR_RETURN(sink, read::open_output(arguments.out, variable, output_options));
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "say where the values go: --out FILE.nc|.npy|.csv or --stats");
  }

  // Each block goes to the sink in row parts on the pool (CF decoding fused in): the .npy, CSV and stats sinks
  // take disjoint blocks from several threads; the NetCDF sink serializes them itself.
  read::ReadStats read_stats;
  std::vector<std::uint8_t> decoded_block;
  auto write_block = [&](std::span<const std::uint64_t> start, std::span<const std::uint64_t> count,
                         std::span<const std::uint8_t> data) -> Status {
    const std::uint64_t rows = count.empty() ? 1 : count[0];
    const std::size_t elements = data.size() / raw_type.size;
    const std::size_t out_size = decoding ? decoding->output_type().size : raw_type.size;
    if (decoding) decoded_block.resize(elements * out_size);
    if (rows == 0 || elements == 0) return sink->write_block(start, count, data);
    const std::size_t row_elements = elements / rows;
    const std::size_t parts = count.empty() ? 1 : std::min<std::uint64_t>(rows, pool.size() * 4);
    std::vector<std::optional<Error>> errors(parts);
    pool.parallel_for(parts, [&](std::size_t part) {
      const std::uint64_t first = rows * part / parts, last = rows * (part + 1) / parts;
      if (first == last) return;
      std::vector<std::uint64_t> part_start(start.begin(), start.end()), part_count(count.begin(), count.end());
      if (!part_start.empty()) part_start[0] += first, part_count[0] = last - first;
      std::span<const std::uint8_t> raw =
          data.subspan(first * row_elements * raw_type.size, (last - first) * row_elements * raw_type.size);
      std::span<const std::uint8_t> out = raw;
      if (decoding) {
        std::span<std::uint8_t> decoded =
            std::span(decoded_block).subspan(first * row_elements * out_size, (last - first) * row_elements * out_size);
        decoding->decode(raw, decoded);
        out = decoded;
      }
      Status written = sink->write_block(part_start, part_count, out);
      if (!written.ok()) errors[part] = std::move(written).error();
    });
    for (std::optional<Error>& error : errors) {
      if (error) return std::move(*error);
    }
    return ok_status();
  };
  FLOE_RETURN_IF_ERROR(reader.read(selection, write_block, options, &read_stats));
  FLOE_RETURN_IF_ERROR(sink->finish());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Json summary{{"variable", path},
               {"shape", variable.shape},
               {"dtype", variable.data_type.name()},
               {"seconds", seconds},
               {"chunks", read_stats.chunks},
               {"missing_chunks", read_stats.missing_chunks},
               {"bytes_stored", read_stats.bytes_stored},
               {"bytes_decoded", read_stats.bytes_decoded},
               {"bytes_fetched", read_stats.bytes_fetched},
               {"requests", read_stats.requests},
               {"fetch_wait_seconds", read_stats.fetch_wait_seconds},
               {"decode_seconds", read_stats.decode_seconds},
               {"threads", pool.size()}};
  if (!arguments.out.empty()) summary["out"] = arguments.out;
  if (stats_sink) summary["stats"] = stats_sink->result().to_json();
  if (global.json) {
    fmt::print("{}\n", summary.dump(2, ' ', false, Json::error_handler_t::replace));
  } else if (stats_sink) {
    fmt::print("{}", stats_sink->result().to_text());
  } else if (!global.quiet) {
    fmt::print(
        stderr, "wrote {} ({} {}) from {} chunks, {:.1f} MB fetched in {} requests, {:.2f} s\n",
        arguments.out, fmt::join(variable.shape, "x"), variable.data_type.name(), read_stats.chunks,
        static_cast<double>(read_stats.bytes_fetched) / 1e6, read_stats.requests, seconds);
  }
  return ok_status();
}

}  // namespace

void add_read_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto arguments = std::make_shared<ReadArguments>();
  CLI::App* command =
      app.add_subcommand("read", "Read a region of an array into NetCDF, .npy, CSV or statistics");
  command->add_option("url", arguments->url, "Repository URL")->required();
  command->add_option("variable", arguments->variable, "Array name or path (/group/array)")
      ->required();
  command->add_option(
      "--sel", arguments->sel,
      "DIM=A:B or DIM=A by coordinate value (dates for CF time, lon wraps; repeatable)");
  command->add_option("--isel", arguments->isel, "DIM=I:J or DIM=I by index (repeatable)");
  command->add_option("--out", arguments->out, "Output file: .nc (NetCDF-4), .npy or .csv");
  command->add_flag("--stats", arguments->stats,
                    "Print min, max, mean and NaN count instead of writing a file");
  command->add_flag("--decode-cf", arguments->decode_cf,
                    "Apply scale_factor/add_offset, _FillValue/missing_value -> NaN and _Unsigned");
  command->add_option("--authorize", arguments->authorize,
                      "Allow reading virtual chunks under this prefix (repeatable)");
  command->add_option("--jobs", arguments->jobs, "Decode threads (default: all cores)");
  command->add_option("--window", arguments->window_mib,
                      "Output MiB assembled in memory at a time (default 256)");
  add_snapshot_selector(command, arguments->selector);
  run_when_chosen(command, global, arguments, run, run_read);
}

}  // namespace floe::cli
