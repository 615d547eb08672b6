// Rendering and throttled redrawing of the progress bar.
#include "floe/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace floe {

ProgressReporter::ProgressReporter(std::string label, uint64_t total, Mode mode, std::FILE* stream)
    : label_(std::move(label)), total_(total), stream_(stream) {
  drawing_ = mode == Mode::kAlways || (mode == Mode::kAuto && stream_ && isatty(fileno(stream_)));
}

ProgressReporter::~ProgressReporter() { finish(); }

std::string ProgressReporter::render(const std::string& label, uint64_t done, uint64_t total,
                                     int width, double elapsed_seconds) {
  double fraction = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  std::string line = fmt::format("{} [{}] {}/{} {}%", label, bar, done, total,
                                 static_cast<int>(fraction * 100.0));
  if (elapsed_seconds > 0 && done > 0) {
    const double rate = static_cast<double>(done) / elapsed_seconds;
    const auto left = static_cast<uint64_t>(static_cast<double>(total > done ? total - done : 0) / rate + 0.5);
    line += fmt::format(" {:.1f}/s ETA ", rate);
    if (left >= 3600) {
      line += fmt::format("{}h{:02}m", left / 3600, left % 3600 / 60);
    } else if (left >= 60) {
      line += fmt::format("{}m{:02}s", left / 60, left % 60);
    } else {
      line += fmt::format("{}s", left);
    }
  }
  return line;
}

void ProgressReporter::advance(uint64_t amount) {
  done_.fetch_add(amount);
  if (!drawing_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressReporter::finish() {
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  finished_ = true;
  if (drawing_) draw(true);
}

void ProgressReporter::draw(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  fmt::print(stream_, "\r{}\x1b[K{}", render(label_, done_.load(), total_, 30, elapsed), final_line ? "\n" : "");
  std::fflush(stream_);
}

}  // namespace floe
