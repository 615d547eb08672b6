// Fuzz target: manifest files; every ref of every array is decoded and looked up again by its index.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "floe/icechunk/manifest.h"
#include "icechunk_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace floe::icechunk;
  auto manifest = ManifestView::open(fuzz::as_file(data, size, FileType::kManifest), "fuzz");
  if (!manifest.ok()) return 0;
  for (const Id8& node : manifest->array_ids()) {
    size_t visited = 0;
    floe::Status status = manifest->for_each_ref(node, [&](const ChunkRefView& ref) -> floe::Status {
      ++visited;
      std::vector<std::uint32_t> index(ref.index.begin(), ref.index.end());
      auto found = manifest->find(node, index);
      if (found.ok() && (!found->has_value() || (*found)->kind != ref.kind)) std::abort();
      return floe::ok_status();
    });
    if (status.ok() && visited != manifest->num_refs(node)) std::abort();
  }
  return 0;
}
