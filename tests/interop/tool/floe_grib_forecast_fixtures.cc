// floe_grib_forecast_fixtures: synthetic forecast runs written by ecCodes (NOAA GEFS files with
// wgrib2 .idx sidecars, ECMWF ENS files with .index sidecars, a manifest of every message) and
// ecCodes' north-up values of chosen messages as .npy (the oracle of the forecast-run interop
// tests).
//
// Usage:
//   floe_grib_forecast_fixtures gefs --out DIR --init YYYYMMDDHH [--members 31] [--steps 81]
//       [--grid SPEC] [--seed N] [--jobs N] [--manifest FILE]
//   floe_grib_forecast_fixtures ecmwf-ens --out DIR --init YYYYMMDDHH [--members 51] [--steps 85]
//   ... floe_grib_forecast_fixtures oracle --out VALUES.npy [--keys KEYS.jsonl] [--coordinates
//   LATLON.npy]
//       (PATH:OFFSET... | --list FILE)
//
// GEFS: DIR/gefs.YYYYMMDD/HH/atmos/pgrb2ap5/{gec00,gep01..}.tHHz.pgrb2a.0p50.fFFF (+ .idx), steps
// 0, 3, ... 240 h; messages HGT 500 mb (5.3), TMP 2 m (5.3), UGRD 10 m (5.0), APCP surface 0-N h
// accumulation (4.11; 5.2 for even members, 5.0 for odd ones; not at 0 h), SOILW 0-0.1 m below
// ground (5.3 with a bitmap over "sea"); product template 4.1 (4.11), control = low-res control.
// ECMWF ENS: DIR/YYYYMMDD/HHz/ifs/0p25/enfo/YYYYMMDDHH0000-{step}h-enfo-ef.grib2 (+ .index), steps
// 0..144 by 3 then 150..360 by 6; per file 2t, tp (0-step accumulation), t 500 and 850 hPa for
// cf and pf 1..; CCSDS (5.42); MARS labelling in section 2, typeOfEnsembleForecast missing (255) as
// ECMWF writes it.
// Grids (--grid): "global:D" (lat 90..-90; lon 0..360-D for GEFS, -180..180-D for ECMWF, as the
// real products) or "box:NORTH,SOUTH,WEST,EAST:D" (default box:15,-12,21,52:0.5). Scanning mode 0
// (north-up as written).
// The manifest (default DIR/manifest-MODEL-YYYYMMDDHH.jsonl) has one JSON line per message: path
// (relative to DIR), offset, length, param, level_type, level, member, step_hours, packing.
// Everything is a function of (--seed, --init, member, step, parameter): the same arguments write
// the same bytes.
#include <eccodes.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eccodes_oracle.h"

namespace {

using floe::grib_test::MessageBuilder;
using floe::grib_test::MessageBytes;
namespace fs = std::filesystem;

constexpr double kMissing = 9999.0;  // ecCodes' missingValue: points the bitmap leaves out
// A 0.5 degree box over East Africa (55 x 63 points): full runs of 60-90 MB, like GEFS 0p50 cut to
// the region the grib-index-kerchunk project serves.
constexpr const char* kDefaultGrid = "box:15,-12,21,52:0.5";

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// ---------------------------------------------------------------------------------------------
// Grids

struct Grid {
  double lat_first = 90;  // north
  double lat_last = -90;  // south
  double lon_first = 0;   // west (may be negative: ECMWF writes -180 as 180)
  double lon_last = 357.5;
  double increment = 2.5;
  long ni = 0;
  long nj = 0;

