// Snapshot, transaction log and repo info files: flatbuffer decoding (spec 1 and 2) and spec-2 encoding.
#include "floe/icechunk/format.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>

#include "floe/icechunk/envelope.h"
#include "floe/icechunk/flatbuffer_helpers.h"
#include "floe/icechunk/schema/repo_generated.h"
#include "floe/icechunk/schema/snapshot_generated.h"
#include "floe/icechunk/schema/transaction_log_generated.h"

namespace floe::icechunk {
namespace {

using detail::to_fb;
using detail::to_id12;
using detail::to_id8;
using detail::view_of;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using flatbuffers::Vector;

// Verifier limits as in the upstream readers (snapshot.rs, repo_info.rs, transaction_log.rs).
constexpr detail::VerifierLimits kSnapshotLimits{64, 50'000'000};
constexpr detail::VerifierLimits kRepoInfoLimits{10, 5'000'000};
constexpr detail::VerifierLimits kTransactionLogLimits{64, std::numeric_limits<flatbuffers::uoffset_t>::max()};

std::span<const std::uint8_t> span_of(const Vector<std::uint8_t>* bytes) {
  return bytes == nullptr ? std::span<const std::uint8_t>() : std::span(bytes->data(), bytes->size());
}

std::span<const std::uint8_t> span_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// ---- metadata items ------------------------------------------------------------------------------------

Result<Json> decode_metadata(const Vector<Offset<fb::MetadataItem>>* items, std::uint8_t spec_version,
                             std::string_view object_name) {
  Json metadata = Json::object();
  if (items == nullptr) return metadata;
  for (const fb::MetadataItem* item : *items) {
    std::string name(view_of(item->name()));
    std::span<const std::uint8_t> value = span_of(item->value());
    Result<Json> decoded = spec_version == 1 ? msgpack_to_json(value) : flexbuffer_to_json(value);
    if (!decoded.ok()) {
      return std::move(decoded).error().add_context(
          fmt::format("{}: metadata item \"{}\"", object_name, name));
    }
    metadata[name] = std::move(decoded).value();
  }
  return metadata;
}

Offset<Vector<Offset<fb::MetadataItem>>> encode_metadata(FlatBufferBuilder& builder, const Json& metadata) {
  std::vector<Offset<fb::MetadataItem>> items;
  if (metadata.is_object()) {
    // nlohmann's object is a std::map<std::string, …>: iteration is already in name byte order.
    for (const auto& [name, value] : metadata.items()) {
      auto name_offset = builder.CreateString(name);
      auto value_offset = builder.CreateVector(json_to_flexbuffer(value));
      items.push_back(fb::CreateMetadataItem(builder, name_offset, value_offset));
    }
  }
  return builder.CreateVector(items);
}

Bytes finish_and_seal(FlatBufferBuilder& builder, FileType type) {
  return seal_envelope(type, std::span(builder.GetBufferPointer(), builder.GetSize()));
}

// ---- snapshot ------------------------------------------------------------------------------------------

Result<std::vector<DimensionShape>> decode_shape(const fb::ArrayNodeData& array, std::string_view object_name,
                                                 std::string_view path) {
  std::vector<DimensionShape> shape;
  if (array.shape_v2() != nullptr) {  // spec 2
    for (const fb::DimensionShapeV2* dimension : *array.shape_v2()) {
      shape.push_back({dimension->array_length(), dimension->num_chunks()});
    }
    return shape;
  }
  if (!detail::elements_aligned(array.shape())) {
    return make_error(ErrorCode::kCorrupt, "{}: array {} has a misaligned shape vector", object_name, path);
  }
  for (const fb::DimensionShape* dimension : *array.shape()) {  // spec 1: derive the chunk count
    std::uint64_t length = dimension->array_length();
    std::uint64_t chunk_length = dimension->chunk_length();
    if (chunk_length == 0) {
      if (length != 0) {
        return make_error(ErrorCode::kCorrupt, "{}: array {} has chunk_length 0 in dimension {}", object_name,
                          path, shape.size());
      }
      shape.push_back({0, 0});
      continue;
    }
    std::uint64_t num_chunks = length / chunk_length + (length % chunk_length != 0 ? 1 : 0);
    if (num_chunks > std::numeric_limits<std::uint32_t>::max()) {
      return make_error(ErrorCode::kCorrupt, "{}: array {} has {} chunks in dimension {}", object_name, path,
                        num_chunks, shape.size());
    }
    shape.push_back({length, static_cast<std::uint32_t>(num_chunks)});
  }
  return shape;
}

Result<Node> decode_node(const fb::NodeSnapshot& entry, std::string_view object_name) {
  Node node;
  node.id = to_id8(*entry.id());
  node.path = std::string(view_of(entry.path()));
  std::span<const std::uint8_t> user_data = span_of(entry.user_data());
  node.zarr_json.assign(reinterpret_cast<const char*>(user_data.data()), user_data.size());
  switch (entry.node_data_type()) {
    case fb::NodeData::Group:
      node.kind = NodeKind::kGroup;
      return node;
    case fb::NodeData::Array: {
      node.kind = NodeKind::kArray;
      const fb::ArrayNodeData* array = entry.node_data_as_Array();
      if (array == nullptr) {
        return make_error(ErrorCode::kCorrupt, "{}: array node {} has no array data", object_name, node.path);
      }
      FLOE_ASSIGN_OR_RETURN(node.shape, decode_shape(*array, object_name, node.path));
      if (array->dimension_names() != nullptr) {
        for (const fb::DimensionName* name : *array->dimension_names()) {
          node.dimension_names.push_back(name->name() == nullptr ? std::nullopt
                                                                 : std::optional(std::string(view_of(name->name()))));
        }
      }
      for (const fb::ManifestRef* manifest : *array->manifests()) {
        ManifestRef ref;
        ref.manifest_id = to_id12(*manifest->object_id());
        for (const fb::ChunkIndexRange* extent : *manifest->extents()) {
          ref.extents.push_back({extent->from(), extent->to()});
        }
        node.manifests.push_back(std::move(ref));
      }
      return node;
    }
    default:
      return make_error(ErrorCode::kCorrupt, "{}: node {} has unknown node data type {}", object_name, node.path,
                        static_cast<int>(entry.node_data_type()));
  }
}

Offset<fb::NodeSnapshot> encode_node(FlatBufferBuilder& builder, const Node& node) {
  auto path = builder.CreateString(node.path);
  auto user_data = builder.CreateVector(span_of(node.zarr_json).data(), node.zarr_json.size());
  fb::NodeData data_type = fb::NodeData::Group;
  Offset<void> data;
  if (node.kind == NodeKind::kArray) {
    data_type = fb::NodeData::Array;
    auto legacy_shape = builder.CreateVectorOfStructs(std::vector<fb::DimensionShape>());  // required, empty
    std::vector<Offset<fb::DimensionShapeV2>> shape;
    for (const DimensionShape& dimension : node.shape) {
      shape.push_back(fb::CreateDimensionShapeV2(builder, dimension.array_length, dimension.num_chunks));
    }
    auto shape_v2 = builder.CreateVector(shape);
    Offset<Vector<Offset<fb::DimensionName>>> dimension_names;
    if (!node.dimension_names.empty()) {
      std::vector<Offset<fb::DimensionName>> names;
      for (const auto& name : node.dimension_names) {
        names.push_back(fb::CreateDimensionName(builder, name ? builder.CreateString(*name) : 0));
      }
      dimension_names = builder.CreateVector(names);
    }
    std::vector<Offset<fb::ManifestRef>> manifests;
    for (const ManifestRef& ref : node.manifests) {
      std::vector<fb::ChunkIndexRange> extents;
      for (const ChunkExtent& extent : ref.extents) extents.emplace_back(extent.from, extent.to);
      auto extents_offset = builder.CreateVectorOfStructs(extents);
      fb::ObjectId12 id = to_fb(ref.manifest_id);
      manifests.push_back(fb::CreateManifestRef(builder, &id, extents_offset));
    }
    auto manifests_offset = builder.CreateVector(manifests);
    data = fb::CreateArrayNodeData(builder, legacy_shape, dimension_names, manifests_offset, shape_v2).Union();
  } else {
    data = fb::CreateGroupNodeData(builder).Union();
  }
  fb::ObjectId8 id = to_fb(node.id);
  return fb::CreateNodeSnapshot(builder, &id, path, user_data, data_type, data);
}

// ---- transaction log: hand-laid flatbuffer ---------------------------------------------------------------
//
// The layout, front to back (every offset points forward, every table is 4-aligned):
//   root offset, "Ichk", TransactionLog vtable, ArrayUpdatedChunks vtable, ChunkIndices vtable (shared by
//   every table of that type), TransactionLog table, six node-id vectors, empty moved_nodes vector,
//   updated_chunks vector, then per array: its table, its chunks vector and `count` fixed-size
//   (ChunkIndices table, coords vector) pairs of 12 + 4 * ndim bytes.

constexpr std::uint32_t kRootOffsetPosition = 0;
constexpr std::uint32_t kLogVtablePosition = 8;
constexpr std::uint32_t kLogVtableSize = 2 * (2 + 9);  // 9 fields: id … moved_nodes
constexpr std::uint32_t kArrayVtablePosition = 32;
constexpr std::uint32_t kArrayVtableSize = 2 * (2 + 2);
constexpr std::uint32_t kIndicesVtablePosition = 40;
constexpr std::uint32_t kIndicesVtableSize = 2 * (2 + 1);
constexpr std::uint32_t kLogTablePosition = 48;
constexpr std::uint32_t kLogTableSize = 4 + 8 * 4 + 12;  // soffset, 8 uoffsets, ObjectId12
constexpr std::uint32_t kArrayTableSize = 4 + 4 + 8;     // soffset, chunks uoffset, ObjectId8
constexpr std::uint32_t kIndicesTableSize = 4 + 4;       // soffset, coords uoffset
static_assert(kLogVtablePosition + kLogVtableSize <= kArrayVtablePosition);
static_assert(kArrayVtablePosition + kArrayVtableSize <= kIndicesVtablePosition);
static_assert(kIndicesVtablePosition + kIndicesVtableSize <= kLogTablePosition);

// Feeds bytes through one ZSTD_compressStream2 frame; only the compressed output is kept in memory.
class StreamingCompressor {
 public:
  StreamingCompressor(std::string prefix, std::uint64_t total_size, int level)
      : context_(ZSTD_createCCtx()), output_(std::move(prefix)) {
    ZSTD_CCtx_setParameter(context_.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setPledgedSrcSize(context_.get(), total_size);
    staging_.reserve(kStagingSize);
  }

  void append(const void* data, size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
      size_t take = std::min(size, kStagingSize - staging_.size());
      staging_.append(bytes, take);
      bytes += take;
      size -= take;
      if (staging_.size() == kStagingSize) flush(ZSTD_e_continue);
    }
  }
  template <typename T>
  void append_scalar(T value) {
    append(&value, sizeof(value));  // flatbuffers are little-endian, as is every target floe builds for
  }
  void append_zeros(size_t count) {
    static constexpr char kZeros[8] = {};
    append(kZeros, count);
  }

