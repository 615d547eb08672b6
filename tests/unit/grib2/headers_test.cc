// Tests of message header reading: every message of the GRIB2 files under testdata/grib against
// ecCodes' keys (parameter, level, reference time, step, member, grid), batching and re-reads of
// cut windows, the GFS-wave inventory's names against the built-in table, and sidecars that do not
// match their file.
#include "floe/formats/grib2/headers.h"

#include <eccodes.h>
#include <gtest/gtest.h>

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
#include "floe/formats/grib2/scan.h"
#include "floe/io/block_cache.h"
#include "floe/io/fetch_scheduler.h"
#include "floe/io/local_store.h"
#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::read_file;
using test_support::testdata;

namespace fs = std::filesystem;
using Handle = std::unique_ptr<codes_handle, decltype(&codes_handle_delete)>;

long get_long(codes_handle* h, const char* key, long fallback = -1) {
  long value = fallback;
  if (codes_get_long(h, key, &value) != 0) return fallback;
  return value;
}

// Every message's header through the scanner and read_message_headers, in one batch.
struct Scanned {
  std::vector<MessageExtent> extents;
  std::vector<Result<MessageHeader>> headers;
};

Scanned scan_and_read(io::BlockCache& cache, io::ObjectStore& store, const fs::path& path,
                      HeaderOptions options = {}) {
  ScanTarget target{&store, path.string(), "file://" + path.string()};
  auto scanned = scan_messages(cache, std::span(&target, 1));
  Scanned out;
  if (!scanned[0].ok()) {
    ADD_FAILURE() << scanned[0].error().to_string();
    return out;
  }
  out.extents = scanned[0]->messages;
  std::vector<MessageRequest> requests;
  for (const MessageExtent& extent : out.extents) {
    requests.push_back(
        {&store, path.string(), "file://" + path.string(), extent.offset, extent.length, false, 1});
  }
  out.headers = read_message_headers(cache, requests, options);
  return out;
}

