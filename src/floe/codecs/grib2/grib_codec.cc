// The GRIB array -> bytes codecs: a stored chunk is one GRIB message (edition 1 or 2), the decoded
// chunk one of its fields as float32 or float64 with NaN for missing points (decode.h has the
// layouts).
//
// "gribberish" is the name and configuration of gribberish's zarr codec (gribberish 1.9,
// python/gribberish/zarr/codec.py): {"var", "adjust_longitude_range", "north_up"}; it decodes the
// first field in gribberish's layout, so arrays written for gribberish read the same in floe and
// in xarray. "var" other than latitude/longitude is only a label there; the latitude/longitude
// coordinate chunks gribberish computes from a message are not supported.
//
// "floe.grib" is floe's own name for what gribberish cannot express: {"field": n} selects a field
// of a message that holds several, and the layout is always north-up (scanning mode 0 order, every
// scanning mode undone).
#include <fmt/ranges.h>

#include <cstring>
#include <vector>

#include "floe/codecs/codec_support.h"
#include "floe/codecs/grib2/decode.h"
#include "floe/codecs/grib2/grib1_message.h"
#include "floe/codecs/grib2/message.h"

namespace floe::codecs {
namespace {

class GribCodec final : public ArrayToBytesCodec {
 public:
  GribCodec(std::string name, grib::DecodeOptions options, std::size_t field, ChunkLayout layout)
      : name_(std::move(name)), options_(options), field_(field), layout_(std::move(layout)) {}

  std::string describe() const override {
    std::vector<std::string> settings;
    if (options_.north_up) settings.emplace_back("north_up");
    if (options_.adjust_longitude_range) settings.emplace_back("adjust_longitude_range");
    if (field_ != 0) settings.push_back(fmt::format("field {}", field_));
    if (settings.empty()) return name_;
    return fmt::format("{}({})", name_, fmt::join(settings, ", "));
  }
  std::optional<std::uint64_t> encoded_size() const override { return std::nullopt; }

  Status decode(std::span<const std::uint8_t> encoded, std::span<std::uint8_t> out) const override {
    FLOE_ASSIGN_OR_RETURN(grib::GribIndicator indicator, grib::read_indicator(encoded));
    grib::PackedField field;
    if (indicator.edition == 1) {
      if (field_ != 0) {
        return codec_error(name_, "field {} asked of a GRIB1 message, which holds one field",
                           field_);
      }
      FLOE_ASSIGN_OR_RETURN(grib::Grib1Message message, grib::Grib1Message::parse(encoded));
      FLOE_ASSIGN_OR_RETURN(field, message.packed_field());
      return decode_field(field, out);
    }
    FLOE_ASSIGN_OR_RETURN(grib::Grib2Message message, grib::Grib2Message::parse(encoded));
    FLOE_ASSIGN_OR_RETURN(field, message.packed_field(field_));
    return decode_field(field, out);
  }

 private:
  Status decode_field(const grib::PackedField& field, std::span<std::uint8_t> out) const {
    if (field.points != layout_.element_count()) {
      return codec_error(name_,
                         "{}: the field has {} points ({}), the chunk {} elements; the array's "
                         "chunk shape does not match the grid",
                         field.origin, field.points,
                         field.rectangular ? fmt::format("Nj {} x Ni {}", field.nj, field.ni)
                                           : std::string("reduced grid"),
                         layout_.element_count());
    }
    if (layout_.data_type.size == 4) return decode_as<float>(field, out);
    return decode_as<double>(field, out);
  }

  template <typename T>
  Status decode_as(const grib::PackedField& field, std::span<std::uint8_t> out) const {
    const std::size_t count = out.size() / sizeof(T);
    if (reinterpret_cast<std::uintptr_t>(out.data()) % alignof(T) == 0) {
      return grib::decode_field(field, {reinterpret_cast<T*>(out.data()), count}, options_);
    }
    std::vector<T> aligned(count);
    FLOE_RETURN_IF_ERROR(grib::decode_field(field, std::span<T>(aligned), options_));
    std::memcpy(out.data(), aligned.data(), out.size());
    return {};
  }

  std::string name_;
  grib::DecodeOptions options_;
  std::size_t field_;
  ChunkLayout layout_;
};

Status check_float_layout(const CodecSpec& spec) {
  const zarr::DataType& type = spec.layout.data_type;
  if (type.kind != zarr::TypeKind::kFloat || (type.size != 4 && type.size != 8)) {
    return config_error(spec.name, "decodes to float32 or float64, the array is {}", type.name());
  }
  return {};
}

Result<bool> config_bool(const CodecSpec& spec, std::string_view key) {
  const auto found = spec.configuration.find(key);
  if (found == spec.configuration.end() || found->is_null()) return false;
  if (!found->is_boolean()) {
    return config_error(spec.name, "\"{}\" is {}, not a boolean", key, found->dump());
  }
  return found->get<bool>();
}

}  // namespace

Result<AnyCodec> make_gribberish_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"var", "adjust_longitude_range", "north_up"}));
  FLOE_RETURN_IF_ERROR(check_float_layout(spec));
  const auto var = spec.configuration.find("var");
  if (var != spec.configuration.end() && !var->is_null()) {
    if (!var->is_string()) {
      return config_error(spec.name, "\"var\" is {}, not a string", var->dump());
    }
    const std::string name = var->get<std::string>();
    if (name == "latitude" || name == "longitude") {
      return make_error(ErrorCode::kUnsupported,
                        "gribberish: var \"{}\" computes coordinates from the message, which floe "
                        "does not do in the codec",
                        name);
    }
  }
  grib::DecodeOptions options;
  options.gribberish_layout = true;
  FLOE_ASSIGN_OR_RETURN(options.north_up, config_bool(spec, "north_up"));
  FLOE_ASSIGN_OR_RETURN(options.adjust_longitude_range,
                        config_bool(spec, "adjust_longitude_range"));
  return AnyCodec(
      std::make_shared<const GribCodec>(std::string(spec.name), options, 0, spec.layout));
}

Result<AnyCodec> make_floe_grib_codec(const CodecSpec& spec) {
  FLOE_RETURN_IF_ERROR(config_keys_known(spec, {"field"}));
  FLOE_RETURN_IF_ERROR(check_float_layout(spec));
  FLOE_ASSIGN_OR_RETURN(std::uint64_t field, config_unsigned(spec, "field", 0));
  return AnyCodec(std::make_shared<const GribCodec>(std::string(spec.name), grib::DecodeOptions{},
                                                    field, spec.layout));
}

}  // namespace floe::codecs