  std::string finish() {
    flush(ZSTD_e_end);
    return std::move(output_);
  }

 private:
  static constexpr size_t kStagingSize = 128 * 1024;
  struct CCtxDeleter {
    void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
  };

  void flush(ZSTD_EndDirective mode) {
    ZSTD_inBuffer input{staging_.data(), staging_.size(), 0};
    while (true) {
      size_t used = output_.size();
      output_.resize(used + ZSTD_CStreamOutSize());
      ZSTD_outBuffer out{output_.data() + used, ZSTD_CStreamOutSize(), 0};
      size_t remaining = ZSTD_compressStream2(context_.get(), &out, &input, mode);
      output_.resize(used + out.pos);
      if (ZSTD_isError(remaining)) std::abort();  // only on misuse (e.g. a wrong pledged size): a bug here
      bool done = mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size;
      if (done) break;
    }
    staging_.clear();
  }

  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> context_;
  std::string staging_;
  std::string output_;
};

}  // namespace

// ---- snapshot ------------------------------------------------------------------------------------------

Result<Snapshot> read_snapshot_file(const Bytes& file, std::string_view object_name) {
  FileHeader header;
  FLOE_ASSIGN_OR_RETURN(Bytes payload, open_envelope(file, FileType::kSnapshot, object_name, &header));
  FLOE_ASSIGN_OR_RETURN(const fb::Snapshot* root,
                        detail::verified_root<fb::Snapshot>(payload, kSnapshotLimits, object_name, "snapshot"));
  Snapshot snapshot;
  snapshot.spec_version = header.spec_version;
  snapshot.id = to_id12(*root->id());
  if (root->parent_id() != nullptr) snapshot.parent_id = to_id12(*root->parent_id());
  snapshot.flushed_at_us = root->flushed_at();
  snapshot.message = std::string(view_of(root->message()));
  FLOE_ASSIGN_OR_RETURN(snapshot.metadata, decode_metadata(root->metadata(), header.spec_version, object_name));
  snapshot.nodes.reserve(root->nodes()->size());
  for (const fb::NodeSnapshot* entry : *root->nodes()) {
    FLOE_ASSIGN_OR_RETURN(Node node, decode_node(*entry, object_name));
    snapshot.nodes.push_back(std::move(node));
  }
  if (root->manifest_files_v2() != nullptr) {
    for (const fb::ManifestFileInfoV2* info : *root->manifest_files_v2()) {
      if (info->id() == nullptr) {
        return make_error(ErrorCode::kCorrupt, "{}: manifest file entry {} has no id", object_name,
                          snapshot.manifest_files.size());
      }
      snapshot.manifest_files.push_back({to_id12(*info->id()), info->size_bytes(), info->num_chunk_refs()});
    }
  }
  if (!detail::elements_aligned(root->manifest_files())) {
    return make_error(ErrorCode::kCorrupt, "{}: the manifest_files vector is misaligned", object_name);
  }
  for (const fb::ManifestFileInfo* info : *root->manifest_files()) {  // spec 1 (empty in spec 2)
    snapshot.manifest_files.push_back({to_id12(info->id()), info->size_bytes(), info->num_chunk_refs()});
  }
  return snapshot;
}

Bytes write_snapshot_file(const Snapshot& snapshot) {
  FlatBufferBuilder builder(4096);
  std::vector<const Node*> nodes;
  for (const Node& node : snapshot.nodes) nodes.push_back(&node);
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) { return a->path < b->path; });
  std::vector<Offset<fb::NodeSnapshot>> node_offsets;
  node_offsets.reserve(nodes.size());
  for (const Node* node : nodes) node_offsets.push_back(encode_node(builder, *node));
  auto nodes_offset = builder.CreateVector(node_offsets);
  auto message = builder.CreateString(snapshot.message);
  auto metadata = encode_metadata(builder, snapshot.metadata);
  auto legacy_manifest_files = builder.CreateVectorOfStructs(std::vector<fb::ManifestFileInfo>());

  std::vector<ManifestFileInfo> files = snapshot.manifest_files;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<Offset<fb::ManifestFileInfoV2>> file_offsets;
  for (const ManifestFileInfo& info : files) {
    fb::ObjectId12 id = to_fb(info.id);
    file_offsets.push_back(fb::CreateManifestFileInfoV2(builder, &id, info.size_bytes, info.num_chunk_refs));
  }
  auto manifest_files = builder.CreateVector(file_offsets);
  fb::ObjectId12 id = to_fb(snapshot.id);
  auto root = fb::CreateSnapshot(builder, &id, nullptr, nodes_offset, snapshot.flushed_at_us, message, metadata,
                                 legacy_manifest_files, manifest_files);
  builder.Finish(root, detail::kFileIdentifier);
  return finish_and_seal(builder, FileType::kSnapshot);
}

