// Icechunk manifests: verified zero-copy lookups (spec 1 and 2) and a streaming-friendly spec-2 builder.
#include "floe/icechunk/manifest.h"

#define ZDICT_STATIC_LINKING_ONLY  // the fastCover parameters, to bound training memory
#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "floe/icechunk/envelope.h"
#include "floe/icechunk/flatbuffer_helpers.h"
#include "floe/icechunk/schema/manifest_generated.h"

namespace floe::icechunk {
namespace {

using detail::to_fb;
using detail::to_id12;
using detail::view_of;
using flatbuffers::Offset;
using flatbuffers::Vector;

constexpr detail::VerifierLimits kManifestLimits{64, 500'000'000};  // as upstream manifest.rs
constexpr size_t kMaxLocationSize = 1024;  // upstream bound on a decompressed location
constexpr std::uint8_t kLocationsPlain = 0;
constexpr std::uint8_t kLocationsZstdDictionary = 1;
// Refuse to grow past this rather than hit the flatbuffers 2 GiB hard limit (an assertion in the builder).
constexpr size_t kMaxManifestBytes = size_t{1900} << 20;
constexpr size_t kDictionaryCapacity = 2048;
constexpr size_t kMinDictionarySamples = 8;
constexpr size_t kMaxSpareContexts = 8;

struct DDictDeleter {
  void operator()(ZSTD_DDict* dictionary) const { ZSTD_freeDDict(dictionary); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};
struct CDictDeleter {
  void operator()(ZSTD_CDict* dictionary) const { ZSTD_freeCDict(dictionary); }
};
struct CCtxDeleter {
  void operator()(ZSTD_CCtx* context) const { ZSTD_freeCCtx(context); }
};

// Lexicographic order of chunk indexes; a strict prefix sorts first.
int compare_index(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

std::span<const std::uint32_t> index_of(const fb::ChunkRef& ref) {
  return {ref.index()->data(), ref.index()->size()};
}

std::string format_index(std::span<const std::uint32_t> index) { return fmt::format("[{}]", fmt::join(index, ", ")); }

// Per-call decoding scratch: the decompression context is created on the first compressed location.
struct LocationScratch {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context;
  char buffer[kMaxLocationSize + 1];
};

}  // namespace

ChunkRef ChunkRef::from_view(const ChunkRefView& view) {
  ChunkRef ref;
  ref.kind = view.kind;
  ref.inline_data = Bytes::copy_of(std::as_bytes(view.inline_data));
  ref.chunk_id = view.chunk_id;
  ref.offset = view.offset;
  ref.length = view.length;
  ref.location = std::string(view.location);
  ref.checksum_etag = std::string(view.checksum_etag);
  ref.checksum_last_modified = view.checksum_last_modified;
  return ref;
}

struct ManifestView::State {
  Bytes payload;  // the inflated flatbuffer; `root` points into it
  const fb::Manifest* root = nullptr;
  Id12 id{};
  std::uint8_t spec_version = 0;
  std::unique_ptr<ZSTD_DDict, DDictDeleter> dictionary;
  std::string object_name;
  // Decompression contexts are costly to create (~100 KiB); lookups borrow one from here and return it.
  mutable std::mutex spare_contexts_mutex;
  mutable std::vector<std::unique_ptr<ZSTD_DCtx, DCtxDeleter>> spare_contexts;

  void borrow_context(LocationScratch& scratch) const {
    std::lock_guard lock(spare_contexts_mutex);
    if (spare_contexts.empty()) return;
    scratch.context = std::move(spare_contexts.back());
    spare_contexts.pop_back();
  }
  void return_context(LocationScratch& scratch) const {
    if (!scratch.context) return;
    std::lock_guard lock(spare_contexts_mutex);
    if (spare_contexts.size() < kMaxSpareContexts) spare_contexts.push_back(std::move(scratch.context));
  }

