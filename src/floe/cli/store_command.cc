// `floe store`: ls (with globs), stat, cat (with --range A-B, inclusive as in HTTP), fetch (batched
// ranges through the FetchScheduler, with request statistics).
#include "floe/cli/store_command.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "floe/cli/global_options.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/glob.h"

namespace floe::cli {
namespace {

struct StoreArguments {
  std::string url;
  std::string range;
  std::vector<std::string> ranges;
  bool recursive = false;
};

// "A-B" inclusive → (offset, length); "A-" → to the end (length nullopt).
Result<std::pair<uint64_t, std::optional<uint64_t>>> parse_range(std::string_view text) {
  size_t dash = text.find('-');
  auto parse = [](std::string_view digits, uint64_t& out) {
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty();
  };
  uint64_t first = 0;
  uint64_t last = 0;
  if (dash == std::string_view::npos || !parse(text.substr(0, dash), first)) {
    return make_error(ErrorCode::kInvalidArgument, "range '{}' must look like A-B (inclusive) or A-", text);
  }
  std::string_view tail = text.substr(dash + 1);
  if (tail.empty()) return std::make_pair(first, std::optional<uint64_t>());
  if (!parse(tail, last) || last < first) {
    return make_error(ErrorCode::kInvalidArgument, "range '{}' must look like A-B with A <= B", text);
  }
  return std::make_pair(first, std::optional<uint64_t>(last - first + 1));
}

std::string format_time(std::optional<int64_t> seconds) {
  if (!seconds) return "-";
  std::time_t time = static_cast<std::time_t>(*seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

int run_ls(const GlobalOptions& global, const StoreArguments& arguments) {
  auto registry = make_registry(global);
  auto resolved = registry->resolve(arguments.url);
  if (!resolved.ok()) return report_error(resolved.error());
  io::ObjectStore& store = *resolved->store;
  if (io::has_glob_characters(resolved->key)) {
    auto matches = io::expand_glob(store, resolved->key);
    if (!matches.ok()) return report_error(matches.error());
    for (const auto& meta : *matches) {
      fmt::print("{:>14} {} {}\n", meta.size, format_time(meta.last_modified), store.url_for(meta.key));
    }
    return 0;
  }
  std::string prefix = resolved->key;
  auto listing = store.list(prefix, arguments.recursive ? "" : "/");
  if (!listing.ok()) return report_error(listing.error());
  for (const auto& common : listing->common_prefixes) fmt::print("{:>14} {:20} {}\n", "DIR", "", store.url_for(common));
  for (const auto& meta : listing->objects) {
    fmt::print("{:>14} {} {}\n", meta.size, format_time(meta.last_modified), store.url_for(meta.key));
  }
  return 0;
}

int run_stat(const GlobalOptions& global, const StoreArguments& arguments) {
  auto registry = make_registry(global);
  auto resolved = registry->resolve(arguments.url);
  if (!resolved.ok()) return report_error(resolved.error());
  auto meta = resolved->store->head(resolved->key);
  if (!meta.ok()) return report_error(meta.error());
  if (global.json) {
    fmt::print("{{\"url\":\"{}\",\"size\":{},\"etag\":\"{}\",\"last_modified\":\"{}\"}}\n",
               resolved->store->url_for(resolved->key), meta->size, meta->etag, format_time(meta->last_modified));
  } else {
    fmt::print("url:           {}\nsize:          {}\netag:          {}\nlast-modified: {}\n",
               resolved->store->url_for(resolved->key), meta->size, meta->etag.empty() ? "-" : meta->etag,
               format_time(meta->last_modified));
  }
  return 0;
}

int run_cat(const GlobalOptions& global, const StoreArguments& arguments) {
  auto registry = make_registry(global);
  auto resolved = registry->resolve(arguments.url);
  if (!resolved.ok()) return report_error(resolved.error());
  io::GetOptions options;
  if (!arguments.range.empty()) {
    auto range = parse_range(arguments.range);
    if (!range.ok()) return report_error(range.error());
    options.offset = range->first;
    options.length = range->second;
  }
  auto data = resolved->store->get(resolved->key, options);
  if (!data.ok()) return report_error(data.error());
  std::fwrite(data->data(), 1, data->size(), stdout);
  return 0;
}

int run_fetch(const GlobalOptions& global, const StoreArguments& arguments) {
  auto registry = make_registry(global);
  auto resolved = registry->resolve(arguments.url);
  if (!resolved.ok()) return report_error(resolved.error());
  std::vector<io::FetchRequest> requests;
  for (const std::string& text : arguments.ranges) {
    auto range = parse_range(text);
    if (!range.ok()) return report_error(range.error());
    if (!range->second) {
      return report_error(make_error(ErrorCode::kInvalidArgument, "fetch needs closed ranges A-B, got '{}'", text));
    }
    requests.push_back({resolved->store.get(), resolved->key, range->first, *range->second, nullptr});
  }
  io::FetchScheduler scheduler;
  io::FetchStats stats;
  auto results = scheduler.fetch(requests, &stats);
  int status = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      status = report_error(results[i].error());
      continue;
    }
    uint32_t sum = 0;
    for (std::byte b : results[i]->span()) sum = sum * 31 + static_cast<uint32_t>(b);
    fmt::print("{} bytes={}-{} ok ({} bytes, hash {:08x})\n", resolved->store->url_for(resolved->key),
               requests[i].offset, requests[i].offset + requests[i].length - 1, results[i]->size(), sum);
  }
  fmt::print("{} ranges in {} requests; {} bytes asked for, {} bytes moved\n", stats.logical_requests,
             stats.physical_requests, stats.bytes_requested, stats.bytes_fetched);
  return status;
}

}  // namespace

void add_store_command(CLI::App& app, GlobalOptions& global, std::function<int()>& run) {
  auto* store = app.add_subcommand("store", "Look at object stores (s3://, http(s)://, local paths)");
  store->require_subcommand(1);
  auto arguments = std::make_shared<StoreArguments>();

  auto* ls = store->add_subcommand("ls", "List objects under a prefix, or those matching a glob (*, **, ?, [..])");
  ls->add_option("url", arguments->url, "URL or path prefix / glob")->required();
  ls->add_flag("-r,--recursive", arguments->recursive, "List every key under the prefix");
  ls->callback([&global, &run, arguments] { run = [&global, arguments] { return run_ls(global, *arguments); }; });

  auto* stat = store->add_subcommand("stat", "Size, ETag and Last-Modified of one object");
  stat->add_option("url", arguments->url, "Object URL or path")->required();
  stat->callback([&global, &run, arguments] { run = [&global, arguments] { return run_stat(global, *arguments); }; });

  auto* cat = store->add_subcommand("cat", "Write an object, or a byte range of it, to stdout");
  cat->add_option("url", arguments->url, "Object URL or path")->required();
  cat->add_option("--range", arguments->range, "Bytes A-B (inclusive, as in HTTP Range) or A-");
  cat->callback([&global, &run, arguments] { run = [&global, arguments] { return run_cat(global, *arguments); }; });

  auto* fetch = store->add_subcommand("fetch", "Read many ranges in one coalesced, concurrent batch");
  fetch->add_option("url", arguments->url, "Object URL or path")->required();
  fetch->add_option("--ranges", arguments->ranges, "Ranges A-B (inclusive)")->required()->delimiter(',');
  fetch->callback([&global, &run, arguments] { run = [&global, arguments] { return run_fetch(global, *arguments); }; });
}

}  // namespace floe::cli