// ---- transaction log -----------------------------------------------------------------------------------

Result<TransactionLog> read_transaction_log_file(const Bytes& file, std::string_view object_name) {
  FLOE_ASSIGN_OR_RETURN(Bytes payload, open_envelope(file, FileType::kTransactionLog, object_name));
  FLOE_ASSIGN_OR_RETURN(const fb::TransactionLog* root,
                        detail::verified_root<fb::TransactionLog>(payload, kTransactionLogLimits, object_name,
                                                                  "transaction log"));
  TransactionLog log;
  log.id = to_id12(*root->id());
  auto copy_ids = [](const Vector<const fb::ObjectId8*>* ids, std::vector<Id8>& out) {
    out.reserve(ids->size());
    for (const fb::ObjectId8* id : *ids) out.push_back(to_id8(*id));
  };
  copy_ids(root->new_groups(), log.new_groups);
  copy_ids(root->new_arrays(), log.new_arrays);
  copy_ids(root->deleted_groups(), log.deleted_groups);
  copy_ids(root->deleted_arrays(), log.deleted_arrays);
  copy_ids(root->updated_arrays(), log.updated_arrays);
  copy_ids(root->updated_groups(), log.updated_groups);
  for (const fb::ArrayUpdatedChunks* array : *root->updated_chunks()) {
    UpdatedChunks updated;
    updated.node_id = to_id8(*array->node_id());
    const auto& chunks = *array->chunks();
    updated.ndim = chunks.size() == 0 ? 0 : chunks.Get(0)->coords()->size();
    if (updated.ndim == 0) {
      if (chunks.size() > 0) updated.coords.push_back(0);  // the single chunk of a 0-d array
    } else {
      updated.coords.reserve(static_cast<size_t>(chunks.size()) * updated.ndim);
      for (flatbuffers::uoffset_t i = 0; i < chunks.size(); ++i) {
        const Vector<std::uint32_t>* coords = chunks.Get(i)->coords();
        if (coords->size() != updated.ndim) {
          return make_error(ErrorCode::kCorrupt,
                            "{}: updated chunk {} of node {} has {} coordinates, the first has {}", object_name,
                            i, to_string(updated.node_id), coords->size(), updated.ndim);
        }
        updated.coords.insert(updated.coords.end(), coords->begin(), coords->end());
      }
    }
    log.updated_chunks.push_back(std::move(updated));
  }
  if (root->moved_nodes() != nullptr) {
    for (const fb::MoveOperation* move : *root->moved_nodes()) {
      MoveOperation operation;
      operation.from = std::string(view_of(move->from()));
      operation.to = std::string(view_of(move->to()));
      if (move->node_id() != nullptr) operation.node_id = to_id8(*move->node_id());
      operation.node_kind = move->node_type() == fb::NodeType::Array ? NodeKind::kArray : NodeKind::kGroup;
      log.moved_nodes.push_back(std::move(operation));
    }
  }
  return log;
}

