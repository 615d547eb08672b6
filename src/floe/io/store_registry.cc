// Resolution of URLs to stores: rule lookup, credential resolution, store caching.
#include "floe/io/store_registry.h"

#include "floe/io/http_store.h"
#include "floe/io/local_store.h"
#include "floe/io/url.h"

namespace floe::io {

StoreRegistry::StoreRegistry(std::shared_ptr<HttpTransport> transport, Environment environment)
    : transport_(std::move(transport)), environment_(std::move(environment)) {}

void StoreRegistry::configure(std::string prefix, StoreSettings settings) {
  std::lock_guard lock(mutex_);
  for (auto& [existing, value] : rules_) {
    if (existing == prefix) {
      value = std::move(settings);
      stores_.clear();
      return;
    }
  }
  rules_.emplace_back(std::move(prefix), std::move(settings));
  stores_.clear();
}

StoreSettings StoreRegistry::settings_for(std::string_view url) const {
  const StoreSettings* best = nullptr;
  size_t best_length = 0;
  for (const auto& [prefix, settings] : rules_) {
    if (url.starts_with(prefix) && (best == nullptr || prefix.size() > best_length)) {
      best = &settings;
      best_length = prefix.size();
    }
  }
  return best ? *best : StoreSettings{};
}

Result<ResolvedUrl> StoreRegistry::resolve(std::string_view url_text) {
  FLOE_ASSIGN_OR_RETURN(Url url, parse_url(url_text));
  std::lock_guard lock(mutex_);
  // Which rule applies decides the store identity, so two prefixes of one bucket can differ.
  size_t rule_index = rules_.size();
  size_t best_length = 0;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (url_text.starts_with(rules_[i].first) && (rule_index == rules_.size() || rules_[i].first.size() > best_length)) {
      rule_index = i;
      best_length = rules_[i].first.size();
    }
  }
  StoreSettings settings = rule_index < rules_.size() ? rules_[rule_index].second : StoreSettings{};

  switch (url.scheme) {
    case Scheme::kFile: {
      auto& store = stores_["file"];
      if (!store) store = std::make_shared<LocalStore>("");
      return ResolvedUrl{store, url.path};
    }
    case Scheme::kHttp:
    case Scheme::kHttps: {
      std::string origin = url.origin();
      auto& store = stores_[fmt::format("{}#{}", origin, rule_index)];
      if (!store) store = std::make_shared<HttpStore>(transport_, origin, settings.retry);
      return ResolvedUrl{store, url.path + (url.query.empty() ? "" : "?" + url.query)};
    }
    case Scheme::kS3: {
      auto& store = stores_[fmt::format("s3://{}#{}", url.host, rule_index)];
      if (!store) {
        S3StoreOptions options;
        options.bucket = url.host;
        options.region = settings.region.empty() ? resolve_region(environment_) : settings.region;
        options.endpoint = settings.endpoint;
        if (options.endpoint.empty()) {
          options.endpoint = environment_.get("AWS_ENDPOINT_URL_S3")
                                 .value_or(environment_.get("AWS_ENDPOINT_URL").value_or(""));
        }
        options.addressing = settings.addressing;
        options.etag_quoting = settings.etag_quoting;
        options.retry = settings.retry;
        if (!settings.anonymous) {
          if (settings.credentials) {
            options.credentials = settings.credentials;
          } else {
            auto credentials = resolve_credentials(environment_);
            if (!credentials.ok()) {
              return std::move(credentials).error().add_context(fmt::format("credentials for {}", url_text));
            }
            options.credentials = *credentials;
          }
        }
        FLOE_ASSIGN_OR_RETURN(auto created, S3Store::create(transport_, std::move(options)));
        store = std::move(created);
      }
      return ResolvedUrl{store, url.path};
    }
  }
  return make_error(ErrorCode::kInvalidArgument, "unsupported URL {}", url_text);
}

}  // namespace floe::io
