// FileReader over the BlockCache and the bounds-checked little-endian Cursor; lookup3 checksums.
#include "floe/formats/hdf5/reader.h"

#include <algorithm>

#include <fmt/format.h>

namespace floe::formats::hdf5 {

FileReader::FileReader(io::BlockCache& cache, io::ObjectStore& store, std::string key)
    : cache_(cache), store_(store), key_(std::move(key)), url_(store.url_for(key_)) {}

Result<uint64_t> FileReader::size() { return cache_.object_size(&store_, key_); }

Result<Bytes> FileReader::read(uint64_t address, uint64_t length, std::string_view structure) {
  FLOE_ASSIGN_OR_RETURN(uint64_t file_size, size());
  uint64_t absolute = base_address + address;
  if (address == kUndefinedAddress || absolute < address || absolute > file_size || length > file_size - absolute) {
    return corrupt(structure, address,
                   fmt::format("{} bytes would end past the end of the file ({} bytes); the file is truncated or the "
                               "address is corrupt",
                               length, file_size));
  }
  ++stats_.reads;
  auto bytes = cache_.read_one(&store_, key_, absolute, length);
  if (!bytes.ok()) return std::move(bytes).error().add_context(fmt::format("reading {} at {}", structure, absolute));
  return bytes;
}

Result<Bytes> FileReader::read_at_most(uint64_t address, uint64_t length, std::string_view structure) {
  FLOE_ASSIGN_OR_RETURN(uint64_t file_size, size());
  uint64_t absolute = base_address + address;
  if (address == kUndefinedAddress || absolute < address || absolute >= file_size) {
    return corrupt(structure, address, fmt::format("address is past the end of the file ({} bytes)", file_size));
  }
  return read(address, std::min(length, file_size - absolute), structure);
}

Status FileReader::prefetch(std::span<const Extent> extents) {
  FLOE_ASSIGN_OR_RETURN(uint64_t file_size, size());
  std::vector<io::BlockCache::Read> reads;
  reads.reserve(extents.size());
  for (const Extent& extent : extents) {
    if (extent.address == kUndefinedAddress || extent.length == 0) continue;
    uint64_t absolute = base_address + extent.address;
    if (absolute < extent.address || absolute >= file_size) continue;
    reads.push_back({&store_, key_, absolute, std::min(extent.length, file_size - absolute)});
  }
  if (reads.empty()) return ok_status();
  ++stats_.prefetch_rounds;
  for (auto& result : cache_.read(reads)) {
    if (!result.ok()) return std::move(result).error().add_context(fmt::format("prefetching metadata of {}", url_));
  }
  return ok_status();
}

void FileReader::set_block_size(uint64_t block_size) { cache_.set_block_size(&store_, key_, block_size); }

Error FileReader::corrupt(std::string_view structure, uint64_t address, std::string_view message) const {
  return make_error(ErrorCode::kCorrupt, "{}: {} at offset {}: {}", url_, structure, base_address + address, message);
}

Error FileReader::unsupported(std::string_view structure, uint64_t address, std::string_view message) const {
  return make_error(ErrorCode::kUnsupported, "{}: {} at offset {}: {}", url_, structure, base_address + address,
                    message);
}

Cursor::Cursor(const FileReader& file, Bytes bytes, uint64_t address, std::string_view structure)
    : file_(&file), bytes_(std::move(bytes)), address_(address), structure_(structure) {}

Status Cursor::status() const {
  if (!failed_) return ok_status();
  return error();
}

Error Cursor::error() const { return file_->corrupt(structure_, address_ + position_, message_); }

void Cursor::fail(std::string_view message) {
  if (!failed_) {
    failed_ = true;
    message_ = std::string(message);
  }
}

bool Cursor::need(size_t n) {
  if (failed_) return false;
  if (n > bytes_.size() - position_) {
    fail(fmt::format("needs {} more bytes but the structure has {} left", n, bytes_.size() - position_));
    return false;
  }
  return true;
}

uint64_t Cursor::uint(size_t width) {
  if (width == 0 || width > 8) {
    fail(fmt::format("field width {} is not 1..8 bytes", width));
    return 0;
  }
  if (!need(width)) return 0;
  uint64_t value = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes_.data() + position_);
  for (size_t i = 0; i < width; ++i) value |= uint64_t{p[i]} << (8 * i);
  position_ += width;
  return value;
}

