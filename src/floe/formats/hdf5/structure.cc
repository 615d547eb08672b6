// Breadth-first reading of the object tree: one group level at a time, every object of a level together.
#include "floe/formats/hdf5/structure.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "floe/formats/hdf5/btree2.h"
#include "floe/formats/hdf5/heaps.h"

namespace floe::formats::hdf5 {

namespace {

constexpr uint16_t kLastKnownMessageType = 0x18;  // metadata cache image (HDF5 1.10)

struct PendingAttribute {
  Attribute attribute;
  size_t object = 0;
};

// One object of the level being read, with what its messages asked for.
struct LevelObject {
  size_t index = 0;
  std::vector<Attribute> attributes;
  std::optional<DenseStorageInfo> dense_attributes;
  std::optional<DenseStorageInfo> dense_links;
  std::optional<SymbolTableInfo> symbol_table;
  std::vector<Link> links;
  bool group_messages = false;
};

bool is_error_fatal(const Error& error) { return error.code() != ErrorCode::kUnsupported; }

// Orders links by creation order when every one has it, else by name (libhdf5's default iteration order).
void order_links(std::vector<Link>& links) {
  bool all_ordered = std::all_of(links.begin(), links.end(), [](const Link& l) { return l.creation_order.has_value(); });
  std::stable_sort(links.begin(), links.end(), [all_ordered](const Link& a, const Link& b) {
    if (all_ordered && *a.creation_order != *b.creation_order) return *a.creation_order < *b.creation_order;
    return a.name < b.name;
  });
}

class StructureReader {
 public:
  explicit StructureReader(FileReader& file) : file_(file) {}

  Result<FileStructure> read() {
    FLOE_ASSIGN_OR_RETURN(structure_.superblock, read_superblock(file_));
    HdfObject root;
    root.address = structure_.superblock.root_object_header;
    root.path = "/";
    root.kind = ObjectKind::kGroup;
    structure_.objects.push_back(std::move(root));
    seen_.emplace(structure_.objects[0].address, 0);
    std::vector<size_t> level = {0};
    for (int depth = 0; !level.empty(); ++depth) {
      if (depth > kMaxGroupDepth) {
        return file_.corrupt("group", structure_.objects[level[0]].address,
                             fmt::format("groups nest deeper than {} levels", kMaxGroupDepth));
      }
      FLOE_ASSIGN_OR_RETURN(level, read_level(level));
    }
    resolve_soft_links();
    return std::move(structure_);
  }

 private:
  void warn(std::string message) { structure_.warnings.push_back(std::move(message)); }

  // Records an unsupported feature of an object, or returns the error when it is corruption.
  Status problem(size_t object, Error error) {
    if (is_error_fatal(error)) return error;
    structure_.objects[object].problems.push_back(error.message());
    return ok_status();
  }

  Result<std::vector<size_t>> read_level(const std::vector<size_t>& level) {
    std::vector<uint64_t> addresses;
    for (size_t index : level) addresses.push_back(structure_.objects[index].address);
    auto headers = read_object_headers(file_, addresses);
    std::vector<LevelObject> objects(level.size());
    for (size_t i = 0; i < level.size(); ++i) {
      objects[i].index = level[i];
      if (!headers[i].ok()) {
        return std::move(headers[i]).error().add_context(
            fmt::format("reading the object header of \"{}\"", structure_.objects[level[i]].path));
      }
      FLOE_RETURN_IF_ERROR(parse_messages(*headers[i], objects[i]));
    }
    FLOE_RETURN_IF_ERROR(read_dense_storage(objects));
    FLOE_RETURN_IF_ERROR(read_symbol_tables(objects));
    FLOE_RETURN_IF_ERROR(resolve_committed_datatypes(objects));
    FLOE_RETURN_IF_ERROR(decode_attributes(objects));
    return add_children(objects);
  }

