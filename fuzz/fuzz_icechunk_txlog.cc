// Fuzz target: transaction log files; whatever decodes must survive the hand-laid writer unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "floe/icechunk/format.h"
#include "icechunk_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::icechunk;
  auto log = read_transaction_log_file(fuzz::as_file(data, size, FileType::kTransactionLog), "fuzz");
  if (!log.ok()) return 0;
  TransactionLogToWrite to_write;
  to_write.id = log->id;
  to_write.new_groups = log->new_groups;
  to_write.new_arrays = log->new_arrays;
  to_write.deleted_groups = log->deleted_groups;
  to_write.deleted_arrays = log->deleted_arrays;
  to_write.updated_arrays = log->updated_arrays;
  to_write.updated_groups = log->updated_groups;
  for (const UpdatedChunks& chunks : log->updated_chunks) {
    UpdatedChunksSource source;
    source.node_id = chunks.node_id;
    source.ndim = chunks.ndim;
    source.count = chunks.count();
    source.coords_at = [&chunks](std::uint64_t index, std::uint32_t* out) {
      for (std::uint32_t d = 0; d < chunks.ndim; ++d) out[d] = chunks.coords[index * chunks.ndim + d];
    };
    to_write.updated_chunks.push_back(std::move(source));
  }
  auto again = read_transaction_log_file(write_transaction_log_file(to_write), "fuzz rewritten");
  if (!again.ok() || again->updated_chunks.size() != log->updated_chunks.size()) std::abort();
  size_t total = 0, total_again = 0;
  for (const auto& chunks : log->updated_chunks) total += chunks.count();
  for (const auto& chunks : again->updated_chunks) total_again += chunks.count();
  if (total != total_again) std::abort();
  return 0;
}
