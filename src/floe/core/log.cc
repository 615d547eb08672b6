// Formatting and serialized output of log lines.
#include "floe/core/log.h"

#include <chrono>

namespace floe {

LogLevel Logger::parse_level(std::string_view name, LogLevel fallback) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return fallback;
}

void Logger::write(LogLevel level, std::string_view line) {
  static constexpr std::string_view kNames[] = {"debug", "info", "warning", "error"};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::lock_guard lock(mutex_);
  fmt::print(sink_, "[floe {}.{:03d} {}] {}\n", now / 1000, static_cast<int>(now % 1000),
             kNames[static_cast<int>(level)], line);
  std::fflush(sink_);
}

}  // namespace floe
