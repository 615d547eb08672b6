// Result<T>: a value or an Error, with the macros that propagate errors up the call chain.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "floe/core/error.h"

namespace floe {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(storage_); }
  const T& value() const& { assert(ok()); return std::get<0>(storage_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(storage_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(storage_)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), has_error_(true) {}  // NOLINT

  bool ok() const { return !has_error_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { assert(!ok()); return error_; }
  Error&& error() && { assert(!ok()); return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool has_error_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace floe

#define FLOE_CONCAT_INNER(a, b) a##b
#define FLOE_CONCAT(a, b) FLOE_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result or Status) from the enclosing function.
#define FLOE_RETURN_IF_ERROR(expr)                          \
  do {                                                      \
    auto&& floe_status_ = (expr);                           \
    if (!floe_status_.ok()) return std::move(floe_status_).error(); \
  } while (0)

#define FLOE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).error();    \
  lhs = std::move(tmp).value()

// `FLOE_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define FLOE_ASSIGN_OR_RETURN(lhs, expr) \
  FLOE_ASSIGN_OR_RETURN_IMPL(FLOE_CONCAT(floe_result_, __LINE__), lhs, expr)
