// Tests of the sidecar parsers: literal wgrib2 / ECMWF lines for every edge case, malformed lines,
// and every real .idx under testdata/grib compared field by field with gribberish's parser (run at
// test time).
#include "floe/formats/grib2/idx.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "grib_index_test_support.h"

namespace floe::formats::grib2 {
namespace {

using test_support::read_file;
using test_support::testdata;

namespace fs = std::filesystem;
using Json = nlohmann::json;

// gribberish's parse of `path` (tests/unit/grib2/gribberish_index.py), as JSON.
Json gribberish_parse(const fs::path& path, std::optional<uint64_t> file_size = std::nullopt) {
  std::string command = std::string(FLOE_PYTHON) + " " + FLOE_GRIBBERISH_INDEX_SCRIPT + " '" +
                        path.string() + "'" + (file_size ? " " + std::to_string(*file_size) : "");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Json();
  std::string output;
  char buffer[65536];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  if (pclose(pipe) != 0) return Json();
  return Json::parse(output, nullptr, false);
}

std::vector<NoaaIdxEntry> parse_ok(std::string_view text,
                                   std::optional<uint64_t> size = std::nullopt) {
  auto entries = parse_noaa_idx(text, "mem://x.idx", size);
  EXPECT_TRUE(entries.ok()) << (entries.ok() ? "" : entries.error().to_string());
  return entries.ok() ? std::move(entries).value() : std::vector<NoaaIdxEntry>{};
}

std::string parse_error(std::string_view text, std::optional<uint64_t> size = std::nullopt) {
  auto entries = parse_noaa_idx(text, "mem://x.idx", size);
  if (entries.ok()) return "(parsed)";
  EXPECT_EQ(entries.error().code(), ErrorCode::kCorrupt);
  return entries.error().to_string();
}

TEST(CompactDate, ParsesAndValidates) {
  EXPECT_EQ(parse_compact_date("1970010100"), 0);
  EXPECT_EQ(parse_compact_date("2022101400"), 1665705600);  // date -u -d 2022-10-14 +%s
  EXPECT_EQ(parse_compact_date("20221014"), 1665705600);
  EXPECT_EQ(parse_compact_date("202210140130"), 1665705600 + 5400);
  EXPECT_EQ(parse_compact_date("20221014013015"), 1665705600 + 5415);
  EXPECT_EQ(parse_compact_date("2024022912"), 1709208000);
  EXPECT_EQ(parse_compact_date("2023022912"), std::nullopt);  // not a leap year
  EXPECT_EQ(parse_compact_date("2022131400"), std::nullopt);
  EXPECT_EQ(parse_compact_date("2022101424"), std::nullopt);
  EXPECT_EQ(parse_compact_date("202210140"), std::nullopt);
  EXPECT_EQ(parse_compact_date("20221o1400"), std::nullopt);
  EXPECT_EQ(format_iso8601(1665705600 + 5415), "2022-10-14T01:30:15");
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59");
}

TEST(ForecastTime, Wgrib2Forms) {
  ForecastTime anl = parse_wgrib2_forecast_time("anl");
  EXPECT_EQ(anl.kind, ForecastTime::Kind::kAnalysis);
  EXPECT_EQ(anl.end_seconds, 0);

  ForecastTime six = parse_wgrib2_forecast_time("6 hour fcst");
  EXPECT_EQ(six.kind, ForecastTime::Kind::kForecast);
  EXPECT_EQ(six.start_seconds, 21600);
  EXPECT_EQ(six.end_seconds, 21600);

  ForecastTime acc = parse_wgrib2_forecast_time("0-6 hour acc fcst");
  EXPECT_EQ(acc.kind, ForecastTime::Kind::kInterval);
  EXPECT_EQ(acc.start_seconds, 0);
  EXPECT_EQ(acc.end_seconds, 21600);
  EXPECT_EQ(acc.statistic, "acc");

  ForecastTime ave = parse_wgrib2_forecast_time("6-12 hour ave fcst");
  EXPECT_EQ(ave.kind, ForecastTime::Kind::kInterval);
  EXPECT_EQ(ave.start_seconds, 21600);
  EXPECT_EQ(ave.end_seconds, 43200);
  EXPECT_EQ(ave.statistic, "ave");

  EXPECT_EQ(parse_wgrib2_forecast_time("495 min fcst").end_seconds, 495 * 60);
  ForecastTime minutes = parse_wgrib2_forecast_time("480-495 min ave fcst");
  EXPECT_EQ(minutes.start_seconds, 480 * 60);
  EXPECT_EQ(minutes.end_seconds, 495 * 60);
  ForecastTime day = parse_wgrib2_forecast_time("0-1 day acc fcst");
  EXPECT_EQ(day.end_seconds, 86400);
  EXPECT_EQ(parse_wgrib2_forecast_time("0-0 day max fcst").statistic, "max");
  EXPECT_EQ(parse_wgrib2_forecast_time("4-5 hour min fcst").statistic, "min");
  EXPECT_EQ(parse_wgrib2_forecast_time("0-6 hour ave@1 hour fcst").statistic, "ave@1 hour");
  ForecastTime negative = parse_wgrib2_forecast_time("-2147483647--2147483624 hour ave fcst");
  EXPECT_EQ(negative.kind, ForecastTime::Kind::kInterval);
  EXPECT_EQ(negative.start_seconds, -2147483647LL * 3600);

  for (const char* unparsed :
       {"1 month fcst", "3-4 year ave fcst", "12-15 hour ave anl", "", "fcst", "6 hour",
        "x hour fcst", "5@1 day ave(6 hour fcst)", "99999999999999999 day fcst"}) {
    ForecastTime parsed = parse_wgrib2_forecast_time(unparsed);
    EXPECT_EQ(parsed.kind, ForecastTime::Kind::kUnparsed) << unparsed;
    EXPECT_EQ(parsed.text, unparsed);
  }
}

TEST(Level, Wgrib2Forms) {
  Level two_metres = parse_wgrib2_level("2 m above ground");
  EXPECT_EQ(two_metres.type, "m above ground");
  EXPECT_EQ(two_metres.value, 2.0);
  EXPECT_FALSE(two_metres.is_layer());

  Level isobaric = parse_wgrib2_level("500 mb");
  EXPECT_EQ(isobaric.type, "mb");
  EXPECT_EQ(isobaric.value, 500.0);
  EXPECT_EQ(parse_wgrib2_level("0.01 mb").value, 0.01);

  Level surface = parse_wgrib2_level("surface");
  EXPECT_EQ(surface.type, "surface");
  EXPECT_FALSE(surface.value.has_value());

  Level soil = parse_wgrib2_level("0-0.1 m below ground");
  EXPECT_EQ(soil.type, "m below ground");
  EXPECT_EQ(soil.value, 0.0);
  EXPECT_EQ(soil.value2, 0.1);

  Level sigma = parse_wgrib2_level("0.5-0.8 sigma layer");
  EXPECT_EQ(sigma.type, "sigma layer");
  EXPECT_EQ(sigma.value2, 0.8);

  Level cape = parse_wgrib2_level("180-0 mb above ground");
  EXPECT_EQ(cape.type, "mb above ground");
  EXPECT_EQ(cape.value, 180.0);
  EXPECT_EQ(cape.value2, 0.0);

  Level isentropic = parse_wgrib2_level("261 K level - 256 K level");
  EXPECT_EQ(isentropic.type, "K level");
  EXPECT_EQ(isentropic.value, 261.0);
  EXPECT_EQ(isentropic.value2, 256.0);

  Level pv = parse_wgrib2_level("PV=-2e-06 (Km^2/kg/s) surface");
  EXPECT_EQ(pv.type, "PV (Km^2/kg/s) surface");
  EXPECT_EQ(pv.value, -2e-06);

  EXPECT_EQ(parse_wgrib2_level("0C isotherm").type, "0C isotherm");
  EXPECT_FALSE(parse_wgrib2_level("0C isotherm").value.has_value());
  EXPECT_EQ(parse_wgrib2_level("entire atmosphere (considered as a single layer)").type,
            "entire atmosphere (considered as a single layer)");
  EXPECT_EQ(parse_wgrib2_level("1 in sequence").type, "in sequence");
  EXPECT_EQ(parse_wgrib2_level("1 hybrid level").value, 1.0);
  EXPECT_EQ(parse_wgrib2_level("").type, "");
  EXPECT_EQ(parse_wgrib2_level("10 - 20").type, "10 - 20");  // not two levels of one kind
}

TEST(Ensemble, AnnotationsAndMembers) {
  auto low = parse_wgrib2_ensemble("ENS=low-res ctl");
  ASSERT_TRUE(low);
  EXPECT_EQ(low->kind, Ensemble::Kind::kLowResolutionControl);
  EXPECT_EQ(low->member(), 0);
  EXPECT_EQ(parse_wgrib2_ensemble("ENS=hi-res ctl")->member(), 0);

  auto plus = parse_wgrib2_ensemble("ENS=+12");
  ASSERT_TRUE(plus);
  EXPECT_EQ(plus->kind, Ensemble::Kind::kPositivePerturbation);
  EXPECT_EQ(plus->member(), 12);

  auto minus = parse_wgrib2_ensemble("ENS=-3");
  ASSERT_TRUE(minus);
  EXPECT_EQ(minus->kind, Ensemble::Kind::kNegativePerturbation);
  EXPECT_EQ(minus->member(), -3);

  EXPECT_EQ(parse_wgrib2_ensemble("MM-ENS=2")->kind, Ensemble::Kind::kMultiModel);
  EXPECT_EQ(parse_wgrib2_ensemble("MM-ENS=2")->member(), 2);
  EXPECT_EQ(parse_wgrib2_ensemble("ENS=5")->kind, Ensemble::Kind::kNumbered);

  auto mean = parse_wgrib2_ensemble("ens mean");
  ASSERT_TRUE(mean);
  EXPECT_EQ(mean->kind, Ensemble::Kind::kDerivedOnly);
  EXPECT_EQ(mean->derived, "ens mean");
  EXPECT_EQ(mean->member(), std::nullopt);
  EXPECT_EQ(parse_wgrib2_ensemble("10% all members")->derived, "10% all members");
  auto both = parse_wgrib2_ensemble("ENS=low-res ctl ens spread");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->derived, "ens spread");
  EXPECT_EQ(both->member(), std::nullopt);

