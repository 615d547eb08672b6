// Object headers v1/v2: prefixes, message lists and continuation chains, read breadth-first in shared rounds.
#include "floe/formats/hdf5/object_header.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace floe::formats::hdf5 {

const HeaderMessage* ObjectHeader::find(uint16_t type) const {
  for (const HeaderMessage& message : messages) {
    if (message.type == type) return &message;
  }
  return nullptr;
}

Status parse_header_messages(const FileReader& file, const Bytes& bytes, uint64_t address, int version,
                             bool creation_order_stored, ObjectHeader& header, std::vector<Extent>& continuations) {
  Cursor cursor(file, bytes, address, version == 1 ? "object header message" : "object header v2 message");
  const size_t message_header_size = version == 1 ? 8 : (creation_order_stored ? 6 : 4);
  while (cursor.remaining() >= message_header_size) {
    uint64_t message_address = cursor.address();
    HeaderMessage message;
    uint64_t size = 0;
    if (version == 1) {
      message.type = cursor.u16();
      size = cursor.u16();
      message.flags = cursor.u8();
      cursor.skip(3);
    } else {
      message.type = cursor.u8();
      size = cursor.u16();
      message.flags = cursor.u8();
      if (creation_order_stored) cursor.skip(2);
    }
    if (size > cursor.remaining()) {
      return file.corrupt("object header message", message_address,
                          fmt::format("message type {:#x} of {} bytes overruns its header chunk ({} bytes left)",
                                      message.type, size, cursor.remaining()));
    }
    message.address = cursor.address();
    message.body = cursor.take(size);
    FLOE_RETURN_IF_ERROR(cursor.status());
    if (message.type == kNilMessage) continue;
    if (message.type == kContinuationMessage) {
      Cursor continuation(file, message.body, message.address, "object header continuation message");
      Extent extent;
      extent.address = continuation.offset();
      extent.length = continuation.length();
      FLOE_RETURN_IF_ERROR(continuation.status());
      continuations.push_back(extent);
      continue;
    }
    header.messages.push_back(std::move(message));
  }
  return ok_status();
}

namespace {

struct PendingHeader {
  ObjectHeader header;
  std::optional<Error> error;
  bool creation_order_stored = false;
  std::set<uint64_t> visited_chunks;
  std::vector<Extent> pending;  // continuation chunks still to read
  size_t chunk_count = 0;
};

void fail(PendingHeader& pending, Error error) {
  if (!pending.error) pending.error = std::move(error);
  pending.pending.clear();
}

// Parses the prefix from `speculative` bytes; returns the first chunk's messages extent.
Result<Extent> parse_prefix(const FileReader& file, const Bytes& speculative, uint64_t address,
                            PendingHeader& pending) {
  if (speculative.size() >= 4 && speculative.view().substr(0, 4) == "OHDR") {
    Cursor cursor(file, speculative, address, "object header v2 (OHDR)");
    cursor.skip(4);
    uint8_t version = cursor.u8();
    if (cursor.ok() && version != 2) {
      return file.unsupported("object header v2 (OHDR)", address, fmt::format("version {} is not 2", version));
    }
    uint8_t flags = cursor.u8();
    if (flags & 0x20) cursor.skip(16);  // access, modification, change, birth times
    if (flags & 0x10) cursor.skip(4);   // attribute phase-change values
    pending.creation_order_stored = (flags & 0x04) != 0;
    uint64_t chunk_size = cursor.uint(size_t{1} << (flags & 0x03));
    FLOE_RETURN_IF_ERROR(cursor.status());
    pending.header.version = 2;
    // The first chunk's messages follow the prefix; the checksum follows them and covers both.
    return Extent{address, cursor.position() + chunk_size + 4};
  }
  Cursor cursor(file, speculative, address, "object header v1");
  uint8_t version = cursor.u8();
  if (cursor.ok() && version != 1) {
    return file.corrupt("object header", address,
                        fmt::format("neither an \"OHDR\" signature nor version 1 (first byte {})", version));
  }
  cursor.skip(1);   // reserved
  cursor.u16();     // number of messages (the chunks are parsed to their end instead)
  cursor.u32();     // reference count
  uint64_t chunk_size = cursor.u32();
  FLOE_RETURN_IF_ERROR(cursor.status());
  pending.header.version = 1;
  return Extent{address, 16 + chunk_size};  // the 12-byte prefix is padded to 16
}

Status parse_first_chunk(const FileReader& file, const Bytes& bytes, PendingHeader& pending) {
  uint64_t address = pending.header.address;
  if (pending.header.version == 1) {
    return parse_header_messages(file, bytes.slice_from(16), address + 16, 1, false, pending.header,
                                 pending.pending);
  }
  if (!checksum_matches(bytes.span())) {
    return file.corrupt("object header v2 (OHDR)", address, "checksum mismatch");
  }
  Cursor cursor(file, bytes, address, "object header v2 (OHDR)");
  cursor.skip(5);
  uint8_t flags = cursor.u8();
  size_t prefix = 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0) + (size_t{1} << (flags & 0x03));
  return parse_header_messages(file, bytes.slice(prefix, bytes.size() - prefix - 4), address + prefix, 2,
                               pending.creation_order_stored, pending.header, pending.pending);
}

