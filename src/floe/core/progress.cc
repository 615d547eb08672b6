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
                                     int width) {
  double fraction = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  return fmt::format("{} [{}] {}/{} {}%", label, bar, done, total,
                     static_cast<int>(fraction * 100.0));
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
  fmt::print(stream_, "\r{}{}", render(label_, done_.load(), total_, 30), final_line ? "\n" : "");
  std::fflush(stream_);
}

}  // namespace floe
