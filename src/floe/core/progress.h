// ProgressReporter: a redrawn bar on a terminal, silence in pipes; safe to advance from many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace floe {

class ProgressReporter {
 public:
  enum class Mode { kAuto, kAlways, kNever };

  // kAuto draws only when `stream` is a terminal.
  ProgressReporter(std::string label, uint64_t total, Mode mode = Mode::kAuto,
                   std::FILE* stream = stderr);
  ~ProgressReporter();

  void advance(uint64_t amount = 1);
  void finish();
  bool drawing() const { return drawing_; }
  uint64_t done() const { return done_.load(); }

  // The bar as it would be drawn, for tests: "label [=====>    ] 50/100 50%"; with the seconds elapsed, the rate
  // and the time left: "label [=====>    ] 50/100 50% 25.0/s ETA 2s".
  static std::string render(const std::string& label, uint64_t done, uint64_t total, int width,
                            double elapsed_seconds = 0);

 private:
  void draw(bool final_line);

  std::string label_;
  uint64_t total_;
  std::FILE* stream_;
  bool drawing_;
  bool finished_ = false;
  std::atomic<uint64_t> done_{0};
  std::mutex draw_mutex_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace floe
