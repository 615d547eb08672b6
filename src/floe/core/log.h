// Logger: levelled, thread-safe lines to a stream; an explicit object, never a global.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <mutex>
#include <string_view>

namespace floe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

class Logger {
 public:
  explicit Logger(LogLevel min_level = LogLevel::kWarning, std::FILE* sink = stderr)
      : min_level_(min_level), sink_(sink) {}

  bool enabled(LogLevel level) const { return level >= min_level_ && min_level_ != LogLevel::kOff; }
  void set_level(LogLevel level) { min_level_ = level; }

  template <typename... Args>
  void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled(level)) return;
    write(level, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) {
    log(LogLevel::kDebug, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    log(LogLevel::kInfo, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    log(LogLevel::kWarning, format, std::forward<Args>(args)...);
  }

  static LogLevel parse_level(std::string_view name, LogLevel fallback);

 private:
  void write(LogLevel level, std::string_view line);

  LogLevel min_level_;
  std::FILE* sink_;
  std::mutex mutex_;
};

}  // namespace floe
