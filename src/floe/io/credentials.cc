// The AWS credential chain: environment variables, then the shared credentials file.
#include "floe/io/credentials.h"

#include <fstream>
#include <sstream>

extern char** environ;  // POSIX

namespace floe::io {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Calls visit(section, key, value) for every "key = value" line of an INI document.
template <typename Visit>
void for_each_ini_entry(std::string_view text, Visit&& visit) {
  std::string_view section;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      section = close == std::string_view::npos ? std::string_view{} : trim(line.substr(1, close - 1));
      continue;
    }
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    visit(section, trim(line.substr(0, equals)), trim(line.substr(equals + 1)));
  }
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

std::string Credentials::describe() const {
  if (access_key_id.size() <= 8) return "access key ****";
  return "access key " + access_key_id.substr(0, 4) + "…" +
         access_key_id.substr(access_key_id.size() - 4);
}

Environment Environment::from_process() {
  Environment environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    environment.variables.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  if (auto home = environment.get("HOME")) environment.home = *home;
  return environment;
}

std::optional<std::string> Environment::get(std::string_view name) const {
  auto it = variables.find(std::string(name));
  if (it == variables.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile,
                                           std::string_view file_name) {
  Credentials credentials;
  bool found_section = false;
  for_each_ini_entry(text, [&](std::string_view section, std::string_view key, std::string_view value) {
    if (section != profile) return;
    found_section = true;
    if (key == "aws_access_key_id") credentials.access_key_id = std::string(value);
    if (key == "aws_secret_access_key") credentials.secret_access_key = std::string(value);
    if (key == "aws_session_token") credentials.session_token = std::string(value);
  });
  if (!found_section || credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      "profile '{}' in {} has no aws_access_key_id and aws_secret_access_key", profile,
                      file_name);
  }
  return credentials;
}

std::optional<std::string> parse_config_region(std::string_view text, std::string_view profile) {
  std::string wanted = profile == "default" ? "default" : "profile " + std::string(profile);
  std::optional<std::string> region;
  for_each_ini_entry(text, [&](std::string_view section, std::string_view key, std::string_view value) {
    if (section == wanted && key == "region") region = std::string(value);
  });
  return region;
}

Result<std::optional<Credentials>> resolve_credentials(const Environment& environment) {
  auto access_key = environment.get("AWS_ACCESS_KEY_ID");
  auto secret_key = environment.get("AWS_SECRET_ACCESS_KEY");
  if (access_key && secret_key) {
    return std::optional<Credentials>(
        Credentials{*access_key, *secret_key, environment.get("AWS_SESSION_TOKEN").value_or("")});
  }
  if (access_key || secret_key) {
    return make_error(ErrorCode::kPermissionDenied,
                      "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; set both");
  }
  auto profile = environment.get("AWS_PROFILE");
  std::string path = environment.get("AWS_SHARED_CREDENTIALS_FILE")
                         .value_or(environment.home.empty() ? "" : environment.home + "/.aws/credentials");
  if (path.empty()) return std::optional<Credentials>();
  auto text = read_file(path);
  if (!text) {
    if (profile) {
      return make_error(ErrorCode::kPermissionDenied,
                        "AWS_PROFILE is '{}' but the credentials file {} cannot be read", *profile, path);
    }
    return std::optional<Credentials>();
  }
  auto credentials = parse_credentials_file(*text, profile.value_or("default"), path);
  if (!credentials.ok()) {
    if (!profile) return std::optional<Credentials>();  // no default profile: anonymous
    return std::move(credentials).error();
  }
  return std::optional<Credentials>(std::move(credentials).value());
}

std::string resolve_region(const Environment& environment) {
  if (auto region = environment.get("AWS_REGION")) return *region;
  if (auto region = environment.get("AWS_DEFAULT_REGION")) return *region;
  std::string path = environment.get("AWS_CONFIG_FILE")
                         .value_or(environment.home.empty() ? "" : environment.home + "/.aws/config");
  if (!path.empty()) {
    if (auto text = read_file(path)) {
      if (auto region = parse_config_region(*text, environment.get("AWS_PROFILE").value_or("default"))) {
        return *region;
      }
    }
  }
  return "us-east-1";
}

}  // namespace floe::io
