// Base64 (RFC 4648, standard alphabet, padded): how Zarr and xarray spell bytes inside JSON.
#pragma once

#include <string>
#include <string_view>

namespace floe {

std::string base64_encode(std::string_view bytes);

}  // namespace floe
