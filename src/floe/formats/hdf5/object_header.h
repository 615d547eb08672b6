// Object headers (versions 1 and 2) with their continuation chains, read for many objects at once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "floe/core/bytes.h"
#include "floe/core/result.h"
#include "floe/formats/hdf5/reader.h"

namespace floe::formats::hdf5 {

// Header message types (HDF5 File Format Specification v3.0, section IV.A.2).
enum MessageType : uint16_t {
  kNilMessage = 0x00,
  kDataspaceMessage = 0x01,
  kLinkInfoMessage = 0x02,
  kDatatypeMessage = 0x03,
  kFillValueOldMessage = 0x04,
  kFillValueMessage = 0x05,
  kLinkMessage = 0x06,
  kExternalFilesMessage = 0x07,
  kLayoutMessage = 0x08,
  kBogusMessage = 0x09,
  kGroupInfoMessage = 0x0A,
  kFilterPipelineMessage = 0x0B,
  kAttributeMessage = 0x0C,
  kCommentMessage = 0x0D,
  kOldModificationTimeMessage = 0x0E,
  kSharedMessageTableMessage = 0x0F,
  kContinuationMessage = 0x10,
  kSymbolTableMessage = 0x11,
  kModificationTimeMessage = 0x12,
  kBTreeKMessage = 0x13,
  kDriverInfoMessage = 0x14,
  kAttributeInfoMessage = 0x15,
  kReferenceCountMessage = 0x16,
  kFileSpaceInfoMessage = 0x17,
};

inline constexpr uint8_t kMessageFlagShared = 0x02;
inline constexpr uint8_t kMessageFlagFailIfUnknown = 0x80;

struct HeaderMessage {
  uint16_t type = 0;
  uint8_t flags = 0;
  uint64_t address = 0;  // of the body
  Bytes body;
};

struct ObjectHeader {
  uint64_t address = kUndefinedAddress;
  int version = 0;
  std::vector<HeaderMessage> messages;  // in file order over all chunks; NIL messages dropped

  const HeaderMessage* find(uint16_t type) const;
};

// Bounds that keep corrupt files from costing unbounded work.
inline constexpr size_t kMaxHeaderChunks = 4096;
inline constexpr uint64_t kSpeculativeHeaderBytes = 512;

// Reads every object header at `addresses`, following continuation chains of all of them together: one
// speculative prefetch round for the first chunks, one for first chunks larger than the guess, then one per
// continuation depth. Errors are per object (corrupt prefix, checksum, cycle, truncation).
std::vector<Result<ObjectHeader>> read_object_headers(FileReader& file, std::span<const uint64_t> addresses);

// The messages of one object header chunk (`bytes` at `address`), appended to `header`; continuation
// messages are returned as extents. `version` selects the message header layout.
Status parse_header_messages(const FileReader& file, const Bytes& bytes, uint64_t address, int version,
                             bool creation_order_stored, ObjectHeader& header, std::vector<Extent>& continuations);

}  // namespace floe::formats::hdf5
