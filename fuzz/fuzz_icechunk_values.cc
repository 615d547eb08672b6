// Fuzz target: the Icechunk value readers (FlexBuffers, MessagePack, config.yaml) on one input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "floe/icechunk/json_values.h"

namespace {

std::string dump(const floe::icechunk::Json& value) {
  return value.dump(-1, ' ', false, floe::icechunk::Json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using floe::icechunk::Json;
  std::span<const std::uint8_t> bytes(data, size);

  // Whatever decodes must survive our own writer unchanged (dumps compare NaN and -0 sanely).
  auto flex = floe::icechunk::flexbuffer_to_json(bytes);
  if (flex.ok()) {
    auto again = floe::icechunk::flexbuffer_to_json(floe::icechunk::json_to_flexbuffer(*flex));
    if (!again.ok() || dump(*again) != dump(*flex)) std::abort();
  }

  auto msgpack = floe::icechunk::msgpack_to_json(bytes);
  if (msgpack.ok()) {
    auto again = floe::icechunk::msgpack_to_json(Json::to_msgpack(*msgpack));
    if (!again.ok() || dump(*again) != dump(*msgpack)) std::abort();
  }

  auto config = floe::icechunk::parse_spec1_config_yaml(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (config.ok() && !config->is_object()) std::abort();
  return 0;
}