  const fb::ArrayManifest* find_array(const Id8& node) const {
    const auto* arrays = root->arrays();
    size_t low = 0;
    size_t high = arrays->size();
    while (low < high) {
      size_t middle = low + (high - low) / 2;
      const fb::ArrayManifest* array = arrays->Get(static_cast<flatbuffers::uoffset_t>(middle));
      int order = std::memcmp(array->node_id()->bytes()->data(), node.data(), node.size());
      if (order == 0) return array;
      if (order < 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return nullptr;
  }

  // Precedence as upstream (manifest.rs): chunk_id, compressed_location, location, inline.
  Status decode(const fb::ChunkRef& ref, const Id8& node, LocationScratch& scratch, ChunkRefView& out) const {
    out = ChunkRefView{};
    out.index = index_of(ref);
    out.offset = ref.offset();
    out.length = ref.length();
    out.checksum_etag = view_of(ref.checksum_etag());
    out.checksum_last_modified = ref.checksum_last_modified();
    if (ref.chunk_id() != nullptr) {
      out.kind = ChunkKind::kNative;
      out.chunk_id = to_id12(*ref.chunk_id());
      return ok_status();
    }
    if (ref.compressed_location() != nullptr) {
      out.kind = ChunkKind::kVirtual;
      if (!scratch.context) borrow_context(scratch);
      if (!scratch.context) scratch.context.reset(ZSTD_createDCtx());
      if (!scratch.context) return make_error(ErrorCode::kInternal, "{}: cannot allocate a zstd context", object_name);
      const auto* compressed = ref.compressed_location();
      size_t size = dictionary ? ZSTD_decompress_usingDDict(scratch.context.get(), scratch.buffer,
                                                            sizeof(scratch.buffer), compressed->data(),
                                                            compressed->size(), dictionary.get())
                               : ZSTD_decompressDCtx(scratch.context.get(), scratch.buffer, sizeof(scratch.buffer),
                                                     compressed->data(), compressed->size());
      if (ZSTD_isError(size) || size > kMaxLocationSize) {
        return make_error(ErrorCode::kCorrupt,
                          "{}: compressed location of chunk {} of node {} does not inflate to at most {} bytes{}{}",
                          object_name, format_index(out.index), to_string(node), kMaxLocationSize,
                          ZSTD_isError(size) ? ": " : "", ZSTD_isError(size) ? ZSTD_getErrorName(size) : "");
      }
      out.location = std::string_view(scratch.buffer, size);
      return ok_status();
    }
    if (ref.location() != nullptr) {
      out.kind = ChunkKind::kVirtual;
      out.location = view_of(ref.location());
      return ok_status();
    }
    if (ref.inline_data() != nullptr) {
      out.kind = ChunkKind::kInline;
      out.inline_data = std::span(ref.inline_data()->data(), ref.inline_data()->size());
      return ok_status();
    }
    return make_error(ErrorCode::kCorrupt, "{}: chunk {} of node {} has no chunk id, location or inline data",
                      object_name, format_index(out.index), to_string(node));
  }
};

Result<ManifestView> ManifestView::open(const Bytes& file, std::string_view object_name) {
  auto state = std::make_shared<State>();
  state->object_name = std::string(object_name);
  FileHeader header;
  FLOE_ASSIGN_OR_RETURN(state->payload, open_envelope(file, FileType::kManifest, object_name, &header));
  FLOE_ASSIGN_OR_RETURN(state->root,
                        detail::verified_root<fb::Manifest>(state->payload, kManifestLimits, object_name, "manifest"));
  state->spec_version = header.spec_version;
  state->id = to_id12(*state->root->id());

  // Binary search is only correct on sorted input: check the orders once here.
  const auto* arrays = state->root->arrays();
  for (flatbuffers::uoffset_t a = 0; a < arrays->size(); ++a) {
    const fb::ArrayManifest* array = arrays->Get(a);
    if (a > 0 && std::memcmp(arrays->Get(a - 1)->node_id()->bytes()->data(), array->node_id()->bytes()->data(),
                             8) >= 0) {
      return make_error(ErrorCode::kCorrupt, "{}: arrays are not in node id order at position {}", object_name, a);
    }
    const auto* refs = array->refs();
    for (flatbuffers::uoffset_t r = 1; r < refs->size(); ++r) {
      if (compare_index(index_of(*refs->Get(r - 1)), index_of(*refs->Get(r))) >= 0) {
        return make_error(ErrorCode::kCorrupt, "{}: refs of node {} are not in index order at {} (position {})",
                          object_name, to_string(detail::to_id8(*array->node_id())),
                          format_index(index_of(*refs->Get(r))), r);
      }
    }
  }

  const auto* dictionary = state->root->location_dictionary();
  if (dictionary != nullptr && dictionary->size() > 0) {
    state->dictionary.reset(ZSTD_createDDict(dictionary->data(), dictionary->size()));
    if (!state->dictionary) {
      return make_error(ErrorCode::kCorrupt, "{}: the location dictionary ({} bytes) cannot be loaded", object_name,
                        dictionary->size());
    }
  }
  ManifestView view;
  view.state_ = std::move(state);
  return view;
}

const Id12& ManifestView::id() const { return state_->id; }
std::uint8_t ManifestView::spec_version() const { return state_->spec_version; }
size_t ManifestView::num_arrays() const { return state_->root->arrays()->size(); }

std::vector<Id8> ManifestView::array_ids() const {
  std::vector<Id8> ids;
  for (const fb::ArrayManifest* array : *state_->root->arrays()) ids.push_back(detail::to_id8(*array->node_id()));
  return ids;
}

size_t ManifestView::num_refs(const Id8& node) const {
  const fb::ArrayManifest* array = state_->find_array(node);
  return array == nullptr ? 0 : array->refs()->size();
}

Result<std::optional<ChunkRef>> ManifestView::find(const Id8& node, std::span<const std::uint32_t> index) const {
  const fb::ArrayManifest* array = state_->find_array(node);
  if (array == nullptr) return std::optional<ChunkRef>();
  const auto* refs = array->refs();
  size_t low = 0;
  size_t high = refs->size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    const fb::ChunkRef* ref = refs->Get(static_cast<flatbuffers::uoffset_t>(middle));
    int order = compare_index(index_of(*ref), index);
    if (order == 0) {
      LocationScratch scratch;
      ChunkRefView view;
      Status decoded = state_->decode(*ref, node, scratch, view);
      std::optional<ChunkRef> found;
      if (decoded.ok()) found = ChunkRef::from_view(view);
      state_->return_context(scratch);
      if (!decoded.ok()) return std::move(decoded).error();
      return found;
    }
    if (order < 0) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return std::optional<ChunkRef>();
}

Status ManifestView::for_each_ref(const Id8& node, const std::function<Status(const ChunkRefView&)>& visit) const {
  const fb::ArrayManifest* array = state_->find_array(node);
  if (array == nullptr) return ok_status();
  LocationScratch scratch;
  ChunkRefView view;
  Status status;
  for (const fb::ChunkRef* ref : *array->refs()) {
    status = state_->decode(*ref, node, scratch, view);
    if (status.ok()) status = visit(view);
    if (!status.ok()) break;
  }
  state_->return_context(scratch);
  return status;
}

// ---- dictionary training -------------------------------------------------------------------------------

std::optional<std::vector<std::uint8_t>> train_location_dictionary(std::span<const std::string_view> samples) {
  if (samples.size() < kMinDictionarySamples) return std::nullopt;
  std::string joined;
  std::vector<size_t> sizes;
  sizes.reserve(samples.size());
  for (std::string_view sample : samples) {
    joined.append(sample);
    sizes.push_back(sample.size());
  }
  std::vector<std::uint8_t> dictionary(kDictionaryCapacity);
  // ZDICT_trainFromBuffer's defaults with a 2^16 frequency table instead of 2^20: about 6 * 2^f bytes while
  // training (10 MB before), plenty for a 2 KiB dictionary of URLs.
  ZDICT_fastCover_params_t parameters{};
  parameters.d = 8;
  parameters.f = 16;
  parameters.steps = 4;
  parameters.accel = 1;
  size_t size = ZDICT_optimizeTrainFromBuffer_fastCover(dictionary.data(), dictionary.size(), joined.data(),
                                                        sizes.data(), static_cast<unsigned>(sizes.size()),
                                                        &parameters);
  if (ZDICT_isError(size)) return std::nullopt;
  dictionary.resize(size);
  return dictionary;
}

// ---- builder -------------------------------------------------------------------------------------------

struct ManifestBuilder::State {
  Id12 id{};
  ManifestBuilderOptions options;
  flatbuffers::FlatBufferBuilder builder{64 * 1024};
  std::unique_ptr<ZSTD_CDict, CDictDeleter> dictionary;
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> context;
  std::vector<Offset<fb::ArrayManifest>> arrays;
  std::optional<Id8> open_array;
  std::optional<Id8> previous_array;
  std::vector<Offset<fb::ChunkRef>> refs;  // of the open array
  std::vector<std::uint32_t> previous_index;
  bool has_previous_index = false;
  // One compressed copy per distinct location: the offset of the vector already in the buffer.
  std::unordered_map<std::string, Offset<Vector<std::uint8_t>>> compressed_locations;
  std::string compression_scratch;
  std::uint64_t num_refs = 0;
  bool finished = false;

  Offset<Vector<std::uint8_t>> compressed_location(std::string_view location) {
    auto found = compressed_locations.find(std::string(location));
    if (found != compressed_locations.end()) return found->second;
    compression_scratch.resize(ZSTD_compressBound(location.size()));
    size_t size = ZSTD_compress_usingCDict(context.get(), compression_scratch.data(), compression_scratch.size(),
                                           location.data(), location.size(), dictionary.get());
    if (ZSTD_isError(size)) return 0;  // the caller stores the plain location instead
    auto offset = builder.CreateVector(reinterpret_cast<const std::uint8_t*>(compression_scratch.data()), size);
    compressed_locations.emplace(std::string(location), offset);
    return offset;
  }
};

ManifestBuilder::ManifestBuilder(Id12 id, ManifestBuilderOptions options) : state_(std::make_unique<State>()) {
  state_->id = id;
  state_->options = std::move(options);
  if (state_->options.location_dictionary && !state_->options.location_dictionary->empty()) {
    const auto& dictionary = *state_->options.location_dictionary;
    state_->dictionary.reset(ZSTD_createCDict(dictionary.data(), dictionary.size(), state_->options.zstd_level));
    state_->context.reset(ZSTD_createCCtx());
    if (!state_->dictionary || !state_->context) {  // unusable dictionary: store plain locations
      state_->dictionary.reset();
      state_->context.reset();
    }
  }
}

ManifestBuilder::~ManifestBuilder() = default;
ManifestBuilder::ManifestBuilder(ManifestBuilder&&) noexcept = default;
ManifestBuilder& ManifestBuilder::operator=(ManifestBuilder&&) noexcept = default;

Status ManifestBuilder::begin_array(const Id8& node) {
  State& state = *state_;
  if (state.finished) return make_error(ErrorCode::kInvalidArgument, "manifest builder: already finished");
  if (state.open_array) {
    return make_error(ErrorCode::kInvalidArgument, "manifest builder: array {} begun while {} is still open",
                      to_string(node), to_string(*state.open_array));
  }
  if (state.previous_array && !(*state.previous_array < node)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "manifest builder: array {} added after {} (arrays must be in increasing node id order)",
                      to_string(node), to_string(*state.previous_array));
  }
  state.open_array = node;
  state.refs.clear();
  state.has_previous_index = false;
  return ok_status();
}

Status ManifestBuilder::add_ref(const ChunkRefView& ref) {
  State& state = *state_;
  if (!state.open_array) return make_error(ErrorCode::kInvalidArgument, "manifest builder: add_ref outside an array");
  const std::string node = to_string(*state.open_array);
  if (state.has_previous_index) {
    if (compare_index(state.previous_index, ref.index) >= 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "manifest builder: chunk {} of node {} added after {} (refs must be in increasing index order)",
                        format_index(ref.index), node, format_index(state.previous_index));
    }
    if (state.previous_index.size() != ref.index.size()) {
      return make_error(ErrorCode::kInvalidArgument, "manifest builder: chunk {} of node {} has {} dimensions, not {}",
                        format_index(ref.index), node, ref.index.size(), state.previous_index.size());
    }
  }
  // Upstream refuses zero-length chunk refs (icechunk #2336); so does this writer.
  bool empty = ref.kind == ChunkKind::kInline ? ref.inline_data.empty() : ref.length == 0;
  if (empty) {
    return make_error(ErrorCode::kInvalidArgument, "manifest builder: chunk {} of node {} has zero length",
                      format_index(ref.index), node);
  }
  if (ref.kind == ChunkKind::kVirtual) {
    if (ref.location.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "manifest builder: virtual chunk {} of node {} has no location",
                        format_index(ref.index), node);
    }
    if (!ref.checksum_etag.empty() && ref.checksum_last_modified != 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "manifest builder: virtual chunk {} of node {} has both an etag and a last-modified checksum",
                        format_index(ref.index), node);
    }
  }
  if (state.builder.GetSize() > kMaxManifestBytes) {
    return make_error(ErrorCode::kUnsupported,
                      "manifest builder: manifest {} exceeds {} bytes after {} refs; split the array across manifests",
                      to_string(state.id), kMaxManifestBytes, state.num_refs);
  }