  double latitude(long j) const { return lat_first - static_cast<double>(j) * increment; }
  double longitude(long i) const { return lon_first + static_cast<double>(i) * increment; }
};

long points_between(double from, double to, double increment, const std::string& spec) {
  const double steps = (to - from) / increment;
  const long rounded = std::lround(steps);
  if (rounded < 0 || std::fabs(steps - static_cast<double>(rounded)) > 1e-6) {
    fail("--grid " + spec + ": the extent is not a whole number of increments");
  }
  return rounded + 1;
}

// "global:D" or "box:NORTH,SOUTH,WEST,EAST:D"; `global_west` is where a global grid starts.
Grid parse_grid(const std::string& spec, double global_west) {
  Grid grid;
  if (spec.rfind("global:", 0) == 0) {
    grid.increment = std::stod(spec.substr(7));
    grid.lon_first = global_west;
    grid.lon_last = global_west + 360.0 - grid.increment;
  } else if (spec.rfind("box:", 0) == 0) {
    const std::string body = spec.substr(4);
    const size_t colon = body.rfind(':');
    if (colon == std::string::npos) fail("--grid " + spec + ": expected box:N,S,W,E:D");
    double bounds[4];
    size_t start = 0;
    for (int k = 0; k < 4; ++k) {
      const size_t comma = body.find(',', start);
      const size_t end = k < 3 ? comma : colon;
      if (end == std::string::npos || end > colon)
        fail("--grid " + spec + ": expected box:N,S,W,E:D");
      bounds[k] = std::stod(body.substr(start, end - start));
      start = end + 1;
    }
    grid.lat_first = bounds[0];
    grid.lat_last = bounds[1];
    grid.lon_first = bounds[2];
    grid.lon_last = bounds[3];
    grid.increment = std::stod(body.substr(colon + 1));
  } else {
    fail("--grid " + spec + ": expected global:D or box:N,S,W,E:D");
  }
  if (!(grid.increment > 0)) fail("--grid " + spec + ": the increment must be positive");
  grid.nj = points_between(grid.lat_last, grid.lat_first, grid.increment, spec);
  grid.ni = points_between(grid.lon_first, grid.lon_last, grid.increment, spec);
  return grid;
}

// ---------------------------------------------------------------------------------------------
// Deterministic values

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A number in [-1, 1) from the hash of `key`.
double unit_noise(uint64_t key) {
  return static_cast<double>(splitmix64(key) >> 11) * 0x1.0p-52 - 1.0;
}

// What a field looks like: a climatology in latitude, waves that drift with the lead time and
// differ by member, and a little point noise; everything from one seed.
struct FieldShape {
  double mean = 0;
  double pole_drop = 0;     // subtracted at the poles (cos(latitude) scaled)
  double wave = 0;          // amplitude of the drifting waves
  double perturbation = 0;  // member-dependent wave amplitude
  double noise = 0;         // point noise amplitude
  double floor = -std::numeric_limits<double>::infinity();  // clipped below (precipitation)
  double growth_per_hour = 0;                               // accumulations grow with the lead time
};

// Values in scanning mode 0 (rows north to south, west to east); kMissing where `sea_missing` and
// the point is "sea".
std::vector<double> make_values(const Grid& grid, const FieldShape& shape, uint64_t seed,
                                long step_hours, int member, bool sea_missing) {
  std::vector<double> values(static_cast<size_t>(grid.ni * grid.nj));
  const uint64_t key = splitmix64(seed ^ (static_cast<uint64_t>(member + 1) << 40) ^
                                  (static_cast<uint64_t>(step_hours) << 20));
  const double phase = 0.05 * static_cast<double>(step_hours);
  const double member_phase = 0.7 * member + 0.3 * unit_noise(splitmix64(seed + 17 * member));
  constexpr double kDegree = 3.14159265358979323846 / 180.0;
  // The patterns are separable: their trigonometry is computed per row and per column.
  std::vector<double> wave_i(static_cast<size_t>(grid.ni)), member_i(wave_i.size()),
      sea_i(wave_i.size());
  for (long i = 0; i < grid.ni; ++i) {
    const double lon = grid.longitude(i) * kDegree;
    wave_i[static_cast<size_t>(i)] = std::sin(3.0 * lon - phase);
    member_i[static_cast<size_t>(i)] = std::sin(5.0 * lon + member_phase);
    // "Sea": the south-east corner of the grid behind a wavy coast (about a fifth of the points).
    const double x = grid.ni > 1 ? static_cast<double>(i) / static_cast<double>(grid.ni - 1) : 0.0;
    sea_i[static_cast<size_t>(i)] = 0.6 * x + 0.08 * std::sin(7.0 * x * 3.14159265358979323846);
  }
  for (long j = 0; j < grid.nj; ++j) {
    const double lat = grid.latitude(j) * kDegree;
    const double climate = shape.mean - shape.pole_drop * (1.0 - std::cos(lat));
    const double wave_j = shape.wave * std::cos(2.0 * lat + 0.3 * phase);
    const double member_j = shape.perturbation * std::cos(4.0 * lat - member_phase);
    const double sea_j =
        0.4 * (grid.nj > 1 ? static_cast<double>(j) / static_cast<double>(grid.nj - 1) : 0.0);
    for (long i = 0; i < grid.ni; ++i) {
      const size_t k = static_cast<size_t>(j * grid.ni + i);
      const size_t column = static_cast<size_t>(i);
      if (sea_missing && sea_i[column] + sea_j > 0.7) {
        values[k] = kMissing;
        continue;
      }
      double v = climate + wave_j * wave_i[column] + member_j * member_i[column];
      v += shape.noise * unit_noise(key ^ static_cast<uint64_t>(k));
      if (shape.growth_per_hour != 0)
        v = v * shape.growth_per_hour * static_cast<double>(step_hours);
      values[k] = std::max(v, shape.floor);
    }
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Output files

void write_bytes(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) fail("cannot write " + path.string());
}

void write_message_file(const fs::path& path, const std::vector<MessageBytes>& messages) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  for (const MessageBytes& message : messages) {
    out.write(reinterpret_cast<const char*>(message.data()),
              static_cast<std::streamsize>(message.size()));
  }
  if (!out) fail("cannot write " + path.string());
}

// One manifest line.
struct MessageRecord {
  std::string path;  // relative to --out
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string param;
  std::string level_type;
  std::optional<double> level;
  int member = 0;
  long step_hours = 0;
  std::string packing;
};

std::string manifest_line(const MessageRecord& r, const std::string& model,
                          const std::string& init) {
  return fmt::format(
      "{{\"model\": \"{}\", \"init\": \"{}\", \"path\": \"{}\", \"offset\": {}, \"length\": {}, "
      "\"param\": \"{}\", \"level_type\": \"{}\", \"level\": {}, \"member\": {}, \"step_hours\": "
      "{}, "
      "\"packing\": \"{}\"}}\n",
      model, init, r.path, r.offset, r.length, r.param, r.level_type,
      r.level ? fmt::format("{}", *r.level) : std::string("null"), r.member, r.step_hours,
      r.packing);
}

// ---------------------------------------------------------------------------------------------
// Runs

struct RunOptions {
  std::string model;  // "gefs" | "ecmwf-ens"
  fs::path out;
  std::string init;  // YYYYMMDDHH
  int members = 0;
  int steps = 0;
  std::string grid_spec;
  uint64_t seed = 1;
  int jobs = 1;
  fs::path manifest;
};

long init_date(const RunOptions& o) { return std::stol(o.init.substr(0, 8)); }
long init_hour(const RunOptions& o) { return std::stol(o.init.substr(8, 2)); }

// One parameter of a run: its message template (grid, product, level, packing) and its values.
struct Parameter {
  std::string name;        // wgrib2 / ECMWF short name
  std::string level_type;  // manifest: "mb", "m above ground", "surface", "sfc", "pl", ...
  std::optional<double> level;
  std::string idx_level;  // wgrib2 level text (GEFS)
  bool accumulation = false;
  bool bitmap = false;
  FieldShape shape;
  MessageBytes template_message;      // packing for even members
  MessageBytes odd_template_message;  // packing for odd members (empty: the same)
  std::string packing;                // the templates' packingType
  std::string odd_packing;
  uint64_t seed = 0;
};

MessageBuilder base_message(const Grid& grid, long bits) {
  MessageBuilder b = MessageBuilder::from_sample("GRIB2");
  b.set("Ni", grid.ni).set("Nj", grid.nj);
  b.set("latitudeOfFirstGridPointInDegrees", grid.lat_first);
  b.set("longitudeOfFirstGridPointInDegrees", grid.lon_first);
  b.set("latitudeOfLastGridPointInDegrees", grid.lat_last);
  b.set("longitudeOfLastGridPointInDegrees", grid.lon_last);
  b.set("iDirectionIncrementInDegrees", grid.increment);
  b.set("jDirectionIncrementInDegrees", grid.increment);
  b.set("scanningMode", 0L);
  b.set_values(std::vector<double>(static_cast<size_t>(grid.ni * grid.nj), 1.0));
  b.set("bitsPerValue", bits);
  return b;
}

MessageBytes finish_template(MessageBuilder& b, const std::string& packing, long bits,
                             const Grid& grid) {
  // Values first, then the packing (JPEG/PNG/CCSDS refuse a packing change on a stale size).
  std::vector<double> ramp(static_cast<size_t>(grid.ni * grid.nj));
  for (size_t k = 0; k < ramp.size(); ++k) ramp[k] = 1.0 + static_cast<double>(k % 97);
  b.set_values(ramp);
  b.set("packingType", packing);
  b.set("bitsPerValue", bits);
  return b.bytes();
}

std::vector<Parameter> gefs_parameters(const Grid& grid, uint64_t seed) {
  struct Spec {
    const char* name;
    long discipline, category, number;
    long surface, scale, value;  // first fixed surface; value as scaled value
    long second_surface, second_scale, second_value;
    const char* level_type;
    std::optional<double> level;
    const char* idx_level;
    const char* packing;
    const char* odd_packing;
    long bits;
    bool accumulation, bitmap;
    FieldShape shape;
  };
  // Noise amplitudes are a couple of packing steps, so that complex packing compresses as on real
  // fields (GEFS 2.5 degrees: ~35 KB per file).
  // clang-format off
  const std::vector<Spec> specs = {
      // name    disc cat num  surface 1     surface 2     level type        level  wgrib2 level
      //   packing (even members)             packing (odd members)  bits  acc    bitmap  shape
      {"HGT",    0,   3,  5,   100, 0, 50000, 255, 0, 0,  "mb",             500.0, "500 mb",
       "grid_complex_spatial_differencing", nullptr,               12, false, false, {5800, 600, 120, 25, 0.3}},
      {"TMP",    0,   0,  0,   103, 0, 2,     255, 0, 0,  "m above ground", 2.0,   "2 m above ground",
       "grid_complex_spatial_differencing", nullptr,               12, false, false, {300, 60, 6, 1.5, 0.03}},
      {"UGRD",   0,   2,  2,   103, 0, 10,    255, 0, 0,  "m above ground", 10.0,  "10 m above ground",
       "grid_simple",                       nullptr,               10, false, false, {2, 0, 9, 3, 0.05}},
      {"APCP",   0,   1,  8,   1,  -1, -1,    255, 0, 0,  "surface", std::nullopt, "surface",
       "grid_complex",                      "grid_simple",         12, true,  false, {0.2, 0, 0.5, 0.2, 0.002, 0.0, 0.6}},
      {"SOILW",  2,   0,  192, 106, 0, 0,     106, 1, 1,  "m below ground", 0.0,   "0-0.1 m below ground",
       "grid_complex_spatial_differencing", nullptr,               12, false, true,  {0.3, 0.1, 0.08, 0.02, 0.0002}},
  };
  // clang-format on
  std::vector<Parameter> parameters;
  for (size_t p = 0; p < specs.size(); ++p) {
    const Spec& s = specs[p];
    auto make = [&](const char* packing) {
      MessageBuilder b = base_message(grid, s.bits);
      b.set("centre", 7L).set("subCentre", 2L).set("generatingProcessIdentifier", 107L);
      b.set("productionStatusOfProcessedData", 0L);
      b.set("typeOfProcessedData", 4L);
      b.set("productDefinitionTemplateNumber", s.accumulation ? 11L : 1L);
      b.set("typeOfGeneratingProcess", 4L);
      b.set("discipline", s.discipline).set("parameterCategory", s.category);
      b.set("parameterNumber", s.number);
      b.set("typeOfFirstFixedSurface", s.surface);
      if (s.scale >= 0) {
        b.set("scaleFactorOfFirstFixedSurface", s.scale);
        b.set("scaledValueOfFirstFixedSurface", s.value);
      }
      b.set("typeOfSecondFixedSurface", s.second_surface);
      if (s.second_surface != 255) {
        b.set("scaleFactorOfSecondFixedSurface", s.second_scale);
        b.set("scaledValueOfSecondFixedSurface", s.second_value);
      }
      b.set("typeOfEnsembleForecast", 3L).set("perturbationNumber", 1L);
      b.set("numberOfForecastsInEnsemble", 30L);
      if (s.accumulation) {
        b.set("typeOfStatisticalProcessing", 1L);
        b.set("stepType", std::string("accum"));
      }
      if (s.bitmap) b.set("missingValue", kMissing).set("bitmapPresent", 1L);
      return finish_template(b, packing, s.bits, grid);
    };
    Parameter parameter;
    parameter.name = s.name;
    parameter.level_type = s.level_type;
    parameter.level = s.level;
    parameter.idx_level = s.idx_level;
    parameter.accumulation = s.accumulation;
    parameter.bitmap = s.bitmap;
    parameter.shape = s.shape;
    parameter.template_message = make(s.packing);
    if (s.odd_packing != nullptr) parameter.odd_template_message = make(s.odd_packing);
    parameter.seed = splitmix64(seed * 1000003 + p);
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

std::vector<Parameter> ecmwf_parameters(const Grid& grid, uint64_t seed) {
  struct Spec {
    const char* name;
    long param_id;
    std::optional<long> pressure;
    long bits;
    bool accumulation;
    FieldShape shape;
  };
  // clang-format off
  const std::vector<Spec> specs = {
      // name  paramId  hPa         bits  acc    shape
      {"2t",   167,     std::nullopt, 12, false, {299, 55, 7, 1.8, 0.03}},
      {"tp",   228,     std::nullopt, 12, true,   {0.0002, 0, 0.0005, 0.0002, 0.000002, 0.0, 0.6}},
      {"t",    130,     500L,         12, false, {258, 25, 5, 1.2, 0.02}},
      {"t",    130,     850L,         12, false, {287, 40, 6, 1.5, 0.02}},
  };
  // clang-format on
  std::vector<Parameter> parameters;
  for (size_t p = 0; p < specs.size(); ++p) {
    const Spec& s = specs[p];
    MessageBuilder b = base_message(grid, s.bits);
    b.set("centre", 98L).set("setLocalDefinition", 1L).set("localDefinitionNumber", 1L);
    b.set("class", std::string("od")).set("stream", std::string("enfo"));
    b.set("type", std::string("pf")).set("expver", std::string("0001"));
    b.set("productDefinitionTemplateNumber", s.accumulation ? 11L : 1L);
    b.set("typeOfGeneratingProcess", 4L);
    if (s.accumulation) b.set("stepType", std::string("accum"));
    b.set("paramId", s.param_id);
    if (s.pressure) {
      b.set("typeOfLevel", std::string("isobaricInhPa")).set("level", *s.pressure);
    }
    b.set("perturbationNumber", 1L).set("numberOfForecastsInEnsemble", 51L);
    Parameter parameter;
    parameter.name = s.name;
    parameter.level_type = s.pressure ? "pl" : "sfc";
    if (s.pressure) parameter.level = static_cast<double>(*s.pressure);
    parameter.accumulation = s.accumulation;
    parameter.shape = s.shape;
    parameter.template_message = finish_template(b, "grid_ccsds", s.bits, grid);
    parameter.seed = splitmix64(seed * 1000003 + p);
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

std::vector<long> gefs_steps(int count) {
  std::vector<long> steps;
  for (long h = 0; static_cast<int>(steps.size()) < count; h += 3) steps.push_back(h);
  return steps;
}

std::vector<long> ecmwf_steps(int count) {
  std::vector<long> steps;
  for (long h = 0; h <= 144 && static_cast<int>(steps.size()) < count; h += 3) steps.push_back(h);
  for (long h = 150; static_cast<int>(steps.size()) < count; h += 6) steps.push_back(h);
  return steps;
}

// The message of `parameter` for one member and step.
MessageBytes build_message(const Parameter& parameter, const Grid& grid, const RunOptions& o,
                           int member, long step, bool ecmwf) {
  const MessageBytes& tmpl = (member % 2 == 1 && !parameter.odd_template_message.empty())
                                 ? parameter.odd_template_message
                                 : parameter.template_message;
  MessageBuilder b = MessageBuilder::from_message(tmpl);
  b.set("dataDate", init_date(o)).set("dataTime", init_hour(o) * 100);
  if (ecmwf) {
    b.set("type", std::string(member == 0 ? "cf" : "pf"));
    b.set("perturbationNumber", static_cast<long>(member));
  } else {
    b.set("typeOfProcessedData", member == 0 ? 3L : 4L);
    b.set("typeOfEnsembleForecast", member == 0 ? 1L : 3L);
    b.set("perturbationNumber", static_cast<long>(member));
  }
  if (parameter.accumulation) {
    b.set("startStep", 0L).set("endStep", step);
  } else {
    b.set("indicatorOfUnitOfTimeRange", 1L).set("forecastTime", step);
  }
  if (parameter.bitmap) b.set("missingValue", kMissing).set("bitmapPresent", 1L);
  b.set_values(make_values(grid, parameter.shape, parameter.seed, step, member, parameter.bitmap));
  return b.bytes();
}

std::string packing_of(const MessageBytes& message) {
  MessageBuilder b = MessageBuilder::from_message(message);
  char text[64] = {};
  size_t length = sizeof(text);
  if (codes_get_string(b.handle(), "packingType", text, &length) != 0) return "";
  return text;
}

// One output file: its path (relative to --out) and the messages' records.
struct FileJob {
  std::string path;
  int member = 0;  // GEFS: the file's member; ECMWF: unused
  long step = 0;
};

std::string gefs_forecast_text(const Parameter& p, long step) {
  if (p.accumulation) return fmt::format("0-{} hour acc fcst", step);
  return step == 0 ? "anl" : fmt::format("{} hour fcst", step);
}

// Writes one file and its sidecar; returns its manifest lines.
std::string write_file_job(const FileJob& job, const std::vector<Parameter>& parameters,
                           const Grid& grid, const RunOptions& o, bool ecmwf) {
  std::vector<MessageBytes> messages;
  std::vector<MessageRecord> records;
  std::string sidecar;
  uint64_t offset = 0;
  auto add = [&](const Parameter& p, int member, MessageBytes message) {
    MessageRecord r{job.path, offset,   message.size(),     p.name, p.level_type, p.level,
                    member,   job.step, packing_of(message)};
    const size_t number = messages.size() + 1;
    if (ecmwf) {
      std::string line = fmt::format(
          "{{\"domain\": \"g\", \"date\": \"{}\", \"time\": \"{:02d}00\", \"expver\": \"0001\", "
          "\"class\": \"od\", \"type\": \"{}\", \"stream\": \"enfo\", \"step\": \"{}\", "
          "\"levtype\": \"{}\"",
          o.init.substr(0, 8), init_hour(o), member == 0 ? "cf" : "pf", job.step, p.level_type);
      if (p.level) line += fmt::format(", \"levelist\": \"{}\"", *p.level);
      if (member != 0) line += fmt::format(", \"number\": \"{}\"", member);
      line += fmt::format(", \"param\": \"{}\", \"_offset\": {}, \"_length\": {}}}\n", p.name,
                          offset, message.size());
      sidecar += line;
    } else {
      const std::string ens =
          member == 0 ? std::string("ENS=low-res ctl") : fmt::format("ENS=+{}", member);
      sidecar += fmt::format("{}:{}:d={}:{}:{}:{}:{}\n", number, offset, o.init, p.name,
                             p.idx_level, gefs_forecast_text(p, job.step), ens);
    }
    offset += message.size();
    messages.push_back(std::move(message));
    records.push_back(std::move(r));
  };
  if (ecmwf) {
    for (const Parameter& p : parameters) {
      for (int member = 0; member < o.members; ++member) {
        add(p, member, build_message(p, grid, o, member, job.step, true));
      }
    }
  } else {
    for (const Parameter& p : parameters) {
      if (p.accumulation && job.step == 0) continue;  // no accumulation at the analysis time
      add(p, job.member, build_message(p, grid, o, job.member, job.step, false));
    }
  }
  const fs::path path = o.out / job.path;
  write_message_file(path, messages);
  if (ecmwf) {
    std::string index_path = path.string();
    index_path.replace(index_path.size() - std::string(".grib2").size(), std::string::npos,
                       ".index");
    write_bytes(index_path, sidecar);
  } else {
    write_bytes(path.string() + ".idx", sidecar);
  }
  std::string lines;
  for (const MessageRecord& r : records) lines += manifest_line(r, o.model, o.init);
  return lines;
}

int run_model(const RunOptions& o) {
  const bool ecmwf = o.model == "ecmwf-ens";
  if (o.init.size() != 10) fail("--init must be YYYYMMDDHH");
  const Grid grid = parse_grid(o.grid_spec, ecmwf ? -180.0 : 0.0);
  const std::vector<Parameter> parameters =
      ecmwf ? ecmwf_parameters(grid, o.seed) : gefs_parameters(grid, o.seed);
  const std::string date = o.init.substr(0, 8);
  const std::string hour = o.init.substr(8, 2);
  std::vector<FileJob> jobs;
  if (ecmwf) {
    for (long step : ecmwf_steps(o.steps)) {
      jobs.push_back(
          {fmt::format("{}/{}z/ifs/0p25/enfo/{}0000-{}h-enfo-ef.grib2", date, hour, o.init, step),
           0, step});
    }
  } else {
    for (int member = 0; member < o.members; ++member) {
      for (long step : gefs_steps(o.steps)) {
        jobs.push_back({fmt::format("gefs.{}/{}/atmos/pgrb2ap5/ge{}{:02d}.t{}z.pgrb2a.0p50.f{:03d}",
                                    date, hour, member == 0 ? "c" : "p", member, hour, step),
                        member, step});
      }
    }
  }
  // Worker processes (ecCodes' thread safety depends on how it was built); each writes every
  // jobs-th file and its part of the manifest.
  const int workers = std::max(1, std::min<int>(o.jobs, static_cast<int>(jobs.size())));
  const fs::path manifest = o.manifest.empty()
                                ? o.out / fmt::format("manifest-{}-{}.jsonl", o.model, o.init)
                                : o.manifest;
  fs::create_directories(o.out);
  std::vector<pid_t> children;
  for (int w = 0; w < workers; ++w) {
    const pid_t pid = workers == 1 ? 0 : fork();
    if (pid < 0) fail("fork failed");
    if (pid > 0) {
      children.push_back(pid);
      continue;
    }
    int status = 0;
    try {
      std::string lines;  // each job's lines, then an empty line
      for (size_t k = static_cast<size_t>(w); k < jobs.size(); k += static_cast<size_t>(workers)) {
        lines += write_file_job(jobs[k], parameters, grid, o, ecmwf) + "\n";
      }
      write_bytes(manifest.string() + fmt::format(".part{}", w), lines);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "floe_grib_forecast_fixtures: %s\n", e.what());
      status = 1;
    }
    if (workers == 1) {
      if (status != 0) return status;
      break;
    }
    std::fflush(nullptr);
    _exit(status);
  }
  bool ok = true;
  for (pid_t child : children) {
    int status = 0;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      ok = false;
  }
  if (!ok) fail("a worker process failed");
  // The manifest in job order whatever the number of workers: job k is block k / workers of part
  // k % workers.
  std::vector<std::vector<std::string>> blocks(static_cast<size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    const fs::path part = manifest.string() + fmt::format(".part{}", w);
    std::ifstream in(part, std::ios::binary);
    std::string line, block;
    while (std::getline(in, line)) {
      if (line.empty()) {
        blocks[static_cast<size_t>(w)].push_back(std::move(block));
        block.clear();
      } else {
        block += line + "\n";
      }
    }
    fs::remove(part);
  }
  std::string all;
  for (size_t k = 0; k < jobs.size(); ++k) {
    const auto& part = blocks[k % static_cast<size_t>(workers)];
    if (k / static_cast<size_t>(workers) >= part.size()) fail("a worker's manifest is incomplete");
    all += part[k / static_cast<size_t>(workers)];
  }
  write_bytes(manifest, all);
  std::printf("%s: %zu files, %d members, %d steps, grid %ld x %ld, manifest %s\n", o.model.c_str(),
              jobs.size(), o.members, o.steps, grid.ni, grid.nj, manifest.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Oracle: ecCodes' values of messages at byte offsets, north-up, as one .npy (n, Nj, Ni)

MessageBytes read_message_at(const std::string& path, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open " + path);
  in.seekg(static_cast<std::streamoff>(offset));
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  if (!in || std::memcmp(head, "GRIB", 4) != 0) {
    fail(fmt::format("{}: no GRIB message at byte offset {}", path, offset));
  }
  uint64_t length = 0;
  if (head[7] == 2) {
    for (int k = 8; k < 16; ++k) length = (length << 8) | head[k];
  } else {
    length = (uint64_t{head[4]} << 16) | (uint64_t{head[5]} << 8) | head[6];
  }
  MessageBytes message(length);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(message.data()), static_cast<std::streamsize>(length));
  if (!in) fail(fmt::format("{}: message at byte offset {} is cut short", path, offset));
  return message;
}

std::string string_key(codes_handle* handle, const char* key) {
  char text[128] = {};
  size_t length = sizeof(text);
  if (codes_get_string(handle, key, text, &length) != 0) return "";
  return text;
}

void write_npy(const std::string& path, const std::vector<double>& values, size_t n, long nj,
               long ni) {
  std::string header =
      fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}, {}), }}", n, nj, ni);
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t header_length = static_cast<uint16_t>(header.size());
  const char length_bytes[2] = {static_cast<char>(header_length & 0xff),
                                static_cast<char>(header_length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(double)));
  if (!out) fail("cannot write " + path);
}

int run_oracle(const std::string& out, const std::string& keys_path,
               const std::string& coordinates_path,
               const std::vector<std::pair<std::string, uint64_t>>& messages) {
  if (messages.empty()) fail("oracle: no messages given");
  std::vector<double> all;
  std::string keys;
  long ni = -1;
  long nj = -1;
  for (const auto& [path, offset] : messages) {
    const MessageBytes message = read_message_at(path, offset);
    const std::vector<floe::grib_test::OracleField> fields =
        floe::grib_test::eccodes_fields(message);
    if (fields.empty())
      fail(fmt::format("{}: ecCodes found no field at byte offset {}", path, offset));
    const floe::grib_test::OracleField& field = fields.front();
    if (ni < 0) {
      ni = field.ni;
      nj = field.nj;
    } else if (ni != field.ni || nj != field.nj) {
      fail(fmt::format("{} at {}: grid {} x {} differs from the first message's {} x {}", path,
                       offset, field.ni, field.nj, ni, nj));
    }
    const std::vector<double> up =
        floe::grib_test::north_up(field.values, field.ni, field.nj, field.scanning_mode);
    all.insert(all.end(), up.begin(), up.end());
    MessageBuilder b = MessageBuilder::from_message(message);
    keys += fmt::format(
        "{{\"path\": \"{}\", \"offset\": {}, \"length\": {}, \"shortName\": \"{}\", "
        "\"typeOfLevel\": \"{}\", \"level\": \"{}\", \"stepRange\": \"{}\", \"dataDate\": \"{}\", "
        "\"dataTime\": \"{}\", \"perturbationNumber\": \"{}\", \"packingType\": \"{}\", "
        "\"missing\": {}}}\n",
        path, offset, message.size(), string_key(b.handle(), "shortName"),
        string_key(b.handle(), "typeOfLevel"), string_key(b.handle(), "level"),
        string_key(b.handle(), "stepRange"), string_key(b.handle(), "dataDate"),
        string_key(b.handle(), "dataTime"), string_key(b.handle(), "perturbationNumber"),
        field.packing_type, field.number_of_missing);
  }
  write_npy(out, all, messages.size(), nj, ni);
  if (!keys_path.empty()) write_bytes(keys_path, keys);
  if (!coordinates_path.empty()) {
    // ecCodes' geoiterator over the first message, north-up: (2, Nj, Ni) latitudes then longitudes.
    const auto& [path, offset] = messages.front();
    const MessageBytes message = read_message_at(path, offset);
    std::vector<double> latitudes, longitudes;
    floe::grib_test::eccodes_coordinates(message, latitudes, longitudes);
    const long scanning = MessageBuilder::from_message(message).get_long("scanningMode");
    std::vector<double> both = floe::grib_test::north_up(latitudes, ni, nj, scanning);
    const std::vector<double> up = floe::grib_test::north_up(longitudes, ni, nj, scanning);
    both.insert(both.end(), up.begin(), up.end());
    write_npy(coordinates_path, both, 2, nj, ni);
  }
  return 0;
}

std::pair<std::string, uint64_t> parse_location(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) fail("expected PATH:OFFSET, got " + text);
  return {text.substr(0, colon), std::stoull(text.substr(colon + 1))};
}

