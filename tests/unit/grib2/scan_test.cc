// Tests of message scanning: every real GRIB file under testdata/grib against ecCodes' own message
// reader, GRIB1 and GRIB2 messages written by ecCodes (incl. a GRIB1 message over 16 MiB with the
// 120-byte length rule), batching across files, bytes read, and every kind of damage between and
// inside messages.
#include "floe/formats/grib2/scan.h"

#include <eccodes.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "floe/formats/grib2/idx.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/local_store.h"
#include "floe/io/memory_store.h"
#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::read_file;
using test_support::testdata;

namespace fs = std::filesystem;
using namespace std::string_literals;

// ecCodes' reader: every message's offset, total length and edition.
std::vector<MessageExtent> eccodes_messages(const fs::path& path) {
  std::vector<MessageExtent> messages;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return messages;
  int error = 0;
  while (codes_handle* handle = codes_handle_new_from_file(nullptr, file, PRODUCT_GRIB, &error)) {
    long offset = 0;
    long length = 0;
    long edition = 0;
    codes_get_long(handle, "offset", &offset);
    codes_get_long(handle, "totalLength", &length);
    codes_get_long(handle, "edition", &edition);
    messages.push_back({static_cast<uint64_t>(offset), static_cast<uint64_t>(length),
                        static_cast<uint8_t>(edition)});
    codes_handle_delete(handle);
  }
  std::fclose(file);
  return messages;
}

// One message written by ecCodes from its GRIB1/GRIB2 sample on an ni x nj regular lat/lon grid.
std::string make_message(int edition, long ni, long nj, long bits_per_value, double seed) {
  std::unique_ptr<codes_handle, decltype(&codes_handle_delete)> handle(
      codes_grib_handle_new_from_samples(nullptr, edition == 1 ? "GRIB1" : "GRIB2"),
      &codes_handle_delete);
  if (!handle) return {};
  codes_handle* h = handle.get();
  int error = 0;
  error |= codes_set_long(h, "Ni", ni);
  error |= codes_set_long(h, "Nj", nj);
  error |= codes_set_double(h, "latitudeOfFirstGridPointInDegrees", 80);
  error |= codes_set_double(h, "latitudeOfLastGridPointInDegrees",
                            80 - 0.01 * static_cast<double>(nj - 1));
  error |= codes_set_double(h, "longitudeOfFirstGridPointInDegrees", 0);
  error |=
      codes_set_double(h, "longitudeOfLastGridPointInDegrees", 0.01 * static_cast<double>(ni - 1));
  error |= codes_set_double(h, "iDirectionIncrementInDegrees", 0.01);
  error |= codes_set_double(h, "jDirectionIncrementInDegrees", 0.01);
  error |= codes_set_long(h, "bitsPerValue", bits_per_value);
  std::vector<double> values(static_cast<size_t>(ni * nj));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 250 + 40 * std::sin(seed + 0.001 * static_cast<double>(i));
  error |= codes_set_double_array(h, "values", values.data(), values.size());
  const void* message = nullptr;
  size_t size = 0;
  error |= codes_get_message(h, &message, &size);
  if (error != 0) return {};
  return std::string(static_cast<const char*>(message), size);
}

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct MemoryScan {
  io::MemoryStore store;
  io::FetchScheduler scheduler;
  io::BlockCache cache{scheduler};
};

Result<ScannedFile> scan_bytes(std::string bytes, ScanOptions options = {}) {
  MemoryScan scan;
  if (!scan.store.put("f.grib", Bytes::from_string(std::move(bytes))).ok()) std::abort();
  ScanTarget target{&scan.store, "f.grib", "memory://bucket/f.grib"};
  return std::move(scan_messages(scan.cache, std::span(&target, 1), options)[0]);
}

std::string scan_error(std::string bytes, ErrorCode code = ErrorCode::kCorrupt) {
  auto scanned =
      scan_bytes(std::move(bytes), ScanOptions{.first_read_bytes = 64, .block_size = 64});
  if (scanned.ok()) return "(scanned)";
  EXPECT_EQ(scanned.error().code(), code) << scanned.error().to_string();
  return scanned.error().to_string();
}

class ScanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    grib1_ = make_message(1, 40, 30, 16, 0.5);
    grib2_ = make_message(2, 50, 20, 12, 1.5);
    ASSERT_FALSE(grib1_.empty());
    ASSERT_FALSE(grib2_.empty());
  }
  static std::string grib1_;
  static std::string grib2_;
};
std::string ScanTest::grib1_;
std::string ScanTest::grib2_;

TEST_F(ScanTest, RealFilesMatchEccodesInOneBatch) {
  std::vector<fs::path> paths;
  for (const auto& file : fs::recursive_directory_iterator(testdata())) {
    std::string extension = file.path().extension().string();
    if (extension == ".grib2" || extension == ".grb2" || extension == ".grib")
      paths.push_back(file.path());
  }
  std::sort(paths.begin(), paths.end());
  ASSERT_GE(paths.size(), 15u) << "testdata/grib files missing under " << testdata();
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  std::vector<ScanTarget> targets;
  // Small first reads, so the multi-message files are hopped through rather than read whole. The
  // files are opened first, as `floe virtualize` does.
  const ScanOptions options{.first_read_bytes = 4096, .block_size = 4096};
  for (const fs::path& path : paths) {
    targets.push_back({&store, path.string(), "file://" + path.string()});
    ASSERT_TRUE(cache.open(&store, path.string(), options.first_read_bytes).ok());
  }
  const uint64_t rounds_to_open = cache.stats().fetch_rounds;
  auto scanned = scan_messages(cache, targets, options);
  ASSERT_EQ(scanned.size(), paths.size());
  size_t messages = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    SCOPED_TRACE(paths[i].string());
    ASSERT_TRUE(scanned[i].ok()) << scanned[i].error().to_string();
    std::vector<MessageExtent> expected = eccodes_messages(paths[i]);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(scanned[i]->messages, expected);
    EXPECT_EQ(scanned[i]->size, fs::file_size(paths[i]));
    EXPECT_TRUE(scanned[i]->warnings.empty());
    messages += expected.size();
  }
  EXPECT_GE(messages, 40u);
  // One round per message of the longest file (plus the first reads), not one per message of all
  // files.
  size_t longest = 0;
  for (const auto& file : scanned) longest = std::max(longest, file->messages.size());
  EXPECT_LE(cache.stats().fetch_rounds - rounds_to_open, longest + 1);
}

TEST_F(ScanTest, InventoryOffsetsAndLengthsMatchTheScan) {
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  auto entries = parse_noaa_idx(read_file(fs::path(grib.string() + ".idx")), "gfswave.idx",
                                fs::file_size(grib));
  ASSERT_TRUE(entries.ok());
  auto scanned =
      scan_bytes(read_file(grib), ScanOptions{.first_read_bytes = 4096, .block_size = 4096});
  ASSERT_TRUE(scanned.ok()) << scanned.error().to_string();
  ASSERT_EQ(scanned->messages.size(), entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ(scanned->messages[i].offset, (*entries)[i].offset);
    EXPECT_EQ(scanned->messages[i].length, (*entries)[i].length);
  }
}

TEST_F(ScanTest, MixedEditionsAndLeadingBytes) {
  // A header before the first message (wgrib2's WW3 test file starts at 202), then GRIB1 and GRIB2
  // mixed.
  std::string header(202, 'h');
  std::string file = header + grib1_ + grib2_ + grib1_;
  fs::path path = fs::temp_directory_path() / fmt::format("floe_grib2_scan_{}.grib", getpid());
  write_file(path, file);
  std::vector<MessageExtent> expected = eccodes_messages(path);
  fs::remove(path);
  ASSERT_EQ(expected.size(), 3u);
  auto scanned = scan_bytes(file, ScanOptions{.first_read_bytes = 512, .block_size = 256});
  ASSERT_TRUE(scanned.ok()) << scanned.error().to_string();
  EXPECT_EQ(scanned->messages, expected);
  EXPECT_EQ(scanned->messages[0].offset, 202u);
  EXPECT_EQ(scanned->messages[0].edition, 1);
  EXPECT_EQ(scanned->messages[1].edition, 2);
  ASSERT_EQ(scanned->warnings.size(), 1u);
  EXPECT_NE(scanned->warnings[0].find("202 bytes before the first GRIB message"),
            std::string::npos);
}

