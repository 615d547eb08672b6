// GRIB virtualization: sidecars or scans -> message requests -> checked headers -> cube fields
// (names from the sidecar where there is one, times and grids from the GRIB) -> the forecast
// datacube.
#include "floe/formats/grib2/grib2.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "floe/formats/grib2/idx.h"

namespace floe::formats::grib2 {

namespace {

using nlohmann::json;

enum class Source { kNoaa, kEcmwf, kScan };

// What a message request stands for: the file and the sidecar entries (or the scanned message) it
// covers.
struct RequestOrigin {
  size_t file = 0;
  Source source = Source::kScan;
  std::vector<size_t> entries;  // NOAA: the message's lines; ECMWF: one line; scan: none
};

json field_attributes(const FieldHeader& header) {
  json attributes{{"GRIB_edition", header.edition},
                  {"GRIB_discipline", header.discipline},
                  {"GRIB_parameterCategory", header.category},
                  {"GRIB_parameterNumber", header.number},
                  {"GRIB_centre", header.centre},
                  {"GRIB_typeOfFirstFixedSurface", header.level_type_code}};
  return attributes;
}

// The sidecar's reference time is written to the hour ("d=YYYYMMDDHH") or the second ("D=...").
bool same_reference_time(UnixSeconds sidecar, size_t sidecar_digits, UnixSeconds message) {
  if (sidecar_digits <= 10) return sidecar == message - ((message % 3600) + 3600) % 3600;
  if (sidecar_digits == 12) return sidecar == message - ((message % 60) + 60) % 60;
  return sidecar == message;
}

class FieldCollector {
 public:
  FieldCollector(std::span<const GribFile> files, const GribOptions& options)
      : files_(files), options_(options) {
    for (const GribFile& file : files) input_.sources.push_back(file.location);
  }

  // Adds the field with its grid; false (and a warning) when it cannot be placed.
  bool add(CubeField field, const FieldHeader& header, size_t field_count) {
    if (!header.grid) {
      warnings_.push_back(fmt::format("{}: left out: {}", field.origin, header.grid_problem));
      return false;
    }
    uint32_t grid = 0;
    while (grid < input_.grids.size() && !input_.grids[grid].same_grid(*header.grid)) ++grid;
    if (grid == input_.grids.size()) input_.grids.push_back(*header.grid);
    field.grid = grid;
    field.codec = codec_for_field(header, field_count, options_.gribberish_codec);
    field.fallback_codec = floe_grib_codec(header.field_index);
    if (!field.member && field.ensemble_product.empty() && options_.layout == CubeLayout::kGefs) {
      field.member = gefs_member_from_name(files_[field.source].location);
    }
    json attributes = field_attributes(header);
    attributes.update(field.attributes);
    field.attributes = std::move(attributes);
    input_.fields.push_back(std::move(field));
    return true;
  }

