// Decoding what the real libraries wrote: zarr-python arrays (every codec and data type), HDF5
// filter output (h5py + hdf5plugin), imagecodecs, numcodecs, gzip and zstd buffers; and the same
// inputs damaged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "floe/codecs/pipeline.h"
#include "floe/codecs/sharding_codec.h"
#include "floe/zarr/array_metadata.h"

namespace floe::codecs {
namespace {

namespace fs = std::filesystem;
using Bytes8 = std::vector<std::uint8_t>;

std::optional<Bytes8> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  return Bytes8(text.begin(), text.end());
}

// The vectors, written once per test process into a temporary directory.
const fs::path& vector_dir() {
  static const fs::path dir = [] {
    const fs::path path =
        fs::temp_directory_path() / fmt::format("floe_codec_vectors_{}", ::getpid());
    fs::create_directories(path);
    const std::string command = fmt::format("{} {} {} > {}/log.txt 2>&1", FLOE_PYTHON,
                                            FLOE_CODEC_VECTOR_SCRIPT, path.string(), path.string());
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "make_codec_vectors.py failed: see %s/log.txt\n", path.c_str());
      return fs::path{};
    }
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(fs::temp_directory_path() / fmt::format("floe_codec_vectors_{}", ::getpid()),
                     ignored);
    });
    return path;
  }();
  return dir;
}

const Json& cases() {
  static const Json all = [] {
    if (vector_dir().empty()) return Json::array();
    std::ifstream in(vector_dir() / "cases.json");
    return Json::parse(in, nullptr, false);
  }();
  return all;
}

const CodecRegistry& registry() {
  static const CodecRegistry builtin = [] {
    CodecRegistry registry;
    register_builtin_codecs(registry);
    return registry;
  }();
  return builtin;
}

class CodecVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(vector_dir().empty())
        << "make_codec_vectors.py failed (its log.txt is named above)";
    ASSERT_TRUE(cases().is_array() && !cases().empty());
  }
};

// One encoded buffer with the pipeline that decodes it and the bytes it must decode to.
struct BufferCase {
  std::string name;
  Json codecs;
  ChunkLayout layout;
  Bytes8 encoded;
  Bytes8 expected;
};

std::vector<BufferCase> buffer_cases() {
  std::vector<BufferCase> out;
  for (const Json& entry : cases()) {
    if (entry["kind"] != "buffer") continue;
    BufferCase buffer;
    buffer.name = entry["name"];
    buffer.codecs = entry["codecs"];
    auto type = zarr::DataType::from_json(entry["data_type"]);
    EXPECT_TRUE(type.ok()) << buffer.name;
    if (!type.ok()) continue;
    buffer.layout.data_type = *type;
    buffer.layout.shape = entry["shape"].get<std::vector<std::uint64_t>>();
    buffer.encoded =
        read_file(vector_dir() / entry["encoded"].get<std::string>()).value_or(Bytes8{});
    buffer.expected =
        read_file(vector_dir() / entry["expected"].get<std::string>()).value_or(Bytes8{});
    out.push_back(std::move(buffer));
  }
  return out;
}

// One chunk of a zarr-python array: the stored bytes and where the chunk lies in the array.
struct ArrayCase {
  std::string name;
  zarr::ArrayMetadata metadata;
  fs::path directory;
  Bytes8 expected;  // the whole array, little-endian, C order
};

std::vector<ArrayCase> array_cases() {
  std::vector<ArrayCase> out;
  for (const Json& entry : cases()) {
    if (entry["kind"] != "zarr") continue;
    ArrayCase array;
    array.name = entry["name"];
    array.directory = vector_dir() / entry["path"].get<std::string>();
    const auto document = read_file(array.directory / "zarr.json").value_or(Bytes8{});
    auto metadata = zarr::ArrayMetadata::parse(
        std::string_view(reinterpret_cast<const char*>(document.data()), document.size()),
        array.name);
    EXPECT_TRUE(metadata.ok()) << array.name << ": "
                               << (metadata.ok() ? "" : metadata.error().to_string());
    if (!metadata.ok()) continue;
    array.metadata = std::move(*metadata);
    array.expected =
        read_file(vector_dir() / entry["expected"].get<std::string>()).value_or(Bytes8{});
    out.push_back(std::move(array));
  }
  return out;
}

ChunkLayout chunk_layout(const zarr::ArrayMetadata& metadata) {
  return ChunkLayout{metadata.data_type, metadata.chunk_shape, metadata.fill_value};
}