  auto unknown = parse_wgrib2_ensemble("ENS=? table4.6=7 pert=2");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, Ensemble::Kind::kUnknown);
  EXPECT_EQ(unknown->member(), std::nullopt);

  for (const char* other : {"prob >0.254", "prob fcst 255/255", "50% level", "ENS=+x",
                            "ENS=", "ENS=+3 what", "ENS=99999999999", "x% all members"}) {
    EXPECT_FALSE(parse_wgrib2_ensemble(other)) << other;
  }
}

TEST(UnknownParameter, Wgrib2VarForm) {
  auto local =
      parse_wgrib2_unknown_parameter("var discipline=0 center=7 local_table=1 parmcat=16 parm=201");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->discipline, 0);
  EXPECT_EQ(local->center, 7);
  EXPECT_EQ(local->local_table, 1);
  EXPECT_EQ(local->category, 16);
  EXPECT_EQ(local->number, 201);
  auto wmo = parse_wgrib2_unknown_parameter("var discipline=10 master_table=2 parmcat=0 parm=99");
  ASSERT_TRUE(wmo);
  EXPECT_EQ(wmo->master_table, 2);
  EXPECT_EQ(wmo->center, -1);
  EXPECT_FALSE(parse_wgrib2_unknown_parameter("TMP"));
  EXPECT_FALSE(parse_wgrib2_unknown_parameter("var discipline=0 parmcat=1"));
  EXPECT_FALSE(parse_wgrib2_unknown_parameter("var discipline=x parmcat=1 parm=2"));
}

