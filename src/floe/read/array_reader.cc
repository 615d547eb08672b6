// Reading a selection of an array: per-dimension plans, slabs along dim 0, batched fetches,
// parallel decode. Regular grids and rectilinear ones (each chunk decoded at its own edges).
#include "floe/read/array_reader.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "floe/icechunk/repository.h"
#include "floe/icechunk/virtual_chunks.h"

namespace floe::read {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One stretch of a decode unit (chunk, or inner chunk of a shard) along one dimension and where it
// lands.
struct Piece {
  std::uint64_t local_start = 0;
  std::uint64_t local_stop = 0;
  std::uint64_t out_start =
      0;  // in the output (for dim 0: relative to the slab once a slab is cut)
};

struct UnitPieces {
  std::uint64_t unit = 0;  // unit index along the dimension
  std::vector<Piece> pieces;
};

// Every unit a dimension's selection touches, ascending, with its pieces in output order.
std::vector<UnitPieces> plan_dimension(const DimSelection& selection, std::uint64_t unit_size) {
  std::map<std::uint64_t, std::vector<Piece>> by_unit;
  std::uint64_t out = 0;
  for (const IndexRange& range : selection.ranges) {
    for (std::uint64_t at = range.start; at < range.stop;) {
      const std::uint64_t unit = at / unit_size;
      const std::uint64_t stop = std::min(range.stop, (unit + 1) * unit_size);
      by_unit[unit].push_back(Piece{at - unit * unit_size, stop - unit * unit_size, out});
      out += stop - at;
      at = stop;
    }
  }
  std::vector<UnitPieces> plan;
  plan.reserve(by_unit.size());
  for (auto& [unit, pieces] : by_unit) plan.push_back(UnitPieces{unit, std::move(pieces)});
  return plan;
}

// plan_dimension over the chunks of a rectilinear axis: one binary search per chunk touched.
std::vector<UnitPieces> plan_rectilinear_dimension(const DimSelection& selection,
                                                   const zarr::ArrayMetadata& metadata,
                                                   std::size_t axis) {
  std::map<std::uint64_t, std::vector<Piece>> by_unit;
  std::uint64_t out = 0;
  for (const IndexRange& range : selection.ranges) {
    for (std::uint64_t at = range.start; at < range.stop;) {
      const std::uint64_t unit = metadata.chunk_containing(axis, at);
      const std::uint64_t unit_start = metadata.chunk_start(axis, unit);
      const std::uint64_t stop =
          std::min(range.stop, unit_start + metadata.chunk_extent(axis, unit));
      by_unit[unit].push_back(Piece{at - unit_start, stop - unit_start, out});
      out += stop - at;
      at = stop;
    }
  }
  std::vector<UnitPieces> plan;
  plan.reserve(by_unit.size());
  for (auto& [unit, pieces] : by_unit) plan.push_back(UnitPieces{unit, std::move(pieces)});
  return plan;
}

std::uint64_t product(std::span<const std::uint64_t> values) {
  std::uint64_t total = 1;
  for (std::uint64_t value : values) total *= value;
  return total;
}

// Copies every combination of pieces of one decoded unit into the slab (C order, element size
// `size`).
void copy_pieces(const std::uint8_t* unit_data, std::span<const std::uint64_t> unit_shape,
                 std::uint8_t* slab, std::span<const std::uint64_t> slab_shape,
                 std::span<const std::vector<Piece>* const> pieces, std::size_t size) {
  const std::size_t rank = unit_shape.size();
  if (rank == 0) {
    std::memcpy(slab, unit_data, size);
    return;
  }
  std::vector<std::uint64_t> unit_stride(rank, 1), slab_stride(rank, 1);
  for (std::size_t d = rank; d-- > 1;) {
    unit_stride[d - 1] = unit_stride[d] * unit_shape[d];
    slab_stride[d - 1] = slab_stride[d] * slab_shape[d];
  }
  std::vector<std::size_t> choice(rank, 0);
  std::vector<std::uint64_t> position(rank, 0);
  while (true) {
    // One combination: a box with counts per dim; copy it with memcpy rows along the last dim.
    const Piece& last = (*pieces[rank - 1])[choice[rank - 1]];
    const std::size_t row_bytes = (last.local_stop - last.local_start) * size;
    std::fill(position.begin(), position.end(), 0);
    while (true) {
      std::uint64_t unit_offset = last.local_start, slab_offset = last.out_start;
      for (std::size_t d = 0; d + 1 < rank; ++d) {
        const Piece& piece = (*pieces[d])[choice[d]];
        unit_offset += (piece.local_start + position[d]) * unit_stride[d];
        slab_offset += (piece.out_start + position[d]) * slab_stride[d];
      }
      std::memcpy(slab + slab_offset * size, unit_data + unit_offset * size, row_bytes);
      std::size_t d = rank - 1;
      while (d-- > 0) {
        const Piece& piece = (*pieces[d])[choice[d]];
        if (++position[d] < piece.local_stop - piece.local_start) break;
        position[d] = 0;
      }
      if (d == static_cast<std::size_t>(-1)) break;
    }
    std::size_t d = rank;
    while (d-- > 0) {
      if (++choice[d] < pieces[d]->size()) break;
      choice[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) break;
  }
}

std::string format_index(std::span<const std::uint64_t> index) {
  std::string text = "(";
  for (std::size_t i = 0; i < index.size(); ++i) text += (i ? "," : "") + std::to_string(index[i]);
  return text + ")";
}

// Where one decode unit's stored bytes are.
struct UnitSource {
  std::vector<std::uint64_t> unit;  // unit index per dimension
  std::vector<const std::vector<Piece>*> pieces;
  // The decoded unit's shape and its pipeline: the same for every unit of a regular grid, the
  // chunk's own edges for a rectilinear one.
  const std::vector<std::uint64_t>* shape = nullptr;
  const codecs::CodecPipeline* pipeline = nullptr;
  std::uint64_t decoded_bytes = 0;
  bool missing = false;
  Bytes inline_bytes;  // inline chunks (or a slice of an inline shard)
  bool has_inline = false;
  std::size_t request = SIZE_MAX;  // index into the batch's fetch requests
  const icechunk::VirtualSource* virtual_source = nullptr;
  std::uint64_t offset = 0, length = 0;
};

// Resolves chunk refs to fetchable locations; virtual sources are resolved once per location.
class SourceResolver {
 public:
  explicit SourceResolver(const icechunk::ReadSession& session) : session_(session) {}

  Result<const icechunk::VirtualSource*> virtual_source(const icechunk::ChunkRef& ref) {
    const std::string key =
        ref.location + '\n' + ref.checksum_etag + '\n' + std::to_string(ref.checksum_last_modified);
    auto found = sources_.find(key);
    if (found != sources_.end()) return &found->second;
    FLOE_ASSIGN_OR_RETURN(icechunk::VirtualSource source,
                          session_.repository().virtual_chunks().source(
                              ref.location, ref.checksum_etag, ref.checksum_last_modified));
    return &sources_.emplace(key, std::move(source)).first->second;
  }

  // A fetch request for [offset, +length) of the chunk ref (relative to the ref's own offset).
  Result<io::FetchRequest> request(const icechunk::ChunkRef& ref, std::uint64_t offset,
                                   std::uint64_t length,
                                   const icechunk::VirtualSource** virtual_out) {
    io::FetchRequest request;
    request.offset = ref.offset + offset;
    request.length = length;
    if (ref.kind == icechunk::ChunkKind::kNative) {
      request.store = &session_.repository().store();
      request.key = session_.repository().key("chunks/" + icechunk::to_string(ref.chunk_id));
      *virtual_out = nullptr;
    } else {
      FLOE_ASSIGN_OR_RETURN(const icechunk::VirtualSource* source, virtual_source(ref));
      request.store = source->store.get();
      request.key = source->key;
      request.preconditions = &source->preconditions;
      *virtual_out = source;
    }
    return request;
  }

 private:
  const icechunk::ReadSession& session_;
  std::map<std::string, icechunk::VirtualSource> sources_;
};

}  // namespace

ArrayReader::ArrayReader(const icechunk::ReadSession& session,
                         const codecs::CodecRegistry& registry, std::string path,
                         zarr::ArrayMetadata metadata,
                         std::shared_ptr<const codecs::CodecPipeline> pipeline)
    : session_(&session),
      registry_(&registry),
      path_(std::move(path)),
      metadata_(std::move(metadata)),
      pipeline_(std::move(pipeline)) {}

Result<ArrayReader> ArrayReader::open(const icechunk::ReadSession& session, std::string_view path,
                                      const codecs::CodecRegistry& registry) {
  FLOE_ASSIGN_OR_RETURN(const icechunk::Node* node, session.node(path));
  if (node->kind != icechunk::NodeKind::kArray) {
    return make_error(ErrorCode::kInvalidArgument, "{} is a group, not an array", node->path);
  }
  FLOE_ASSIGN_OR_RETURN(zarr::ArrayMetadata metadata,
                        zarr::ArrayMetadata::parse(node->zarr_json, node->path));
  codecs::ChunkLayout layout{.data_type = metadata.data_type,
                             .shape = metadata.chunk_shape,
                             .fill_value = metadata.fill_value};
  Result<codecs::CodecPipeline> pipeline =
      codecs::CodecPipeline::create(registry, metadata.codecs, layout);
  if (!pipeline.ok())
    return std::move(pipeline).error().add_context(fmt::format("array {}", node->path));
  return ArrayReader(session, registry, node->path, std::move(metadata),
                     std::make_shared<const codecs::CodecPipeline>(std::move(pipeline).value()));
}

std::vector<DimSelection> ArrayReader::everything() const {
  std::vector<DimSelection> selection;
  for (std::uint64_t length : metadata_.shape)
    selection.push_back(DimSelection{{IndexRange{0, length}}});
  return selection;
}

std::vector<std::uint64_t> ArrayReader::output_shape(const std::vector<DimSelection>& selection) {
  std::vector<std::uint64_t> shape;
  for (const DimSelection& dim : selection) {
    std::uint64_t length = 0;
    for (const IndexRange& range : dim.ranges) length += range.stop - range.start;
    shape.push_back(length);
  }
  return shape;
}

Status ArrayReader::read(const std::vector<DimSelection>& selection, const BlockConsumer& consumer,
                         const ReadOptions& options, ReadStats* stats) const {
  const std::size_t rank = metadata_.shape.size();
  const std::size_t element_size = metadata_.data_type.size;
  if (selection.size() != rank) {
    return make_error(ErrorCode::kInvalidArgument, "{} has {} dimensions; the selection has {}",
                      path_, rank, selection.size());
  }
  for (std::size_t d = 0; d < rank; ++d) {
    for (const IndexRange& range : selection[d].ranges) {
      if (range.start > range.stop || range.stop > metadata_.shape[d]) {
        return make_error(ErrorCode::kInvalidArgument,
                          "{}: selection [{}, {}) is outside dimension {} of length {}", path_,
                          range.start, range.stop, d, metadata_.shape[d]);
      }
    }
  }
  const std::vector<std::uint64_t> out_shape = output_shape(selection);
  if (rank > 0 && product(out_shape) == 0) return ok_status();

  // Decode units: chunks, or the inner chunks of shards (fetched by range after the shard indexes).
  // (A bytes->bytes codec around whole shards hides the inner ranges: those shards are decoded
  // whole.)
  const codecs::ShardingCodec* sharding =
      pipeline_->shard_ranges_readable() ? pipeline_->sharding() : nullptr;
  const codecs::CodecPipeline& unit_pipeline = sharding ? sharding->inner() : *pipeline_;
  std::vector<std::uint64_t> unit_shape = metadata_.chunk_shape;
  if (sharding)
    unit_shape.assign(sharding->inner_chunk_shape().begin(), sharding->inner_chunk_shape().end());
  const std::uint64_t unit_bytes = product(unit_shape) * element_size;

  const bool rectilinear = metadata_.rectilinear();  // never sharded (ArrayMetadata::parse)
  std::vector<std::vector<UnitPieces>> plans(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    plans[d] = rectilinear ? plan_rectilinear_dimension(selection[d], metadata_, d)
                           : plan_dimension(selection[d], unit_shape[d]);
  }
  // Rectilinear grids: one pipeline per chunk shape met, built on this thread before decoding.
  std::map<std::vector<std::uint64_t>, codecs::CodecPipeline> shape_pipelines;
  auto pipeline_for = [&](UnitSource& unit) -> Status {
    if (!rectilinear) {
      unit.shape = &unit_shape;
      unit.pipeline = &unit_pipeline;
      unit.decoded_bytes = unit_bytes;
      return ok_status();
    }
    std::vector<std::uint64_t> shape = metadata_.chunk_shape_at(unit.unit);
    auto found = shape_pipelines.find(shape);
    if (found == shape_pipelines.end()) {
      codecs::ChunkLayout layout{
          .data_type = metadata_.data_type, .shape = shape, .fill_value = metadata_.fill_value};
      Result<codecs::CodecPipeline> created =
          codecs::CodecPipeline::create(*registry_, metadata_.codecs, layout);
      if (!created.ok()) {
        return std::move(created).error().add_context(fmt::format(
            "chunk {} of {} (shape {})", format_index(unit.unit), path_, format_index(shape)));
      }
      found = shape_pipelines.emplace(std::move(shape), std::move(created).value()).first;
    }
    unit.shape = &found->first;
    unit.pipeline = &found->second;
    unit.decoded_bytes = product(found->first) * element_size;
    return ok_status();
  };

  const io::FetchScheduler default_scheduler;
  const io::FetchScheduler& scheduler = options.scheduler ? *options.scheduler : default_scheduler;
  SourceResolver resolver(*session_);
  std::vector<std::uint8_t> fill_unit(unit_bytes);
  for (std::uint64_t i = 0; i < product(unit_shape); ++i) {
    std::memcpy(fill_unit.data() + i * element_size, metadata_.fill_value.data(), element_size);
  }

  // Slabs along output dim 0: consecutive dim-0 pieces (in output order) up to the window.
  struct Dim0Piece {
    std::uint64_t unit;
    Piece piece;
  };
  std::vector<Dim0Piece> dim0;
  if (rank > 0) {
    for (const UnitPieces& unit : plans[0]) {
      for (const Piece& piece : unit.pieces) dim0.push_back(Dim0Piece{unit.unit, piece});
    }
    std::sort(dim0.begin(), dim0.end(), [](const Dim0Piece& a, const Dim0Piece& b) {
      return a.piece.out_start < b.piece.out_start;
    });
  }
  const std::uint64_t row_bytes =
      rank > 0 ? product(std::span(out_shape).subspan(1)) * element_size : element_size;

  std::map<std::vector<std::uint64_t>, std::optional<icechunk::ChunkRef>> shard_refs;
  const icechunk::Node* node = nullptr;
  FLOE_ASSIGN_OR_RETURN(node, session_->node(path_));

  auto chunk_ref =
      [&](const std::vector<std::uint64_t>& chunk) -> Result<std::optional<icechunk::ChunkRef>> {
    std::vector<std::uint32_t> index(chunk.begin(), chunk.end());
    return session_->chunk_ref(*node, index);
  };

  std::size_t slab_begin = 0;
  // Every byte of a slab is written by some unit before it is handed on, so it is never
  // zero-filled; one buffer serves every slab.
  std::unique_ptr<std::uint8_t[]> slab_buffer;
  std::uint64_t slab_capacity = 0;
  std::span<std::uint8_t> slab;
  do {
    // Cut the slab.
    std::size_t slab_end = slab_begin;
    std::uint64_t slab_rows = 0, slab_out_start = 0;
    if (rank > 0) {
      slab_out_start = dim0[slab_begin].piece.out_start;
      while (slab_end < dim0.size()) {
        const std::uint64_t rows =
            dim0[slab_end].piece.local_stop - dim0[slab_end].piece.local_start;
        if (slab_end > slab_begin && (slab_rows + rows) * row_bytes > options.window_bytes) break;
        slab_rows += rows;
        ++slab_end;
      }
    } else {
      slab_rows = 1;
    }
    std::vector<std::uint64_t> slab_shape = out_shape;
    if (rank > 0) slab_shape[0] = slab_rows;
    if (slab_rows * row_bytes > slab_capacity) {
      slab_buffer.reset();
      slab_capacity = slab_rows * row_bytes;
      slab_buffer.reset(new std::uint8_t[slab_capacity]);
    }
    slab = std::span<std::uint8_t>(slab_buffer.get(), slab_rows * row_bytes);

    // Dim-0 units of the slab with pieces relative to the slab.
    std::vector<UnitPieces> slab_dim0;
    if (rank > 0) {
      std::map<std::uint64_t, std::vector<Piece>> grouped;
      for (std::size_t i = slab_begin; i < slab_end; ++i) {
        Piece piece = dim0[i].piece;
        piece.out_start -= slab_out_start;
        grouped[dim0[i].unit].push_back(piece);
      }
      for (auto& [unit, pieces] : grouped) slab_dim0.push_back(UnitPieces{unit, std::move(pieces)});
    }

    // Every unit of the slab: the product of dim-0 units and the other dims' units.
    std::vector<UnitSource> units;
    {
      std::vector<std::size_t> counter(rank, 0);
      auto dim_units = [&](std::size_t d) -> const std::vector<UnitPieces>& {
        return d == 0 ? slab_dim0 : plans[d];
      };
      while (true) {
        UnitSource unit;
        for (std::size_t d = 0; d < rank; ++d) {
          unit.unit.push_back(dim_units(d)[counter[d]].unit);
          unit.pieces.push_back(&dim_units(d)[counter[d]].pieces);
        }
        FLOE_RETURN_IF_ERROR(pipeline_for(unit));
        units.push_back(std::move(unit));
        std::size_t d = rank;
        while (d-- > 0) {
          if (++counter[d] < dim_units(d).size()) break;
          counter[d] = 0;
        }
        if (d == static_cast<std::size_t>(-1)) break;
      }
    }

    // Locate every unit; for sharded arrays read the shard indexes first (one batch).
    std::vector<io::FetchRequest> requests;
    if (!sharding) {
      for (UnitSource& unit : units) {
        FLOE_ASSIGN_OR_RETURN(std::optional<icechunk::ChunkRef> ref, chunk_ref(unit.unit));
        if (!ref) {
          unit.missing = true;
        } else if (ref->kind == icechunk::ChunkKind::kInline) {
          unit.inline_bytes = ref->inline_data;
          unit.has_inline = true;
        } else {
          FLOE_ASSIGN_OR_RETURN(io::FetchRequest request,
                                resolver.request(*ref, 0, ref->length, &unit.virtual_source));
          unit.offset = request.offset;
          unit.length = request.length;
          unit.request = requests.size();
          requests.push_back(std::move(request));
        }
      }
    } else {
      // Shard index per shard touched, then the inner chunks' ranges.
      struct ShardState {
        std::optional<icechunk::ChunkRef> ref;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> index;
      };
      std::map<std::vector<std::uint64_t>, ShardState> shards;
      std::vector<std::uint64_t> per_shard(rank);
      for (std::size_t d = 0; d < rank; ++d)
        per_shard[d] = metadata_.chunk_shape[d] / unit_shape[d];
      for (const UnitSource& unit : units) {
        std::vector<std::uint64_t> shard(rank);
        for (std::size_t d = 0; d < rank; ++d) shard[d] = unit.unit[d] / per_shard[d];
        shards.try_emplace(shard);
      }
      std::vector<io::FetchRequest> index_requests;
      std::vector<std::pair<ShardState*, std::size_t>>
          index_slots;  // shard, request index (SIZE_MAX: inline)
      const std::uint64_t index_size = sharding->index_encoded_size();
      for (auto& [shard, state] : shards) {
        FLOE_ASSIGN_OR_RETURN(state.ref, chunk_ref(shard));
        if (!state.ref) continue;
        const std::uint64_t stored = state.ref->kind == icechunk::ChunkKind::kInline
                                         ? state.ref->inline_data.size()
                                         : state.ref->length;
        if (stored < index_size) {
          return make_error(ErrorCode::kCorrupt,
                            "{}: shard {} holds {} bytes, less than its {}-byte index", path_,
                            format_index(shard), stored, index_size);
        }
        const std::uint64_t at = sharding->index_at_end() ? stored - index_size : 0;
        if (state.ref->kind == icechunk::ChunkKind::kInline) {
          Bytes index_bytes = state.ref->inline_data.slice(at, index_size);
          auto decoded = sharding->decode_index(
              {reinterpret_cast<const std::uint8_t*>(index_bytes.data()), index_bytes.size()});
          if (!decoded.ok()) {
            return std::move(decoded).error().add_context(
                fmt::format("{} shard {} index", path_, format_index(shard)));
          }
          state.index = std::move(decoded).value();
          continue;
        }
        const icechunk::VirtualSource* source = nullptr;
        FLOE_ASSIGN_OR_RETURN(io::FetchRequest request,
                              resolver.request(*state.ref, at, index_size, &source));
        index_slots.emplace_back(&state, index_requests.size());
        index_requests.push_back(std::move(request));
      }
      io::FetchStats index_stats;
      std::vector<Result<Bytes>> fetched = scheduler.fetch(index_requests, &index_stats);
      if (stats) {
        stats->bytes_fetched += index_stats.bytes_fetched;
        stats->requests += index_stats.physical_requests;
      }
      for (auto& [state, slot] : index_slots) {
        if (!fetched[slot].ok()) {
          return std::move(fetched[slot])
              .error()
              .add_context(fmt::format("{}: reading a shard index", path_));
        }
        const Bytes& bytes = *fetched[slot];
        auto decoded = sharding->decode_index(
            {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
        if (!decoded.ok())
          return std::move(decoded).error().add_context(fmt::format("{}: a shard index", path_));
        state->index = std::move(decoded).value();
      }
      for (UnitSource& unit : units) {
        std::vector<std::uint64_t> shard(rank);
        std::uint64_t inner = 0;
        for (std::size_t d = 0; d < rank; ++d) {
          shard[d] = unit.unit[d] / per_shard[d];
          inner = inner * per_shard[d] + unit.unit[d] % per_shard[d];
        }
        ShardState& state = shards[shard];
        if (!state.ref || inner >= state.index.size() || state.index[inner].first == UINT64_MAX) {
          unit.missing = true;
          continue;
        }
        const auto [offset, length] = state.index[inner];
        const std::uint64_t stored = state.ref->kind == icechunk::ChunkKind::kInline
                                         ? state.ref->inline_data.size()
                                         : state.ref->length;
        if (offset > stored || length > stored - offset) {
          return make_error(
              ErrorCode::kCorrupt,
              "{}: shard {} index points inner chunk {} at [{}, +{}) beyond its {} bytes", path_,
              format_index(shard), inner, offset, length, stored);
        }
        if (state.ref->kind == icechunk::ChunkKind::kInline) {
          unit.inline_bytes = state.ref->inline_data.slice(offset, length);
          unit.has_inline = true;
          continue;
        }
        FLOE_ASSIGN_OR_RETURN(io::FetchRequest request,
                              resolver.request(*state.ref, offset, length, &unit.virtual_source));
        unit.offset = request.offset;
        unit.length = request.length;
        unit.request = requests.size();
        requests.push_back(std::move(request));
      }
    }

    // Batches of units by stored bytes; fetch batch k+1 while batch k decodes.
    std::vector<std::pair<std::size_t, std::size_t>> batches;  // [first, last) into `units`
    {
      std::size_t first = 0;
      std::uint64_t bytes = 0;
      for (std::size_t i = 0; i < units.size(); ++i) {
        bytes += units[i].request == SIZE_MAX ? 0 : units[i].length;
        if (bytes >= options.batch_bytes || i + 1 == units.size()) {
          batches.emplace_back(first, i + 1);
          first = i + 1;
          bytes = 0;
        }
      }
    }
    auto fetch_batch = [&](std::size_t b) {
      std::vector<io::FetchRequest> batch_requests;
      for (std::size_t i = batches[b].first; i < batches[b].second; ++i) {
        if (units[i].request != SIZE_MAX) batch_requests.push_back(requests[units[i].request]);
      }
      auto stats_out = std::make_shared<io::FetchStats>();
      auto results = scheduler.fetch(batch_requests, stats_out.get());
      return std::make_pair(std::move(results), *stats_out);
    };
    using Fetched = std::pair<std::vector<Result<Bytes>>, io::FetchStats>;
    std::future<Fetched> next;
    if (!batches.empty()) next = std::async(std::launch::async, fetch_batch, 0);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const auto wait_start = Clock::now();
      Fetched fetched = next.get();
      if (stats) {
        stats->fetch_wait_seconds += seconds_since(wait_start);
        stats->bytes_fetched += fetched.second.bytes_fetched;
        stats->requests += fetched.second.physical_requests;
      }
      if (b + 1 < batches.size()) next = std::async(std::launch::async, fetch_batch, b + 1);
      const auto decode_start = Clock::now();
      const std::size_t first = batches[b].first, last = batches[b].second;
      std::vector<const Bytes*> stored(last - first, nullptr);
      {
        std::size_t slot = 0;
        for (std::size_t i = first; i < last; ++i) {
          UnitSource& unit = units[i];
          if (unit.request == SIZE_MAX) {
            if (unit.has_inline) stored[i - first] = &unit.inline_bytes;
            continue;
          }
          Result<Bytes>& result = fetched.first[slot++];
          if (!result.ok()) {
            Error error = std::move(result).error();
            if (unit.virtual_source) {
              error = icechunk::VirtualChunkResolver::explain_read_failure(
                  *unit.virtual_source, unit.offset, unit.length, std::move(error));
            }
            if (next.valid()) next.wait();
            return std::move(error).add_context(
                fmt::format("chunk {} of {}", format_index(unit.unit), path_));
          }
          if (result->size() != unit.length) {
            if (next.valid()) next.wait();
            return make_error(
                ErrorCode::kCorrupt,
                "chunk {} of {}: {} returned {} bytes at offset {}, expected {}",
                format_index(unit.unit), path_,
                unit.virtual_source ? unit.virtual_source->url : std::string("the chunk store"),
                result->size(), unit.offset, unit.length);
          }
          stored[i - first] = &*result;
        }
      }
      std::vector<std::optional<Error>> errors(last - first);
      auto decode_one = [&](std::size_t k) {
        UnitSource& unit = units[first + k];
        // fill_unit holds chunk_shape's elements, at least as many as any unit.
        if (stored[k] == nullptr) {
          copy_pieces(fill_unit.data(), *unit.shape, slab.data(), slab_shape, unit.pieces,
                      element_size);
          return;
        }
        thread_local std::vector<std::uint8_t> scratch;
        scratch.resize(unit.decoded_bytes);
        const Bytes& bytes = *stored[k];
        Status status = unit.pipeline->decode(
            {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, scratch);
        if (!status.ok()) {
          std::string where =
              unit.has_inline ? std::string("inline")
              : unit.virtual_source
                  ? fmt::format("{} [{}, +{})", unit.virtual_source->url, unit.offset, unit.length)
                  : fmt::format("chunk object {} [{}, +{})",
                                requests[unit.request].store->url_for(requests[unit.request].key),
                                unit.offset, unit.length);
          errors[k] = std::move(status).error().add_context(fmt::format(
              "decoding chunk {} of {} from {}", format_index(unit.unit), path_, where));
          return;
        }
        copy_pieces(scratch.data(), *unit.shape, slab.data(), slab_shape, unit.pieces,
                    element_size);
      };
      if (options.pool && last - first > 1) {
        options.pool->parallel_for(last - first, decode_one);
      } else {
        for (std::size_t k = 0; k < last - first; ++k) decode_one(k);
      }
      for (std::size_t k = 0; k < last - first; ++k) {
        if (stats) {
          ++stats->chunks;
          if (stored[k] == nullptr)
            ++stats->missing_chunks;
          else
            stats->bytes_stored += stored[k]->size();
          if (stored[k] != nullptr) stats->bytes_decoded += units[first + k].decoded_bytes;
        }
        if (errors[k]) {
          if (next.valid()) next.wait();
          return std::move(*errors[k]);
        }
      }
      if (stats) stats->decode_seconds += seconds_since(decode_start);
    }

    std::vector<std::uint64_t> start(rank, 0);
    if (rank > 0) start[0] = slab_out_start;
    FLOE_RETURN_IF_ERROR(consumer(start, slab_shape, slab));
    slab_begin = slab_end;
  } while (rank > 0 && slab_begin < dim0.size());
  return ok_status();
}

Result<std::vector<std::uint8_t>> ArrayReader::read_into_memory(
    const std::vector<DimSelection>& selection, const ReadOptions& options,
    ReadStats* stats) const {
  const std::vector<std::uint64_t> shape = output_shape(selection);
  const std::uint64_t row_elements = shape.empty() ? 1 : product(std::span(shape).subspan(1));
  std::vector<std::uint8_t> out(product(shape) * metadata_.data_type.size);
  const std::size_t size = metadata_.data_type.size;
  FLOE_RETURN_IF_ERROR(read(
      selection,
      [&](std::span<const std::uint64_t> start, std::span<const std::uint64_t>,
          std::span<const std::uint8_t> data) {
        const std::uint64_t at = start.empty() ? 0 : start[0] * row_elements * size;
        std::memcpy(out.data() + at, data.data(), data.size());
        return ok_status();
      },
      options, stats));
  return out;
}

}  // namespace floe::read