TEST(MessageHeaders, RealFilesMatchEccodes) {
  std::vector<fs::path> paths;
  for (const auto& file : fs::recursive_directory_iterator(testdata())) {
    std::string extension = file.path().extension().string();
    if (extension == ".grib2" || extension == ".grb2" || extension == ".grib")
      paths.push_back(file.path());
  }
  std::sort(paths.begin(), paths.end());
  ASSERT_GE(paths.size(), 15u);
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  size_t fields = 0;
  for (const fs::path& path : paths) {
    SCOPED_TRACE(path.string());
    io::BlockCache cache(scheduler);
    Scanned scanned = scan_and_read(cache, store, path);
    FILE* file = std::fopen(path.c_str(), "rb");
    ASSERT_NE(file, nullptr);
    int error = 0;
    size_t message = 0;
    while (codes_handle* raw = codes_handle_new_from_file(nullptr, file, PRODUCT_GRIB, &error)) {
      Handle h(raw, &codes_handle_delete);
      ASSERT_LT(message, scanned.headers.size());
      const auto& header = scanned.headers[message++];
      // ecCodes 2.28 cannot read PDT 4.103 and some local templates; floe must not fail where
      // ecCodes reads.
      ASSERT_TRUE(header.ok()) << header.error().to_string();
      ASSERT_EQ(header->fields.size(), 1u);
      const FieldHeader& field = header->fields[0];
      EXPECT_EQ(field.discipline, get_long(h.get(), "discipline"));
      EXPECT_EQ(field.category, get_long(h.get(), "parameterCategory"));
      EXPECT_EQ(field.number, get_long(h.get(), "parameterNumber"));
      EXPECT_EQ(field.level_type_code, get_long(h.get(), "typeOfFirstFixedSurface"));
      // Reference time.
      const long date = get_long(h.get(), "dataDate");
      const long time = get_long(h.get(), "dataTime");
      EXPECT_EQ(format_iso8601(field.reference_time).substr(0, 16),
                fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}", date / 10000, date / 100 % 100,
                            date % 100, time / 100, time % 100));
      // Step (end of the interval) in minutes.
      ASSERT_EQ(codes_set_string(h.get(), "stepUnits", "m", nullptr), 0);
      EXPECT_EQ(field.step_seconds, 60 * get_long(h.get(), "endStep"));
      if (field.interval_start_seconds) {
        EXPECT_EQ(*field.interval_start_seconds, 60 * get_long(h.get(), "startStep"));
      }
      // Ensemble member.
      const long perturbation = get_long(h.get(), "perturbationNumber", -1);
      if (perturbation >= 0) {
        EXPECT_EQ(field.member, perturbation);
      } else {
        EXPECT_FALSE(field.member);
      }
      // Level value: ecCodes' "level" is in hPa for isobaric surfaces, like wgrib2, but in Pa below
      // 1 hPa (typeOfLevel isobaricInPa), where wgrib2 writes "0.7 mb". ecCodes reads the
      // sign-and-magnitude scaled value of a PV surface as unsigned; GFS's is -2 PVU (wgrib2:
      // "PV=-2e-06 (Km^2/kg/s) surface").
      if (field.level && field.level_type_code == 109) {
        EXPECT_NEAR(*field.level, -2e-6, 1e-15);
      } else if (field.level) {
        double level = 0;
        ASSERT_EQ(codes_get_double(h.get(), "level", &level), 0);
        char type[64] = {};
        size_t type_length = sizeof(type);
        codes_get_string(h.get(), "typeOfLevel", type, &type_length);
        if (std::string(type) == "isobaricInPa") level /= 100;
        EXPECT_NEAR(*field.level, level, 1e-6 * std::max(1.0, std::abs(level)));
      }
      // The grid: floe's geometry gives ecCodes' first and last points.
      ASSERT_TRUE(field.grid) << field.grid_problem;
      EXPECT_EQ(field.grid->ni, get_long(h.get(), "Nx"));
      EXPECT_EQ(field.grid->nj, get_long(h.get(), "Ny"));
      double first_latitude = 0;
      codes_get_double(h.get(), "latitudeOfFirstGridPointInDegrees", &first_latitude);
      EXPECT_NEAR(field.grid->first_latitude, first_latitude, 1e-6);
      EXPECT_EQ(field.scanning_flags, get_long(h.get(), "scanningMode"));
      EXPECT_EQ(field.representation_template,
                get_long(h.get(), "dataRepresentationTemplateNumber"));
      ++fields;
    }
    std::fclose(file);
    EXPECT_EQ(message, scanned.headers.size());
  }
  EXPECT_GE(fields, 40u);
}

TEST(MessageHeaders, CutWindowsAreReadAgainBigger) {
  fs::path path = testdata() / "gribberish_ecmwf-ifs-oper-surface.grib2";
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  io::BlockCache reference_cache(scheduler);
  Scanned reference = scan_and_read(reference_cache, store, path);
  io::BlockCache cache(scheduler, io::BlockCacheOptions{.block_size = 64});
  // 40 bytes hold section 0 and part of section 1: a second round reads 160, a third the whole
  // message.
  Scanned small = scan_and_read(cache, store, path, HeaderOptions{.window_bytes = 40});
  ASSERT_EQ(small.headers.size(), reference.headers.size());
  for (size_t i = 0; i < small.headers.size(); ++i) {
    ASSERT_TRUE(small.headers[i].ok()) << small.headers[i].error().to_string();
    ASSERT_TRUE(reference.headers[i].ok());
    EXPECT_EQ(small.headers[i]->fields[0].parameter_name,
              reference.headers[i]->fields[0].parameter_name);
    EXPECT_EQ(small.headers[i]->fields[0].step_seconds,
              reference.headers[i]->fields[0].step_seconds);
  }
}

