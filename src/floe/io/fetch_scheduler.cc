// Planning (group, sort, coalesce, split) and execution of batched range reads.
#include "floe/io/fetch_scheduler.h"

#include <algorithm>
#include <future>
#include <map>
#include <memory>

namespace floe::io {
namespace {

// A contiguous span of one object that serves one or more requests.
struct Span {
  ObjectStore* store;
  const std::string* key;
  const GetOptions* preconditions;
  uint64_t start;
  uint64_t end;  // exclusive
  uint64_t wanted;  // bytes some request asked for (the rest are gaps)
  std::vector<size_t> members;
  std::shared_ptr<std::byte[]> buffer;
  std::optional<Error> error;
};

struct Piece {
  size_t span;
  RangeRead read;
};

}  // namespace

std::vector<Result<Bytes>> FetchScheduler::fetch(std::span<const FetchRequest> requests,
                                                 FetchStats* stats) const {
  std::vector<size_t> order;
  order.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].length > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const FetchRequest& x = requests[a];
    const FetchRequest& y = requests[b];
    return std::tie(x.store, x.key, x.preconditions, x.offset) <
           std::tie(y.store, y.key, y.preconditions, y.offset);
  });

  std::vector<Span> spans;
  for (size_t index : order) {
    const FetchRequest& request = requests[index];
    uint64_t end = request.offset + request.length;
    if (!spans.empty()) {
      Span& last = spans.back();
      bool same_object = last.store == request.store && *last.key == request.key &&
                         last.preconditions == request.preconditions;
      bool overlaps = request.offset < last.end;
      bool near = request.offset <= last.end + options_.coalesce_gap;
      bool fits = std::max(last.end, end) - last.start <= options_.max_request_bytes;
      uint64_t gap = overlaps ? 0 : request.offset - last.end;
      uint64_t wanted = last.wanted + (end > last.end ? end - std::max(request.offset, last.end) : 0);
      uint64_t waste = std::max(last.end, end) - last.start - wanted;
      bool worth = gap <= options_.free_gap ||
                   static_cast<double>(waste) <= options_.max_waste_ratio * static_cast<double>(wanted);
      if (same_object && ((near && fits && worth) || overlaps)) {
        last.end = std::max(last.end, end);
        last.wanted = wanted;
        last.members.push_back(index);
        continue;
      }
    }
    spans.push_back(Span{request.store, &request.key, request.preconditions, request.offset, end,
                         request.length, {index}, nullptr, std::nullopt});
  }

  // Allocate each span once; split it into reads of at most max_request_bytes that write into it.
  std::map<ObjectStore*, std::vector<Piece>> pieces_by_store;
  uint64_t fetched = 0;
  uint64_t physical = 0;
  for (size_t s = 0; s < spans.size(); ++s) {
    Span& span = spans[s];
    uint64_t size = span.end - span.start;
    span.buffer = std::make_shared_for_overwrite<std::byte[]>(size);
    fetched += size;
    for (uint64_t at = 0; at < size; at += options_.max_request_bytes) {
      uint64_t piece = std::min(options_.max_request_bytes, size - at);
      pieces_by_store[span.store].push_back(
          Piece{s, RangeRead{*span.key, span.start + at, piece, span.buffer.get() + at, span.preconditions}});
      ++physical;
    }
  }

  auto run_store = [&spans](ObjectStore* store, std::vector<Piece>& pieces) {
    std::vector<RangeRead> reads;
    reads.reserve(pieces.size());
    for (const Piece& piece : pieces) reads.push_back(piece.read);
    std::vector<Status> statuses = store->read_ranges_into(reads);
    for (size_t i = 0; i < pieces.size(); ++i) {
      Span& span = spans[pieces[i].span];
      if (!statuses[i].ok() && !span.error) span.error = std::move(statuses[i]).error();
    }
  };
  if (pieces_by_store.size() == 1) {
    run_store(pieces_by_store.begin()->first, pieces_by_store.begin()->second);
  } else {
    // Different stores never share a span, so their results land in disjoint spans.
    std::vector<std::future<void>> running;
    for (auto& [store, pieces] : pieces_by_store) {
      running.push_back(std::async(std::launch::async, run_store, store, std::ref(pieces)));
    }
    for (auto& future : running) future.get();
  }

  std::vector<Result<Bytes>> results(requests.size(), Result<Bytes>(Bytes()));
  uint64_t requested = 0;
  for (Span& span : spans) {
    Bytes whole = Bytes::adopt(std::move(span.buffer), span.end - span.start);
    for (size_t index : span.members) {
      requested += requests[index].length;
      if (span.error) {
        results[index] = Error(*span.error);
      } else {
        results[index] = whole.slice(requests[index].offset - span.start, requests[index].length);
      }
    }
  }
  if (stats) {
    stats->logical_requests += requests.size();
    stats->physical_requests += physical;
    stats->bytes_requested += requested;
    stats->bytes_fetched += fetched;
  }
  return results;
}

}  // namespace floe::io
