// Error values for every layer: a code that maps to an exit status, a message, and a chain of context.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace floe {

enum class ErrorCode {
  kInvalidArgument,     // the caller asked for something malformed (exit 1)
  kNotFound,            // object, key, file or path absent (exit 1)
  kPermissionDenied,    // credentials refused or missing (exit 1)
  kCorrupt,             // bytes do not follow the format they claim (exit 1)
  kUnsupported,         // valid but not implemented / not expressible (exit 1)
  kPreconditionFailed,  // a conditional write lost a race (exit 2)
  kConflict,            // concurrent change that cannot be reconciled (exit 2)
  kIo,                  // transport failure after retries (exit 3)
  kCancelled,
  kInternal,
};

std::string_view to_string(ErrorCode code);

// Exit status for the CLI contract: 0 ok, 1 user error, 2 conflict/precondition, 3 I/O failure.
int exit_status(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Outermost context last: "while listing s3://b/p" pushed after "GET s3://b/p?list-type=2".
  const std::vector<std::string>& context() const { return context_; }

  Error& add_context(std::string context) & {
    context_.push_back(std::move(context));
    return *this;
  }
  Error&& add_context(std::string context) && {
    context_.push_back(std::move(context));
    return std::move(*this);
  }

  // "context-outer: context-inner: message".
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
};

template <typename... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Error(code, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace floe