TEST(NoaaIdx, GfsLinesAndLastMessageWithoutLength) {
  auto entries = parse_ok(
      "1:0:d=2022101400:PRMSL:mean sea level:anl:\n"
      "2:995942:d=2022101400:CLWMR:1 hybrid level:anl:\n"
      "3:1082992:d=2022101400:APCP:surface:0-6 hour acc fcst:\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].message, 1u);
  EXPECT_EQ(entries[0].submessage, 0u);
  EXPECT_EQ(entries[0].offset, 0u);
  EXPECT_EQ(entries[0].length, 995942u);
  EXPECT_EQ(entries[0].date, "2022101400");
  EXPECT_EQ(entries[0].reference_time, 1665705600);
  EXPECT_EQ(entries[0].variable, "PRMSL");
  EXPECT_EQ(entries[0].level.type, "mean sea level");
  EXPECT_EQ(entries[0].forecast.kind, ForecastTime::Kind::kAnalysis);
  EXPECT_EQ(entries[0].key, "PRMSL:mean sea level:anl");
  EXPECT_EQ(entries[0].raw_line, "1:0:d=2022101400:PRMSL:mean sea level:anl:");
  EXPECT_TRUE(entries[0].extra.empty());
  EXPECT_FALSE(entries[0].extends_to_end_of_file);
  EXPECT_EQ(entries[1].length, 1082992u - 995942u);
  EXPECT_EQ(entries[2].length, std::nullopt);  // the caller gets "to the end of the file"
  EXPECT_TRUE(entries[2].extends_to_end_of_file);
  EXPECT_EQ(entries[2].forecast.statistic, "acc");

  ASSERT_TRUE(resolve_noaa_idx_lengths(entries, 1200000, "mem://x.idx").ok());
  EXPECT_EQ(entries[2].length, 1200000u - 1082992u);
  EXPECT_TRUE(entries[2].extends_to_end_of_file);
  // With the size at parse time (HEAD / listing).
  EXPECT_EQ(parse_ok("1:0:d=2022101400:PRMSL:mean sea level:anl:\n", 500)[0].length, 500u);
  // A size that ends before the last message starts: the sidecar is of another file.
  auto stale = resolve_noaa_idx_lengths(entries, 1082992, "mem://x.idx");
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().message().find("message 3 at offset 1082992"), std::string::npos);
  EXPECT_NE(
      parse_error("1:0:d=2022101400:A:surface:anl:\n2:100:d=2022101400:B:surface:anl:\n", 50)
          .find("message 1 at offset 0 (100 bytes) ends past the end of the GRIB file (50 bytes)"),
      std::string::npos);
  EXPECT_NE(parse_error("1:0:d=2022101400:A:surface:anl:\n2:100:d=2022101400:B:surface:anl:\n", 100)
                .find("message 2 at offset 100 starts past the end"),
            std::string::npos);
}

