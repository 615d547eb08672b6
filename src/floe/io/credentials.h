// AWS-style credentials: where they come from (environment, profile file, explicit) and how they
// are kept out of messages.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "floe/core/result.h"

namespace floe::io {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials

  // "AKIA…XAMPLE" style: enough to tell keys apart in messages, never the secret.
  std::string describe() const;
};

// A snapshot of the process environment, passed explicitly so tests can supply their own.
struct Environment {
  std::map<std::string, std::string> variables;
  std::string home;

  static Environment from_process();
  std::optional<std::string> get(std::string_view name) const;
};

// Parses an INI credentials file (~/.aws/credentials) and returns the named profile's keys.
Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile,
                                           std::string_view file_name);
// Region from an AWS config file ("[profile NAME]" or "[default]"), if any.
std::optional<std::string> parse_config_region(std::string_view text, std::string_view profile);

// The standard chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN), then AWS_PROFILE
// (or "default") in AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials. nullopt when nothing is set.
Result<std::optional<Credentials>> resolve_credentials(const Environment& environment);
// AWS_REGION, AWS_DEFAULT_REGION, the profile's region in ~/.aws/config, else "us-east-1".
std::string resolve_region(const Environment& environment);

}  // namespace floe::io