int usage() {
  std::fprintf(stderr,
               "usage: floe_grib_forecast_fixtures gefs|ecmwf-ens --out DIR --init YYYYMMDDHH "
               "[--members N] [--steps N] [--grid global:D|box:N,S,W,E:D] [--seed N] [--jobs N] "
               "[--manifest FILE]\n"
               "       floe_grib_forecast_fixtures oracle --out VALUES.npy [--keys KEYS.jsonl] "
               "[--coordinates LATLON.npy] (PATH:OFFSET... | --list FILE)\n");
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  std::vector<std::string> positional;
  std::string out, init, grid, manifest, keys, list, coordinates;
  int members = -1, steps = -1, jobs = 2;
  uint64_t seed = 1;
  for (int k = 2; k < argc; ++k) {
    const std::string arg = argv[k];
    auto value = [&]() -> std::string {
      if (k + 1 >= argc) fail(arg + " needs a value");
      return argv[++k];
    };
    if (arg == "--out")
      out = value();
    else if (arg == "--init")
      init = value();
    else if (arg == "--grid")
      grid = value();
    else if (arg == "--manifest")
      manifest = value();
    else if (arg == "--keys")
      keys = value();
    else if (arg == "--list")
      list = value();
    else if (arg == "--coordinates")
      coordinates = value();
    else if (arg == "--members")
      members = std::stoi(value());
    else if (arg == "--steps")
      steps = std::stoi(value());
    else if (arg == "--jobs")
      jobs = std::stoi(value());
    else if (arg == "--seed")
      seed = std::stoull(value());
    else if (arg.rfind("--", 0) == 0)
      fail("unknown option " + arg);
    else
      positional.push_back(arg);
  }
  if (out.empty()) return usage();
  if (command == "oracle") {
    std::vector<std::pair<std::string, uint64_t>> messages;
    for (const std::string& p : positional) messages.push_back(parse_location(p));
    if (!list.empty()) {
      std::ifstream in(list);
      std::string path;
      uint64_t offset = 0;
      while (in >> path >> offset) messages.emplace_back(path, offset);
    }
    return run_oracle(out, keys, coordinates, messages);
  }
  if (command != "gefs" && command != "ecmwf-ens") return usage();
  if (!positional.empty()) fail("unexpected argument " + positional.front());
  const bool ecmwf = command == "ecmwf-ens";
  RunOptions o;
  o.model = command;
  o.out = out;
  o.init = init;
  o.members = members > 0 ? members : (ecmwf ? 51 : 31);
  o.steps = steps > 0 ? steps : (ecmwf ? 85 : 81);
  o.grid_spec = grid.empty() ? kDefaultGrid : grid;
  o.seed = seed;
  o.jobs = jobs;
  o.manifest = manifest;
  return run_model(o);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "floe_grib_forecast_fixtures: %s\n", e.what());
    return 1;
  }
}