  Status parse_messages(const ObjectHeader& header, LevelObject& level_object) {
    const size_t index = level_object.index;
    HdfObject& object = structure_.objects[index];
    bool has_layout = false, has_datatype = false;
    for (const HeaderMessage& message : header.messages) {
      if (message.type > kLastKnownMessageType && (message.flags & kMessageFlagFailIfUnknown)) {
        return file_.unsupported("object header message", message.address,
                                 fmt::format("unknown message type {:#x} of \"{}\" is marked \"fail if unknown\"",
                                             message.type, object.path));
      }
      const bool shared = message.flags & kMessageFlagShared;
      switch (message.type) {
        case kDataspaceMessage: {
          if (shared) {
            FLOE_RETURN_IF_ERROR(problem(index, file_.unsupported("dataspace message", message.address, "shared dataspace")));
            break;
          }
          FLOE_ASSIGN_OR_RETURN(object.dataspace, parse_dataspace(file_, message.body, message.address));
          break;
        }
        case kDatatypeMessage: {
          has_datatype = true;
          if (shared) {
            auto committed = parse_shared_message_address(file_, message.body, message.address);
            if (!committed.ok()) {
              FLOE_RETURN_IF_ERROR(problem(index, std::move(committed).error()));
              break;
            }
            object.datatype.committed_address = *committed;
          } else {
            auto type = parse_datatype(file_, message.body, message.address);
            if (!type.ok()) {
              FLOE_RETURN_IF_ERROR(problem(index, std::move(type).error()));
              break;
            }
            object.datatype = std::move(type).value();
          }
          break;
        }
        case kFillValueOldMessage:
        case kFillValueMessage: {
          if (shared) break;
          auto fill = parse_fill_value(file_, message.body, message.address, message.type == kFillValueOldMessage);
          if (!fill.ok()) {
            FLOE_RETURN_IF_ERROR(problem(index, std::move(fill).error()));
            break;
          }
          // The new message wins over the old one.
          if (message.type == kFillValueMessage || !object.fill_value) object.fill_value = std::move(fill).value();
          break;
        }
        case kLayoutMessage:
          has_layout = true;
          object.layout_message = message;
          break;
        case kFilterPipelineMessage:
          object.filter_pipeline_message = message;
          break;
        case kExternalFilesMessage:
          object.external_storage = true;
          break;
        case kAttributeMessage: {
          if (shared) {
            FLOE_RETURN_IF_ERROR(problem(index, file_.unsupported("attribute message", message.address,
                                                                   "shared attribute (SOHM)")));
            break;
          }
          auto attribute = parse_attribute(file_, message.body, message.address);
          if (!attribute.ok()) {
            FLOE_RETURN_IF_ERROR(problem(index, std::move(attribute).error()));
            break;
          }
          level_object.attributes.push_back(std::move(attribute).value());
          break;
        }
        case kAttributeInfoMessage: {
          FLOE_ASSIGN_OR_RETURN(DenseStorageInfo info, parse_attribute_info(file_, message.body, message.address));
          if (info.heap_address != kUndefinedAddress) level_object.dense_attributes = info;
          break;
        }
        case kLinkInfoMessage: {
          level_object.group_messages = true;
          FLOE_ASSIGN_OR_RETURN(DenseStorageInfo info, parse_link_info(file_, message.body, message.address));
          if (info.heap_address != kUndefinedAddress) level_object.dense_links = info;
          break;
        }
        case kGroupInfoMessage:
          level_object.group_messages = true;
          break;
        case kLinkMessage: {
          level_object.group_messages = true;
          FLOE_ASSIGN_OR_RETURN(Link link, parse_link(file_, message.body, message.address));
          level_object.links.push_back(std::move(link));
          break;
        }
        case kSymbolTableMessage: {
          level_object.group_messages = true;
          FLOE_ASSIGN_OR_RETURN(SymbolTableInfo info, parse_symbol_table_message(file_, message.body, message.address));
          level_object.symbol_table = info;
          break;
        }
        default:
          break;
      }
    }
    if (index == 0 || level_object.group_messages) {
      object.kind = ObjectKind::kGroup;
    } else if (has_layout) {
      object.kind = ObjectKind::kDataset;
    } else if (has_datatype) {
      object.kind = ObjectKind::kCommittedDatatype;
    } else {
      object.kind = ObjectKind::kOther;
    }
    return ok_status();
  }

