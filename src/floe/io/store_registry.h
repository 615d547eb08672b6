// StoreRegistry: maps URLs to object stores and their credentials; the longest configured prefix
// wins, so one process can read a public bucket anonymously and write to another with keys.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/io/credentials.h"
#include "floe/io/http_transport.h"
#include "floe/io/object_store.h"
#include "floe/io/s3_store.h"

namespace floe::io {

struct StoreSettings {
  bool anonymous = false;
  std::optional<Credentials> credentials;  // overrides the environment's
  std::string region;                      // empty: from the environment
  std::string endpoint;                    // empty: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / AWS
  Addressing addressing = Addressing::kAuto;
  EtagQuoting etag_quoting = EtagQuoting::kAuto;
  RetryPolicy retry;
};

struct ResolvedUrl {
  std::shared_ptr<ObjectStore> store;
  std::string key;  // the object key (or glob pattern) inside the store
};

class StoreRegistry {
 public:
  StoreRegistry(std::shared_ptr<HttpTransport> transport, Environment environment);

  // Settings for every URL that starts with `prefix` ("s3://nsf-ncar-era5/", "s3://", "https://host/").
  void configure(std::string prefix, StoreSettings settings);

  // The store serving `url` (one per bucket / origin / settings) and the key inside it.
  Result<ResolvedUrl> resolve(std::string_view url);

  // The settings that apply to `url` (defaults when no prefix matches), for inspection and tests.
  StoreSettings settings_for(std::string_view url) const;

  HttpTransport& transport() { return *transport_; }
  const Environment& environment() const { return environment_; }

 private:
  std::shared_ptr<HttpTransport> transport_;
  Environment environment_;
  std::vector<std::pair<std::string, StoreSettings>> rules_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ObjectStore>> stores_;
};

}  // namespace floe::io
