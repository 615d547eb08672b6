// MemoryStore: objects in a map; etags are per-write version numbers so conditional writes behave as on S3.
#include "floe/io/memory_store.h"

#include <cstring>

#include <fmt/format.h>

namespace floe::io {

std::string MemoryStore::url_for(std::string_view key) const { return fmt::format("memory://{}", key); }

Result<Bytes> MemoryStore::get(std::string_view key, const GetOptions& options) {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(key);
  if (found == objects_.end()) return make_error(ErrorCode::kNotFound, "{}: no such object", url_for(key));
  if (options.if_match && *options.if_match != std::to_string(found->second.version)) {
    return make_error(ErrorCode::kPreconditionFailed, "{}: etag does not match", url_for(key));
  }
  const Bytes& data = found->second.data;
  uint64_t offset = options.offset.value_or(0);
  if (offset > data.size()) {
    return make_error(ErrorCode::kInvalidArgument, "{}: range starts at {} past the end ({} bytes)", url_for(key),
                      offset, data.size());
  }
  uint64_t length = options.length.value_or(data.size() - offset);
  if (length > data.size() - offset) {
    return make_error(ErrorCode::kCorrupt, "{}: range {}+{} past the end ({} bytes)", url_for(key), offset, length,
                      data.size());
  }
  return data.slice(offset, length);
}

std::vector<Status> MemoryStore::read_ranges_into(std::span<const RangeRead> reads) {
  std::vector<Status> statuses;
  statuses.reserve(reads.size());
  for (const RangeRead& read : reads) {
    GetOptions options{.offset = read.offset, .length = read.length};
    if (read.preconditions) options.if_match = read.preconditions->if_match;
    auto bytes = get(read.key, options);
    if (!bytes.ok()) {
      statuses.push_back(std::move(bytes).error());
      continue;
    }
    if (read.length > 0) std::memcpy(read.destination, bytes->data(), read.length);
    statuses.push_back(ok_status());
  }
  return statuses;
}

Result<ObjectMeta> MemoryStore::head(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(key);
  if (found == objects_.end()) return make_error(ErrorCode::kNotFound, "{}: no such object", url_for(key));
  return ObjectMeta{.key = std::string(key), .size = found->second.data.size(),
                    .etag = std::to_string(found->second.version)};
}

Result<PutResult> MemoryStore::put(std::string_view key, Bytes data, const PutOptions& options) {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(key);
  if (options.if_none_match && found != objects_.end()) {
    return make_error(ErrorCode::kPreconditionFailed, "{}: already exists", url_for(key));
  }
  if (options.if_match && (found == objects_.end() || std::to_string(found->second.version) != *options.if_match)) {
    return make_error(ErrorCode::kPreconditionFailed, "{}: etag does not match", url_for(key));
  }
  uint64_t version = next_version_++;
  objects_[std::string(key)] = Entry{std::move(data), version};
  return PutResult{std::to_string(version)};
}

Status MemoryStore::del(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(key);
  if (found != objects_.end()) objects_.erase(found);
  return ok_status();
}

Result<ListResult> MemoryStore::list(std::string_view prefix, std::string_view delimiter) {
  std::lock_guard lock(mutex_);
  ListResult result;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    if (!delimiter.empty()) {
      size_t cut = rest.find(delimiter);
      if (cut != std::string_view::npos) {
        std::string common = std::string(prefix) + std::string(rest.substr(0, cut + delimiter.size()));
        if (result.common_prefixes.empty() || result.common_prefixes.back() != common) {
          result.common_prefixes.push_back(std::move(common));
        }
        continue;
      }
    }
    result.objects.push_back(ObjectMeta{.key = it->first, .size = it->second.data.size(),
                                        .etag = std::to_string(it->second.version)});
  }
  return result;
}

}  // namespace floe::io