  // Dense attributes and dense links: heap headers and name-index B-trees of every object, walked together.
  Status read_dense_storage(std::vector<LevelObject>& objects) {
    struct DenseUse {
      size_t object;  // into `objects`
      bool links;
      DenseStorageInfo info;
    };
    std::vector<DenseUse> uses;
    for (size_t i = 0; i < objects.size(); ++i) {
      if (objects[i].dense_attributes) uses.push_back({i, false, *objects[i].dense_attributes});
      if (objects[i].dense_links) uses.push_back({i, true, *objects[i].dense_links});
    }
    if (uses.empty()) return ok_status();
    std::vector<BTreeV2Walk> walks;
    std::vector<Extent> round;
    for (const DenseUse& use : uses) {
      walks.emplace_back(use.info.name_index_address);
      round.push_back({use.info.heap_address, kFractalHeapHeaderReadSize});
    }
    // Round: heap headers with the B-tree headers; then one round per B-tree level.
    std::vector<FractalHeapHeader> heaps(uses.size());
    bool first = true;
    for (;;) {
      for (const BTreeV2Walk& walk : walks) {
        if (walk.done()) continue;
        auto pending = walk.pending();
        round.insert(round.end(), pending.begin(), pending.end());
      }
      if (round.empty()) break;
      FLOE_RETURN_IF_ERROR(file_.prefetch(round));
      round.clear();
      if (first) {
        for (size_t u = 0; u < uses.size(); ++u) {
          FLOE_ASSIGN_OR_RETURN(Bytes bytes, file_.read_at_most(uses[u].info.heap_address, kFractalHeapHeaderReadSize,
                                                                "fractal heap header (FRHP)"));
          FLOE_ASSIGN_OR_RETURN(heaps[u], parse_fractal_heap_header(file_, bytes, uses[u].info.heap_address));
        }
        first = false;
      }
      for (size_t u = 0; u < walks.size(); ++u) {
        if (walks[u].done()) continue;
        FLOE_RETURN_IF_ERROR(walks[u].step(file_));
      }
    }
    // Heap objects of every record of every tree, in one batch.
    std::vector<HeapObjectRequest> requests;
    struct RecordOrigin {
      size_t use;
      uint32_t creation_order;
    };
    std::vector<RecordOrigin> origins;
    for (size_t u = 0; u < uses.size(); ++u) {
      BTreeV2Records records = walks[u].take();
      const size_t object = objects[uses[u].object].index;
      uint8_t expected = uses[u].links ? 5 : 8;
      if (records.type != expected) {
        return file_.corrupt("v2 B-tree header", uses[u].info.name_index_address,
                             fmt::format("record type {} where the {} name index (type {}) was expected", records.type,
                                         uses[u].links ? "link" : "attribute", expected));
      }
      if (records.records.size() > file_.size().value_or(0)) {
        return file_.corrupt("v2 B-tree header", uses[u].info.name_index_address, "more records than bytes");
      }
      for (const Bytes& record : records.records) {
        size_t id_start = uses[u].links ? 4 : 0;
        size_t id_length = uses[u].links ? 7 : 8;
        if (record.size() < id_start + id_length + (uses[u].links ? 0 : 9)) {
          return file_.corrupt("v2 B-tree record", uses[u].info.name_index_address, "record shorter than its fields");
        }
        uint32_t creation_order = 0;
        if (!uses[u].links) {
          auto flags = std::to_integer<uint8_t>(record.data()[8]);
          if (flags & kMessageFlagShared) {
            FLOE_RETURN_IF_ERROR(problem(object, file_.unsupported("attribute name index", uses[u].info.name_index_address,
                                                                    "shared attribute (SOHM)")));
            continue;
          }
          const std::byte* p = record.data() + 9;
          creation_order = std::to_integer<uint32_t>(p[0]) | std::to_integer<uint32_t>(p[1]) << 8 |
                           std::to_integer<uint32_t>(p[2]) << 16 | std::to_integer<uint32_t>(p[3]) << 24;
        }
        requests.push_back({&heaps[u], record.slice(id_start, id_length)});
        origins.push_back({u, creation_order});
      }
    }
    auto results = read_fractal_heap_objects(file_, requests);
    std::map<size_t, std::vector<Attribute>> dense_attributes;
    for (size_t r = 0; r < results.size(); ++r) {
      const DenseUse& use = uses[origins[r].use];
      LevelObject& level_object = objects[use.object];
      if (!results[r].ok()) {
        FLOE_RETURN_IF_ERROR(problem(level_object.index, std::move(results[r]).error()));
        continue;
      }
      if (use.links) {
        FLOE_ASSIGN_OR_RETURN(Link link, parse_link(file_, *results[r], use.info.heap_address));
        level_object.links.push_back(std::move(link));
      } else {
        auto attribute = parse_attribute(file_, *results[r], use.info.heap_address);
        if (!attribute.ok()) {
          FLOE_RETURN_IF_ERROR(problem(level_object.index, std::move(attribute).error()));
          continue;
        }
        attribute->creation_order = origins[r].creation_order;
        dense_attributes[use.object].push_back(std::move(attribute).value());
      }
    }
    for (auto& [object, attributes] : dense_attributes) {
      std::stable_sort(attributes.begin(), attributes.end(), [](const Attribute& a, const Attribute& b) {
        if (a.creation_order != b.creation_order) return a.creation_order < b.creation_order;
        return a.name < b.name;
      });
      for (Attribute& attribute : attributes) objects[object].attributes.push_back(std::move(attribute));
    }
    return ok_status();
  }