TEST(MessageHeaders, InventoryNamesMatchTheParameterTable) {
  // GFS-wave: the wgrib2 inventory names and levels come out of the headers too.
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  auto entries =
      parse_noaa_idx(read_file(grib.string() + ".idx"), "gfswave.idx", fs::file_size(grib));
  ASSERT_TRUE(entries.ok());
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  std::vector<MessageRequest> requests;
  for (const NoaaIdxEntry& entry : *entries) {
    requests.push_back({&store, grib.string(), "file://" + grib.string(), entry.offset,
                        entry.length, entry.extends_to_end_of_file, 1});
  }
  auto headers = read_message_headers(cache, requests);
  EXPECT_EQ(cache.stats().fetch_rounds, 1u);  // one batch for 19 messages
  for (size_t i = 0; i < entries->size(); ++i) {
    const NoaaIdxEntry& entry = (*entries)[i];
    SCOPED_TRACE(entry.raw_line);
    ASSERT_TRUE(headers[i].ok()) << headers[i].error().to_string();
    const FieldHeader& field = headers[i]->fields[0];
    EXPECT_EQ(field.parameter_name, entry.variable);
    EXPECT_EQ(field.level_type, entry.level.type);
    EXPECT_EQ(field.level, entry.level.value);
    EXPECT_EQ(field.reference_time, entry.reference_time);
    EXPECT_EQ(field.step_seconds, entry.forecast.end_seconds);
  }
}

TEST(MessageHeaders, SidecarsThatDoNotMatchTheFile) {
  fs::path grib = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2";
  io::LocalStore store("");
  io::FetchScheduler scheduler;
  io::BlockCache cache(scheduler);
  const std::string url = "file://" + grib.string();
  std::vector<MessageRequest> requests = {
      {&store, grib.string(), url, 0, 41723, false, 1},      // right
      {&store, grib.string(), url, 41724, 58803, false, 1},  // offset off by one
      {&store, grib.string(), url, 41723, 58000, false, 1},  // wrong length
      {&store, grib.string(), url, 657151, 1 << 20, true,
       1},  // the last message, to the end of the file
      {&store, grib.string(), url, 657151, 100, true, 1},  // "to the end" shorter than the message
      {&store, grib.string(), url, 0, 41723, false, 2},    // a second field that is not there
      {&store, grib.string(), url, 5000000, std::nullopt, false, 1},  // past the end of the file
  };
  auto headers = read_message_headers(cache, requests);
  ASSERT_EQ(headers.size(), requests.size());
  EXPECT_TRUE(headers[0].ok());
  ASSERT_FALSE(headers[1].ok());
  EXPECT_NE(headers[1].error().to_string().find(
                "message at byte offset 41724: no GRIB message starts here"),
            std::string::npos)
      << headers[1].error().to_string();
  ASSERT_FALSE(headers[2].ok());
  EXPECT_NE(headers[2].error().to_string().find(
                "section 0 gives 58804 bytes where the sidecar gives 58000"),
            std::string::npos)
      << headers[2].error().to_string();
  ASSERT_TRUE(headers[3].ok()) << headers[3].error().to_string();
  EXPECT_EQ(headers[3]->length, 690200u - 657151u);
  EXPECT_FALSE(headers[4].ok());
  ASSERT_FALSE(headers[5].ok());
  EXPECT_NE(headers[5].error().to_string().find("holds 1 field(s), the sidecar lists 2"),
            std::string::npos);
  ASSERT_FALSE(headers[6].ok());
  EXPECT_EQ(headers[6].error().code(), ErrorCode::kCorrupt);
}

TEST(MessageHeaders, ParameterAndLevelTables) {
  EXPECT_EQ(grib2_parameter_name(0, 0, 0), "TMP");
  EXPECT_EQ(grib2_parameter_name(0, 1, 8), "APCP");
  EXPECT_EQ(grib2_parameter_name(10, 0, 3), "HTSGW");
  EXPECT_EQ(grib2_parameter_name(0, 16, 201), std::nullopt);
  EXPECT_EQ(grib2_level_type_name(100), "mb");
  EXPECT_EQ(grib2_level_type_name(103), "m above ground");
  EXPECT_EQ(grib2_level_type_name(250), std::nullopt);
}

}  // namespace
}  // namespace floe::formats::grib2
