// Base64 (RFC 4648, standard alphabet, padded): how Zarr and xarray spell bytes inside JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace floe {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not padded standard base64 (whitespace is not accepted).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace floe
