// Superblock v0-v3 (signature search, base address), the superblock extension and File Space Info (paging).
#include "floe/formats/hdf5/superblock.h"

#include <cstring>

#include <fmt/format.h>

#include "floe/formats/hdf5/object_header.h"

namespace floe::formats::hdf5 {

namespace {

constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
constexpr uint64_t kFirstRead = 4096;  // the superblock plus, usually, the root object header

bool valid_size(uint8_t size) { return size == 2 || size == 4 || size == 8; }

// File Space Info message (version 1; HDF5 1.10.1+): strategy, persist flag, threshold, page size, ...
void parse_file_space_info(const FileReader& file, const HeaderMessage& message, Superblock& superblock) {
  Cursor cursor(file, message.body, message.address, "File Space Info message");
  uint8_t version = cursor.u8();
  if (version != 1) return;  // version 0 (HDF5 1.10.0) predates paged aggregation
  superblock.file_space_strategy = cursor.u8();
  cursor.u8();      // persisting free space
  cursor.length();  // free-space section threshold
  uint64_t page_size = cursor.length();
  if (cursor.ok() && superblock.file_space_strategy == 1 /* H5F_FSPACE_STRATEGY_PAGE */) {
    superblock.page_size = page_size;
  }
}

}  // namespace

bool has_hdf5_signature_at(std::span<const std::byte> bytes, size_t position) {
  return position <= bytes.size() && bytes.size() - position >= sizeof(kSignature) &&
         std::memcmp(bytes.data() + position, kSignature, sizeof(kSignature)) == 0;
}

Result<Superblock> read_superblock(FileReader& file) {
  FLOE_ASSIGN_OR_RETURN(uint64_t file_size, file.size());
  file.base_address = 0;
  Superblock superblock;
  Bytes bytes;
  bool found = false;
  for (uint64_t position = 0; position < file_size; position = position == 0 ? 512 : position * 2) {
    FLOE_ASSIGN_OR_RETURN(bytes, file.read_at_most(position, kFirstRead, "superblock"));
    if (has_hdf5_signature_at(bytes.span(), 0)) {
      superblock.signature_offset = position;
      found = true;
      break;
    }
  }
  if (!found) {
    return make_error(ErrorCode::kCorrupt, "{}: no HDF5 signature at offset 0, 512, 1024, ... (not an HDF5 file)",
                      file.url());
  }
  const uint64_t at = superblock.signature_offset;
  Cursor cursor(file, bytes, at, "superblock");
  cursor.skip(8);
  superblock.version = cursor.u8();
  if (!cursor.ok()) return cursor.error();
  if (superblock.version > 3) {
    return file.unsupported("superblock", at, fmt::format("superblock version {} (0-3 are known)", superblock.version));
  }
  if (superblock.version <= 1) {
    cursor.u8();  // free-space storage version
    cursor.u8();  // root group symbol table entry version
    cursor.u8();  // reserved
    cursor.u8();  // shared header message format version
    superblock.offset_size = cursor.u8();
    superblock.length_size = cursor.u8();
    cursor.u8();  // reserved
    superblock.group_leaf_k = cursor.u16();
    superblock.group_internal_k = cursor.u16();
    cursor.u32();  // file consistency flags
    if (superblock.version == 1) {
      superblock.chunk_btree_k = cursor.u16();
      cursor.u16();  // reserved
    }
  } else {
    superblock.offset_size = cursor.u8();
    superblock.length_size = cursor.u8();
    cursor.u8();  // file consistency flags
  }
  if (!cursor.ok()) return cursor.error();
  if (!valid_size(superblock.offset_size) || !valid_size(superblock.length_size)) {
    return file.corrupt("superblock", at,
                        fmt::format("size of offsets {} / lengths {} is not 2, 4 or 8", superblock.offset_size,
                                    superblock.length_size));
  }
  if (superblock.group_leaf_k == 0 || superblock.group_internal_k == 0 || superblock.chunk_btree_k == 0) {
    return file.corrupt("superblock", at, "a B-tree K value is 0");
  }
  file.offset_size = superblock.offset_size;
  file.length_size = superblock.length_size;
  uint64_t base = cursor.offset();
  if (superblock.version <= 1) {
    cursor.offset();  // free-space info address
    superblock.end_of_file_address = cursor.offset();
    cursor.offset();  // driver information block
    // Root group symbol table entry: link name offset, object header address, cache type, scratch pad.
    cursor.offset();
    superblock.root_object_header = cursor.offset();
  } else {
    superblock.extension_address = cursor.offset();
    superblock.end_of_file_address = cursor.offset();
    superblock.root_object_header = cursor.offset();
    size_t checked = cursor.position();
    cursor.u32();
    if (cursor.ok() && !checksum_matches(bytes.span().subspan(0, checked + 4))) {
      return file.corrupt("superblock", at, "checksum mismatch");
    }
  }
  if (!cursor.ok()) return cursor.error();
  // libhdf5 treats the signature position as the base address when they differ (a user block added or
  // removed after writing); addresses are relative to it.
  superblock.base_address = base == kUndefinedAddress || base != at ? at : base;
  file.base_address = superblock.base_address;
  if (superblock.root_object_header == kUndefinedAddress) {
    return file.corrupt("superblock", 0, "the root group object header address is undefined");
  }

  if (superblock.extension_address != kUndefinedAddress) {
    uint64_t extension = superblock.extension_address;
    auto headers = read_object_headers(file, std::span<const uint64_t>(&extension, 1));
    if (!headers[0].ok()) {
      return std::move(headers[0]).error().add_context("reading the superblock extension");
    }
    for (const HeaderMessage& message : headers[0]->messages) {
      if (message.type == kFileSpaceInfoMessage) parse_file_space_info(file, message, superblock);
      if (message.type == kBTreeKMessage) {
        Cursor k(file, message.body, message.address, "B-tree 'K' values message");
        k.u8();  // version
        uint16_t chunk_k = k.u16();
        uint16_t internal_k = k.u16();
        uint16_t leaf_k = k.u16();
        if (k.ok() && chunk_k && internal_k && leaf_k) {
          superblock.chunk_btree_k = chunk_k;
          superblock.group_internal_k = internal_k;
          superblock.group_leaf_k = leaf_k;
        }
      }
      if (message.type == kSharedMessageTableMessage) {
        return file.unsupported("superblock extension", extension,
                                "the file uses shared object header messages (a SOHM table), which floe cannot "
                                "read yet");
      }
    }
    // Paged aggregation: metadata lives in whole pages, so fetch whole pages (4-8 MiB typically; bounded so a
    // corrupt value cannot ask for gigabytes per block).
    if (superblock.page_size >= 512 && superblock.page_size <= (64ull << 20)) {
      file.set_block_size(superblock.page_size);
    }
  }
  return superblock;
}

}  // namespace floe::formats::hdf5
