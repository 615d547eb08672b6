// Construction, slicing and joining of Bytes.
#include "floe/core/bytes.h"

#include <algorithm>
#include <cstring>

namespace floe {

Bytes Bytes::copy_of(std::span<const std::byte> data) {
  return from_vector(std::vector<std::byte>(data.begin(), data.end()));
}

Bytes Bytes::copy_of(std::string_view data) { return from_string(std::string(data)); }

Bytes Bytes::from_string(std::string&& data) {
  auto owner = std::make_shared<std::string>(std::move(data));
  auto* begin = reinterpret_cast<const std::byte*>(owner->data());
  size_t size = owner->size();
  return Bytes(std::move(owner), begin, size);
}

Bytes Bytes::from_vector(std::vector<std::byte>&& data) {
  auto owner = std::make_shared<std::vector<std::byte>>(std::move(data));
  const std::byte* begin = owner->data();
  size_t size = owner->size();
  return Bytes(std::move(owner), begin, size);
}

Bytes Bytes::adopt(std::shared_ptr<std::byte[]> buffer, size_t size) {
  const std::byte* begin = buffer.get();
  return Bytes(std::shared_ptr<const void>(std::move(buffer), begin), begin, size);
}

Bytes Bytes::concat(std::span<const Bytes> pieces) {
  if (pieces.size() == 1) return pieces[0];
  size_t total = 0;
  for (const Bytes& piece : pieces) total += piece.size();
  std::vector<std::byte> joined(total);
  size_t at = 0;
  for (const Bytes& piece : pieces) {
    if (!piece.empty()) std::memcpy(joined.data() + at, piece.data(), piece.size());
    at += piece.size();
  }
  return from_vector(std::move(joined));
}

Bytes Bytes::slice(size_t offset, size_t length) const {
  offset = std::min(offset, size_);
  length = std::min(length, size_ - offset);
  return Bytes(owner_, data_ + offset, length);
}

}  // namespace floe