  void warn(std::string warning) { warnings_.push_back(std::move(warning)); }
  CubeInput& input() { return input_; }
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  std::span<const GribFile> files_;
  const GribOptions& options_;
  CubeInput input_;
  std::vector<std::string> warnings_;
};

// A sidecar line naming another ensemble member than the message carries (product templates 4.1,
// 4.11): the sidecar of another member's file, whose offsets happen to fit. Warns about the line.
bool member_disagrees(FieldCollector& collector, const std::string& where,
                      std::optional<int32_t> sidecar, std::optional<int32_t> message) {
  if (!sidecar || !message || *sidecar == *message) return false;
  collector.warn(fmt::format(
      "{}: the message is ensemble member {}; the sidecar does not match the file, the field is "
      "left out",
      where, *message));
  return true;
}

// "<sidecar URL>: line <line>", how warnings name a sidecar line.
std::string sidecar_line(const GribFile& file, std::string_view line) {
  return fmt::format("{}: line {}", file.sidecar_url.empty() ? file.location : file.sidecar_url,
                     line);
}

std::string parameter_from_inventory(const NoaaIdxEntry& entry) {
  if (auto unknown = parse_wgrib2_unknown_parameter(entry.variable)) {
    return fmt::format("var{}_{}_{}", unknown->discipline, unknown->category, unknown->number);
  }
  return entry.variable;
}

}  // namespace

json floe_grib_codec(uint32_t field_index) {
  return json{{"name", "floe.grib"}, {"configuration", {{"field", field_index}}}};
}

json codec_for_field(const FieldHeader& field, size_t field_count, bool allow_gribberish) {
  static constexpr uint16_t kGribberishTemplates[] = {0, 2, 3, 40, 41, 42};
  const bool template_ok =
      std::find(std::begin(kGribberishTemplates), std::end(kGribberishTemplates),
                field.representation_template) != std::end(kGribberishTemplates);
  // gribberish's north_up reverses the rows of +j grids and undoes no other flag: the same layout
  // as floe.grib for scanning modes 0 and 64 only.
  const bool scanning_ok = field.scanning_flags == 0x00 || field.scanning_flags == 0x40;
  // gribberish 1.9 reads 5.3's first values and overall minimum whatever the differencing order:
  // the order 0 ecCodes 2.28 writes (no such descriptors) makes it panic ("cannot load 32 bits from
  // a 0-bit region"), which floe.grib decodes.
  const bool differencing_ok = field.representation_template != 3 ||
                               field.spatial_differencing_order == 1 ||
                               field.spatial_differencing_order == 2;
  if (allow_gribberish && field.edition == 2 && field_count == 1 && field.field_index == 0 &&
      template_ok && scanning_ok && differencing_ok) {
    return json{
        {"name", "gribberish"},
        {"configuration",
         {{"var", field.parameter_name}, {"north_up", true}, {"adjust_longitude_range", false}}}};
  }
  return floe_grib_codec(field.field_index);
}

Result<virt::VirtualDataset> virtualize_grib(io::BlockCache& cache, std::span<const GribFile> files,
                                             const GribOptions& options) {
  if (files.empty()) return make_error(ErrorCode::kInvalidArgument, "no GRIB files to virtualize");
  std::vector<std::vector<NoaaIdxEntry>> inventories(files.size());
  std::vector<std::vector<EcmwfIndexEntry>> indexes(files.size());
  std::vector<MessageRequest> requests;
  std::vector<RequestOrigin> origins;

  // Sidecars.
  std::vector<std::string> sidecar_warnings;  // sidecars that do not parse or do not fit their file
  std::vector<ScanTarget> scan_targets;
  std::vector<size_t> scanned_files;
  for (size_t f = 0; f < files.size(); ++f) {
    const GribFile& file = files[f];
    if (!file.sidecar) {
      scan_targets.push_back({file.store, file.key, file.location});
      scanned_files.push_back(f);
      continue;
    }
    FLOE_ASSIGN_OR_RETURN(uint64_t size, cache.object_size(file.store, file.key));
    const std::string& sidecar_url =
        file.sidecar_url.empty() ? file.location + " sidecar" : file.sidecar_url;
    if (detect_sidecar_format(*file.sidecar) == SidecarFormat::kEcmwfIndex) {
      Result<std::vector<EcmwfIndexEntry>> parsed =
          parse_ecmwf_index(*file.sidecar, sidecar_url, size);
      if (!parsed.ok()) {
        sidecar_warnings.push_back(
            fmt::format("{}; the file {} is left out", parsed.error().to_string(), file.location));
        continue;
      }
      indexes[f] = std::move(parsed).value();
      for (size_t e = 0; e < indexes[f].size(); ++e) {
        const EcmwfIndexEntry& entry = indexes[f][e];
        requests.push_back(
            {file.store, file.key, file.location, entry.offset, entry.length, false, 1});
        origins.push_back({f, Source::kEcmwf, {e}});
      }
      continue;
    }
    Result<std::vector<NoaaIdxEntry>> parsed = parse_noaa_idx(*file.sidecar, sidecar_url, size);
    if (!parsed.ok()) {
      sidecar_warnings.push_back(
          fmt::format("{}; the file {} is left out", parsed.error().to_string(), file.location));
      continue;
    }
    inventories[f] = std::move(parsed).value();
    const auto& entries = inventories[f];
    for (size_t e = 0; e < entries.size();) {
      RequestOrigin origin{f, Source::kNoaa, {}};
      uint32_t fields_needed = 1;
      size_t next = e;
      while (next < entries.size() && entries[next].message == entries[e].message) {
        origin.entries.push_back(next);
        fields_needed = std::max(fields_needed, entries[next].submessage);
        ++next;
      }
      requests.push_back({file.store, file.key, file.location, entries[e].offset, entries[e].length,
                          entries[e].extends_to_end_of_file, fields_needed});
      origins.push_back(std::move(origin));
      e = next;
    }
  }
  // Files without sidecars are scanned together.
  if (!scan_targets.empty()) {
    std::vector<Result<ScannedFile>> scanned = scan_messages(cache, scan_targets, options.scan);
    for (size_t k = 0; k < scanned.size(); ++k) {
      if (!scanned[k].ok()) return std::move(scanned[k]).error();
      const size_t f = scanned_files[k];
      for (const MessageExtent& extent : scanned[k]->messages) {
        requests.push_back({files[f].store, files[f].key, files[f].location, extent.offset,
                            extent.length, false, 1});
        origins.push_back({f, Source::kScan, {}});
      }
    }
  }

  std::vector<Result<MessageHeader>> headers =
      read_message_headers(cache, requests, options.headers);
  FieldCollector collector(files, options);
  for (std::string& warning : sidecar_warnings) collector.warn(std::move(warning));
  for (size_t r = 0; r < requests.size(); ++r) {
    const RequestOrigin& origin = origins[r];
    if (!headers[r].ok()) {
      collector.warn(fmt::format("{}; the message is left out", headers[r].error().to_string()));
      continue;
    }
    const MessageHeader& message = *headers[r];
    const size_t field_count = message.fields.size();
    auto base_field = [&](const FieldHeader& header) {
      CubeField field;
      field.source = static_cast<uint32_t>(origin.file);
      field.offset = message.offset;
      field.length = message.length;
      field.field_index = header.field_index;
      field.reference_time = header.reference_time;
      field.step_seconds = header.step_seconds;
      field.interval_start_seconds = header.interval_start_seconds;
      field.statistic = header.statistic;
      field.member = header.member;
      return field;
    };
    switch (origin.source) {
      case Source::kScan:
        for (const FieldHeader& header : message.fields) {
          CubeField field = base_field(header);
          field.parameter = header.parameter_name;
          field.level_type = header.level_type;
          field.level = header.level;
          field.level_bound = header.level_bound;
          field.origin = fmt::format(
              "{}: message at byte offset {}{}", files[origin.file].location, message.offset,
              field_count > 1 ? fmt::format(", field {}", header.field_index) : "");
          collector.add(std::move(field), header, field_count);
        }
        break;
      case Source::kNoaa:
        for (size_t e : origin.entries) {
          const NoaaIdxEntry& entry = inventories[origin.file][e];
          const uint32_t index = entry.submessage == 0 ? 0 : entry.submessage - 1;
          const FieldHeader& header = message.fields[index];
          const std::string where =
              sidecar_line(files[origin.file], fmt::format("\"{}\"", entry.raw_line));
          if (!same_reference_time(entry.reference_time, entry.date.size(),
                                   header.reference_time)) {
            collector.warn(fmt::format(
                "{}: the message's reference time is {}; the sidecar does not match the "
                "file, the field is left out",
                where, format_iso8601(header.reference_time)));
            continue;
          }
          if (entry.forecast.kind != ForecastTime::Kind::kUnparsed &&
              entry.forecast.end_seconds != header.step_seconds) {
            collector.warn(fmt::format(
                "{}: the message is valid {} s after its reference time; the sidecar does "
                "not match the file, the field is left out",
                where, header.step_seconds));
            continue;
          }
          if (entry.ensemble &&
              member_disagrees(collector, where, entry.ensemble->member(), header.member)) {
            continue;
          }
          CubeField field = base_field(header);
          field.parameter = parameter_from_inventory(entry);
          field.level_type = entry.level.type;
          field.level = entry.level.value;
          field.level_bound = entry.level.value2;
          if (entry.forecast.kind == ForecastTime::Kind::kInterval)
            field.statistic = entry.forecast.statistic;
          if (entry.ensemble) {
            field.member = entry.ensemble->member();
            field.ensemble_product = entry.ensemble->derived;
          }
          field.attributes = json{{"GRIB_wgrib2_level", entry.level.text}};
          field.origin = where;
          collector.add(std::move(field), header, field_count);
        }
        break;
      case Source::kEcmwf: {
        const EcmwfIndexEntry& entry = indexes[origin.file][origin.entries[0]];
        const FieldHeader& header = message.fields[0];
        const std::string where = sidecar_line(files[origin.file], entry.raw_line);
        if (entry.reference_time != header.reference_time ||
            entry.step.end_seconds != header.step_seconds) {
          collector.warn(fmt::format(
              "{}: the message is for {} + {} s; the sidecar does not match the file, the "
              "field is left out",
              where, format_iso8601(header.reference_time), header.step_seconds));
          continue;
        }
        if (member_disagrees(collector, where, entry.member(), header.member)) continue;
        CubeField field = base_field(header);
        field.parameter = entry.param;
        field.level_type = entry.levtype;
        field.level = entry.level;
        field.member = entry.member();
        // IFS cycle 50r1 moved the ENS control to oper/fc: it is member 0 of an ENS datacube.
        if (!field.member && options.layout == CubeLayout::kEcmwfEns && entry.type == "fc")
          field.member = 0;
        if (entry.type == "em" || entry.type == "es") field.ensemble_product = entry.type;
        field.origin = where;
        collector.add(std::move(field), header, field_count);
        break;
      }
    }
  }
  if (collector.input().fields.empty()) {
    return make_error(ErrorCode::kCorrupt, "no GRIB field could be placed: {}",
                      collector.warnings().empty() ? std::string("the files hold no messages")
                                                   : collector.warnings().front());
  }
  FLOE_ASSIGN_OR_RETURN(virt::VirtualDataset dataset,
                        build_forecast_cube(collector.input(), options.layout));
  std::vector<std::string> warnings = std::move(collector.warnings());
  warnings.insert(warnings.end(), dataset.warnings.begin(), dataset.warnings.end());
  dataset.warnings = std::move(warnings);
  return dataset;
}

}  // namespace floe::formats::grib2
