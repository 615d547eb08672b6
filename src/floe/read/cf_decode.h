// CF decoding of packed and masked values (--decode-cf), element by element, as xarray decodes a
// variable opened with xr.open_zarr from a Zarr v3 store (xarray/coding/variables.py: CFMaskCoder
// then CFScaleOffsetCoder; backends/zarr.py for _FillValue).
//
// What xarray does, and so floe:
//  - _Unsigned "true" on a signed integer type reads the bytes as unsigned ("false" on an unsigned
//  type
//    as signed); only the exact strings count. The _FillValue (not missing_value) is reinterpreted
//    too.
//  - _FillValue and every missing_value (scalar or list) become NaN; NaN fill values are dropped.
//  The
//    comparison is numpy's with float64 fills: float32 data equal to float32(0.1) do not match 0.1.
//    valid_min/valid_max/valid_range are not applied. The Zarr array's own fill_value is not a mask
//    unless use_zarr_fill_value_as_mask is set (xarray's default for Zarr v3 is not to).
//  - _FillValue of a float array is what xarray writes: base64 of a little-endian float64; of an
//  integer
//    array an integer (truncated if written as a float).
//  - output = raw * scale_factor + add_offset, as two roundings (no fused multiply-add), in the
//  output
//    type. The output type follows _choose_float_dtype with JSON attribute types (floats are
//    float64): scale_factor or add_offset present -> float64 (an integer scale_factor without
//    add_offset keeps int64, as numpy does); only masking -> float32 for
//    int8/int16/uint8/uint16/float32, float64 for wider integers and float64, float16 stays
//    float16; masked integer time values ("UNIT since DATE" units) -> int64 with INT64_MIN (NaT) as
//    the mask.
//  - No CF attributes (or only _Unsigned) -> the raw bytes unchanged.
// Where xarray fails, floe decodes instead: a plain-number _FillValue on a float array, a
// _FillValue of 255 with _Unsigned "false" on uint8 (reinterpreted as -1), a one-element list as
// scale_factor (xarray makes an object array). Refused (kUnsupported): complex and non-numeric
// types with CF attributes, more than 8 fill values, float16 with a NaN _FillValue and
// scale_factor, integer scale with masking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "floe/core/result.h"
#include "floe/zarr/data_type.h"

namespace floe::read {

struct CfDecodingOptions {
  bool use_zarr_fill_value_as_mask = false;  // xarray's use_zarr_fill_value_as_mask (False for v3)
  bool decode_times = true;  // mask integer time values to int64 NaT like xarray with decode_times
};

// Parameters of the element-wise float kernel (internal, shared by the kernels in cf_decode.cc).
struct CfFloatKernelParameters {
  static constexpr int kMaxFills = 8;
  double scale = 1.0;
  double offset = -0.0;  // adding -0.0 leaves every value (and -0.0) unchanged
  double fills[kMaxFills] = {};
  int fill_count = 0;
};

// A plan for one array: immutable, cheap to copy, safe to use from many threads.
class CfDecoding {
 public:
  enum class Kernel {
    kCopy,          // bytes unchanged (possibly reinterpreted by _Unsigned)
    kFloat,         // to float32/float64 with masking and scale/offset
    kTimeMask,      // integers to int64, masked values to INT64_MIN
    kIntegerScale,  // integers times an integer scale_factor, to int64
    kHalfMask,      // float16 kept, masked values to NaN
  };
  using FloatKernel = void (*)(const std::uint8_t* raw, std::uint8_t* out, std::size_t count,
                               const CfFloatKernelParameters& parameters);

  const zarr::DataType& input_type() const { return input_type_; }
  const zarr::DataType& output_type() const { return output_type_; }
  Kernel kernel() const { return kernel_; }
  // True when decode() copies bytes: no CF attribute changes a value.
  bool is_identity() const { return kernel_ == Kernel::kCopy; }

  // Decodes raw.size() / input_type().size elements into out (at least that many output elements).
  // raw and out must not overlap. Element-wise; one tight loop per type.
  void decode(std::span<const std::uint8_t> raw, std::span<std::uint8_t> out) const;

  // The attributes of the decoded variable: without scale_factor, add_offset, _FillValue,
  // missing_value and _Unsigned, which xarray moves into .encoding.
  nlohmann::json decoded_attributes(const nlohmann::json& attributes) const;
  // "int16 -> float64: x * 0.01 + 273.15, -32767 -> NaN", for logs and `floe info`.
  std::string summary() const;

 private:
  friend Result<CfDecoding> plan_cf_decoding(const zarr::DataType& type,
                                             const nlohmann::json& attributes,
                                             std::span<const std::uint8_t> zarr_fill_value,
                                             const CfDecodingOptions& options);

  zarr::DataType input_type_;
  zarr::DataType output_type_;
  zarr::TypeKind raw_kind_ = zarr::TypeKind::kFloat;  // input kind after _Unsigned
  Kernel kernel_ = Kernel::kCopy;
  FloatKernel float_kernel_ = nullptr;
  CfFloatKernelParameters float_parameters_;
  std::vector<std::int64_t> integer_fills_;  // kTimeMask: values compared exactly
  std::int64_t integer_scale_ = 1;           // kIntegerScale
  std::uint16_t half_fills_[CfFloatKernelParameters::kMaxFills] = {};  // kHalfMask: float16 bits
  int half_fill_count_ = 0;
  std::string summary_;
};

// The decoding xarray would apply to an array of `type` with these attributes. `zarr_fill_value` is
// the array's fill_value as element bytes (zarr::fill_value_bytes); used only with
// options.use_zarr_fill_value_as_mask. Errors name the attribute and its value.
Result<CfDecoding> plan_cf_decoding(const zarr::DataType& type, const nlohmann::json& attributes,
                                    std::span<const std::uint8_t> zarr_fill_value,
                                    const CfDecodingOptions& options = {});

// The `_FillValue` attribute of raw (undecoded) values as one element of `type` (little-endian), read as
// xarray's Zarr backend reads it (base64 of a float64 for float arrays, an integer otherwise); empty when the
// attribute is absent or invalid, or `type` is not an integer, float32 or float64.
std::vector<std::uint8_t> raw_fill_value_bytes(const zarr::DataType& type,
                                               const nlohmann::json& attributes);

}  // namespace floe::read
