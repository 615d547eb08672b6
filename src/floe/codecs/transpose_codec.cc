// "transpose" (Zarr v3 core codec, spec 3.0 "transpose codec"): the encoded array is the decoded
// one with its axes permuted by "order" (encoded axis i is decoded axis order[i], like
// numpy.transpose). Interop trap: early zarr-python 3 betas wrote "C"/"F" strings for order; F is
// the reversed axes.
#include <fmt/ranges.h>

#include "floe/codecs/codec_support.h"

namespace floe::codecs {
namespace {

class TransposeCodec final : public ArrayToArrayCodec {
 public:
  TransposeCodec(ChunkLayout decoded, std::vector<std::size_t> order)
      : decoded_(std::move(decoded)), order_(std::move(order)) {
    encoded_ = decoded_;
    for (std::size_t i = 0; i < order_.size(); ++i) encoded_.shape[i] = decoded_.shape[order_[i]];
  }

  std::string describe() const override { return fmt::format("transpose({})", order_); }
  const ChunkLayout& encoded_layout() const override { return encoded_; }

  Status decode(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const override {
    const std::size_t rank = order_.size();
    const std::size_t element = decoded_.data_type.size;
    if (encoded.size() != encoded_.byte_size() || out.size() != decoded_.byte_size()) {
      return codec_error("transpose", "array holds {} bytes, expected {}", encoded.size(),
                         encoded_.byte_size());
    }
    if (decoded_.element_count() == 0) return {};
    // Walk the encoded array in C order; the decoded offset moves by the decoded stride of
    // order[i].
    std::vector<std::uint64_t> decoded_strides(rank, 1);
    for (std::size_t d = rank; d-- > 1;)
      decoded_strides[d - 1] = decoded_strides[d] * decoded_.shape[d];
    std::vector<std::uint64_t> step(rank);
    for (std::size_t i = 0; i < rank; ++i) step[i] = decoded_strides[order_[i]];
    std::vector<std::uint64_t> index(rank, 0);
    std::uint64_t decoded_offset = 0;
    const std::uint64_t count = encoded_.element_count();
    for (std::uint64_t at = 0; at < count; ++at) {
      std::memcpy(out.data() + decoded_offset * element, encoded.data() + at * element, element);
      for (std::size_t d = rank; d-- > 0;) {
        decoded_offset += step[d];
        if (++index[d] < encoded_.shape[d]) break;
        decoded_offset -= step[d] * encoded_.shape[d];
        index[d] = 0;
      }
    }
    return {};
  }

 private:
  ChunkLayout decoded_;
  ChunkLayout encoded_;
  std::vector<std::size_t> order_;
};

}  // namespace

Result<AnyCodec> make_transpose_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"order"}));
  const std::size_t rank = spec.layout.shape.size();
  std::vector<std::size_t> order;
  const Json order_json = spec.configuration.value("order", Json());
  if (order_json == Json("C")) {
    for (std::size_t i = 0; i < rank; ++i) order.push_back(i);
  } else if (order_json == Json("F")) {
    for (std::size_t i = rank; i-- > 0;) order.push_back(i);
  } else {
    if (!order_json.is_array() || order_json.size() != rank) {
      return config_error("transpose", "order {} is not a permutation of {} axes",
                          order_json.dump(), rank);
    }
    std::vector<bool> seen(rank, false);
    for (const Json& axis : order_json) {
      if (!axis.is_number_unsigned() || axis.get<std::uint64_t>() >= rank ||
          seen[axis.get<std::size_t>()]) {
        return config_error("transpose", "order {} is not a permutation of {} axes",
                            order_json.dump(), rank);
      }
      seen[axis.get<std::size_t>()] = true;
      order.push_back(axis.get<std::size_t>());
    }
  }
  return AnyCodec(std::make_shared<const TransposeCodec>(spec.layout, std::move(order)));
}

}  // namespace floe::codecs