TEST_F(ScanTest, Grib1MessagesOver16MiBUseTheSectionLengths) {
  std::string large = make_message(1, 3000, 2000, 24, 0.25);
  ASSERT_GT(large.size(), 16u << 20);
  // The 24-bit length field cannot hold it: ECMWF's convention sets its top bit and counts 120-byte
  // units.
  auto field = std::to_integer<uint32_t>(std::byte(large[4])) << 16 |
               std::to_integer<uint32_t>(std::byte(large[5])) << 8 |
               std::to_integer<uint32_t>(std::byte(large[6]));
  ASSERT_NE(field & 0x800000u, 0u);
  ASSERT_LT((field & 0x7FFFFFu) * 120u, large.size() + 120u);
  std::string file = grib2_ + large + grib1_;
  fs::path path =
      fs::temp_directory_path() / fmt::format("floe_grib2_scan_large_{}.grib", getpid());
  write_file(path, file);
  std::vector<MessageExtent> expected = eccodes_messages(path);
  fs::remove(path);
  ASSERT_EQ(expected.size(), 3u);
  MemoryScan scan;
  ASSERT_TRUE(scan.store.put("f.grib", Bytes::from_string(std::string(file))).ok());
  ScanTarget target{&scan.store, "f.grib", "memory://bucket/f.grib"};
  auto scanned = scan_messages(scan.cache, std::span(&target, 1),
                               ScanOptions{.first_read_bytes = 64 * 1024, .block_size = 16 * 1024});
  ASSERT_TRUE(scanned[0].ok()) << scanned[0].error().to_string();
  EXPECT_EQ(scanned[0]->messages, expected);
  EXPECT_EQ(scanned[0]->messages[1].length, large.size());
  // Only headers were read: the first read (one 256 KiB default block) and a few 16 KiB blocks, not
  // 18 MB.
  EXPECT_LT(scan.cache.stats().bytes_fetched, 512u * 1024);
}

TEST_F(ScanTest, HopsReadBlocksNotFiles) {
  // Three files of 12 messages of ~150 KB: scanned together, each round reads one block per file.
  std::string message = make_message(2, 400, 200, 15, 2.0);
  ASSERT_GT(message.size(), 140000u);
  io::MemoryStore store;
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  std::vector<ScanTarget> targets;
  uint64_t total = 0;
  for (int f = 0; f < 3; ++f) {
    std::string file;
    for (int m = 0; m < 12 + f; ++m) file += message;
    total += file.size();
    std::string key = fmt::format("run/f{:03d}.grib2", f);
    ASSERT_TRUE(store.put(key, Bytes::from_string(std::move(file))).ok());
    targets.push_back({&store, key, "memory://bucket/" + key});
  }
  auto scanned = scan_messages(cache, targets,
                               ScanOptions{.first_read_bytes = 16 * 1024, .block_size = 16 * 1024});
  for (int f = 0; f < 3; ++f) {
    ASSERT_TRUE(scanned[f].ok()) << scanned[f].error().to_string();
    ASSERT_EQ(scanned[f]->messages.size(), 12u + f);
    for (size_t m = 0; m < scanned[f]->messages.size(); ++m) {
      EXPECT_EQ(scanned[f]->messages[m].offset, m * message.size());
      EXPECT_EQ(scanned[f]->messages[m].length, message.size());
    }
  }
  io::BlockCacheStats stats = cache.stats();
  EXPECT_LE(stats.fetch_rounds, 3u + 15u);  // the opens, then one round per hop of the longest file
  EXPECT_LT(stats.bytes_fetched, total / 4);
  EXPECT_EQ(stats.heads, 0u);
}