uint8_t Cursor::u8() { return static_cast<uint8_t>(uint(1)); }
uint16_t Cursor::u16() { return static_cast<uint16_t>(uint(2)); }
uint32_t Cursor::u32() { return static_cast<uint32_t>(uint(4)); }
uint64_t Cursor::u64() { return uint(8); }

uint64_t Cursor::offset() {
  size_t width = file_->offset_size;
  uint64_t value = uint(width);
  if (failed_) return kUndefinedAddress;
  uint64_t all_ones = width >= 8 ? ~0ull : ((1ull << (8 * width)) - 1);
  return value == all_ones ? kUndefinedAddress : value;
}

uint64_t Cursor::length() { return uint(file_->length_size); }

Bytes Cursor::take(size_t n) {
  if (!need(n)) return {};
  Bytes out = bytes_.slice(position_, n);
  position_ += n;
  return out;
}

void Cursor::skip(size_t n) {
  if (need(n)) position_ += n;
}

void Cursor::seek(size_t position) {
  if (failed_) return;
  if (position > bytes_.size()) {
    fail(fmt::format("seek to {} past the structure's {} bytes", position, bytes_.size()));
    return;
  }
  position_ = position;
}

bool Cursor::expect_signature(std::string_view signature) {
  if (!need(signature.size())) return false;
  std::string_view actual(reinterpret_cast<const char*>(bytes_.data() + position_), signature.size());
  if (actual != signature) {
    std::string printable;
    for (char c : actual) printable += (c >= 32 && c < 127) ? c : '?';
    fail(fmt::format("expected signature \"{}\", found \"{}\"", signature, printable));
    return false;
  }
  position_ += signature.size();
  return true;
}

namespace {
inline uint32_t rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
}  // namespace

uint32_t lookup3_checksum(std::span<const std::byte> data, uint32_t initial) {
  const auto* k = reinterpret_cast<const uint8_t*>(data.data());
  size_t length = data.size();
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + static_cast<uint32_t>(length) + initial;
  while (length > 12) {
    a += k[0] + (uint32_t{k[1]} << 8) + (uint32_t{k[2]} << 16) + (uint32_t{k[3]} << 24);
    b += k[4] + (uint32_t{k[5]} << 8) + (uint32_t{k[6]} << 16) + (uint32_t{k[7]} << 24);
    c += k[8] + (uint32_t{k[9]} << 8) + (uint32_t{k[10]} << 16) + (uint32_t{k[11]} << 24);
    a -= c; a ^= rot(c, 4); c += b;
    b -= a; b ^= rot(a, 6); a += c;
    c -= b; c ^= rot(b, 8); b += a;
    a -= c; a ^= rot(c, 16); c += b;
    b -= a; b ^= rot(a, 19); a += c;
    c -= b; c ^= rot(b, 4); b += a;
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12: c += uint32_t{k[11]} << 24; [[fallthrough]];
    case 11: c += uint32_t{k[10]} << 16; [[fallthrough]];
    case 10: c += uint32_t{k[9]} << 8; [[fallthrough]];
    case 9: c += k[8]; [[fallthrough]];
    case 8: b += uint32_t{k[7]} << 24; [[fallthrough]];
    case 7: b += uint32_t{k[6]} << 16; [[fallthrough]];
    case 6: b += uint32_t{k[5]} << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += uint32_t{k[3]} << 24; [[fallthrough]];
    case 3: a += uint32_t{k[2]} << 16; [[fallthrough]];
    case 2: a += uint32_t{k[1]} << 8; [[fallthrough]];
    case 1: a += k[0]; break;
    case 0: return c;
  }
  c ^= b; c -= rot(b, 14);
  a ^= c; a -= rot(c, 11);
  b ^= a; b -= rot(a, 25);
  c ^= b; c -= rot(b, 16);
  a ^= c; a -= rot(c, 4);
  b ^= a; b -= rot(a, 14);
  c ^= b; c -= rot(b, 24);
  return c;
}

bool checksum_matches(std::span<const std::byte> data_with_checksum) {
  if (data_with_checksum.size() < 4) return false;
  size_t n = data_with_checksum.size() - 4;
  const auto* p = reinterpret_cast<const uint8_t*>(data_with_checksum.data() + n);
  uint32_t stored = p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  return lookup3_checksum(data_with_checksum.first(n)) == stored;
}

}  // namespace floe::formats::hdf5