TEST(NoaaIdx, SubmessagesShareTheirMessageRange) {
  // pygrib's gfs.grb: U/V pairs in one message, wgrib2 writes N.1, N.2 at the message's offset.
  auto entries = parse_ok(
      "1:0:d=2004042512:HGT:1000 mb:anl:\n"
      "2:1000:d=2004042512:UGRD:1000 mb:anl:\n"
      "2.2:1000:d=2004042512:VGRD:1000 mb:anl:\n"  // the first field of a multi-field message may
                                                   // be "2" or "2.1"
      "3.1:5000:d=2004042512:UGRD:925 mb:anl:\n"
      "3.2:5000:d=2004042512:VGRD:925 mb:anl:\n"
      "4:9000:d=2004042512:TMP:925 mb:anl:\n",
      9500);
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[1].submessage, 0u);
  EXPECT_EQ(entries[2].submessage, 2u);
  EXPECT_EQ(entries[1].length, 4000u);
  EXPECT_EQ(entries[2].length, 4000u);
  EXPECT_EQ(entries[2].offset, 1000u);
  EXPECT_EQ(entries[3].message, 3u);
  EXPECT_EQ(entries[3].submessage, 1u);
  EXPECT_EQ(entries[3].length, 4000u);
  EXPECT_EQ(entries[4].length, 4000u);
  EXPECT_EQ(entries[5].length, 500u);
  // Submessages of the last message all run to the end.
  auto last =
      parse_ok("1:0:d=2004042512:HGT:1000 mb:anl:\n1.2:0:d=2004042512:UGRD:1000 mb:anl:\n", 70);
  EXPECT_EQ(last[0].length, 70u);
  EXPECT_EQ(last[1].length, 70u);
  EXPECT_TRUE(last[1].extends_to_end_of_file);
}

TEST(NoaaIdx, NonZeroFirstOffsetTrailingColonsAndLineEndings) {
  // wgrib2's WW3 test inventory: a header precedes the first message.
  auto entries = parse_ok(
      "1:202:d=2022071800:WVHGT:surface:anl:\r\n"
      "\n"
      "2:3000:d=2022071800:WVHGT:surface:anl\r\n"
      "  \n"
      "3:6000:d=2022071800:WVHGT:surface:anl::\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].offset, 202u);
  EXPECT_EQ(entries[0].length, 2798u);
  // Trailing colons (GFS ":", HRRR "::", GEFS none) do not change the key.
  EXPECT_EQ(entries[0].key, "WVHGT:surface:anl");
  EXPECT_EQ(entries[1].key, entries[0].key);
  EXPECT_EQ(entries[2].key, entries[0].key);
  EXPECT_TRUE(entries[2].extra.empty());
  EXPECT_EQ(entries[1].raw_line, "2:3000:d=2022071800:WVHGT:surface:anl");
}

TEST(NoaaIdx, UnknownParametersAndTheWholeTailAsKey) {
  auto entries = parse_ok(
      "1:0:d=2022101401:var discipline=0 center=7 local_table=1 parmcat=16 parm=201:entire "
      "atmosphere:anl:\n"
      "2:100:d=2023092800:APCP:surface:18-21 hour acc fcst:\n"
      "3:200:d=2023092800:APCP:surface:0-21 hour acc fcst:\n"
      "4:300:d=2023092800:APCP:surface:5-6 hour acc fcst:\n"
      "5:400:d=2023092800:APCP:surface:5-6 hour acc fcst:prob >0.254:prob fcst 255/255\n"
      "6:500:d=2023092800:TMP:2 m above ground:6 hour fcst:50% level:\n");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].variable, "var discipline=0 center=7 local_table=1 parmcat=16 parm=201");
  EXPECT_TRUE(parse_wgrib2_unknown_parameter(entries[0].variable));
  EXPECT_NE(entries[1].key, entries[2].key);
  EXPECT_EQ(entries[3].key, "APCP:surface:5-6 hour acc fcst");
  EXPECT_EQ(entries[4].key, "APCP:surface:5-6 hour acc fcst:prob >0.254:prob fcst 255/255");
  EXPECT_EQ(entries[4].extra, (std::vector<std::string>{"prob >0.254", "prob fcst 255/255"}));
  EXPECT_FALSE(entries[4].ensemble);
  EXPECT_EQ(entries[5].extra, std::vector<std::string>{"50% level"});

  // GFS f006 lists the 0-6 hour accumulation twice under one key: the second is told apart by its
  // occurrence.
  auto repeated = parse_ok(
      "1:0:d=2023092800:APCP:surface:0-6 hour acc fcst:\n"
      "2:100:d=2023092800:ACPCP:surface:0-6 hour acc fcst:\n"
      "3:200:d=2023092800:APCP:surface:0-6 hour acc fcst:\n");
  EXPECT_EQ(repeated[0].key, repeated[2].key);
  EXPECT_EQ(repeated[0].key_occurrence, 0u);
  EXPECT_EQ(repeated[1].key_occurrence, 0u);
  EXPECT_EQ(repeated[2].key_occurrence, 1u);
}

