// Virtual chunk containers from repository config, authorization, and precondition-checked source reads.
#include "floe/icechunk/virtual_chunks.h"

#include <algorithm>

#include <fmt/format.h>

#include "floe/io/url.h"

namespace floe::icechunk {
namespace {

bool scheme_matches_store(std::string_view prefix, std::string_view store_kind) {
  auto scheme_end = prefix.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = prefix.substr(0, scheme_end);
  if (store_kind == "s3" || store_kind == "s3_compatible") return scheme == "s3";
  if (store_kind == "tigris") return scheme == "tigris" || scheme == "s3";
  if (store_kind == "gcs") return scheme == "gcs" || scheme == "gs";
  if (store_kind == "azure") return scheme == "az" || scheme == "azure" || scheme == "abfs";
  if (store_kind == "http") return scheme == "http" || scheme == "https";
  if (store_kind == "local_file_system") return scheme == "file";
  return false;
}

}  // namespace

std::vector<VirtualChunkContainer> containers_from_config(const Json& config) {
  std::vector<VirtualChunkContainer> containers;
  if (!config.is_object()) return containers;
  auto it = config.find("virtual_chunk_containers");
  if (it == config.end() || !it->is_object()) return containers;
  for (const auto& [key, value] : it->items()) {
    if (!value.is_object()) continue;
    VirtualChunkContainer container;
    container.url_prefix = value.value("url_prefix", key);
    if (container.url_prefix.empty()) continue;
    if (!container.url_prefix.ends_with('/')) container.url_prefix += '/';
    if (auto name = value.find("name"); name != value.end() && name->is_string()) {
      if (name->get<std::string>().empty() || name->get<std::string>().find('/') != std::string::npos) continue;
      container.name = name->get<std::string>();
    }
    container.store = value.value("store", Json::object());
    std::string kind = container.store.is_object() && !container.store.empty() ? container.store.begin().key()
                       : container.store.is_string()                              ? container.store.get<std::string>()
                                                                                   : "";
    if (!scheme_matches_store(container.url_prefix, kind)) continue;  // invalid containers are ignored
    containers.push_back(std::move(container));
  }
  std::stable_sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) {
    return a.url_prefix.size() > b.url_prefix.size();
  });
  return containers;
}

io::StoreSettings settings_for_container(const VirtualChunkContainer& container) {
  io::StoreSettings settings;
  if (!container.store.is_object() || container.store.empty()) return settings;
  const Json& options = container.store.begin().value();
  if (!options.is_object()) return settings;
  if (auto v = options.find("region"); v != options.end() && v->is_string()) settings.region = v->get<std::string>();
  if (auto v = options.find("endpoint_url"); v != options.end() && v->is_string()) {
    settings.endpoint = v->get<std::string>();
  }
  if (auto v = options.find("anonymous"); v != options.end() && v->is_boolean()) settings.anonymous = v->get<bool>();
  if (auto v = options.find("force_path_style"); v != options.end() && v->is_boolean() && v->get<bool>()) {
    settings.addressing = io::Addressing::kPath;
  }
  return settings;
}

VirtualChunkResolver::VirtualChunkResolver(std::vector<VirtualChunkContainer> containers,
                                           std::shared_ptr<io::StoreRegistry> registry)
    : containers_(std::move(containers)), registry_(std::move(registry)) {}

void VirtualChunkResolver::authorize(std::string url_prefix) {
  if (const VirtualChunkContainer* container = container_for(url_prefix); container != nullptr && registry_) {
    registry_->configure(container->url_prefix, settings_for_container(*container));
  }
  authorized_.push_back(std::move(url_prefix));
}

const VirtualChunkContainer* VirtualChunkResolver::container_for(std::string_view url) const {
  for (const VirtualChunkContainer& container : containers_) {  // longest prefix first
    if (url.starts_with(container.url_prefix)) return &container;
  }
  return nullptr;
}

Result<std::string> VirtualChunkResolver::expand_location(std::string_view location) const {
  constexpr std::string_view kVcc = "vcc://";
  if (!location.starts_with(kVcc)) return std::string(location);
  std::string_view rest = location.substr(kVcc.size());
  size_t slash = rest.find('/');
  std::string_view name = rest.substr(0, slash);
  for (const VirtualChunkContainer& container : containers_) {
    if (container.name && *container.name == name) {
      return container.url_prefix + std::string(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
    }
  }
  return make_error(ErrorCode::kNotFound, "virtual chunk location {} names container \"{}\", which the repository "
                    "config does not define", location, name);
}

Result<VirtualSource> VirtualChunkResolver::source(std::string_view location, std::string_view checksum_etag,
                                                   std::uint32_t checksum_last_modified) const {
  FLOE_ASSIGN_OR_RETURN(std::string url, expand_location(location));
  const VirtualChunkContainer* container = container_for(url);
  if (container == nullptr) {
    return make_error(ErrorCode::kPermissionDenied,
                      "virtual chunk {} is under no virtual chunk container of the repository; add a container "
                      "for its prefix to the repository config", url);
  }
  bool authorized = std::any_of(authorized_.begin(), authorized_.end(), [&](const std::string& prefix) {
    return url.starts_with(prefix) || prefix.starts_with(container->url_prefix);
  });
  if (!authorized) {
    return make_error(ErrorCode::kPermissionDenied,
                      "virtual chunk container {} is not authorized; pass --authorize {} to read chunks from it",
                      container->url_prefix, container->url_prefix);
  }
  if (!registry_) return make_error(ErrorCode::kInternal, "no store registry to read {}", url);
  FLOE_ASSIGN_OR_RETURN(io::ResolvedUrl resolved, registry_->resolve(url));
  VirtualSource source{.url = std::move(url), .store = resolved.store, .key = resolved.key};
  if (!checksum_etag.empty()) source.preconditions.if_match = std::string(checksum_etag);
  else if (checksum_last_modified != 0) source.preconditions.if_unmodified_since = checksum_last_modified;
  return source;
}

Error VirtualChunkResolver::explain_read_failure(const VirtualSource& source, std::uint64_t offset,
                                                 std::uint64_t length, Error error) {
  if (error.code() == ErrorCode::kPreconditionFailed) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "virtual chunk source {} changed after it was virtualized (checksum {} no longer matches); "
                      "re-virtualize the file", source.url,
                      source.preconditions.if_match
                          ? fmt::format("etag {}", *source.preconditions.if_match)
                          : fmt::format("last-modified {}", source.preconditions.if_unmodified_since.value_or(0)));
  }
  return std::move(error).add_context(fmt::format("reading virtual chunk {} [{}, +{})", source.url, offset, length));
}

Result<Bytes> VirtualChunkResolver::read(std::string_view location, std::uint64_t offset, std::uint64_t length,
                                         std::string_view checksum_etag,
                                         std::uint32_t checksum_last_modified) const {
  FLOE_ASSIGN_OR_RETURN(VirtualSource found, source(location, checksum_etag, checksum_last_modified));
  io::GetOptions options = found.preconditions;
  options.offset = offset;
  options.length = length;
  Result<Bytes> bytes = found.store->get(found.key, options);
  if (!bytes.ok()) return explain_read_failure(found, offset, length, std::move(bytes).error());
  if (bytes->size() != length) {
    return make_error(ErrorCode::kCorrupt, "virtual chunk {} [{}, +{}): the source returned {} bytes", found.url,
                      offset, length, bytes->size());
  }
  return bytes;
}

}  // namespace floe::icechunk
