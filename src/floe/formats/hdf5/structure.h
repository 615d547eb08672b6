// The object tree of an HDF5 file, read breadth-first in shared rounds: groups, datasets and their attributes
// (compact and dense), links (compact, dense, symbol tables), committed datatypes resolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "floe/core/result.h"
#include "floe/formats/hdf5/messages.h"
#include "floe/formats/hdf5/object_header.h"
#include "floe/formats/hdf5/reader.h"
#include "floe/formats/hdf5/superblock.h"

namespace floe::formats::hdf5 {

enum class ObjectKind { kGroup, kDataset, kCommittedDatatype, kOther };

struct DecodedAttribute {
  std::string name;
  nlohmann::json value;  // see decode_attribute_value
  Datatype datatype;
  Dataspace dataspace;
};

// One link of a group as libhdf5 iterates them, with the object it reaches. Several links can reach one object
// (second hard links, soft links); the tree (`children`) holds each object once, under its first link.
struct GroupLink {
  std::string name;
  size_t target = SIZE_MAX;  // index into FileStructure::objects; SIZE_MAX when it reaches nothing read
};

struct HdfObject {
  uint64_t address = kUndefinedAddress;  // object header
  std::string name;                      // link name ("" for the root)
  std::string path;                      // "/", "/grp", "/grp/var"
  size_t parent = SIZE_MAX;              // index into FileStructure::objects
  int depth = 0;
  ObjectKind kind = ObjectKind::kOther;
  std::vector<DecodedAttribute> attributes;  // creation order when tracked, else as stored
  std::vector<size_t> children;              // creation order when tracked, else name order
  std::vector<GroupLink> links;              // groups: every hard and soft link, in the same order
  // Datasets.
  Dataspace dataspace;
  Datatype datatype;
  std::optional<FillValue> fill_value;            // new-style message if present, else the old one
  std::optional<HeaderMessage> layout_message;
  std::optional<HeaderMessage> filter_pipeline_message;
  bool external_storage = false;                  // External Data Files message (not virtualisable)
  std::vector<std::string> problems;              // unsupported features met while reading it
};

struct FileStructure {
  Superblock superblock;
  std::vector<HdfObject> objects;  // objects[0] is the root group
  std::vector<std::string> warnings;
};

inline constexpr int kMaxGroupDepth = 64;

// Reads the whole object tree. Corrupt structures are errors naming the file, structure and offset;
// unsupported features of one object or attribute become `problems`/`warnings` and the rest is read.
Result<FileStructure> read_file_structure(FileReader& file);

}  // namespace floe::formats::hdf5