  flatbuffers::FlatBufferBuilder& builder = state.builder;
  auto index = builder.CreateVector(ref.index.data(), ref.index.size());
  Offset<Vector<std::uint8_t>> inline_data;
  Offset<flatbuffers::String> location;
  Offset<Vector<std::uint8_t>> compressed_location;
  Offset<flatbuffers::String> etag;
  switch (ref.kind) {
    case ChunkKind::kInline:
      inline_data = builder.CreateVector(ref.inline_data.data(), ref.inline_data.size());
      break;
    case ChunkKind::kNative:
      break;
    case ChunkKind::kVirtual:
      if (state.dictionary && ref.location.size() <= kMaxLocationSize) {
        compressed_location = state.compressed_location(ref.location);
      }
      if (compressed_location.IsNull()) location = builder.CreateSharedString(ref.location.data(), ref.location.size());
      if (!ref.checksum_etag.empty()) {
        etag = builder.CreateSharedString(ref.checksum_etag.data(), ref.checksum_etag.size());
      }
      break;
  }
  fb::ChunkRefBuilder table(builder);
  table.add_index(index);
  if (ref.kind != ChunkKind::kInline) {
    table.add_offset(ref.offset);
    table.add_length(ref.length);
  }
  fb::ObjectId12 chunk_id = to_fb(ref.chunk_id);
  switch (ref.kind) {
    case ChunkKind::kInline:
      table.add_inline_data(inline_data);
      break;
    case ChunkKind::kNative:
      table.add_chunk_id(&chunk_id);
      break;
    case ChunkKind::kVirtual:
      if (!location.IsNull()) table.add_location(location);
      if (!compressed_location.IsNull()) table.add_compressed_location(compressed_location);
      if (!etag.IsNull()) table.add_checksum_etag(etag);
      table.add_checksum_last_modified(ref.checksum_last_modified);
      break;
  }
  state.refs.push_back(table.Finish());
  state.previous_index.assign(ref.index.begin(), ref.index.end());
  state.has_previous_index = true;
  ++state.num_refs;
  return ok_status();
}

Status ManifestBuilder::end_array() {
  State& state = *state_;
  if (!state.open_array) return make_error(ErrorCode::kInvalidArgument, "manifest builder: end_array without an array");
  auto refs = state.builder.CreateVector(state.refs);
  fb::ObjectId8 node_id = to_fb(*state.open_array);
  state.arrays.push_back(fb::CreateArrayManifest(state.builder, &node_id, refs));
  state.previous_array = state.open_array;
  state.open_array.reset();
  state.refs.clear();
  state.refs.shrink_to_fit();
  return ok_status();
}

std::uint64_t ManifestBuilder::num_refs() const { return state_->num_refs; }

Result<Bytes> ManifestBuilder::finish() {
  State& state = *state_;
  if (state.finished) return make_error(ErrorCode::kInvalidArgument, "manifest builder: already finished");
  if (state.open_array) {
    return make_error(ErrorCode::kInvalidArgument, "manifest builder: finish while array {} is open",
                      to_string(*state.open_array));
  }
  flatbuffers::FlatBufferBuilder& builder = state.builder;
  auto arrays = builder.CreateVector(state.arrays);
  Offset<Vector<std::uint8_t>> dictionary;
  if (state.dictionary) dictionary = builder.CreateVector(*state.options.location_dictionary);
  // The schema default of compression_algorithm is 1: write the field explicitly whatever its value.
  builder.ForceDefaults(true);
  fb::ObjectId12 id = to_fb(state.id);
  auto root = fb::CreateManifest(builder, &id, arrays, dictionary,
                                 state.dictionary ? kLocationsZstdDictionary : kLocationsPlain);
  builder.Finish(root, detail::kFileIdentifier);
  state.finished = true;
  Bytes file = seal_envelope(FileType::kManifest, std::span(builder.GetBufferPointer(), builder.GetSize()),
                             state.options.zstd_level);
  builder.Clear();
  state.compressed_locations.clear();
  return file;
}

}  // namespace floe::icechunk