Status parse_continuation_chunk(const FileReader& file, const Bytes& bytes, uint64_t address,
                                PendingHeader& pending, std::vector<Extent>& next) {
  if (pending.header.version == 1) {
    return parse_header_messages(file, bytes, address, 1, false, pending.header, next);
  }
  Cursor cursor(file, bytes, address, "object header continuation (OCHK)");
  if (!cursor.expect_signature("OCHK")) return cursor.status();
  if (!checksum_matches(bytes.span())) {
    return file.corrupt("object header continuation (OCHK)", address, "checksum mismatch");
  }
  return parse_header_messages(file, bytes.slice(4, bytes.size() - 8), address + 4, 2,
                               pending.creation_order_stored, pending.header, next);
}

}  // namespace

std::vector<Result<ObjectHeader>> read_object_headers(FileReader& file, std::span<const uint64_t> addresses) {
  std::vector<PendingHeader> headers(addresses.size());
  auto file_size_or = file.size();
  if (!file_size_or.ok()) {
    std::vector<Result<ObjectHeader>> out;
    for (size_t i = 0; i < addresses.size(); ++i) out.emplace_back(file_size_or.error());
    return out;
  }
  uint64_t file_size = *file_size_or;

  // Round 1: a speculative read of each prefix and (usually) the whole first chunk.
  std::vector<Extent> speculative;
  for (uint64_t address : addresses) speculative.push_back({address, kSpeculativeHeaderBytes});
  Status prefetched = file.prefetch(speculative);
  std::vector<Extent> first_chunks(addresses.size());
  std::vector<Extent> exact;
  std::vector<Bytes> first_bytes(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) {
    PendingHeader& pending = headers[i];
    pending.header.address = addresses[i];
    if (!prefetched.ok()) {
      fail(pending, prefetched.error());
      continue;
    }
    auto bytes = file.read_at_most(addresses[i], kSpeculativeHeaderBytes, "object header");
    if (!bytes.ok()) {
      fail(pending, std::move(bytes).error());
      continue;
    }
    auto extent = parse_prefix(file, *bytes, addresses[i], pending);
    if (!extent.ok()) {
      fail(pending, std::move(extent).error());
      continue;
    }
    if (extent->length > file_size) {
      fail(pending, file.corrupt("object header", addresses[i],
                                 fmt::format("first chunk of {} bytes is larger than the file", extent->length)));
      continue;
    }
    first_chunks[i] = *extent;
    if (extent->length <= bytes->size()) {
      first_bytes[i] = bytes->slice(0, extent->length);
    } else {
      exact.push_back(*extent);
    }
  }
  // Round 2 (only for first chunks larger than the guess).
  if (!exact.empty()) {
    Status status = file.prefetch(exact);
    if (!status.ok()) {
      for (auto& pending : headers) fail(pending, status.error());
    }
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    PendingHeader& pending = headers[i];
    if (pending.error) continue;
    if (first_bytes[i].empty()) {
      auto bytes = file.read(first_chunks[i].address, first_chunks[i].length, "object header");
      if (!bytes.ok()) {
        fail(pending, std::move(bytes).error());
        continue;
      }
      first_bytes[i] = *bytes;
    }
    pending.chunk_count = 1;
    pending.visited_chunks.insert(addresses[i]);
    Status status = parse_first_chunk(file, first_bytes[i], pending);
    if (!status.ok()) fail(pending, std::move(status).error());
  }

  // Continuation rounds: every header's next chunks are fetched together.
  for (;;) {
    std::vector<Extent> round;
    for (auto& pending : headers) {
      if (pending.error) continue;
      for (const Extent& extent : pending.pending) {
        if (extent.address == kUndefinedAddress || extent.length > file_size || extent.length < 4) {
          fail(pending, file.corrupt("object header continuation", extent.address,
                                     fmt::format("continuation of object header at {} has impossible length {}",
                                                 pending.header.address, extent.length)));
          break;
        }
        if (!pending.visited_chunks.insert(extent.address).second) {
          fail(pending, file.corrupt("object header continuation", extent.address,
                                     fmt::format("object header at {} continues into a chunk it already read "
                                                 "(a continuation cycle)",
                                                 pending.header.address)));
          break;
        }
        if (++pending.chunk_count > kMaxHeaderChunks) {
          fail(pending, file.corrupt("object header continuation", extent.address,
                                     fmt::format("object header at {} has more than {} chunks",
                                                 pending.header.address, kMaxHeaderChunks)));
          break;
        }
        round.push_back(extent);
      }
    }
    if (round.empty()) break;
    Status status = file.prefetch(round);
    for (auto& pending : headers) {
      if (pending.error || pending.pending.empty()) continue;
      if (!status.ok()) {
        fail(pending, status.error());
        continue;
      }
      std::vector<Extent> current = std::move(pending.pending);
      pending.pending.clear();
      std::vector<Extent> next;
      for (const Extent& extent : current) {
        auto bytes = file.read(extent.address, extent.length, "object header continuation");
        if (!bytes.ok()) {
          fail(pending, std::move(bytes).error());
          break;
        }
        Status parsed = parse_continuation_chunk(file, *bytes, extent.address, pending, next);
        if (!parsed.ok()) {
          fail(pending, std::move(parsed).error());
          break;
        }
      }
      if (!pending.error) pending.pending = std::move(next);
    }
  }

  std::vector<Result<ObjectHeader>> out;
  out.reserve(headers.size());
  for (auto& pending : headers) {
    if (pending.error) {
      out.emplace_back(std::move(*pending.error));
    } else {
      out.emplace_back(std::move(pending.header));
    }
  }
  return out;
}

}  // namespace floe::formats::hdf5
