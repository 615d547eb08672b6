// Message scanning without a sidecar: a small state machine per file (first bytes, indicator
// sections, GRIB1 section lengths) driven in rounds, each round one BlockCache batch over all
// files.
#include "floe/formats/grib2/scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

namespace floe::formats::grib2 {

namespace {

// GRIB2 section 0 is 16 bytes; GRIB1's indicator is 8, and its section 1 starts with a 3-byte
// length and has the section 2/3 presence flags in octet 8 (file octet 16). So 16 bytes serve both
// editions.
constexpr uint64_t kHeaderBytes = 16;
constexpr uint64_t kEndMarkerBytes = 4;
// Smallest possible messages: GRIB2 section 0 (16) + section 1 (21) + "7777"; GRIB1 indicator (8) +
// section 1 (28) + "7777".
constexpr uint64_t kMinimumGrib2Length = 16 + 21 + 4;
constexpr uint64_t kMinimumGrib1Length = 8 + 28 + 4;

uint64_t load_be(std::span<const std::byte> bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value = (value << 8) | std::to_integer<uint64_t>(bytes[offset + i]);
  return value;
}

bool starts_with(std::span<const std::byte> bytes, std::string_view text) {
  if (bytes.size() < text.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::to_integer<char>(bytes[i]) != text[i]) return false;
  }
  return true;
}

class FileScanner {
 public:
  FileScanner(io::BlockCache& cache, const ScanTarget& target, const ScanOptions& options)
      : cache_(cache), target_(target), options_(options) {}

  // Opens the file (its size, and the first bytes searched for the first message).
  void start() {
    auto meta = cache_.open(target_.store, target_.key, options_.first_read_bytes);
    if (!meta.ok()) return fail(std::move(meta).error());
    result_.size = meta->size;
    if (result_.size == 0) {
      return fail(make_error(ErrorCode::kCorrupt, "{}: the file is empty, not GRIB", target_.url));
    }
    if (result_.size > options_.first_read_bytes) {
      cache_.set_block_size(target_.store, target_.key, options_.block_size);
    }
    phase_ = Phase::kFirstBytes;
  }

  bool active() const { return phase_ != Phase::kDone; }

  io::BlockCache::Read next_read() const {
    io::BlockCache::Read read{target_.store, target_.key, 0, 0};
    switch (phase_) {
      case Phase::kFirstBytes:
        read.length = std::min(result_.size, options_.first_read_bytes);
        break;
      case Phase::kHeader: {
        // The previous message's "7777" and this one's indicator section, in one read.
        read.offset = result_.messages.empty() ? position_ : position_ - kEndMarkerBytes;
        read.length = std::min(result_.size, position_ + kHeaderBytes) - read.offset;
        break;
      }
      case Phase::kGrib1SectionLength:
        read.offset = section_position_;
        read.length = 3;
        break;
      case Phase::kDone:
        break;
    }
    return read;
  }

  void consume(Result<Bytes> bytes) {
    if (!bytes.ok()) return fail(std::move(bytes).error());
    switch (phase_) {
      case Phase::kFirstBytes:
        return find_first_message(bytes->span());
      case Phase::kHeader:
        return read_header(bytes->span());
      case Phase::kGrib1SectionLength:
        return read_grib1_section_length(bytes->span());
      case Phase::kDone:
        return;
    }
  }

  Result<ScannedFile> take() {
    if (error_) return std::move(*error_);
    return std::move(result_);
  }

 private:
  enum class Phase { kFirstBytes, kHeader, kGrib1SectionLength, kDone };

  void fail(Error error) {
    error_ = std::move(error);
    phase_ = Phase::kDone;
  }
  void corrupt(uint64_t offset, std::string_view message) {
    fail(
        make_error(ErrorCode::kCorrupt, "{}: at byte offset {}: {}", target_.url, offset, message));
  }

  void find_first_message(std::span<const std::byte> bytes) {
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t found = text.find("GRIB");
    if (found == std::string_view::npos) {
      return fail(make_error(ErrorCode::kCorrupt,
                             "{}: no GRIB message in the first {} bytes: not a GRIB file",
                             target_.url, bytes.size()));
    }
    if (found > 0) {
      result_.warnings.push_back(
          fmt::format("{}: {} bytes before the first GRIB message (at offset {}) skipped",
                      target_.url, found, found));
    }
    position_ = found;
    phase_ = Phase::kHeader;
  }

