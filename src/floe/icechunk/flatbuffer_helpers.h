// Internal to floe_icechunk_format: id conversions and bounded verification shared by the flatbuffer codecs.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "floe/core/bytes.h"
#include "floe/core/error.h"
#include "floe/core/result.h"
#include "floe/icechunk/ids.h"
#include "floe/icechunk/schema/common_generated.h"

namespace floe::icechunk::detail {

inline constexpr char kFileIdentifier[] = "Ichk";  // written, not required on read (as upstream)

inline Id12 to_id12(const fb::ObjectId12& id) {
  Id12 out{};
  std::copy_n(id.bytes()->data(), out.size(), out.begin());
  return out;
}
inline Id8 to_id8(const fb::ObjectId8& id) {
  Id8 out{};
  std::copy_n(id.bytes()->data(), out.size(), out.begin());
  return out;
}
inline fb::ObjectId12 to_fb(const Id12& id) {
  return fb::ObjectId12(flatbuffers::span<const std::uint8_t, 12>(id.data(), id.size()));
}
inline fb::ObjectId8 to_fb(const Id8& id) {
  return fb::ObjectId8(flatbuffers::span<const std::uint8_t, 8>(id.data(), id.size()));
}

struct VerifierLimits {
  flatbuffers::uoffset_t max_depth;
  flatbuffers::uoffset_t max_tables;
};

// Verifies the whole buffer once; afterwards the typed accessors are safe on any input.
template <typename Root>
Result<const Root*> verified_root(const Bytes& payload, VerifierLimits limits, std::string_view object_name,
                                  std::string_view what) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
  if (payload.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return make_error(ErrorCode::kCorrupt, "{}: {} flatbuffer of {} bytes exceeds the 2 GiB limit",
                      object_name, what, payload.size());
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = limits.max_depth;
  options.max_tables = limits.max_tables;
  flatbuffers::Verifier verifier(data, payload.size(), options);
  if (payload.size() < sizeof(flatbuffers::uoffset_t) || !verifier.VerifyBuffer<Root>(nullptr)) {
    return make_error(ErrorCode::kCorrupt, "{}: the {} flatbuffer ({} bytes) fails verification",
                      object_name, what, payload.size());
  }
  return flatbuffers::GetRoot<Root>(data);
}

// The 2.0.8 verifier checks a vector's length prefix for 4-byte alignment but not the elements of struct
// vectors that need 8 (DimensionShape, ManifestFileInfo); reading those misaligned would be undefined.
// Empty vectors are exempt: the 2.0.8 C++ builder does not pad a vector of length 0 (PreAlign skips it).
template <typename Struct>
bool elements_aligned(const flatbuffers::Vector<const Struct*>* vector) {
  return vector == nullptr || vector->size() == 0 ||
         reinterpret_cast<std::uintptr_t>(vector->Data()) % alignof(Struct) == 0;
}

inline std::string_view view_of(const flatbuffers::String* text) {
  return text == nullptr ? std::string_view() : std::string_view(text->c_str(), text->size());
}

}  // namespace floe::icechunk::detail