  Status read_symbol_tables(std::vector<LevelObject>& objects) {
    std::vector<SymbolTableGroup> groups;
    std::vector<size_t> owners;
    for (size_t i = 0; i < objects.size(); ++i) {
      if (!objects[i].symbol_table) continue;
      groups.push_back({*objects[i].symbol_table, {}});
      owners.push_back(i);
    }
    if (groups.empty()) return ok_status();
    auto statuses = read_symbol_table_groups(file_, groups, structure_.superblock.group_internal_k,
                                             structure_.superblock.group_leaf_k);
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!statuses[g].ok()) {
        return std::move(statuses[g]).error().add_context(
            fmt::format("reading the members of group \"{}\"", structure_.objects[objects[owners[g]].index].path));
      }
      for (Link& link : groups[g].links) objects[owners[g]].links.push_back(std::move(link));
    }
    return ok_status();
  }

  // Datatypes stored as committed objects (shared datatype messages) of datasets and attributes.
  Status resolve_committed_datatypes(std::vector<LevelObject>& objects) {
    std::set<uint64_t> wanted;
    for (LevelObject& level_object : objects) {
      const Datatype& type = structure_.objects[level_object.index].datatype;
      if (type.committed_address != kUndefinedAddress) wanted.insert(type.committed_address);
      for (const Attribute& attribute : level_object.attributes) {
        if (attribute.datatype.committed_address != kUndefinedAddress) {
          wanted.insert(attribute.datatype.committed_address);
        }
      }
    }
    std::vector<uint64_t> missing;
    for (uint64_t address : wanted) {
      if (!committed_types_.count(address)) missing.push_back(address);
    }
    if (!missing.empty()) {
      auto headers = read_object_headers(file_, missing);
      for (size_t i = 0; i < missing.size(); ++i) {
        if (!headers[i].ok()) return std::move(headers[i]).error().add_context("reading a committed datatype");
        const HeaderMessage* message = headers[i]->find(kDatatypeMessage);
        if (!message || (message->flags & kMessageFlagShared)) {
          return file_.corrupt("committed datatype", missing[i], "object header without a (plain) datatype message");
        }
        FLOE_ASSIGN_OR_RETURN(Datatype type, parse_datatype(file_, message->body, message->address));
        committed_types_.emplace(missing[i], std::move(type));
      }
    }
    auto resolve = [this](Datatype& type) {
      if (type.committed_address == kUndefinedAddress) return;
      uint64_t address = type.committed_address;
      type = committed_types_.at(address);
      type.committed_address = address;
    };
    for (LevelObject& level_object : objects) {
      resolve(structure_.objects[level_object.index].datatype);
      for (Attribute& attribute : level_object.attributes) resolve(attribute.datatype);
    }
    return ok_status();
  }

