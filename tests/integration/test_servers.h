// Access to the loopback test servers started by tests/servers/start.sh: endpoints, keys, proxy control.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "floe/io/http_transport.h"
#include "floe/io/s3_store.h"

namespace floe::testing {

// Reads $FLOE_TEST_STATE/env (export NAME=value lines). Tests fail, not skip, without it: the test
// command always starts the servers.
inline std::map<std::string, std::string> load_server_environment() {
  const char* state = std::getenv("FLOE_TEST_STATE");
  std::string path = std::string(state ? state : "/tmp/floe-test-servers") + "/env";
  std::ifstream in(path);
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("export ", 0) != 0) continue;
    size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string value = line.substr(equals + 1);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"')) value = value.substr(1, value.size() - 2);
    values[line.substr(7, equals - 7)] = value;
  }
  return values;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = load_server_environment();
    ASSERT_FALSE(env_.empty()) << "test servers are not running: run tests/servers/start.sh (the test "
                                  "command does this)";
    transport_ = std::make_shared<io::HttpTransport>();
  }

  std::string var(const std::string& name) const {
    auto it = env_.find(name);
    return it == env_.end() ? "" : it->second;
  }

  io::Credentials credentials() const {
    return io::Credentials{var("FLOE_TEST_S3_ACCESS_KEY"), var("FLOE_TEST_S3_SECRET_KEY"), ""};
  }

  std::unique_ptr<io::S3Store> s3(const std::string& bucket, bool through_proxy = false,
                                  std::optional<io::Credentials> keys = std::nullopt, bool anonymous = false) {
    io::S3StoreOptions options;
    options.bucket = bucket;
    options.endpoint = var(through_proxy ? "FLOE_TEST_S3_PROXY" : "FLOE_TEST_S3_ENDPOINT");
    if (!anonymous) options.credentials = keys ? *keys : credentials();
    options.retry.base_delay = std::chrono::milliseconds(5);
    options.retry.max_delay = std::chrono::milliseconds(100);
    auto store = io::S3Store::create(transport_, options);
    EXPECT_TRUE(store.ok());
    return std::move(store).value();
  }

  // A bucket of this test's own (bucket names: 3-63 lowercase characters).
  std::unique_ptr<io::S3Store> fresh_bucket(std::string stem, bool through_proxy = false) {
    for (char& c : stem) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string bucket = "floe-" + stem.substr(0, 40) + "-" + std::to_string(::getpid() % 100000);
    auto store = s3(bucket, through_proxy);
    auto created = store->create_bucket();
    EXPECT_TRUE(created.ok()) << created.error().to_string();
    return store;
  }

  // Control of a fault proxy (POST /__faultproxy/rules, stats).
  void add_fault(const std::string& proxy_var, const std::string& json) {
    io::HttpRequest request;
    request.method = "POST";
    request.url = var(proxy_var) + "/__faultproxy/rules";
    request.body = Bytes::from_string(std::string(json));
    request.headers.emplace_back("Content-Type", "application/json");
    auto outcome = transport_->execute_one(std::move(request));
    ASSERT_TRUE(outcome.completed() && outcome.response.status / 100 == 2)
        << "fault proxy refused rule " << json << ": " << outcome.response.status;
  }

  std::map<std::string, std::string> env_;
  std::shared_ptr<io::HttpTransport> transport_;
};

}  // namespace floe::testing
