// ecCodes as the GRIB tests' oracle and message writer (see eccodes_oracle.h).
#include "eccodes_oracle.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>

namespace floe::grib_test {
namespace {

// ecCodes reports missing points as `missingValue`; this one cannot be a decoded value.
constexpr double kMissingSentinel = -3.0e300;

struct HandleDeleter {
  void operator()(codes_handle* handle) const { codes_handle_delete(handle); }
};
using Handle = std::unique_ptr<codes_handle, HandleDeleter>;

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};

long get_long(codes_handle* handle, const char* key) {
  long value = 0;
  if (codes_get_long(handle, key, &value) != 0) return -1;
  return value;
}

// Throws naming `what` when an ecCodes call failed.
void check(int status, const std::string& what) {
  if (status != 0) {
    throw std::runtime_error("ecCodes " + what + ": " + codes_get_error_message(status));
  }
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

OracleField read_field(codes_handle* handle) {
  OracleField field;
  field.edition = get_long(handle, "edition");
  field.ni = get_long(handle, "Ni");
  field.nj = get_long(handle, "Nj");
  field.scanning_mode = get_long(handle, "scanningMode");
  char packing[64] = {};
  std::size_t packing_length = sizeof(packing);
  if (codes_get_string(handle, "packingType", packing, &packing_length) == 0) {
    field.packing_type = packing;
  }
  check(codes_set_double(handle, "missingValue", kMissingSentinel), "set missingValue");
  std::size_t count = 0;
  check(codes_get_size(handle, "values", &count), "size of values");
  field.values.resize(count);
  check(codes_get_double_array(handle, "values", field.values.data(), &count), "get values");
  for (double& value : field.values) {
    if (value == kMissingSentinel) {
      value = std::numeric_limits<double>::quiet_NaN();
      ++field.number_of_missing;
    }
  }
  return field;
}

}  // namespace

std::string testdata_dir() {
  const char* overridden = std::getenv("FLOE_TESTDATA");
  return overridden != nullptr ? overridden : FLOE_TESTDATA_DEFAULT;
}

MessageBytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return MessageBytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const MessageBytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<MessageBytes> split_messages(const MessageBytes& file) {
  codes_grib_multi_support_off(nullptr);
  std::unique_ptr<FILE, FileCloser> stream(
      fmemopen(const_cast<std::uint8_t*>(file.data()), file.size(), "rb"));
  std::vector<MessageBytes> messages;
  int error = 0;
  while (codes_handle* raw =
             codes_handle_new_from_file(nullptr, stream.get(), PRODUCT_GRIB, &error)) {
    Handle handle(raw);
    const void* message = nullptr;
    std::size_t length = 0;
    codes_get_message(handle.get(), &message, &length);
    const auto* bytes = static_cast<const std::uint8_t*>(message);
    messages.emplace_back(bytes, bytes + length);
  }
  check(error, "split messages");
  return messages;
}

std::vector<OracleField> eccodes_fields(const MessageBytes& message) {
  std::vector<OracleField> fields;
  if (message.size() > 7 && message[7] == 1) {
    Handle handle(codes_handle_new_from_message_copy(nullptr, message.data(), message.size()));
    if (!handle) throw std::runtime_error("ecCodes cannot read the GRIB1 message");
    fields.push_back(read_field(handle.get()));
    return fields;
  }
  codes_grib_multi_support_on(nullptr);
  MessageBytes copy = message;
  void* data = copy.data();
  std::size_t length = copy.size();
  int error = 0;
  while (codes_handle* raw =
             codes_grib_handle_new_from_multi_message(nullptr, &data, &length, &error)) {
    Handle handle(raw);
    fields.push_back(read_field(handle.get()));
  }
  codes_grib_multi_support_off(nullptr);
  check(error, "read the fields of a message");
  return fields;
}

void eccodes_coordinates(const MessageBytes& message, std::vector<double>& latitudes,
                         std::vector<double>& longitudes) {
  Handle handle(codes_handle_new_from_message_copy(nullptr, message.data(), message.size()));
  if (!handle) throw std::runtime_error("ecCodes cannot read the message for its coordinates");
  std::size_t count = 0;
  check(codes_get_size(handle.get(), "values", &count), "size of values");
  latitudes.resize(count);
  longitudes.resize(count);
  std::vector<double> values(count);
  check(codes_grib_get_data(handle.get(), latitudes.data(), longitudes.data(), values.data()),
        "coordinates (codes_grib_get_data)");
}

std::vector<double> north_up(const std::vector<double>& storage, long ni, long nj, long scanning) {
  std::vector<double> out(storage.size(), std::numeric_limits<double>::quiet_NaN());
  const bool i_negative = (scanning & 128) != 0;
  const bool j_positive = (scanning & 64) != 0;
  const bool j_consecutive = (scanning & 32) != 0;
  const bool alternating = (scanning & 16) != 0;
  for (long k = 0; k < static_cast<long>(storage.size()); ++k) {
    long row;
    long column;
    if (!j_consecutive) {
      const long line = k / ni;
      const long along = k % ni;
      row = j_positive ? nj - 1 - line : line;
      const bool reversed = i_negative != (alternating && line % 2 == 1);
      column = reversed ? ni - 1 - along : along;
    } else {
      const long line = k / nj;
      const long along = k % nj;
      column = i_negative ? ni - 1 - line : line;
      const bool northward = j_positive != (alternating && line % 2 == 1);
      row = northward ? nj - 1 - along : along;
    }
    out[row * ni + column] = storage[k];
  }
  return out;
}

MessageBuilder MessageBuilder::from_sample(const std::string& sample) {
  codes_handle* handle = codes_grib_handle_new_from_samples(nullptr, sample.c_str());
  if (handle == nullptr) throw std::runtime_error("no ecCodes sample " + sample);
  return MessageBuilder(handle);
}

MessageBuilder MessageBuilder::from_message(const MessageBytes& message) {
  codes_handle* handle =
      codes_handle_new_from_message_copy(nullptr, message.data(), message.size());
  if (handle == nullptr) throw std::runtime_error("ecCodes cannot read the message");
  return MessageBuilder(handle);
}

MessageBuilder::MessageBuilder(MessageBuilder&& other) noexcept : handle_(other.handle_) {
  other.handle_ = nullptr;
}

MessageBuilder::~MessageBuilder() {
  if (handle_ != nullptr) codes_handle_delete(handle_);
}

MessageBuilder& MessageBuilder::set(const std::string& key, long value) {
  const int status = codes_set_long(handle_, key.c_str(), value);
  if (status != 0) {
    throw std::runtime_error("ecCodes set " + key + ": " + codes_get_error_message(status));
  }
  return *this;
}

MessageBuilder& MessageBuilder::set(const std::string& key, double value) {
  const int status = codes_set_double(handle_, key.c_str(), value);
  if (status != 0) {
    throw std::runtime_error("ecCodes set " + key + ": " + codes_get_error_message(status));
  }
  return *this;
}

MessageBuilder& MessageBuilder::set(const std::string& key, const std::string& value) {
  std::size_t length = value.size();
  const int status = codes_set_string(handle_, key.c_str(), value.c_str(), &length);
  if (status != 0) {
    throw std::runtime_error("ecCodes set " + key + "=" + value + ": " +
                             codes_get_error_message(status));
  }
  return *this;
}

MessageBuilder& MessageBuilder::set_values(const std::vector<double>& values) {
  const int status = codes_set_double_array(handle_, "values", values.data(), values.size());
  if (status != 0) {
    throw std::runtime_error(std::string("ecCodes set values: ") + codes_get_error_message(status));
  }
  return *this;
}

long MessageBuilder::get_long(const std::string& key) const {
  return grib_test::get_long(handle_, key.c_str());
}

MessageBytes MessageBuilder::bytes() const {
  const void* message = nullptr;
  std::size_t length = 0;
  const int status = codes_get_message(handle_, &message, &length);
  if (status != 0) {
    throw std::runtime_error(std::string("ecCodes get message: ") +
                             codes_get_error_message(status));
  }
  const auto* bytes = static_cast<const std::uint8_t*>(message);
  return MessageBytes(bytes, bytes + length);
}

std::vector<double> test_field(long ni, long nj, double offset) {
  std::vector<double> values(static_cast<std::size_t>(ni * nj));
  for (long j = 0; j < nj; ++j) {
    for (long i = 0; i < ni; ++i) {
      double value = offset + 15.0 * std::sin(0.31 * i) * std::cos(0.17 * j) + 0.05 * i * j -
                     0.3 * j + ((i * 7 + j * 3) % 11) * 0.125;
      if ((i + 2 * j) % 37 == 0) value += 40.0;  // a few jumps for the group splitting
      values[j * ni + i] = value;
    }
  }
  return values;
}

MessageBytes multi_field_message(const std::vector<MessageBytes>& single_field_messages) {
  codes_multi_handle* multi = codes_grib_multi_handle_new(nullptr);
  for (std::size_t k = 0; k < single_field_messages.size(); ++k) {
    const MessageBytes& message = single_field_messages[k];
    Handle handle(codes_handle_new_from_message_copy(nullptr, message.data(), message.size()));
    codes_grib_multi_handle_append(handle.get(), k == 0 ? 3 : 4, multi);
  }
  char* buffer = nullptr;
  std::size_t size = 0;
  FILE* stream = open_memstream(&buffer, &size);
  codes_grib_multi_handle_write(multi, stream);
  std::fclose(stream);
  codes_grib_multi_handle_delete(multi);
  MessageBytes bytes(buffer, buffer + size);
  std::free(buffer);
  return bytes;
}

MessageBytes reuse_previous_bitmaps(const MessageBytes& message) {
  MessageBytes out(message.begin(), message.begin() + 16);
  std::size_t at = 16;
  int bitmaps = 0;
  while (std::memcmp(message.data() + at, "7777", 4) != 0) {
    const std::uint32_t length = be32(message.data() + at);
    const std::uint8_t number = message[at + 4];
    if (number == 6 && bitmaps++ > 0) {
      const std::uint8_t reuse[6] = {0, 0, 0, 6, 6, 254};
      out.insert(out.end(), reuse, reuse + 6);
    } else {
      out.insert(out.end(), message.begin() + at, message.begin() + at + length);
    }
    at += length;
  }
  end_message(out);
  return out;
}

std::size_t section_at(const MessageBytes& message, int number) {
  std::size_t at = 16;
  while (message[at + 4] != number) at += be32(message.data() + at);
  return at;
}

void set_total_length(MessageBytes& message, std::uint64_t total) {
  for (int k = 15; k >= 8; --k) {
    message[k] = static_cast<std::uint8_t>(total);
    total >>= 8;
  }
}

void end_message(MessageBytes& message) {
  message.insert(message.end(), {'7', '7', '7', '7'});
  set_total_length(message, message.size());
}

}  // namespace floe::grib_test