TEST(NoaaIdx, EnsembleAnnotations) {
  auto entries = parse_ok(
      "1:0:d=2026040100:HGT:10 mb:anl:ENS=low-res ctl\n"
      "2:235395:d=2026040100:TMP:2 m above ground:6 hour fcst:ENS=+17\n"
      "3:400000:d=2026040100:TMP:2 m above ground:6 hour fcst:ENS=-17\n"
      "4:500000:d=2026040100:TMP:2 m above ground:6 hour fcst:ens mean\n"
      "5:600000:d=2026040100:TMP:2 m above ground:6-12 hour ave fcst:ENS=+3:prob >273:\n");
  ASSERT_EQ(entries.size(), 5u);
  ASSERT_TRUE(entries[0].ensemble);
  EXPECT_EQ(entries[0].ensemble->member(), 0);
  EXPECT_EQ(entries[1].ensemble->member(), 17);
  EXPECT_EQ(entries[2].ensemble->member(), -17);
  EXPECT_EQ(entries[3].ensemble->member(), std::nullopt);
  EXPECT_EQ(entries[3].ensemble->derived, "ens mean");
  EXPECT_EQ(entries[4].ensemble->member(), 3);
  EXPECT_EQ(entries[4].key, "TMP:2 m above ground:6-12 hour ave fcst:ENS=+3:prob >273");
  EXPECT_EQ(entries[1].key, "TMP:2 m above ground:6 hour fcst:ENS=+17");
}

TEST(NoaaIdx, GapsInMessageNumbersLeaveTheLengthOpen) {
  // A filtered inventory (grep): the bytes up to the next listed message include messages not
  // listed.
  auto entries = parse_ok(
      "1:0:d=2022101400:A:surface:anl:\n"
      "2:100:d=2022101400:B:surface:anl:\n"
      "5:400:d=2022101400:C:surface:anl:\n"
      "6:500:d=2022101400:D:surface:anl:\n",
      900);
  EXPECT_EQ(entries[0].length, 100u);
  EXPECT_EQ(entries[1].length, std::nullopt);
  EXPECT_FALSE(entries[1].extends_to_end_of_file);
  EXPECT_EQ(entries[2].length, 100u);
  EXPECT_EQ(entries[3].length, 400u);
}

