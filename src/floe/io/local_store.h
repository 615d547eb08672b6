// LocalStore: objects as files under a root directory, with create-if-absent and compare-and-swap
// that hold between processes.
#pragma once

#include <string>

#include "floe/io/object_store.h"

namespace floe::io {

class LocalStore final : public ObjectStore {
 public:
  // `root` is a directory; keys are relative paths under it ("a/b.nc"). An empty root means keys are
  // absolute or cwd-relative paths themselves.
  explicit LocalStore(std::string root);

  std::string url_for(std::string_view key) const override;
  Result<Bytes> get(std::string_view key, const GetOptions& options = {}) override;
  std::vector<Status> read_ranges_into(std::span<const RangeRead> reads) override;
  Result<ObjectMeta> head(std::string_view key) override;
  Result<PutResult> put(std::string_view key, Bytes data, const PutOptions& options = {}) override;
  Status del(std::string_view key) override;
  Result<ListResult> list(std::string_view prefix, std::string_view delimiter = {}) override;

 private:
  std::string path_of(std::string_view key) const;

  std::string root_;
};

}  // namespace floe::io
