// Tests of the progress bar (rendered on terminals, silent in pipes) and the logger's filtering.
#include <gtest/gtest.h>

#include <cstdio>

#include "floe/core/log.h"
#include "floe/core/progress.h"

namespace floe {
namespace {

std::string read_all(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buffer[256];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) out.append(buffer, got);
  return out;
}

TEST(Progress, RendersABar) {
  EXPECT_EQ(ProgressReporter::render("files", 5, 10, 10), "files [=====>    ] 5/10 50%");
  EXPECT_EQ(ProgressReporter::render("files", 10, 10, 4), "files [====] 10/10 100%");
  EXPECT_EQ(ProgressReporter::render("x", 0, 0, 2), "x [==] 0/0 100%");
  // Rate and time left from the seconds elapsed.
  EXPECT_EQ(ProgressReporter::render("files", 50, 100, 4, 2.0), "files [==> ] 50/100 50% 25.0/s ETA 2s");
  EXPECT_EQ(ProgressReporter::render("files", 1, 10001, 4, 1.0), "files [>   ] 1/10001 0% 1.0/s ETA 2h46m");
  EXPECT_EQ(ProgressReporter::render("files", 10, 100, 4, 10.0), "files [>   ] 10/100 10% 1.0/s ETA 1m30s");
}

TEST(Progress, SilentWhenNotATerminal) {
  std::FILE* file = std::tmpfile();
  {
    ProgressReporter progress("work", 3, ProgressReporter::Mode::kAuto, file);
    EXPECT_FALSE(progress.drawing());
    progress.advance(3);
  }
  EXPECT_EQ(read_all(file), "");
  std::fclose(file);
}

TEST(Progress, DrawsWhenForced) {
  std::FILE* file = std::tmpfile();
  {
    ProgressReporter progress("work", 2, ProgressReporter::Mode::kAlways, file);
    progress.advance(2);
  }
  EXPECT_NE(read_all(file).find("work ["), std::string::npos);
  std::fclose(file);
}

TEST(Logger, FiltersByLevel) {
  std::FILE* file = std::tmpfile();
  Logger logger(LogLevel::kWarning, file);
  logger.info("hidden {}", 1);
  logger.warn("shown {}", 2);
  std::string text = read_all(file);
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("warning] shown 2"), std::string::npos);
  std::fclose(file);
  EXPECT_EQ(Logger::parse_level("debug", LogLevel::kOff), LogLevel::kDebug);
  EXPECT_EQ(Logger::parse_level("nonsense", LogLevel::kInfo), LogLevel::kInfo);
}

}  // namespace
}  // namespace floe