Bytes write_transaction_log_file(const TransactionLogToWrite& log) {
  // Node-id lists (small) are sorted copies; the updated-chunk sources are only ordered, never expanded.
  std::array<std::vector<Id8>, 6> id_lists = {log.new_groups,     log.new_arrays,     log.deleted_groups,
                                              log.deleted_arrays, log.updated_arrays, log.updated_groups};
  for (auto& ids : id_lists) std::sort(ids.begin(), ids.end());
  std::vector<const UpdatedChunksSource*> arrays;
  for (const UpdatedChunksSource& source : log.updated_chunks) arrays.push_back(&source);
  std::sort(arrays.begin(), arrays.end(), [](const auto* a, const auto* b) { return a->node_id < b->node_id; });

  // Positions of everything, computed before the first byte is written.
  std::uint64_t position = kLogTablePosition + kLogTableSize;
  std::array<std::uint64_t, 6> id_list_positions{};
  for (size_t i = 0; i < id_lists.size(); ++i) {
    id_list_positions[i] = position;
    position += 4 + 8 * id_lists[i].size();
  }
  const std::uint64_t moved_nodes_position = position;
  position += 4;
  const std::uint64_t updated_chunks_position = position;
  position += 4 + 4 * arrays.size();
  std::vector<std::uint64_t> array_positions;
  for (const UpdatedChunksSource* array : arrays) {
    array_positions.push_back(position);
    position += kArrayTableSize + 4 + 4 * array->count;
    position += array->count * (kIndicesTableSize + 4 + 4 * std::uint64_t{array->ndim});
  }
  const std::uint64_t total_size = position;

  StreamingCompressor out(envelope_header(FileType::kTransactionLog), total_size, kDefaultZstdLevel);
  auto u32 = [&](std::uint64_t value) { out.append_scalar(static_cast<std::uint32_t>(value)); };
  auto u16 = [&](std::uint32_t value) { out.append_scalar(static_cast<std::uint16_t>(value)); };
  auto soffset = [&](std::uint64_t table, std::uint64_t vtable) {
    out.append_scalar(static_cast<std::int32_t>(static_cast<std::int64_t>(table) - static_cast<std::int64_t>(vtable)));
  };

  // Header: root offset and file identifier.
  u32(kLogTablePosition - kRootOffsetPosition);
  out.append(detail::kFileIdentifier, 4);
  // TransactionLog vtable: field 0 (id) after the 8 offsets, fields 1..8 are the offsets in order.
  u16(kLogVtableSize);
  u16(kLogTableSize);
  u16(4 + 8 * 4);
  for (std::uint32_t field = 0; field < 8; ++field) u16(4 + 4 * field);
  out.append_zeros(kArrayVtablePosition - kLogVtablePosition - kLogVtableSize);
  // ArrayUpdatedChunks vtable: node_id at 8, chunks at 4.
  u16(kArrayVtableSize);
  u16(kArrayTableSize);
  u16(8);
  u16(4);
  // ChunkIndices vtable: coords at 4.
  u16(kIndicesVtableSize);
  u16(kIndicesTableSize);
  u16(4);
  out.append_zeros(kLogTablePosition - kIndicesVtablePosition - kIndicesVtableSize);

  // TransactionLog table.
  soffset(kLogTablePosition, kLogVtablePosition);
  for (size_t i = 0; i < id_lists.size(); ++i) u32(id_list_positions[i] - (kLogTablePosition + 4 + 4 * i));
  u32(updated_chunks_position - (kLogTablePosition + 4 + 4 * 6));
  u32(moved_nodes_position - (kLogTablePosition + 4 + 4 * 7));
  out.append(log.id.data(), log.id.size());

  for (const auto& ids : id_lists) {
    u32(ids.size());
    for (const Id8& id : ids) out.append(id.data(), id.size());
  }
  u32(0);  // moved_nodes: floe does not record moves

  u32(arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) u32(array_positions[i] - (updated_chunks_position + 4 + 4 * i));

  std::vector<std::uint32_t> coords;
  for (size_t a = 0; a < arrays.size(); ++a) {
    const UpdatedChunksSource& array = *arrays[a];
    const std::uint64_t table = array_positions[a];
    const std::uint64_t chunks_vector = table + kArrayTableSize;
    const std::uint64_t first_indices = chunks_vector + 4 + 4 * array.count;
    const std::uint64_t stride = kIndicesTableSize + 4 + 4 * std::uint64_t{array.ndim};
    soffset(table, kArrayVtablePosition);
    u32(chunks_vector - (table + 4));
    out.append(array.node_id.data(), array.node_id.size());
    u32(array.count);
    for (std::uint64_t j = 0; j < array.count; ++j) u32(first_indices + j * stride - (chunks_vector + 4 + 4 * j));
    coords.assign(array.ndim, 0);
    for (std::uint64_t j = 0; j < array.count; ++j) {
      const std::uint64_t indices = first_indices + j * stride;
      soffset(indices, kIndicesVtablePosition);
      u32(4);  // the coords vector follows the table
      u32(array.ndim);
      if (array.ndim > 0) {
        array.coords_at(j, coords.data());
        out.append(coords.data(), 4 * coords.size());
      }
    }
  }
  return Bytes::from_string(out.finish());
}