  Status decode_attributes(std::vector<LevelObject>& objects) {
    std::vector<GlobalHeapId> ids;
    for (const LevelObject& level_object : objects) {
      for (const Attribute& attribute : level_object.attributes) {
        auto more = vlen_heap_ids(file_, attribute);
        ids.insert(ids.end(), more.begin(), more.end());
      }
    }
    global_heap_.load(file_, ids);
    GlobalHeapLookup lookup = [this](const GlobalHeapId& id) { return global_heap_.object(file_, id); };
    for (LevelObject& level_object : objects) {
      HdfObject& object = structure_.objects[level_object.index];
      for (Attribute& attribute : level_object.attributes) {
        auto value = decode_attribute_value(file_, attribute, lookup);
        if (!value.ok()) {
          if (is_error_fatal(value.error())) return std::move(value).error();
          warn(fmt::format("attribute \"{}\" of \"{}\" skipped: {}", attribute.name, object.path,
                           value.error().message()));
          continue;
        }
        object.attributes.push_back({attribute.name, std::move(value).value(), std::move(attribute.datatype),
                                     std::move(attribute.dataspace)});
      }
    }
    return ok_status();
  }

  std::vector<size_t> add_children(std::vector<LevelObject>& objects) {
    std::vector<size_t> next;
    for (LevelObject& level_object : objects) {
      if (structure_.objects[level_object.index].kind != ObjectKind::kGroup) continue;
      order_links(level_object.links);
      for (const Link& link : level_object.links) {
        const HdfObject& parent = structure_.objects[level_object.index];
        std::string path = parent.path == "/" ? "/" + link.name : parent.path + "/" + link.name;
        if (link.kind != LinkKind::kHard) {
          warn(fmt::format("\"{}\" is a {} link; skipped", path, link.kind == LinkKind::kSoft ? "soft" : "external"));
          if (link.kind == LinkKind::kSoft) {
            soft_links_.push_back({level_object.index, structure_.objects[level_object.index].links.size(),
                                   link.soft_target});
            structure_.objects[level_object.index].links.push_back({link.name, SIZE_MAX});
          }
          continue;
        }
        auto [found, inserted] = seen_.emplace(link.address, structure_.objects.size());
        structure_.objects[level_object.index].links.push_back({link.name, found->second});
        if (!inserted) {
          warn(fmt::format("\"{}\" is another hard link to \"{}\"; skipped", path,
                           structure_.objects[found->second].path));
          continue;
        }
        HdfObject child;
        child.address = link.address;
        child.name = link.name;
        child.path = std::move(path);
        child.parent = level_object.index;
        child.depth = parent.depth + 1;
        structure_.objects[level_object.index].children.push_back(structure_.objects.size());
        next.push_back(structure_.objects.size());
        structure_.objects.push_back(std::move(child));
      }
    }
    return next;
  }

  // Follows each soft link's path through the groups' links (soft links to soft links too, at most
  // kMaxSoftLinkHops deep, as libhdf5 limits them); a path that reaches nothing read leaves the target unset.
  void resolve_soft_links() {
    for (int hop = 0; hop < kMaxSoftLinkHops; ++hop) {
      bool changed = false;
      for (const PendingSoftLink& soft : soft_links_) {
        GroupLink& link = structure_.objects[soft.group].links[soft.position];
        if (link.target != SIZE_MAX) continue;
        link.target = follow_path(soft.group, soft.target);
        changed = changed || link.target != SIZE_MAX;
      }
      if (!changed) break;
    }
  }

  size_t follow_path(size_t group, std::string_view path) const {
    size_t at = path.rfind('/', 0) == 0 ? 0 : group;
    while (!path.empty()) {
      size_t slash = path.find('/');
      std::string_view component = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
      if (component.empty() || component == ".") continue;
      if (structure_.objects[at].kind != ObjectKind::kGroup) return SIZE_MAX;
      size_t next = SIZE_MAX;
      for (const GroupLink& link : structure_.objects[at].links) {
        if (link.name == component) {
          next = link.target;
          break;
        }
      }
      if (next == SIZE_MAX) return SIZE_MAX;
      at = next;
    }
    return at;
  }

  struct PendingSoftLink {
    size_t group;     // object index of the group holding the link
    size_t position;  // in the group's links
    std::string target;
  };
  static constexpr int kMaxSoftLinkHops = 16;

  FileReader& file_;
  FileStructure structure_;
  std::vector<PendingSoftLink> soft_links_;
  std::map<uint64_t, size_t> seen_;
  std::map<uint64_t, Datatype> committed_types_;
  GlobalHeap global_heap_;
};

}  // namespace

Result<FileStructure> read_file_structure(FileReader& file) { return StructureReader(file).read(); }

}  // namespace floe::formats::hdf5