  void read_header(std::span<const std::byte> bytes) {
    if (!result_.messages.empty()) {
      const MessageExtent& previous = result_.messages.back();
      if (!starts_with(bytes, "7777")) {
        return corrupt(
            position_ - kEndMarkerBytes,
            fmt::format("the message at offset {} ({} bytes, edition {}) does not end in "
                        "\"7777\": its length field is wrong or the file is damaged",
                        previous.offset, previous.length, previous.edition));
      }
      bytes = bytes.subspan(kEndMarkerBytes);
    }
    if (position_ == result_.size) {
      phase_ = Phase::kDone;
      return;
    }
    if (!starts_with(bytes, "GRIB")) {
      if (result_.messages.empty())
        return corrupt(position_, "no \"GRIB\" where the first message starts");
      const MessageExtent& previous = result_.messages.back();
      return corrupt(
          position_,
          fmt::format("{} bytes that are not a GRIB message follow the message at offset {} "
                      "(garbage between messages or at the end of the file)",
                      result_.size - position_, previous.offset));
    }
    auto indicator = parse_indicator_section(bytes);
    if (!indicator) {
      if (bytes.size() >= 8 && std::to_integer<int>(bytes[7]) != 1 &&
          std::to_integer<int>(bytes[7]) != 2) {
        return fail(
            make_error(ErrorCode::kUnsupported,
                       "{}: at byte offset {}: GRIB edition {} (floe reads editions 1 and 2)",
                       target_.url, position_, std::to_integer<int>(bytes[7])));
      }
      return corrupt(position_,
                     fmt::format("the GRIB header is cut short: the file ends {} bytes after it "
                                 "starts",
                                 result_.size - position_));
    }
    current_ = MessageExtent{position_, indicator->length, indicator->edition};
    if (indicator->grib1_large) {
      // Section 1's length (octets 9-11) and its flags (octet 16) are in the header bytes.
      if (bytes.size() < kHeaderBytes) return corrupt(position_, "GRIB1 section 1 is cut short");
      const uint64_t section1_length = load_be(bytes, 8, 3);
      grib1_flags_ = std::to_integer<uint8_t>(bytes[15]);
      section_position_ = position_ + 8 + section1_length;
      grib1_next_section_ = (grib1_flags_ & 0x80) ? 2 : (grib1_flags_ & 0x40) ? 3 : 4;
      phase_ = Phase::kGrib1SectionLength;
      if (section1_length < 28 || section_position_ + 3 > result_.size) {
        return corrupt(position_,
                       fmt::format("GRIB1 section 1 length {} is impossible", section1_length));
      }
      return;
    }
    finish_message();
  }

  void read_grib1_section_length(std::span<const std::byte> bytes) {
    const uint64_t length = load_be(bytes, 0, 3);
    if (grib1_next_section_ == 4) {
      current_.length = grib1_large_message_length(current_.length, length);
      return finish_message();
    }
    if (length < 3) {
      return corrupt(section_position_,
                     fmt::format("GRIB1 section {} has length {}", grib1_next_section_, length));
    }
    section_position_ += length;
    grib1_next_section_ = grib1_next_section_ == 2 && (grib1_flags_ & 0x40) ? 3 : 4;
    if (section_position_ + 3 > result_.size) {
      return corrupt(current_.offset,
                     "the sections of a large GRIB1 message run past the end of the file");
    }
  }

  void finish_message() {
    const uint64_t minimum = current_.edition == 2 ? kMinimumGrib2Length : kMinimumGrib1Length;
    if (current_.length < minimum) {
      return corrupt(current_.offset, fmt::format("GRIB{} message length {} is below the smallest "
                                                  "possible message ({} bytes)",
                                                  current_.edition, current_.length, minimum));
    }
    if (current_.length > result_.size - current_.offset) {
      return corrupt(
          current_.offset,
          fmt::format("the GRIB{} message declares {} bytes but the file has only {} from "
                      "there: the file is truncated",
                      current_.edition, current_.length, result_.size - current_.offset));
    }
    result_.messages.push_back(current_);
    position_ = current_.offset + current_.length;
    phase_ = Phase::kHeader;
  }

  io::BlockCache& cache_;
  const ScanTarget& target_;
  const ScanOptions& options_;
  Phase phase_ = Phase::kDone;
  uint64_t position_ = 0;  // start of the message being read
  MessageExtent current_;
  uint64_t section_position_ = 0;  // GRIB1 large messages: the section whose length is read next
  int grib1_next_section_ = 0;
  uint8_t grib1_flags_ = 0;
  ScannedFile result_;
  std::optional<Error> error_;
};

}  // namespace

std::optional<IndicatorSection> parse_indicator_section(std::span<const std::byte> header) {
  if (header.size() < 8 || !starts_with(header, "GRIB")) return std::nullopt;
  IndicatorSection indicator;
  indicator.edition = std::to_integer<uint8_t>(header[7]);
  if (indicator.edition == 1) {
    indicator.length = load_be(header, 4, 3);
    indicator.grib1_large = (indicator.length & 0x800000) != 0;
    return indicator;
  }
  if (indicator.edition == 2 && header.size() >= 16) {
    indicator.length = load_be(header, 8, 8);
    return indicator;
  }
  return std::nullopt;
}

uint64_t grib1_large_message_length(uint64_t length_field, uint64_t section4_length) {
  if (section4_length >= 120) return length_field;
  return (length_field & 0x7FFFFF) * 120 - section4_length + 4;
}

std::vector<Result<ScannedFile>> scan_messages(io::BlockCache& cache,
                                               std::span<const ScanTarget> files,
                                               const ScanOptions& options) {
  std::vector<FileScanner> scanners;
  scanners.reserve(files.size());
  for (const ScanTarget& file : files) {
    scanners.emplace_back(cache, file, options);
    scanners.back().start();
  }
  std::vector<io::BlockCache::Read> reads;
  std::vector<size_t> readers;
  while (true) {
    reads.clear();
    readers.clear();
    for (size_t i = 0; i < scanners.size(); ++i) {
      if (!scanners[i].active()) continue;
      reads.push_back(scanners[i].next_read());
      readers.push_back(i);
    }
    if (reads.empty()) break;
    std::vector<Result<Bytes>> results = cache.read(reads);
    for (size_t i = 0; i < readers.size(); ++i) scanners[readers[i]].consume(std::move(results[i]));
  }
  std::vector<Result<ScannedFile>> scanned;
  scanned.reserve(scanners.size());
  for (FileScanner& scanner : scanners) scanned.push_back(scanner.take());
  return scanned;
}

}  // namespace floe::formats::grib2