// ---- repo info -----------------------------------------------------------------------------------------

namespace {

RepoStatus decode_status(const fb::RepoStatus* status) {
  RepoStatus out;
  if (status == nullptr) return out;
  out.availability = static_cast<std::uint8_t>(status->availability());
  out.set_at_us = status->set_at();
  if (status->limited_availability_reason() != nullptr) {
    out.limited_availability_reason = std::string(view_of(status->limited_availability_reason()));
  }
  return out;
}

Offset<fb::RepoStatus> encode_status(FlatBufferBuilder& builder, const RepoStatus& status) {
  auto reason = status.limited_availability_reason ? builder.CreateString(*status.limited_availability_reason)
                                                   : Offset<flatbuffers::String>();
  return fb::CreateRepoStatus(builder, static_cast<fb::RepoAvailability>(status.availability), status.set_at_us,
                              reason);
}

Result<RepoUpdate> decode_update(const fb::Update& entry, std::string_view object_name, size_t position) {
  RepoUpdate update;
  update.updated_at_us = entry.updated_at();
  if (entry.backup_path() != nullptr) update.backup_path = std::string(view_of(entry.backup_path()));
  auto unknown = [&] {
    return make_error(ErrorCode::kCorrupt, "{}: ops log entry {} has unknown update type {}", object_name, position,
                      static_cast<int>(entry.update_type_type()));
  };
  using fb::UpdateType;
  switch (entry.update_type_type()) {
    case UpdateType::RepoInitializedUpdate:
      update.kind = UpdateKind::kRepoInitialized;
      break;
    case UpdateType::RepoMigratedUpdate: {
      update.kind = UpdateKind::kRepoMigrated;
      const auto* migrated = entry.update_type_as_RepoMigratedUpdate();
      update.from_version = migrated->from_version();
      update.to_version = migrated->to_version();
      break;
    }
    case UpdateType::ConfigChangedUpdate:
      update.kind = UpdateKind::kConfigChanged;
      break;
    case UpdateType::MetadataChangedUpdate:
      update.kind = UpdateKind::kMetadataChanged;
      break;
    case UpdateType::TagCreatedUpdate:
      update.kind = UpdateKind::kTagCreated;
      update.name = std::string(view_of(entry.update_type_as_TagCreatedUpdate()->name()));
      break;
    case UpdateType::TagDeletedUpdate: {
      update.kind = UpdateKind::kTagDeleted;
      const auto* deleted = entry.update_type_as_TagDeletedUpdate();
      update.name = std::string(view_of(deleted->name()));
      update.previous_snap_id = to_id12(*deleted->previous_snap_id());
      break;
    }
    case UpdateType::BranchCreatedUpdate:
      update.kind = UpdateKind::kBranchCreated;
      update.name = std::string(view_of(entry.update_type_as_BranchCreatedUpdate()->name()));
      break;
    case UpdateType::BranchDeletedUpdate: {
      update.kind = UpdateKind::kBranchDeleted;
      const auto* deleted = entry.update_type_as_BranchDeletedUpdate();
      update.name = std::string(view_of(deleted->name()));
      update.previous_snap_id = to_id12(*deleted->previous_snap_id());
      break;
    }
    case UpdateType::BranchResetUpdate: {
      update.kind = UpdateKind::kBranchReset;
      const auto* reset = entry.update_type_as_BranchResetUpdate();
      update.name = std::string(view_of(reset->name()));
      update.previous_snap_id = to_id12(*reset->previous_snap_id());
      break;
    }
    case UpdateType::NewCommitUpdate: {
      update.kind = UpdateKind::kNewCommit;
      const auto* commit = entry.update_type_as_NewCommitUpdate();
      update.name = std::string(view_of(commit->branch()));
      update.new_snap_id = to_id12(*commit->new_snap_id());
      break;
    }
    case UpdateType::CommitAmendedUpdate: {
      update.kind = UpdateKind::kCommitAmended;
      const auto* amended = entry.update_type_as_CommitAmendedUpdate();
      update.name = std::string(view_of(amended->branch()));
      update.previous_snap_id = to_id12(*amended->previous_snap_id());
      update.new_snap_id = to_id12(*amended->new_snap_id());
      break;
    }
    case UpdateType::NewDetachedSnapshotUpdate:
      update.kind = UpdateKind::kNewDetachedSnapshot;
      update.new_snap_id = to_id12(*entry.update_type_as_NewDetachedSnapshotUpdate()->new_snap_id());
      break;
    case UpdateType::GCRanUpdate:
      update.kind = UpdateKind::kGcRan;
      break;
    case UpdateType::ExpirationRanUpdate:
      update.kind = UpdateKind::kExpirationRan;
      break;
    case UpdateType::FeatureFlagChangedUpdate: {
      update.kind = UpdateKind::kFeatureFlagChanged;
      const auto* flag = entry.update_type_as_FeatureFlagChangedUpdate();
      update.flag_id = flag->id();
      update.flag_new_value = flag->new_value();
      update.flag_is_set = flag->is_set();
      break;
    }
    case UpdateType::RepoStatusChangedUpdate:
      update.kind = UpdateKind::kRepoStatusChanged;
      update.status = decode_status(entry.update_type_as_RepoStatusChangedUpdate()->status());
      break;
    default:
      return unknown();
  }
  // The verifier accepts a type code whose table is absent only for NONE; the accessors above can return
  // null only if the type code and table disagree, which verification rules out.
  return update;
}

Offset<fb::Update> encode_update(FlatBufferBuilder& builder, const RepoUpdate& update) {
  fb::ObjectId12 previous = to_fb(update.previous_snap_id.value_or(Id12{}));
  fb::ObjectId12 next = to_fb(update.new_snap_id.value_or(Id12{}));
  Offset<void> payload;
  switch (update.kind) {
    case UpdateKind::kRepoInitialized:
      payload = fb::CreateRepoInitializedUpdate(builder).Union();
      break;
    case UpdateKind::kRepoMigrated:
      payload = fb::CreateRepoMigratedUpdate(builder, update.from_version, update.to_version).Union();
      break;
    case UpdateKind::kConfigChanged:
      payload = fb::CreateConfigChangedUpdate(builder).Union();
      break;
    case UpdateKind::kMetadataChanged:
      payload = fb::CreateMetadataChangedUpdate(builder).Union();
      break;
    case UpdateKind::kTagCreated:
      payload = fb::CreateTagCreatedUpdate(builder, builder.CreateString(update.name)).Union();
      break;
    case UpdateKind::kTagDeleted:
      payload = fb::CreateTagDeletedUpdate(builder, builder.CreateString(update.name), &previous).Union();
      break;
    case UpdateKind::kBranchCreated:
      payload = fb::CreateBranchCreatedUpdate(builder, builder.CreateString(update.name)).Union();
      break;
    case UpdateKind::kBranchDeleted:
      payload = fb::CreateBranchDeletedUpdate(builder, builder.CreateString(update.name), &previous).Union();
      break;
    case UpdateKind::kBranchReset:
      payload = fb::CreateBranchResetUpdate(builder, builder.CreateString(update.name), &previous).Union();
      break;
    case UpdateKind::kNewCommit:
      payload = fb::CreateNewCommitUpdate(builder, builder.CreateString(update.name), &next).Union();
      break;
    case UpdateKind::kCommitAmended:
      payload =
          fb::CreateCommitAmendedUpdate(builder, builder.CreateString(update.name), &previous, &next).Union();
      break;
    case UpdateKind::kNewDetachedSnapshot:
      payload = fb::CreateNewDetachedSnapshotUpdate(builder, &next).Union();
      break;
    case UpdateKind::kGcRan:
      payload = fb::CreateGCRanUpdate(builder).Union();
      break;
    case UpdateKind::kExpirationRan:
      payload = fb::CreateExpirationRanUpdate(builder).Union();
      break;
    case UpdateKind::kFeatureFlagChanged:
      payload = fb::CreateFeatureFlagChangedUpdate(builder, update.flag_id, update.flag_new_value, update.flag_is_set)
                    .Union();
      break;
    case UpdateKind::kRepoStatusChanged:
      payload = fb::CreateRepoStatusChangedUpdate(builder, encode_status(builder, update.status)).Union();
      break;
  }
  auto backup = update.backup_path ? builder.CreateString(*update.backup_path) : Offset<flatbuffers::String>();
  return fb::CreateUpdate(builder, static_cast<fb::UpdateType>(update.kind), payload, update.updated_at_us, backup);
}

Result<std::vector<RefEntry>> decode_refs(const Vector<Offset<fb::Ref>>* refs, size_t num_snapshots,
                                          std::string_view object_name, std::string_view kind) {
  std::vector<RefEntry> out;
  for (const fb::Ref* ref : *refs) {
    RefEntry entry{std::string(view_of(ref->name())), ref->snapshot_index()};
    if (entry.snapshot_index >= num_snapshots) {
      return make_error(ErrorCode::kCorrupt, "{}: {} \"{}\" points at snapshot index {} of {}", object_name, kind,
                        entry.name, entry.snapshot_index, num_snapshots);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

Result<RepoInfo> read_repo_info_file(const Bytes& file, std::string_view object_name) {
  FileHeader header;
  FLOE_ASSIGN_OR_RETURN(Bytes payload, open_envelope(file, FileType::kRepoInfo, object_name, &header));
  FLOE_ASSIGN_OR_RETURN(const fb::Repo* root,
                        detail::verified_root<fb::Repo>(payload, kRepoInfoLimits, object_name, "repo info"));
  RepoInfo info;
  info.spec_version = root->spec_version();
  const size_t num_snapshots = root->snapshots()->size();
  for (const fb::SnapshotInfo* entry : *root->snapshots()) {
    SnapshotInfo snapshot;
    snapshot.id = to_id12(*entry->id());
    snapshot.parent_offset = entry->parent_offset();
    if (snapshot.parent_offset < -1 || snapshot.parent_offset >= static_cast<std::int64_t>(num_snapshots)) {
      return make_error(ErrorCode::kCorrupt, "{}: snapshot {} has parent offset {} (of {} snapshots)", object_name,
                        to_string(snapshot.id), snapshot.parent_offset, num_snapshots);
    }
    snapshot.flushed_at_us = entry->flushed_at();
    snapshot.message = std::string(view_of(entry->message()));
    FLOE_ASSIGN_OR_RETURN(snapshot.metadata, decode_metadata(entry->metadata(), header.spec_version, object_name));
    if (entry->pruned_ancestor_tx_logs() != nullptr) {
      for (const fb::ObjectId12* id : *entry->pruned_ancestor_tx_logs()) {
        snapshot.pruned_ancestor_tx_logs.push_back(to_id12(*id));
      }
    }
    info.snapshots.push_back(std::move(snapshot));
  }
  FLOE_ASSIGN_OR_RETURN(info.tags, decode_refs(root->tags(), num_snapshots, object_name, "tag"));
  FLOE_ASSIGN_OR_RETURN(info.branches, decode_refs(root->branches(), num_snapshots, object_name, "branch"));
  for (const flatbuffers::String* name : *root->deleted_tags()) info.deleted_tags.emplace_back(view_of(name));
  info.status = decode_status(root->status());
  FLOE_ASSIGN_OR_RETURN(info.metadata, decode_metadata(root->metadata(), header.spec_version, object_name));
  for (flatbuffers::uoffset_t i = 0; i < root->latest_updates()->size(); ++i) {
    FLOE_ASSIGN_OR_RETURN(RepoUpdate update, decode_update(*root->latest_updates()->Get(i), object_name, i));
    info.latest_updates.push_back(std::move(update));
  }
  if (root->repo_before_updates() != nullptr) info.repo_before_updates = std::string(view_of(root->repo_before_updates()));
  if (root->config() != nullptr) info.config = std::vector<std::uint8_t>(root->config()->begin(), root->config()->end());
  if (root->enabled_feature_flags() != nullptr) {
    info.enabled_feature_flags.assign(root->enabled_feature_flags()->begin(), root->enabled_feature_flags()->end());
  }
  if (root->disabled_feature_flags() != nullptr) {
    info.disabled_feature_flags.assign(root->disabled_feature_flags()->begin(),
                                       root->disabled_feature_flags()->end());
  }
  return info;
}

Bytes write_repo_info_file(const RepoInfo& info) {
  // Snapshots are stored by id; indexes held by refs and parents are remapped to the sorted positions.
  const size_t num_snapshots = info.snapshots.size();
  std::vector<size_t> order(num_snapshots);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return info.snapshots[a].id < info.snapshots[b].id; });
  std::vector<std::uint32_t> new_index(num_snapshots);
  for (size_t i = 0; i < num_snapshots; ++i) new_index[order[i]] = static_cast<std::uint32_t>(i);
  auto remap = [&](std::uint32_t index) { return index < num_snapshots ? new_index[index] : index; };

  FlatBufferBuilder builder(4096);
  auto encode_refs = [&](const std::vector<RefEntry>& refs) {
    std::vector<const RefEntry*> sorted;
    for (const RefEntry& ref : refs) sorted.push_back(&ref);
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    std::vector<Offset<fb::Ref>> offsets;
    for (const RefEntry* ref : sorted) {
      offsets.push_back(fb::CreateRef(builder, builder.CreateString(ref->name), remap(ref->snapshot_index)));
    }
    return builder.CreateVector(offsets);
  };
  auto tags = encode_refs(info.tags);
  auto branches = encode_refs(info.branches);
  std::vector<std::string> deleted_tags = info.deleted_tags;
  std::sort(deleted_tags.begin(), deleted_tags.end());
  auto deleted_tags_offset = builder.CreateVectorOfStrings(deleted_tags);

  std::vector<Offset<fb::SnapshotInfo>> snapshots;
  for (size_t position : order) {
    const SnapshotInfo& snapshot = info.snapshots[position];
    auto message = builder.CreateString(snapshot.message);
    auto metadata = encode_metadata(builder, snapshot.metadata);
    Offset<Vector<const fb::ObjectId12*>> pruned;
    if (!snapshot.pruned_ancestor_tx_logs.empty()) {  // spec 2.1 field, absent unless expiration set it
      std::vector<fb::ObjectId12> ids;
      for (const Id12& id : snapshot.pruned_ancestor_tx_logs) ids.push_back(to_fb(id));
      pruned = builder.CreateVectorOfStructs(ids);
    }
    std::int32_t parent = snapshot.parent_offset < 0 ? -1
                                                     : static_cast<std::int32_t>(
                                                           remap(static_cast<std::uint32_t>(snapshot.parent_offset)));
    fb::ObjectId12 id = to_fb(snapshot.id);
    snapshots.push_back(fb::CreateSnapshotInfo(builder, &id, parent, snapshot.flushed_at_us, message, metadata, pruned));
  }
  auto snapshots_offset = builder.CreateVector(snapshots);
  auto status = encode_status(builder, info.status);
  auto metadata = encode_metadata(builder, info.metadata);
  std::vector<Offset<fb::Update>> updates;
  for (const RepoUpdate& update : info.latest_updates) updates.push_back(encode_update(builder, update));
  auto updates_offset = builder.CreateVector(updates);
  auto before = info.repo_before_updates ? builder.CreateString(*info.repo_before_updates)
                                         : Offset<flatbuffers::String>();
  auto config = info.config ? builder.CreateVector(*info.config) : Offset<Vector<std::uint8_t>>();
  std::vector<std::uint16_t> enabled = info.enabled_feature_flags;
  std::vector<std::uint16_t> disabled = info.disabled_feature_flags;
  std::sort(enabled.begin(), enabled.end());
  std::sort(disabled.begin(), disabled.end());
  auto enabled_offset = builder.CreateVector(enabled);
  auto disabled_offset = builder.CreateVector(disabled);
  auto root = fb::CreateRepo(builder, info.spec_version, tags, branches, deleted_tags_offset, snapshots_offset,
                             status, metadata, updates_offset, before, config, enabled_offset, disabled_offset);
  builder.Finish(root, detail::kFileIdentifier);
  return finish_and_seal(builder, FileType::kRepoInfo);
}

}  // namespace floe::icechunk