TEST(NoaaIdx, MalformedInventoriesNameTheLine) {
  EXPECT_NE(parse_error("1:0:d=2022101400:A:surface:anl:\n2:x:d=2022101400:B:surface:anl:\n")
                .find("mem://x.idx: line 2: byte offset \"x\""),
            std::string::npos);
  EXPECT_NE(parse_error("1:0:d=2022101400\n").find("line 1"), std::string::npos);
  EXPECT_NE(parse_error("0:0:d=2022101400:A:surface:anl:\n").find("message number \"0\""),
            std::string::npos);
  EXPECT_NE(parse_error("1.0:0:d=2022101400:A:surface:anl:\n").find("M >= 1"), std::string::npos);
  EXPECT_NE(parse_error("1.x:0:d=2022101400:A:surface:anl:\n").find("M >= 1"), std::string::npos);
  EXPECT_NE(parse_error("-1:0:d=2022101400:A:surface:anl:\n").find("message number"),
            std::string::npos);
  EXPECT_NE(parse_error("1:-5:d=2022101400:A:surface:anl:\n").find("byte offset"),
            std::string::npos);
  EXPECT_NE(parse_error("1:99999999999999999999:d=2022101400:A:surface:anl:\n").find("byte offset"),
            std::string::npos);
  EXPECT_NE(parse_error("1:0:2022101400:A:surface:anl:\n").find("date"), std::string::npos);
  EXPECT_NE(parse_error("1:0:d=2022133300:A:surface:anl:\n").find("date"), std::string::npos);
  EXPECT_NE(parse_error("1:100:d=2022101400:A:surface:anl:\n2:50:d=2022101400:B:surface:anl:\n")
                .find("line 2: message 2 starts at offset 50, not after message 1 at offset 100"),
            std::string::npos);
  EXPECT_NE(parse_error("1:100:d=2022101400:A:surface:anl:\n2:100:d=2022101400:B:surface:anl:\n")
                .find("not after"),
            std::string::npos);
  EXPECT_NE(parse_error("2:0:d=2022101400:A:surface:anl:\n1:100:d=2022101400:B:surface:anl:\n")
                .find("message numbers must increase"),
            std::string::npos);
  EXPECT_NE(parse_error("1:0:d=2022101400:A:surface:anl:\n1.2:100:d=2022101400:B:surface:anl:\n")
                .find("listed at offsets 0 and 100"),
            std::string::npos);
  EXPECT_NE(parse_error("1.2:0:d=2022101400:A:surface:anl:\n1.2:0:d=2022101400:B:surface:anl:\n")
                .find("submessages must increase"),
            std::string::npos);
  // A cfgrib pickle named .idx is not an inventory.
  std::string pickle("\x80\x04\x95U\x04\x00\x00\x00\x00\x00\x00\x8c\x0f", 14);
  EXPECT_NE(parse_error(pickle).find("line 1"), std::string::npos);
  // Empty inventories are empty.
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("\n\n").empty());
}

TEST(NoaaIdx, RealInventoriesMatchGribberish) {
  std::vector<fs::path> inventories;
  for (const auto& file : fs::recursive_directory_iterator(testdata())) {
    if (file.path().extension() == ".idx") inventories.push_back(file.path());
  }
  std::sort(inventories.begin(), inventories.end());
  ASSERT_GE(inventories.size(), 20u) << "testdata/grib .idx files missing under " << testdata();
  size_t compared = 0;
  for (const fs::path& path : inventories) {
    SCOPED_TRACE(path.string());
    std::string text = read_file(path);
    auto entries = parse_noaa_idx(text, path.string());
    if (!text.empty() &&
        static_cast<unsigned char>(text[0]) == 0x80) {  // cfgrib's pickle, not an inventory
      ASSERT_FALSE(entries.ok());
      EXPECT_EQ(entries.error().code(), ErrorCode::kCorrupt);
      continue;
    }
    ASSERT_TRUE(entries.ok()) << entries.error().to_string();
    Json expected = gribberish_parse(path);
    ASSERT_TRUE(expected.is_array()) << "gribberish_index.py failed on " << path;
    ASSERT_EQ(entries->size(), expected.size());
    for (size_t i = 0; i < entries->size(); ++i) {
      const NoaaIdxEntry& entry = (*entries)[i];
      const Json& oracle = expected[i];
      SCOPED_TRACE(entry.raw_line);
      EXPECT_EQ(entry.message, oracle["message"].get<uint32_t>());
      EXPECT_EQ(entry.submessage,
                oracle["submessage"].is_null() ? 0u : oracle["submessage"].get<uint32_t>());
      EXPECT_EQ(entry.offset, oracle["offset"].get<uint64_t>());
      if (oracle["length"].is_null()) {
        EXPECT_EQ(entry.length, std::nullopt);
        EXPECT_TRUE(entry.extends_to_end_of_file);
      } else {
        EXPECT_EQ(entry.length, oracle["length"].get<uint64_t>());
      }
      EXPECT_EQ(entry.reference_time, oracle["reference_time"].get<int64_t>());
      EXPECT_EQ(entry.variable, oracle["var"].get<std::string>());
      EXPECT_EQ(entry.level.text, oracle["level"].get<std::string>());
      EXPECT_EQ(entry.forecast.text, oracle["forecast_time"].get<std::string>());
      EXPECT_EQ(entry.extra, oracle["extra"].get<std::vector<std::string>>());
      // Every forecast time and level in NOAA's GFS/HRRR/GFS-wave inventories is understood.
      EXPECT_NE(entry.forecast.kind, ForecastTime::Kind::kUnparsed);
      if (entry.level.text.find_first_of("0123456789") != std::string::npos &&
          entry.level.text.find("isotherm") == std::string::npos) {
        EXPECT_TRUE(entry.level.value.has_value()) << entry.level.text;
      }
    }
    // (key, occurrence) is unique; keys alone are not in GFS f006 (APCP and ACPCP 0-6 hour acc are
    // listed twice).
    std::set<std::pair<std::string, uint32_t>> keys;
    size_t repeated = 0;
    for (const NoaaIdxEntry& entry : *entries) {
      keys.emplace(entry.key, entry.key_occurrence);
      if (entry.key_occurrence > 0) ++repeated;
    }
    EXPECT_EQ(keys.size(), entries->size());
    if (path.filename() == "kerchunk_gfs.t00z.pgrb2.0p25.f006.test-limit-100.idx") {
      EXPECT_EQ(repeated, 2u);
    }
    ++compared;
  }
  EXPECT_GE(compared, 20u);
}

