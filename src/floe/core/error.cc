// Rendering of errors and their mapping to CLI exit statuses.
#include "floe/core/error.h"

namespace floe {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kCorrupt: return "corrupt data";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kPreconditionFailed: return "precondition failed";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

int exit_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kPreconditionFailed:
    case ErrorCode::kConflict: return 2;
    case ErrorCode::kIo: return 3;
    default: return 1;
  }
}

std::string Error::to_string() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

}  // namespace floe
