// Bytes: an immutable, reference-counted view of memory that slices without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

class Bytes {
 public:
  Bytes() = default;

  static Bytes copy_of(std::span<const std::byte> data);
  static Bytes copy_of(std::string_view data);
  // Takes ownership of the buffer; no copy.
  static Bytes from_string(std::string&& data);
  static Bytes from_vector(std::vector<std::byte>&& data);
  // Takes shared ownership of an array of `size` bytes (e.g. from make_shared_for_overwrite).
  static Bytes adopt(std::shared_ptr<std::byte[]> buffer, size_t size);
  // Joins several pieces into one contiguous buffer (copies unless there is only one piece).
  static Bytes concat(std::span<const Bytes> pieces);

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::byte> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  std::string to_string() const { return std::string(view()); }

  // Shares ownership with this; the range is clamped to what is available.
  Bytes slice(size_t offset, size_t length) const;
  Bytes slice_from(size_t offset) const { return slice(offset, size_ > offset ? size_ - offset : 0); }

  // How many Bytes share this buffer (for tests that prove slicing does not copy).
  long owner_use_count() const { return owner_.use_count(); }
  const void* owner() const { return owner_.get(); }

  friend bool operator==(const Bytes& a, const Bytes& b) { return a.view() == b.view(); }

 private:
  Bytes(std::shared_ptr<const void> owner, const std::byte* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace floe