TEST(NoaaIdx, LastLengthFromTheFileSizeMatchesGribberish) {
  fs::path path = testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2.idx";
  const uint64_t size =
      fs::file_size(testdata() / "gribberish_gfswave.t18z.atlocn.0p16.f001.grib2");
  auto entries = parse_noaa_idx(read_file(path), path.string(), size);
  ASSERT_TRUE(entries.ok()) << entries.error().to_string();
  Json expected = gribberish_parse(path, size);
  ASSERT_TRUE(expected.is_array());
  ASSERT_EQ(entries->size(), expected.size());
  ASSERT_EQ(entries->size(), 19u);
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].length, expected[i]["length"].get<uint64_t>());
  }
  EXPECT_EQ(entries->back().length, size - 657151);
  EXPECT_EQ(entries->at(8).level.type, "in sequence");
}

// ECMWF open data, as quoted from the ecmwf-opendata client and AIFS ENS indexes.
constexpr std::string_view kEcmwfIndex =
    R"({"domain": "g", "date": "20220126", "time": "0000", "expver": "0001", "class": "od", "type": "pf", "stream": "enfo", "step": "306", "levtype": "sfc", "number": "18", "param": "10u", "_offset": 0, "_length": 609069}
{"domain": "g", "date": "20250803", "time": "0000", "expver": "0001", "class": "ai", "type": "cf", "stream": "enfo", "step": "0", "levtype": "sfc", "param": "2t", "model": "aifs-ens", "_offset": 61637992, "_length": 618016}
{"domain": "g", "date": "20250803", "time": "1200", "expver": "0001", "class": "od", "type": "ep", "stream": "enfo", "step": "0-24", "levtype": "pl", "levelist": "500", "param": "t", "_offset": 609069, "_length": 1000}
{"date": "20250803", "time": "0600", "type": "fc", "stream": "oper", "step": "90m", "levtype": "sfc", "param": "tp", "_offset": 700000, "_length": 224}
)";

TEST(EcmwfIndex, EdgeCases) {
  auto entries = parse_ecmwf_index(kEcmwfIndex, "mem://x.index");
  ASSERT_TRUE(entries.ok()) << entries.error().to_string();
  ASSERT_EQ(entries->size(), 4u);
  const EcmwfIndexEntry& pf = (*entries)[0];
  EXPECT_EQ(pf.offset, 0u);
  EXPECT_EQ(pf.length, 609069u);
  EXPECT_EQ(pf.param, "10u");
  EXPECT_EQ(pf.levtype, "sfc");
  EXPECT_FALSE(pf.levelist);  // absent at the surface
  EXPECT_FALSE(pf.level);
  EXPECT_EQ(pf.number, 18);
  EXPECT_EQ(pf.member(), 18);
  EXPECT_EQ(pf.step.end_seconds, 306 * 3600);
  EXPECT_FALSE(pf.step.is_range());
  EXPECT_EQ(pf.reference_time, 1643155200);
  EXPECT_EQ(pf.type, "pf");
  EXPECT_EQ(pf.stream, "enfo");
  EXPECT_EQ(pf.keys.at("domain"), "g");
  EXPECT_EQ(
      pf.key(),
      "class=od,domain=g,expver=0001,levtype=sfc,number=18,param=10u,step=306,stream=enfo,type=pf");

  const EcmwfIndexEntry& cf = (*entries)[1];
  EXPECT_FALSE(cf.number);  // absent for the control
  EXPECT_EQ(cf.member(), 0);
  EXPECT_EQ(cf.keys.at("model"), "aifs-ens");
  EXPECT_EQ(cf.offset, 61637992u);

  const EcmwfIndexEntry& ep = (*entries)[2];
  EXPECT_EQ(ep.levelist, "500");
  EXPECT_EQ(ep.level, 500.0);
  EXPECT_TRUE(ep.step.is_range());
  EXPECT_EQ(ep.step.start_seconds, 0);
  EXPECT_EQ(ep.step.end_seconds, 24 * 3600);
  EXPECT_EQ(ep.step_text, "0-24");
  EXPECT_EQ(ep.member(), std::nullopt);
  EXPECT_EQ(ep.reference_time, 1754222400);

  const EcmwfIndexEntry& fc = (*entries)[3];
  EXPECT_EQ(fc.reference_time, 1754179200 + 6 * 3600);
  EXPECT_EQ(fc.step.end_seconds, 90 * 60);
  EXPECT_EQ(fc.member(), std::nullopt);

  // MARS also writes times as hours alone.
  auto hours = parse_ecmwf_index(
      R"({"date": "20250803", "time": "6", "step": "0", "param": "2t", "_offset": 0, "_length": 10})",
      "mem://x.index");
  ASSERT_TRUE(hours.ok());
  EXPECT_EQ((*hours)[0].reference_time, 1754179200 + 6 * 3600);
}