TEST_F(ScanTest, DamagedFilesNameFileAndOffset) {
  const std::string two = grib2_ + grib1_;
  EXPECT_EQ(scan_error(two), "(scanned)");

  // Garbage between messages.
  std::string garbage = grib2_ + "xxxx" + grib1_;
  EXPECT_NE(
      scan_error(garbage).find(fmt::format("memory://bucket/f.grib: at byte offset {}: {} bytes",
                                           grib2_.size(), 4 + grib1_.size())),
      std::string::npos);
  // Trailing bytes after the last message.
  EXPECT_NE(
      scan_error(two + std::string(3, '\0')).find(fmt::format("at byte offset {}", two.size())),
      std::string::npos);
  // A message cut short by the end of the file.
  std::string truncated = grib2_ + grib1_.substr(0, grib1_.size() / 2);
  EXPECT_NE(scan_error(truncated).find("the file is truncated"), std::string::npos);
  // A header cut short.
  EXPECT_NE(scan_error(grib2_ + "GRIB\0\0"s).find("cut short"), std::string::npos);
  EXPECT_NE(scan_error(grib2_ + std::string("GRIB\0\0\0\2\0\0", 10)).find("cut short"),
            std::string::npos);
  // A length field that is off: the message does not end in 7777.
  std::string wrong_length = grib2_ + grib2_;
  wrong_length[15] = static_cast<char>(wrong_length[15] - 4);
  EXPECT_NE(scan_error(wrong_length).find("does not end in \"7777\""), std::string::npos);
  // An impossible length.
  std::string tiny = grib2_;
  for (int i = 8; i < 16; ++i) tiny[i] = 0;
  tiny[15] = 20;
  EXPECT_NE(scan_error(tiny).find("below the smallest possible message"), std::string::npos);
  // Another edition.
  std::string edition3 = grib2_;
  edition3[7] = 3;
  EXPECT_NE(scan_error(edition3, ErrorCode::kUnsupported).find("GRIB edition 3"),
            std::string::npos);
  // Not GRIB at all, and empty.
  EXPECT_NE(scan_error("CDF\1 not grib at all").find("no GRIB message in the first"),
            std::string::npos);
  EXPECT_NE(scan_error("").find("empty"), std::string::npos);
  // A GRIB1 message over 8 MiB whose section lengths run past the end of the file.
  std::string large_header = grib1_.substr(0, 16);
  large_header[4] = static_cast<char>(0x80);
  EXPECT_NE(scan_error(large_header + std::string(40, '\0')).find("GRIB1"), std::string::npos);
}

TEST_F(ScanTest, OneBadFileDoesNotStopTheOthers) {
  io::MemoryStore store;
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  ASSERT_TRUE(store.put("good", Bytes::copy_of(grib2_ + grib2_ + grib2_)).ok());
  ASSERT_TRUE(store.put("bad", Bytes::copy_of(grib2_ + "zz" + grib2_)).ok());
  std::vector<ScanTarget> targets = {{&store, "good", "mem://good"},
                                     {&store, "missing", "mem://missing"},
                                     {&store, "bad", "mem://bad"}};
  auto scanned =
      scan_messages(cache, targets, ScanOptions{.first_read_bytes = 64, .block_size = 64});
  ASSERT_TRUE(scanned[0].ok());
  EXPECT_EQ(scanned[0]->messages.size(), 3u);
  ASSERT_FALSE(scanned[1].ok());
  EXPECT_EQ(scanned[1].error().code(), ErrorCode::kNotFound);
  ASSERT_FALSE(scanned[2].ok());
  EXPECT_NE(scanned[2].error().message().find("mem://bad: at byte offset"), std::string::npos);
}

TEST(IndicatorSection, Editions) {
  std::string grib2("GRIB\0\0\0\2\0\0\0\0\0\0\1\0", 16);
  auto indicator = parse_indicator_section(std::as_bytes(std::span(grib2)));
  ASSERT_TRUE(indicator);
  EXPECT_EQ(indicator->edition, 2);
  EXPECT_EQ(indicator->length, 256u);
  std::string grib1("GRIB\x80\0\2\1", 8);
  indicator = parse_indicator_section(std::as_bytes(std::span(grib1)));
  ASSERT_TRUE(indicator);
  EXPECT_EQ(indicator->edition, 1);
  EXPECT_TRUE(indicator->grib1_large);
  EXPECT_EQ(indicator->length, 0x800002u);
  EXPECT_FALSE(parse_indicator_section(std::as_bytes(std::span(grib2).first(12))));
  std::string not_grib("GRIC\0\0\0\2", 8);
  EXPECT_FALSE(parse_indicator_section(std::as_bytes(std::span(not_grib))));
  EXPECT_EQ(grib1_large_message_length(0x8249F1, 16), 18000108u);
  EXPECT_EQ(grib1_large_message_length(0x8954AC, 8999000), 0x8954ACu);
}

}  // namespace
}  // namespace floe::formats::grib2
