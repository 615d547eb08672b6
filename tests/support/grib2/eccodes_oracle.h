// The GRIB tests' oracle: ecCodes (libeccodes) reads and writes messages; these helpers split files
// into messages, decode every field of a message the ecCodes way, build test messages from ecCodes
// samples or real messages, and lay ecCodes' storage-order values out north-up by WMO table 3.4.
// Shared by the GRIB unit tests and the fixture tools; ecCodes errors throw std::runtime_error
// (a test that meets one fails with its message).
#pragma once

#include <eccodes.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace floe::grib_test {

using MessageBytes = std::vector<std::uint8_t>;

std::string testdata_dir();  // FLOE_TESTDATA or the build's default
MessageBytes read_file(const std::string& path);
void write_file(const std::string& path, const MessageBytes& bytes);

// Every message of a file, as ecCodes delimits them (GRIB1 and GRIB2).
std::vector<MessageBytes> split_messages(const MessageBytes& file);

// One field as ecCodes decodes it: values in storage order, NaN where ecCodes reports missing.
struct OracleField {
  std::vector<double> values;
  long edition = 0;
  long ni = 0;
  long nj = 0;
  long scanning_mode = 0;
  long number_of_missing = 0;
  std::string packing_type;
};

// Every field of `message` (several for multi-field GRIB2 messages). Throws on ecCodes errors.
std::vector<OracleField> eccodes_fields(const MessageBytes& message);

// Latitudes and longitudes of the first field's points in storage order (ecCodes' geoiterator).
void eccodes_coordinates(const MessageBytes& message, std::vector<double>& latitudes,
                         std::vector<double>& longitudes);

// Storage order -> north-up layout (first row northern-most, rows west to east) by table 3.4: bit
// 1 (128) -i, bit 2 (64) +j, bit 3 (32) j consecutive, bit 4 (16) alternate rows reversed.
std::vector<double> north_up(const std::vector<double>& storage, long ni, long nj, long scanning);

// A message under construction: an ecCodes handle from a sample or from message bytes.
class MessageBuilder {
 public:
  static MessageBuilder from_sample(const std::string& sample);
  static MessageBuilder from_message(const MessageBytes& message);
  MessageBuilder(MessageBuilder&& other) noexcept;
  MessageBuilder(const MessageBuilder&) = delete;
  ~MessageBuilder();

  MessageBuilder& set(const std::string& key, long value);
  MessageBuilder& set(const std::string& key, double value);
  MessageBuilder& set(const std::string& key, const std::string& value);
  MessageBuilder& set_values(const std::vector<double>& values);
  long get_long(const std::string& key) const;
  MessageBytes bytes() const;
  codes_handle* handle() const { return handle_; }

 private:
  explicit MessageBuilder(codes_handle* handle) : handle_(handle) {}
  codes_handle* handle_;
};

// A smooth test field with structure in both directions and a few large jumps.
std::vector<double> test_field(long ni, long nj, double offset = 250.0);

// Offset of the first section `number` of a GRIB2 message (the message must have one).
std::size_t section_at(const MessageBytes& message, int number);
// Writes `total` as the GRIB2 message length in section 0.
void set_total_length(MessageBytes& message, std::uint64_t total);
// Appends "7777" and writes the message's length into section 0: a GRIB2 message put together from
// sections is complete.
void end_message(MessageBytes& message);

// Joins fields into one multi-field GRIB2 message (sections 4-7 repeated after the first field).
MessageBytes multi_field_message(const std::vector<MessageBytes>& single_field_messages);

// Replaces the bitmap section of fields 1.. of a multi-field message with indicator 254 ("the
// previous bitmap applies").
MessageBytes reuse_previous_bitmaps(const MessageBytes& message);

}  // namespace floe::grib_test