TEST(EcmwfIndex, MatchesGribberish) {
  fs::path path = fs::temp_directory_path() / fmt::format("floe_grib2_idx_test_{}.index", getpid());
  {
    std::ofstream out(path);
    out << kEcmwfIndex;
  }
  Json expected = gribberish_parse(path);
  auto entries = parse_ecmwf_index(kEcmwfIndex, path.string());
  fs::remove(path);
  ASSERT_TRUE(expected.is_array());
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), expected.size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].offset, expected[i]["offset"].get<uint64_t>());
    EXPECT_EQ((*entries)[i].length, expected[i]["length"].get<uint64_t>());
    EXPECT_EQ((*entries)[i].reference_time, expected[i]["reference_time"].get<int64_t>());
    EXPECT_EQ((*entries)[i].param, expected[i]["var"].get<std::string>());
    std::map<std::string, std::string> keys((*entries)[i].keys.begin(), (*entries)[i].keys.end());
    EXPECT_EQ(keys, (expected[i]["keys"].get<std::map<std::string, std::string>>()));
  }
}

TEST(EcmwfIndex, MalformedLinesNameTheLine) {
  auto error_of = [](std::string_view text, std::optional<uint64_t> size = std::nullopt) {
    auto entries = parse_ecmwf_index(text, "mem://x.index", size);
    if (entries.ok()) return std::string("(parsed)");
    EXPECT_EQ(entries.error().code(), ErrorCode::kCorrupt);
    return entries.error().to_string();
  };
  const std::string good =
      R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "levtype": "sfc", "_offset": 0, "_length": 10})";
  EXPECT_EQ(error_of(good + "\n"), "(parsed)");
  EXPECT_NE(error_of(good + "\n{not json\n").find("mem://x.index: line 2: not a JSON object"),
            std::string::npos);
  EXPECT_NE(error_of("[1, 2]\n").find("not a JSON object"), std::string::npos);
  EXPECT_NE(
      error_of(R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "_length": 10})")
          .find("\"_offset\" or \"_length\" is missing"),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "_offset": -1, "_length": 10})")
          .find("\"_offset\" is not a non-negative integer"),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "_offset": 1.5, "_length": 10})")
          .find("\"_offset\""),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "_offset": 0, "_length": 0})")
          .find("\"_length\" is 0"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"date": "20250803", "time": "0000", "step": "0", "_offset": 0, "_length": 10})")
          .find("\"param\" is missing"),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "x", "param": "2t", "_offset": 0, "_length": 10})")
          .find("\"step\" \"x\""),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "24-6", "param": "2t", "_offset": 0, "_length": 10})")
          .find("\"step\""),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "2025083", "time": "0000", "step": "0", "param": "2t", "_offset": 0, "_length": 10})")
          .find("\"date\""),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "2500", "step": "0", "param": "2t", "_offset": 0, "_length": 10})")
          .find("\"time\""),
      std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"date": "20250803", "time": "0000", "step": "0", "param": "2t", "number": "x", "_offset": 0, "_length": 10})")
          .find("\"number\" \"x\""),
      std::string::npos);
  EXPECT_NE(error_of(good + "\n" + good + "\n").find("overlap the message of line 1"),
            std::string::npos);
  EXPECT_NE(error_of(good + "\n", 5).find("past the end of the GRIB file (5 bytes)"),
            std::string::npos);
  EXPECT_EQ(error_of(good + "\n", 10), "(parsed)");
}

TEST(Sidecar, FormatDetection) {
  EXPECT_EQ(detect_sidecar_format(kEcmwfIndex), SidecarFormat::kEcmwfIndex);
  EXPECT_EQ(detect_sidecar_format("\n  {\"a\": 1}"), SidecarFormat::kEcmwfIndex);
  EXPECT_EQ(detect_sidecar_format("1:0:d=2022101400:A:surface:anl:"), SidecarFormat::kNoaaIdx);
  EXPECT_EQ(detect_sidecar_format(""), SidecarFormat::kNoaaIdx);
}

}  // namespace
}  // namespace floe::formats::grib2
