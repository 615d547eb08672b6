// Message headers in batched rounds: a window at each message's start parsed with the GRIB2 prefix
// parser (codecs/grib2), bigger reads for what the window cut, GRIB1 messages whole; then the grid,
// level, times and ensemble member of every field in the datacube's units.
#include "floe/formats/grib2/headers.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "floe/codecs/grib2/grib1_message.h"
#include "floe/codecs/grib2/message.h"
#include "floe/formats/grib2/scan.h"

namespace floe::formats::grib2 {

namespace {

namespace grib = codecs::grib;

std::span<const uint8_t> as_octets(const Bytes& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

int signed_scale(uint8_t octet) { return (octet & 0x80) ? -(octet & 0x7F) : octet; }

uint32_t be32(std::span<const uint8_t> bytes, size_t at) {
  if (at + 4 > bytes.size()) return 0;
  return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) |
         (uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
}

// Code table 4.4 (GRIB1 table 4 shares 0-2 and 10-12; GRIB1's 254 is seconds).
std::optional<int64_t> seconds_per_time_unit(int unit, uint8_t edition) {
  switch (unit) {
    case 0:
      return 60;
    case 1:
      return 3600;
    case 2:
      return 86400;
    case 10:
      return 3 * 3600;
    case 11:
      return 6 * 3600;
    case 12:
      return 12 * 3600;
    case 13:
      return edition == 2 ? std::optional<int64_t>(1) : std::nullopt;
    case 254:
      return edition == 1 ? std::optional<int64_t>(1) : std::nullopt;
    default:
      return std::nullopt;  // months, years, ...: no fixed length
  }
}

std::string statistic_name(int code) {
  switch (code) {
    case 0:
      return "ave";
    case 1:
      return "acc";
    case 2:
      return "max";
    case 3:
      return "min";
    case 4:
      return "last-first";
    case 5:
      return "RMS";
    case 6:
      return "StdDev";
    case 8:
      return "first-last";
    default:
      return fmt::format("statistic {}", code);
  }
}

// Level types whose surfaces carry a value (code table 4.5).
bool level_type_has_value(int code) {
  switch (code) {
    case 20:
    case 100:
    case 102:
    case 103:
    case 104:
    case 105:
    case 106:
    case 107:
    case 108:
    case 109:
    case 111:
    case 114:
    case 117:
    case 160:
    case 241:
      return true;
    default:
      return false;
  }
}

// A fixed surface's value. Scaled values are sign-and-magnitude (regulation 92.1.5): GFS writes -2
// PVU as 0x800007D0 with scale 9.
std::optional<double> surface_value(const grib::FixedSurface& surface) {
  if (surface.value_missing) return std::nullopt;
  const bool negative = (surface.scaled_value & 0x80000000u) != 0;
  const double magnitude = static_cast<double>(surface.scaled_value & 0x7FFFFFFFu);
  return (negative ? -magnitude : magnitude) * std::pow(10.0, -surface.scale_factor);
}

// Pa -> hPa for isobaric surfaces and pressure differences, as wgrib2 prints them.
double level_in_wgrib2_units(int code, double value) {
  return code == 100 || code == 108 ? value / 100.0 : value;
}

Result<UnixSeconds> civil_seconds(int year, int month, int day, int hour, int minute, int second,
                                  std::string_view what) {
  auto parsed = parse_compact_date(
      fmt::format("{:04d}{:02d}{:02d}{:02d}{:02d}{:02d}", year, month, day, hour, minute, second));
  if (!parsed) {
    return make_error(ErrorCode::kCorrupt,
                      "{} {:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d} is not a date", what, year,
                      month, day, hour, minute, second);
  }
  return *parsed;
}

Result<GridGeometry> grib2_geometry(const grib::Grib2Grid& grid) {
  GridGeometry geometry;
  if (!grid.template_known || grid.is_reduced()) {
    return make_error(ErrorCode::kUnsupported,
                      "grid template 3.{}{} has no rectangular coordinates in floe yet",
                      grid.template_number, grid.is_reduced() ? " (reduced)" : "");
  }
  const std::span<const uint8_t> t = grid.template_bytes;  // octet 15 on
  auto earth = earth_shape_from_code(grid.shape_of_earth, t.size() > 1 ? signed_scale(t[1]) : 0,
                                     be32(t, 2), t.size() > 6 ? signed_scale(t[6]) : 0, be32(t, 7),
                                     t.size() > 11 ? signed_scale(t[11]) : 0, be32(t, 12));
  if (!earth)
    return make_error(ErrorCode::kUnsupported, "shape of the Earth {} (code table 3.2)",
                      grid.shape_of_earth);
  geometry.earth = *earth;
  if (static_cast<uint64_t>(grid.ni) * grid.nj != grid.number_of_points) {
    return make_error(ErrorCode::kCorrupt, "section 3 gives {} points for a grid of {} x {}",
                      grid.number_of_points, grid.ni, grid.nj);
  }
  geometry.ni = grid.ni;
  geometry.nj = grid.nj;
  geometry.scanning = Scanning::from_flags(grid.scanning.flags);
  const double micro = 1e-6;
  switch (grid.template_number) {
    case 0:
    case 40: {
      const double unit = grid.angle_unit();
      geometry.kind = grid.template_number == 0 ? GridGeometry::Kind::kRegularLatLon
                                                : GridGeometry::Kind::kRegularGaussian;
      geometry.first_latitude = grid.first_latitude * unit;
      geometry.first_longitude = static_cast<double>(grid.first_longitude) * unit;
      geometry.last_latitude = grid.last_latitude * unit;
      geometry.last_longitude = static_cast<double>(grid.last_longitude) * unit;
      geometry.i_increment =
          grid.i_increment == grib::Grib2Grid::kMissing ? 0 : grid.i_increment * unit;
      geometry.j_increment =
          grid.j_increment == grib::Grib2Grid::kMissing ? 0 : grid.j_increment * unit;
      geometry.gaussian_n = grid.gaussian_parallels;
      return geometry;
    }
    case 10:
      geometry.kind = GridGeometry::Kind::kMercator;
      geometry.first_latitude = grid.first_latitude * micro;
      geometry.first_longitude = static_cast<double>(grid.first_longitude) * micro;
      geometry.last_latitude = grid.last_latitude * micro;
      geometry.last_longitude = static_cast<double>(grid.last_longitude) * micro;
      geometry.latitude_of_true_scale = grid.latitude_of_true_scale * micro;
      geometry.i_increment = grid.i_increment * 1e-3;  // mm
      geometry.j_increment = grid.j_increment * 1e-3;
      return geometry;
    case 20:
    case 30:
      geometry.kind = grid.template_number == 20 ? GridGeometry::Kind::kPolarStereographic
                                                 : GridGeometry::Kind::kLambertConformal;
      geometry.first_latitude = grid.first_latitude * micro;
      geometry.first_longitude = static_cast<double>(grid.first_longitude) * micro;
      geometry.latitude_of_true_scale = grid.latitude_of_true_scale * micro;
      geometry.orientation_longitude = static_cast<double>(grid.orientation_longitude) * micro;
      geometry.i_increment = grid.i_increment * 1e-3;
      geometry.j_increment = grid.j_increment * 1e-3;
      geometry.south_pole = (grid.projection_centre & 0x80) != 0;
      geometry.standard_parallel_1 = grid.first_standard_parallel * micro;
      geometry.standard_parallel_2 = grid.second_standard_parallel * micro;
      return geometry;
    default:
      return make_error(ErrorCode::kUnsupported,
                        "grid template 3.{} has no coordinates in floe yet", grid.template_number);
  }
}

Result<FieldHeader> grib2_field(const grib::Grib2Message& message, size_t index) {
  const grib::Grib2Field& field = message.fields()[index];
  const grib::Grib2Product& product = field.product;
  const grib::Grib2Identification& id = message.identification();
  FieldHeader header;
  header.edition = 2;
  header.field_index = static_cast<uint32_t>(index);
  header.discipline = message.discipline();
  header.category = product.parameter_category;
  header.number = product.parameter_number;
  header.centre = id.centre;
  header.parameter_name =
      grib2_parameter_name(header.discipline, header.category, header.number)
          .value_or(fmt::format("var{}_{}_{}", header.discipline, header.category, header.number));
  header.product_template = product.template_number;
  header.representation_template = field.representation.template_number;
  header.spatial_differencing_order = field.representation.complex.spatial_differencing_order;
  const grib::Grib2Grid& grid = message.grids()[field.grid_index];
  header.scanning_flags = grid.scanning.flags;
  auto geometry = grib2_geometry(grid);
  if (geometry.ok()) {
    header.grid = *geometry;
  } else {
    header.grid_problem = geometry.error().message();
  }
  FLOE_ASSIGN_OR_RETURN(header.reference_time,
                        civil_seconds(id.year, id.month, id.day, id.hour, id.minute, id.second,
                                      "the reference time (section 1)"));
  if (!product.horizontal_prefix) {
    return make_error(ErrorCode::kUnsupported,
                      "product template 4.{} has no level and forecast time floe can read yet",
                      product.template_number);
  }
  // Level.
  header.level_type_code = product.first_surface.type;
  header.level_type = grib2_level_type_name(header.level_type_code)
                          .value_or(fmt::format("level type {}", header.level_type_code));
  auto first = surface_value(product.first_surface);
  if (level_type_has_value(header.level_type_code) && first) {
    header.level = level_in_wgrib2_units(header.level_type_code, *first);
    auto second = surface_value(product.second_surface);
    if (product.second_surface.type == product.first_surface.type && second) {
      header.level_bound = level_in_wgrib2_units(header.level_type_code, *second);
    }
  }
  // Times: the forecast time, or the end of the statistically processed interval.
  auto unit = seconds_per_time_unit(product.time_unit, 2);
  if (!unit) {
    return make_error(ErrorCode::kUnsupported,
                      "forecast time unit {} (code table 4.4) has no fixed length",
                      product.time_unit);
  }
  const int64_t forecast_seconds = product.forecast_time * *unit;
  header.step_seconds = forecast_seconds;
  if (product.interval) {
    const grib::StatisticalInterval& interval = *product.interval;
    FLOE_ASSIGN_OR_RETURN(UnixSeconds end,
                          civil_seconds(interval.end_year, interval.end_month, interval.end_day,
                                        interval.end_hour, interval.end_minute, interval.end_second,
                                        "the end of the statistical interval"));
    header.step_seconds = end - header.reference_time;
    header.interval_start_seconds = forecast_seconds;
    if (!interval.ranges.empty())
      header.statistic = statistic_name(interval.ranges.front().statistical_process);
  }
  if (product.ensemble) {
    // Code table 4.6: 0/1 controls, 2 negative and 3 positive perturbations; ECMWF leaves it
    // missing (255).
    const grib::EnsembleMember& member = *product.ensemble;
    switch (member.type) {
      case 0:
      case 1:
        header.member = 0;
        break;
      case 2:
        header.member = -static_cast<int32_t>(member.perturbation_number);
        break;
      default:
        header.member = member.perturbation_number;
        break;
    }
  }
  return header;
}

Result<FieldHeader> grib1_field(const grib::Grib1Message& message) {
  const grib::Grib1Product& product = message.product();
  FieldHeader header;
  header.edition = 1;
  header.category = product.table_version;
  header.number = product.parameter;
  header.centre = product.centre;
  header.parameter_name = fmt::format("var{}_{}", product.table_version, product.parameter);
  header.level_type_code = product.level_type;
  header.level_type = fmt::format("GRIB1 level type {}", product.level_type);
  // GRIB1 table 3: 100 isobaric (hPa), 105 height above ground (m), 109 hybrid level, 111 depth
  // below land (cm).
  if (product.level_type == 100 || product.level_type == 105 || product.level_type == 109 ||
      product.level_type == 111 || product.level_type == 103 || product.level_type == 113) {
    header.level = product.level;
  }
  const int year = product.year;
  FLOE_ASSIGN_OR_RETURN(header.reference_time,
                        civil_seconds(year, product.month, product.day, product.hour,
                                      product.minute, 0, "the reference time (PDS)"));
  auto unit = seconds_per_time_unit(product.time_unit, 1);
  if (!unit) {
    return make_error(ErrorCode::kUnsupported, "GRIB1 time unit {} has no fixed length",
                      product.time_unit);
  }
  // Table 5: 0/1 a forecast at P1 (10: P1 in two octets), 2-5 an interval P1..P2 (4 an
  // accumulation).
  switch (product.time_range_indicator) {
    case 0:
    case 1:
      header.step_seconds = product.p1 * *unit;
      break;
    case 10:
      header.step_seconds = ((product.p1 << 8) | product.p2) * *unit;
      break;
    case 2:
    case 3:
    case 4:
    case 5:
      header.interval_start_seconds = product.p1 * *unit;
      header.step_seconds = product.p2 * *unit;
      header.statistic = product.time_range_indicator == 4   ? "acc"
                         : product.time_range_indicator == 3 ? "ave"
                                                             : "";
      break;
    default:
      return make_error(ErrorCode::kUnsupported, "GRIB1 time range indicator {}",
                        product.time_range_indicator);
  }
  const grib::Grib1Grid& grid = message.grid();
  header.scanning_flags = grid.scanning.flags;
  if (!grid.present || grid.is_reduced() ||
      (grid.data_representation_type != 0 && grid.data_representation_type != 4)) {
    header.grid_problem = "GRIB1 grid other than a regular latitude/longitude or Gaussian grid";
    return header;
  }
  GridGeometry geometry;
  geometry.kind = grid.data_representation_type == 0 ? GridGeometry::Kind::kRegularLatLon
                                                     : GridGeometry::Kind::kRegularGaussian;
  geometry.ni = grid.ni;
  geometry.nj = grid.nj;
  geometry.first_latitude = grid.first_latitude * 1e-3;
  geometry.first_longitude = grid.first_longitude * 1e-3;
  geometry.last_latitude = grid.last_latitude * 1e-3;
  geometry.last_longitude = grid.last_longitude * 1e-3;
  geometry.i_increment =
      grid.i_increment == grib::Grib1Grid::kMissing ? 0 : grid.i_increment * 1e-3;
  if (grid.data_representation_type == 4) {
    geometry.gaussian_n = grid.j_increment;
  } else {
    geometry.j_increment =
        grid.j_increment == grib::Grib1Grid::kMissing ? 0 : grid.j_increment * 1e-3;
  }
  geometry.scanning = Scanning::from_flags(grid.scanning.flags);
  header.grid = geometry;
  return header;
}

// One message's progress through the rounds.
struct Reader {
  const MessageRequest* request = nullptr;
  uint64_t file_size = 0;
  uint64_t read_length = 0;  // what the next round reads
  bool done = false;
  std::optional<Error> error;
  MessageHeader header;
};

}  // namespace

std::optional<std::string> grib2_parameter_name(int discipline, int category, int number) {
  struct Entry {
    int discipline;
    int category;
    int number;
    const char* name;
  };
  // wgrib2's names (WMO code table 4.2 and NCEP's local entries) for what NWP archives carry most.
  static constexpr std::array<Entry, 88> kTable = {{
      {0, 0, 0, "TMP"},       {0, 0, 2, "POT"},     {0, 0, 4, "TMAX"},     {0, 0, 5, "TMIN"},
      {0, 0, 6, "DPT"},       {0, 0, 10, "LHTFL"},  {0, 0, 11, "SHTFL"},   {0, 0, 17, "SKINT"},
      {0, 0, 21, "APTMP"},    {0, 1, 0, "SPFH"},    {0, 1, 1, "RH"},       {0, 1, 3, "PWAT"},
      {0, 1, 7, "PRATE"},     {0, 1, 8, "APCP"},    {0, 1, 10, "ACPCP"},   {0, 1, 11, "SNOD"},
      {0, 1, 13, "WEASD"},    {0, 1, 22, "CLWMR"},  {0, 1, 23, "ICMR"},    {0, 1, 24, "RWMR"},
      {0, 1, 25, "SNMR"},     {0, 1, 29, "ASNOW"},  {0, 1, 32, "GRLE"},    {0, 1, 37, "CPRAT"},
      {0, 1, 39, "CPOFP"},    {0, 1, 192, "CRAIN"}, {0, 1, 193, "CFRZR"},  {0, 1, 194, "CICEP"},
      {0, 1, 195, "CSNOW"},   {0, 2, 0, "WDIR"},    {0, 2, 1, "WIND"},     {0, 2, 2, "UGRD"},
      {0, 2, 3, "VGRD"},      {0, 2, 8, "VVEL"},    {0, 2, 9, "DZDT"},     {0, 2, 10, "ABSV"},
      {0, 2, 22, "GUST"},     {0, 2, 192, "VWSH"},  {0, 2, 220, "MAXUVV"}, {0, 2, 221, "MAXDVV"},
      {0, 3, 0, "PRES"},      {0, 3, 1, "PRMSL"},   {0, 3, 5, "HGT"},      {0, 3, 18, "HPBL"},
      {0, 3, 192, "MSLET"},   {0, 4, 7, "DSWRF"},   {0, 4, 8, "USWRF"},    {0, 5, 3, "DLWRF"},
      {0, 5, 4, "ULWRF"},     {0, 6, 1, "TCDC"},    {0, 6, 3, "LCDC"},     {0, 6, 4, "MCDC"},
      {0, 6, 5, "HCDC"},      {0, 6, 6, "CWAT"},    {0, 7, 6, "CAPE"},     {0, 7, 7, "CIN"},
      {0, 7, 8, "HLCY"},      {0, 7, 10, "LFTX"},   {0, 7, 192, "4LFTX"},  {0, 14, 0, "TOZNE"},
      {0, 14, 192, "O3MR"},   {0, 16, 195, "REFD"}, {0, 16, 196, "REFC"},  {0, 16, 197, "RETOP"},
      {0, 16, 198, "MAXREF"}, {0, 19, 0, "VIS"},    {0, 19, 2, "TSTM"},    {0, 19, 11, "TKE"},
      {0, 19, 234, "ICSEV"},  {2, 0, 0, "LAND"},    {2, 0, 1, "SFCR"},     {2, 0, 192, "SOILW"},
      {2, 0, 193, "GFLUX"},   {2, 3, 18, "TSOIL"},  {2, 3, 192, "SOILL"},  {10, 0, 3, "HTSGW"},
      {10, 0, 4, "WVDIR"},    {10, 0, 5, "WVHGT"},  {10, 0, 6, "WVPER"},   {10, 0, 7, "SWDIR"},
      {10, 0, 8, "SWELL"},    {10, 0, 9, "SWPER"},  {10, 0, 10, "DIRPW"},  {10, 0, 11, "PERPW"},
      {10, 2, 0, "ICEC"},     {10, 3, 0, "WTMP"},   {0, 0, 15, "VTMP"},    {0, 1, 2, "MIXR"},
  }};
  for (const Entry& entry : kTable) {
    if (entry.discipline == discipline && entry.category == category && entry.number == number)
      return entry.name;
  }
  return std::nullopt;
}

std::optional<std::string> grib2_level_type_name(int code) {
  switch (code) {
    case 1:
      return "surface";
    case 2:
      return "cloud base";
    case 3:
      return "cloud top";
    case 4:
      return "0C isotherm";
    case 5:
      return "level of adiabatic condensation from sfc";
    case 6:
      return "max wind";
    case 7:
      return "tropopause";
    case 8:
      return "top of atmosphere";
    case 9:
      return "sea bottom";
    case 10:
      return "entire atmosphere";
    case 20:
      return "K isothermal level";
    case 100:
      return "mb";
    case 101:
      return "mean sea level";
    case 102:
      return "m above mean sea level";
    case 103:
      return "m above ground";
    case 104:
      return "sigma level";
    case 105:
      return "hybrid level";
    case 106:
      return "m below ground";
    case 107:
      return "K level";
    case 108:
      return "mb above ground";
    case 109:
      return "PV (Km^2/kg/s) surface";
    case 111:
      return "eta level";
    case 160:
      return "m below sea level";
    case 200:
      return "entire atmosphere (considered as a single layer)";
    case 204:
      return "highest tropospheric freezing level";
    case 211:
      return "boundary layer cloud layer";
    case 214:
      return "low cloud layer";
    case 215:
      return "cloud ceiling";
    case 220:
      return "planetary boundary layer";
    case 224:
      return "middle cloud layer";
    case 234:
      return "high cloud layer";
    case 241:
      return "in sequence";
    default:
      return std::nullopt;
  }
}

std::vector<Result<MessageHeader>> read_message_headers(io::BlockCache& cache,
                                                        std::span<const MessageRequest> requests,
                                                        const HeaderOptions& options) {
  std::vector<Reader> readers(requests.size());
  auto fail = [](Reader& reader, Error error) {
    reader.error = std::move(error).add_context(
        fmt::format("{}: message at byte offset {}", reader.request->url, reader.request->offset));
    reader.done = true;
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    Reader& reader = readers[i];
    reader.request = &requests[i];
    auto size = cache.object_size(requests[i].store, requests[i].key);
    if (!size.ok()) {
      fail(reader, std::move(size).error());
      continue;
    }
    reader.file_size = *size;
    if (requests[i].offset >= *size) {
      fail(reader, make_error(ErrorCode::kCorrupt,
                              "the file has {} bytes: the sidecar belongs to another version "
                              "of the file",
                              *size));
      continue;
    }
    uint64_t available = *size - requests[i].offset;
    if (requests[i].length) available = std::min(available, *requests[i].length);
    reader.read_length = std::min(available, options.window_bytes);
  }
  std::vector<io::BlockCache::Read> reads;
  std::vector<size_t> pending;
  for (int round = 0; round < 3; ++round) {
    reads.clear();
    pending.clear();
    for (size_t i = 0; i < readers.size(); ++i) {
      if (readers[i].done) continue;
      reads.push_back(
          {requests[i].store, requests[i].key, requests[i].offset, readers[i].read_length});
      pending.push_back(i);
    }
    if (reads.empty()) break;
    std::vector<Result<Bytes>> results = cache.read(reads);
    for (size_t k = 0; k < pending.size(); ++k) {
      Reader& reader = readers[pending[k]];
      const MessageRequest& request = *reader.request;
      if (!results[k].ok()) {
        fail(reader, std::move(results[k]).error());
        continue;
      }
      const Bytes& bytes = *results[k];
      auto indicator = parse_indicator_section(bytes.span());
      if (!indicator) {
        fail(reader,
             make_error(
                 ErrorCode::kCorrupt,
                 "no GRIB message starts here (the sidecar does not match the file: fetch both "
                 "again)"));
        continue;
      }
      uint64_t total = indicator->length;
      if (indicator->grib1_large) {
        if (!request.length || request.length_is_upper_bound) {
          fail(
              reader,
              make_error(ErrorCode::kUnsupported,
                         "a GRIB1 message over 8 MiB needs its length from a scan, not a sidecar"));
          continue;
        }
        total = *request.length;
      }
      if (request.length &&
          (request.length_is_upper_bound ? total > *request.length : total != *request.length)) {
        fail(
            reader,
            make_error(
                ErrorCode::kCorrupt,
                "section 0 gives {} bytes where the sidecar gives {}{}: the sidecar does not match "
                "the file",
                total, *request.length,
                request.length_is_upper_bound ? " (to the end of the file)" : ""));
        continue;
      }
      if (total > reader.file_size - request.offset) {
        fail(reader, make_error(ErrorCode::kCorrupt,
                                "the message declares {} bytes, the file has {} from here", total,
                                reader.file_size - request.offset));
        continue;
      }
      reader.header.offset = request.offset;
      reader.header.length = total;
      reader.header.edition = indicator->edition;
      const bool whole = bytes.size() >= total;
      if (indicator->edition == 1) {
        if (!whole) {
          if (total > options.max_message_bytes) {
            fail(reader,
                 make_error(
                     ErrorCode::kUnsupported,
                     "GRIB1 headers are read with the whole message, and this one has {} bytes "
                     "(more than {})",
                     total, options.max_message_bytes));
            continue;
          }
          reader.read_length = total;
          continue;  // next round
        }
        auto message = grib::Grib1Message::parse(as_octets(bytes).first(total), request.offset);
        if (!message.ok()) {
          fail(reader, std::move(message).error());
          continue;
        }
        auto field = grib1_field(*message);
        if (!field.ok()) {
          fail(reader, std::move(field).error());
          continue;
        }
        reader.header.fields.push_back(std::move(*field));
        if (request.fields_needed > 1) {
          fail(reader, make_error(ErrorCode::kCorrupt,
                                  "a GRIB1 message holds one field, the sidecar lists {}",
                                  request.fields_needed));
          continue;
        }
        reader.done = true;
        continue;
      }
      auto message = grib::Grib2Message::parse_prefix(
          as_octets(bytes).first(std::min<uint64_t>(bytes.size(), total)), request.offset);
      if (!message.ok()) {
        fail(reader, std::move(message).error());
        continue;
      }
      if (message->fields().size() < request.fields_needed) {
        if (whole) {
          fail(reader, make_error(ErrorCode::kCorrupt,
                                  "the message holds {} field(s), the sidecar lists {}",
                                  message->fields().size(), request.fields_needed));
          continue;
        }
        // Cut by the window: the next round reads 4 windows, or (later fields, or a second time)
        // the whole message.
        uint64_t next = request.fields_needed > 1 || reader.read_length > options.window_bytes
                            ? total
                            : std::min<uint64_t>(total, 4 * options.window_bytes);
        if (next > options.max_message_bytes) {
          fail(reader,
               make_error(ErrorCode::kUnsupported,
                          "the header of field {} lies past the first {} bytes of the message",
                          request.fields_needed, options.max_message_bytes));
          continue;
        }
        reader.read_length = next;
        continue;
      }
      for (size_t f = 0; f < message->fields().size(); ++f) {
        auto field = grib2_field(*message, f);
        if (!field.ok()) {
          fail(reader, std::move(field).error().add_context(fmt::format("field {}", f)));
          break;
        }
        reader.header.fields.push_back(std::move(*field));
      }
      reader.done = true;
    }
  }
  std::vector<Result<MessageHeader>> headers;
  headers.reserve(readers.size());
  for (Reader& reader : readers) {
    if (reader.error) {
      headers.push_back(std::move(*reader.error));
    } else if (!reader.done) {
      headers.push_back(make_error(ErrorCode::kInternal,
                                   "{}: message at byte offset {}: header not read in 3 rounds",
                                   reader.request->url, reader.request->offset));
    } else {
      headers.push_back(std::move(reader.header));
    }
  }
  return headers;
}

}  // namespace floe::formats::grib2