// Calls visit(chunk_index) for every chunk of the grid in C order.
template <typename Visit>
void for_each_chunk(const std::vector<std::uint64_t>& counts, Visit&& visit) {
  std::vector<std::uint64_t> index(counts.size(), 0);
  for (std::uint64_t extent : counts) {
    if (extent == 0) return;
  }
  while (true) {
    visit(index);
    std::size_t d = index.size();
    while (d > 0) {
      --d;
      if (++index[d] < counts[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (index.empty()) return;
  }
}

// Compares the in-bounds part of a decoded chunk with the expected array; returns the first
// mismatch.
std::string compare_chunk(const zarr::ArrayMetadata& metadata,
                          const std::vector<std::uint64_t>& chunk, const Bytes8& decoded,
                          const Bytes8& expected) {
  const std::size_t rank = metadata.shape.size();
  const std::size_t element = metadata.element_size();
  std::uint64_t chunk_elements = 1;
  for (std::uint64_t extent : metadata.chunk_shape) chunk_elements *= extent;
  for (std::uint64_t at = 0; at < chunk_elements; ++at) {
    std::uint64_t rest = at;
    std::uint64_t array_offset = 0;
    bool inside = true;
    std::vector<std::uint64_t> position(rank);
    for (std::size_t d = rank; d-- > 0;) {
      position[d] = chunk[d] * metadata.chunk_shape[d] + rest % metadata.chunk_shape[d];
      rest /= metadata.chunk_shape[d];
      if (position[d] >= metadata.shape[d]) inside = false;
    }
    if (!inside) continue;
    for (std::size_t d = 0; d < rank; ++d)
      array_offset = array_offset * metadata.shape[d] + position[d];
    if (std::memcmp(decoded.data() + at * element, expected.data() + array_offset * element,
                    element) != 0) {
      return fmt::format("element {} of the chunk (array element {}) differs", at, array_offset);
    }
  }
  return "";
}

std::string chunk_path(const zarr::ArrayMetadata& metadata,
                       const std::vector<std::uint64_t>& index) {
  return metadata.chunk_key(index);  // "/" separators are directories on a local store
}

TEST_F(CodecVectors, ZarrPythonArraysDecodeToWhatZarrPythonReads) {
  const auto arrays = array_cases();
  EXPECT_GE(arrays.size(), 60u);
  for (const ArrayCase& array : arrays) {
    SCOPED_TRACE(array.name);
    auto pipeline =
        CodecPipeline::create(registry(), array.metadata.codecs, chunk_layout(array.metadata));
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
    std::uint64_t array_bytes = array.metadata.element_size();
    for (std::uint64_t extent : array.metadata.shape) array_bytes *= extent;
    ASSERT_EQ(array.expected.size(), array_bytes);
    int stored = 0;
    for_each_chunk(array.metadata.chunk_counts(), [&](const std::vector<std::uint64_t>& index) {
      const auto encoded = read_file(array.directory / chunk_path(array.metadata, index));
      Bytes8 decoded(pipeline->layout().byte_size());
      if (!encoded) {  // a missing chunk reads as the fill value
        for (std::size_t at = 0; at < decoded.size(); at += array.metadata.element_size()) {
          std::memcpy(decoded.data() + at, array.metadata.fill_value.data(),
                      array.metadata.element_size());
        }
      } else {
        ++stored;
        const Status status = pipeline->decode(*encoded, decoded);
        ASSERT_TRUE(status.ok()) << chunk_path(array.metadata, index) << ": "
                                 << status.error().to_string();
      }
      const std::string mismatch = compare_chunk(array.metadata, index, decoded, array.expected);
      EXPECT_EQ(mismatch, "") << "chunk " << chunk_path(array.metadata, index);
    });
    EXPECT_GT(stored, 0);
  }
}

TEST_F(CodecVectors, BuffersDecodeToTheLibrariesInput) {
  const auto buffers = buffer_cases();
  EXPECT_GE(buffers.size(), 40u);
  for (const BufferCase& buffer : buffers) {
    SCOPED_TRACE(buffer.name);
    auto pipeline = CodecPipeline::create(registry(), buffer.codecs, buffer.layout);
    ASSERT_TRUE(pipeline.ok()) << pipeline.error().to_string();
    ASSERT_EQ(buffer.expected.size(), buffer.layout.byte_size());
    Bytes8 decoded(buffer.expected.size(), 0xa5);
    const Status status = pipeline->decode(buffer.encoded, decoded);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_TRUE(decoded == buffer.expected);
  }
}

// Every stored chunk and buffer, damaged: the pipeline must fail with an error naming a codec, not
// crash.
struct Damaged {
  std::string name;
  Json codecs;
  ChunkLayout layout;
  Bytes8 encoded;
  bool has_checksum;
};

std::vector<Damaged> damage_inputs() {
  std::vector<Damaged> out;
  for (const BufferCase& buffer : buffer_cases()) {
    const bool checksum = buffer.codecs.dump().find("fletcher32") != std::string::npos;
    out.push_back({buffer.name, buffer.codecs, buffer.layout, buffer.encoded, checksum});
  }
  for (const ArrayCase& array : array_cases()) {
    // The first stored chunk of each array.
    bool found = false;
    for_each_chunk(array.metadata.chunk_counts(), [&](const std::vector<std::uint64_t>& index) {
      if (found) return;
      auto encoded = read_file(array.directory / chunk_path(array.metadata, index));
      if (!encoded) return;
      found = true;
      const std::string codecs = array.metadata.codecs.dump();
      // Only a checksum over the whole chunk guarantees that any flipped byte is noticed.
      const bool checksum =
          array.metadata.codecs.back().value("name", "") == "crc32c" ||
          array.metadata.codecs.back().value("name", "") == "numcodecs.fletcher32";
      out.push_back({array.name, array.metadata.codecs, chunk_layout(array.metadata),
                     std::move(*encoded), checksum});
      (void)codecs;
    });
  }
  return out;
}

TEST_F(CodecVectors, TruncatedInputFails) {
  for (const Damaged& input : damage_inputs()) {
    SCOPED_TRACE(input.name);
    auto pipeline = CodecPipeline::create(registry(), input.codecs, input.layout);
    ASSERT_TRUE(pipeline.ok());
    Bytes8 decoded(input.layout.byte_size());
    for (std::size_t keep : {input.encoded.size() - 1, input.encoded.size() / 2, std::size_t{0}}) {
      if (keep >= input.encoded.size()) continue;
      const Bytes8 truncated(input.encoded.begin(), input.encoded.begin() + keep);
      const Status status = pipeline->decode(truncated, decoded);  // must not crash
      // An AEC (szip) stream has no end marker and libaec reads missing input as zeros, so a cut
      // stream can decode to the full size; every other framing notices.
      if (input.codecs.dump().find("szip") != std::string::npos) continue;
      EXPECT_FALSE(status.ok()) << "kept " << keep << " of " << input.encoded.size() << " bytes";
    }
  }
}

TEST_F(CodecVectors, FlippedBytesFailWhereAChecksumCoversThem) {
  int checked = 0;
  for (const Damaged& input : damage_inputs()) {
    SCOPED_TRACE(input.name);
    auto pipeline = CodecPipeline::create(registry(), input.codecs, input.layout);
    ASSERT_TRUE(pipeline.ok());
    Bytes8 decoded(input.layout.byte_size());
    for (std::size_t at = 0; at < input.encoded.size();
         at += std::max<std::size_t>(1, input.encoded.size() / 7)) {
      Bytes8 damaged = input.encoded;
      damaged[at] ^= 0x10;
      const Status status = pipeline->decode(damaged, decoded);  // must not crash
      if (input.has_checksum) {
        EXPECT_FALSE(status.ok()) << "byte " << at;
        if (!status.ok()) {
          EXPECT_TRUE(status.error().message().find("crc32c") != std::string::npos ||
                      status.error().message().find("fletcher32") != std::string::npos)
              << status.error().to_string();
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10);
}

TEST_F(CodecVectors, ALayoutOfAnotherSizeFails) {
  for (const Damaged& input : damage_inputs()) {
    SCOPED_TRACE(input.name);
    ChunkLayout larger = input.layout;
    if (larger.shape.empty()) continue;
    larger.shape.back() += 1;
    auto pipeline = CodecPipeline::create(registry(), input.codecs, larger);
    if (!pipeline.ok()) continue;  // e.g. a shard shape the inner chunks no longer divide
    Bytes8 decoded(larger.byte_size());
    const Status status = pipeline->decode(input.encoded, decoded);
    EXPECT_FALSE(status.ok());
  }
}

TEST_F(CodecVectors, ShardIndexLocatesInnerChunksForPartialReads) {
  int shards = 0;
  for (const ArrayCase& array : array_cases()) {
    if (array.name.rfind("sharding", 0) != 0) continue;
    SCOPED_TRACE(array.name);
    auto pipeline =
        CodecPipeline::create(registry(), array.metadata.codecs, chunk_layout(array.metadata));
    ASSERT_TRUE(pipeline.ok());
    const ShardingCodec* sharding = pipeline->sharding();
    ASSERT_NE(sharding, nullptr);
    // Only arrays whose shards are stored as is (no bytes -> bytes codec after the sharding codec).
    EXPECT_EQ(pipeline->shard_ranges_readable(), array.metadata.codecs.size() == 1);
    if (!pipeline->shard_ranges_readable()) continue;
    for_each_chunk(array.metadata.chunk_counts(), [&](const std::vector<std::uint64_t>& index) {
      const auto shard = read_file(array.directory / chunk_path(array.metadata, index));
      if (!shard) return;
      ++shards;
      const std::uint64_t index_size = sharding->index_encoded_size();
      ASSERT_GE(shard->size(), index_size);
      const std::span<const std::uint8_t> whole(*shard);
      auto entries = sharding->decode_index(sharding->index_at_end() ? whole.last(index_size)
                                                                     : whole.first(index_size));
      ASSERT_TRUE(entries.ok()) << entries.error().to_string();
      ASSERT_EQ(entries->size(), sharding->inner_chunk_count());
      Bytes8 full(pipeline->layout().byte_size());
      ASSERT_TRUE(pipeline->decode(*shard, full).ok());
      // Each inner chunk decoded alone equals its region of the full decode.
      const auto& inner_shape = sharding->inner_chunk_shape();
      const auto& per_shard = sharding->chunks_per_shard();
      int missing = 0;
      for (std::uint64_t i = 0; i < entries->size(); ++i) {
        const auto [offset, nbytes] = (*entries)[i];
        if (offset == ShardingCodec::kEmpty) {
          EXPECT_EQ(nbytes, ShardingCodec::kEmpty);
          ++missing;
          continue;
        }
        ASSERT_LE(offset + nbytes, shard->size());
        Bytes8 inner(sharding->inner().layout().byte_size());
        const Status status = sharding->inner().decode(whole.subspan(offset, nbytes), inner);
        ASSERT_TRUE(status.ok()) << status.error().to_string();
        // Position of inner chunk i in the shard, then compare element by element.
        std::vector<std::uint64_t> inner_index(per_shard.size());
        std::uint64_t rest = i;
        for (std::size_t d = per_shard.size(); d-- > 0;) {
          inner_index[d] = rest % per_shard[d];
          rest /= per_shard[d];
        }
        const std::size_t element = array.metadata.element_size();
        const auto& shard_shape = array.metadata.chunk_shape;
        std::uint64_t count = sharding->inner().layout().element_count();
        for (std::uint64_t at = 0; at < count; ++at) {
          std::uint64_t remaining = at;
          std::uint64_t shard_offset = 0;
          std::uint64_t stride = 1;
          for (std::size_t d = shard_shape.size(); d-- > 0;) {
            shard_offset += (inner_index[d] * inner_shape[d] + remaining % inner_shape[d]) * stride;
            remaining /= inner_shape[d];
            stride *= shard_shape[d];
          }
          ASSERT_EQ(std::memcmp(inner.data() + at * element, full.data() + shard_offset * element,
                                element),
                    0);
        }
      }
      if (array.name.find("missing") != std::string::npos) {
        EXPECT_GT(missing, 0);
      }
    });
  }
  EXPECT_GE(shards, 4);
}

TEST_F(CodecVectors, EveryBuiltinCodecHasVectors) {
  std::set<std::string> seen;
  std::function<void(const Json&)> collect = [&](const Json& codecs) {
    for (const Json& codec : codecs) {
      seen.insert(codec["name"].get<std::string>());
      const Json configuration = codec.value("configuration", Json::object());
      if (configuration.contains("codecs")) collect(configuration["codecs"]);
      if (configuration.contains("index_codecs")) collect(configuration["index_codecs"]);
    }
  };
  for (const ArrayCase& array : array_cases()) collect(array.metadata.codecs);
  for (const BufferCase& buffer : buffer_cases()) collect(buffer.codecs);
  // The GRIB codecs decode whole GRIB messages: tests/unit/grib2 checks them against ecCodes and
  // gribberish.
  const std::set<std::string> tested_elsewhere = {"gribberish", "floe.grib"};
  for (const std::string& name : registry().names()) {
    EXPECT_TRUE(seen.count(name) || tested_elsewhere.count(name)) << name;
  }
}

}  // namespace
}  // namespace floe::codecs
