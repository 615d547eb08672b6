// Default implementations shared by all object stores.
#include "floe/io/object_store.h"

#include <algorithm>

namespace floe::io {

Result<PutResult> ObjectStore::put_multipart(std::string_view key, Bytes data, uint64_t,
                                             const PutOptions& options) {
  return put(key, std::move(data), options);
}

Result<PrefixRead> ObjectStore::read_prefix(std::string_view key, uint64_t max_length) {
  PrefixRead prefix;
  FLOE_ASSIGN_OR_RETURN(prefix.meta, head(key));
  uint64_t length = std::min(max_length, prefix.meta.size);
  if (length == 0) return prefix;
  GetOptions options;
  options.offset = 0;
  options.length = length;
  FLOE_ASSIGN_OR_RETURN(prefix.bytes, get_range(key, options));
  return prefix;
}

Result<Bytes> ObjectStore::get_range(std::string_view key, const GetOptions& options) {
  uint64_t offset = options.offset.value_or(0);
  uint64_t length = 0;
  if (options.length) {
    length = *options.length;
  } else {
    FLOE_ASSIGN_OR_RETURN(ObjectMeta meta, head(key));
    if (offset > meta.size) {
      return make_error(ErrorCode::kInvalidArgument, "GET {}: offset {} is past the end ({} bytes)",
                        url_for(key), offset, meta.size);
    }
    length = meta.size - offset;
  }
  std::vector<std::byte> buffer(length);
  RangeRead read{key, offset, length, buffer.data(), &options};
  std::vector<Status> statuses = read_ranges_into(std::span(&read, 1));
  if (!statuses[0].ok()) return std::move(statuses[0]).error();
  return Bytes::from_vector(std::move(buffer));
}

std::vector<Result<Bytes>> ObjectStore::get_ranges(
    std::string_view key, std::span<const std::pair<uint64_t, uint64_t>> ranges) {
  std::vector<std::vector<std::byte>> buffers(ranges.size());
  std::vector<RangeRead> reads(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    buffers[i].resize(ranges[i].second);
    reads[i] = RangeRead{key, ranges[i].first, ranges[i].second, buffers[i].data(), nullptr};
  }
  std::vector<Status> statuses = read_ranges_into(reads);
  std::vector<Result<Bytes>> out;
  out.reserve(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (statuses[i].ok()) {
      out.emplace_back(Bytes::from_vector(std::move(buffers[i])));
    } else {
      out.emplace_back(std::move(statuses[i]).error());
    }
  }
  return out;
}

}  // namespace floe::io
