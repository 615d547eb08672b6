// Virtual chunk containers: which URL prefixes a repository may reference, and authorized reads through them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/icechunk/json_values.h"
#include "floe/io/store_registry.h"

namespace floe::icechunk {

struct VirtualChunkContainer {
  std::optional<std::string> name;  // for vcc://name/... locations
  std::string url_prefix;           // always ends with "/"
  Json store;                       // externally tagged store config, e.g. {"s3_compatible": {...}}
};

// The containers of a repository config (spec-2 flexbuffer JSON or spec-1 YAML JSON). Invalid containers
// are skipped, as the official implementation does; the result is sorted longest prefix first.
std::vector<VirtualChunkContainer> containers_from_config(const Json& config);

// Store settings that a container's store config implies (endpoint, region, anonymous, path style).
io::StoreSettings settings_for_container(const VirtualChunkContainer& container);

// Where a virtual chunk's bytes live, once its container is found and authorized.
struct VirtualSource {
  std::string url;
  std::shared_ptr<io::ObjectStore> store;
  std::string key;
  io::GetOptions preconditions;  // if_match / if_unmodified_since from the chunk's checksum; no range
};

// Resolves virtual chunk locations to authorized stores and reads them with the checksum as a precondition.
class VirtualChunkResolver {
 public:
  VirtualChunkResolver(std::vector<VirtualChunkContainer> containers, std::shared_ptr<io::StoreRegistry> registry);

  // Allows reads under `url_prefix` (a container prefix or a longer one); the registry's configured settings
  // (credentials, endpoint) for that prefix apply, else the container's own store settings.
  void authorize(std::string url_prefix);

  // vcc://name/relative → the container's prefix + relative; absolute URLs unchanged.
  Result<std::string> expand_location(std::string_view location) const;

  // The authorized store and key of a virtual chunk location (errors as for read()).
  Result<VirtualSource> source(std::string_view location, std::string_view checksum_etag,
                               std::uint32_t checksum_last_modified) const;
  // Rewrites a failed read of `source` into the message users need (a changed source names the file and says
  // to re-virtualize; other failures get the URL and range as context).
  static Error explain_read_failure(const VirtualSource& source, std::uint64_t offset, std::uint64_t length, Error error);

  // Reads [offset, offset+length) of the chunk's source. A changed source (etag or last-modified
  // precondition) fails with kPreconditionFailed naming the URL; an unauthorized container with
  // kPermissionDenied naming the prefix to authorize.
  Result<Bytes> read(std::string_view location, std::uint64_t offset, std::uint64_t length,
                     std::string_view checksum_etag, std::uint32_t checksum_last_modified) const;

  const std::vector<VirtualChunkContainer>& containers() const { return containers_; }

 private:
  const VirtualChunkContainer* container_for(std::string_view url) const;

  std::vector<VirtualChunkContainer> containers_;
  std::shared_ptr<io::StoreRegistry> registry_;
  std::vector<std::string> authorized_;
};

}  // namespace floe::icechunk
