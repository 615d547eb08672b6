// Hand-made tests of the codecs: known checksums, pipeline construction errors, descriptions,
// libblosc round trips (every inner compressor, snappy included), hand-built shards, and
// decompression bombs.
#include <blosc.h>
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <zstd.h>

#include <atomic>
#include <cstring>
#include <numeric>
#include <thread>

#include "floe/codecs/checksums.h"
#include "floe/codecs/pipeline.h"
#include "floe/codecs/sharding_codec.h"

namespace floe::codecs {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

CodecRegistry builtin_registry() {
  CodecRegistry registry;
  register_builtin_codecs(registry);
  return registry;
}

ChunkLayout layout(const char* type, std::vector<std::uint64_t> shape) {
  auto data_type = zarr::DataType::from_json(Json(type));
  EXPECT_TRUE(data_type.ok());
  return ChunkLayout{data_type.ok() ? *data_type : zarr::DataType{}, std::move(shape), {}};
}

Result<CodecPipeline> pipeline(const char* codecs, const ChunkLayout& chunk) {
  static const CodecRegistry registry = builtin_registry();
  return CodecPipeline::create(registry, Json::parse(codecs), chunk);
}

std::string error_of(const Result<CodecPipeline>& result) {
  return result.ok() ? "" : result.error().to_string();
}

TEST(Checksums, Crc32cMatchesPublishedValues) {
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c({reinterpret_cast<const std::uint8_t*>(digits.data()), digits.size()}),
            0xe3069283u);
  const Bytes8 zeros(32, 0);
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);  // RFC 3720 B.4
  const Bytes8 ones(32, 0xff);
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  EXPECT_EQ(crc32c({}), 0u);
}

TEST(Checksums, Fletcher32OfHdf5) {
  // Values from numcodecs.Fletcher32 (HDF5's algorithm) on "abcde" (odd length) and "abcdef".
  const std::string odd = "abcde";
  const std::string even = "abcdef";
  EXPECT_EQ(hdf5_fletcher32({reinterpret_cast<const std::uint8_t*>(odd.data()), odd.size()}),
            0x4ff029c7u);
  EXPECT_EQ(hdf5_fletcher32({reinterpret_cast<const std::uint8_t*>(even.data()), even.size()}),
            0x50562a2du);
}

TEST(CodecPipeline, RefusesUnknownCodecsListingWhatFloeReads) {
  auto result =
      pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "lzma"}])",
               layout("int32", {4}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(error_of(result).find("\"lzma\""), std::string::npos);
  EXPECT_NE(error_of(result).find("numcodecs.zlib"), std::string::npos);
}

TEST(CodecPipeline, RefusesCodecsInTheWrongOrder) {
  const ChunkLayout chunk = layout("int32", {2, 3});
  EXPECT_NE(
      error_of(
          pipeline(
              R"([{"name": "gzip"}, {"name": "bytes", "configuration": {"endian": "little"}}])",
              chunk))
          .find("comes before"),
      std::string::npos);
  EXPECT_NE(error_of(pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                                  {"name": "transpose", "configuration": {"order": [1, 0]}}])",
                              chunk))
                .find("comes after"),
            std::string::npos);
  EXPECT_NE(error_of(pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                                  {"name": "bytes", "configuration": {"endian": "little"}}])",
                              chunk))
                .find("second"),
            std::string::npos);
  EXPECT_NE(
      error_of(pipeline(R"([{"name": "transpose", "configuration": {"order": [1, 0]}}])", chunk))
          .find("no array -> bytes"),
      std::string::npos);
  EXPECT_FALSE(pipeline("[]", chunk).ok());
  EXPECT_FALSE(pipeline(R"({"name": "bytes"})", chunk).ok());
  EXPECT_FALSE(pipeline(R"([{"configuration": {}}])", chunk).ok());
}

TEST(CodecPipeline, RefusesBadConfigurations) {
  const ChunkLayout chunk = layout("int32", {4, 6});
  EXPECT_NE(error_of(pipeline(R"([{"name": "bytes"}])", chunk)).find("endian is required"),
            std::string::npos);
  EXPECT_TRUE(pipeline(R"([{"name": "bytes"}])", layout("uint8", {4})).ok());
  EXPECT_FALSE(
      pipeline(R"([{"name": "bytes", "configuration": {"endian": "middle"}}])", chunk).ok());
  EXPECT_FALSE(
      pipeline(R"([{"name": "bytes", "configuration": {"endian": "little", "x": 1}}])", chunk)
          .ok());
  EXPECT_FALSE(
      pipeline(R"([{"name": "transpose", "configuration": {"order": [0, 0]}}, {"name": "bytes",
                            "configuration": {"endian": "little"}}])",
               chunk)
          .ok());
  EXPECT_FALSE(
      pipeline(R"([{"name": "transpose", "configuration": {"order": [0]}}, {"name": "bytes",
                            "configuration": {"endian": "little"}}])",
               chunk)
          .ok());
  EXPECT_FALSE(pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "numcodecs.shuffle", "configuration": {"elementsize": 0}}])",
                        chunk)
                   .ok());
  EXPECT_FALSE(pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "floe.hdf5_bitshuffle", "configuration": {"compression": "lz5"}}])",
                        chunk)
                   .ok());
  EXPECT_FALSE(pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
                            {"name": "numcodecs.imagecodecs_szip", "configuration": {"options_mask": 4}}])",
                        chunk)
                   .ok());
  // Sharding: inner chunks must divide the shard, the index must have a fixed size.
  EXPECT_NE(
      error_of(pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}])",
                        chunk))
          .find("divide"),
      std::string::npos);
  EXPECT_FALSE(pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "index_location": "middle",
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}])",
                        chunk)
                   .ok());
  const auto compressed_index =
      pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd"}]}}])",
               chunk);
  ASSERT_FALSE(compressed_index.ok());
  EXPECT_EQ(compressed_index.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(
      error_of(pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "nope"}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}])",
                        chunk))
          .find("inner codecs"),
      std::string::npos);
}

TEST(CodecPipeline, DescribesTheCodecsInEncodingOrder) {
  auto hdf5 = pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
      {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}},
      {"name": "numcodecs.zlib", "configuration": {"level": 4}}, {"name": "numcodecs.fletcher32"}])",
                       layout("float32", {10}));
  ASSERT_TRUE(hdf5.ok());
  EXPECT_EQ(hdf5->describe(),
            "bytes(little) | numcodecs.shuffle(4) | numcodecs.zlib | numcodecs.fletcher32");
  EXPECT_EQ(hdf5->sharding(), nullptr);
  auto sharded = pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 3],
      "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "blosc",
                 "configuration": {"cname": "zstd", "shuffle": "bitshuffle", "typesize": 4}}],
      "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
      "index_location": "start"}}])",
                          layout("int32", {4, 6}));
  ASSERT_TRUE(sharded.ok()) << error_of(sharded);
  EXPECT_EQ(
      sharded->describe(),
      "sharding_indexed(chunk_shape [2, 3], index start; bytes(big) | blosc(zstd, bitshuffle))");
  ASSERT_NE(sharded->sharding(), nullptr);
  EXPECT_EQ(sharded->sharding()->index_encoded_size(), 4u * 16 + 4);
  EXPECT_FALSE(sharded->sharding()->index_at_end());
  EXPECT_EQ(sharded->sharding()->inner_chunk_count(), 4u);
}

TEST(CodecPipeline, DecodeRefusesAnOutputOfTheWrongSize) {
  auto bytes = pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}}])",
                        layout("int16", {3}));
  ASSERT_TRUE(bytes.ok());
  const Bytes8 encoded(6, 1);
  Bytes8 out(5);
  const Status status = bytes->decode(encoded, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
}

TEST(CodecPipeline, TransposeAndBigEndianTogether) {
  // A 2x3 uint16 array [[0, 1, 2], [3, 4, 5]] transposed to 3x2 and stored big-endian.
  auto transposed = pipeline(R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
      {"name": "bytes", "configuration": {"endian": "big"}}])",
                             layout("uint16", {2, 3}));
  ASSERT_TRUE(transposed.ok());
  const Bytes8 encoded = {0, 0, 0, 3, 0, 1, 0, 4, 0, 2, 0, 5};
  Bytes8 out(12);
  ASSERT_TRUE(transposed->decode(encoded, out).ok());
  EXPECT_EQ(out, (Bytes8{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0}));
  // "F" (reversed axes), as early zarr-python 3 wrote it.
  auto fortran = pipeline(R"([{"name": "transpose", "configuration": {"order": "F"}},
      {"name": "bytes", "configuration": {"endian": "big"}}])",
                          layout("uint16", {2, 3}));
  ASSERT_TRUE(fortran.ok());
  ASSERT_TRUE(fortran->decode(encoded, out).ok());
  EXPECT_EQ(out, (Bytes8{0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0}));
}

// libblosc encodes what no Python library here can (snappy) and every shuffle and type size.
TEST(Blosc, RoundTripsEveryInnerCompressorShuffleAndTypeSize) {
  for (const char* compressor : {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"}) {
    for (int shuffle : {BLOSC_NOSHUFFLE, BLOSC_SHUFFLE, BLOSC_BITSHUFFLE}) {
      for (const char* type : {"uint8", "int16", "float32", "float64"}) {
        SCOPED_TRACE(fmt::format("{} shuffle {} {}", compressor, shuffle, type));
        const ChunkLayout chunk = layout(type, {5000});
        Bytes8 data(chunk.byte_size());
        for (std::size_t i = 0; i < data.size(); ++i)
          data[i] = static_cast<std::uint8_t>((i * i) >> 5);
        Bytes8 encoded(data.size() + BLOSC_MAX_OVERHEAD);
        const int size =
            blosc_compress_ctx(5, shuffle, chunk.data_type.size, data.size(), data.data(),
                               encoded.data(), encoded.size(), compressor, 4096, 1);
        ASSERT_GT(size, 0);
        encoded.resize(static_cast<std::size_t>(size));
        auto blosc =
            pipeline(fmt::format(R"([{{"name": "bytes", "configuration": {{"endian": "little"}}}},
            {{"name": "blosc", "configuration": {{"cname": "{}", "clevel": 5, "shuffle": "shuffle",
              "typesize": {}, "blocksize": 0}}}}])",
                                 compressor, chunk.data_type.size)
                         .c_str(),
                     chunk);
        ASSERT_TRUE(blosc.ok()) << error_of(blosc);
        Bytes8 out(data.size());
        const Status status = blosc->decode(encoded, out);
        ASSERT_TRUE(status.ok()) << status.error().to_string();
        EXPECT_EQ(out, data);
      }
    }
  }
}

// A shard of 2x2 inner chunks of 2x2 uint8 with the given index; inner chunks are stored raw.
Bytes8 hand_built_shard(bool index_at_end,
                        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& entries,
                        const Bytes8& data) {
  Bytes8 index;
  for (const auto& [offset, nbytes] : entries) {
    for (int k = 0; k < 8; ++k) index.push_back(static_cast<std::uint8_t>(offset >> (8 * k)));
    for (int k = 0; k < 8; ++k) index.push_back(static_cast<std::uint8_t>(nbytes >> (8 * k)));
  }
  Bytes8 shard = index_at_end ? data : index;
  const Bytes8& rest = index_at_end ? index : data;
  shard.insert(shard.end(), rest.begin(), rest.end());
  return shard;
}

Result<CodecPipeline> shard_pipeline(bool index_at_end) {
  ChunkLayout chunk = layout("uint8", {4, 4});
  chunk.fill_value = {9};
  return pipeline(
      fmt::format(R"([{{"name": "sharding_indexed", "configuration": {{"chunk_shape": [2, 2],
      "codecs": [{{"name": "bytes"}}], "index_codecs": [{{"name": "bytes", "configuration": {{"endian": "little"}}}}],
      "index_location": "{}"}}}}])",
                  index_at_end ? "end" : "start")
          .c_str(),
      chunk);
}

TEST(Sharding, HandBuiltShardsWithMissingChunksAndTheIndexAtEitherEnd) {
  constexpr std::uint64_t kEmpty = ShardingCodec::kEmpty;
  for (bool at_end : {true, false}) {
    SCOPED_TRACE(at_end ? "index at end" : "index at start");
    auto sharded = shard_pipeline(at_end);
    ASSERT_TRUE(sharded.ok()) << error_of(sharded);
    const std::uint64_t base = at_end ? 0 : 64;  // offsets count from the start of the shard
    // Inner chunk 0 holds 1..4, chunk 3 holds 5..8 (stored first), chunks 1 and 2 are missing.
    const Bytes8 data = {5, 6, 7, 8, 1, 2, 3, 4};
    const Bytes8 shard = hand_built_shard(
        at_end, {{base + 4, 4}, {kEmpty, kEmpty}, {kEmpty, kEmpty}, {base, 4}}, data);
    Bytes8 out(16);
    const Status status = sharded->decode(shard, out);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_EQ(out, (Bytes8{1, 2, 9, 9, 3, 4, 9, 9, 9, 9, 5, 6, 9, 9, 7, 8}));
    const ShardingCodec& codec = *sharded->sharding();
    auto entries = codec.decode_index(at_end ? std::span<const std::uint8_t>(shard).last(64)
                                             : std::span<const std::uint8_t>(shard).first(64));
    ASSERT_TRUE(entries.ok());
    EXPECT_EQ((*entries)[3], (std::pair<std::uint64_t, std::uint64_t>{base, 4}));
    EXPECT_EQ((*entries)[1].first, kEmpty);

    // An inner chunk outside the shard, a half-empty entry, an overflowing range, a short index.
    const Bytes8 outside = hand_built_shard(
        at_end, {{base + 70, 4}, {kEmpty, kEmpty}, {kEmpty, kEmpty}, {base, 4}}, data);
    const Status outside_status = sharded->decode(outside, out);
    ASSERT_FALSE(outside_status.ok());
    EXPECT_NE(outside_status.error().to_string().find("outside"), std::string::npos);
    const Bytes8 half =
        hand_built_shard(at_end, {{base, 4}, {kEmpty, 4}, {kEmpty, kEmpty}, {base, 4}}, data);
    EXPECT_FALSE(sharded->decode(half, out).ok());
    const Bytes8 overflow =
        hand_built_shard(at_end, {{base, 4}, {kEmpty - 2, 4}, {kEmpty, kEmpty}, {base, 4}}, data);
    EXPECT_FALSE(sharded->decode(overflow, out).ok());
    EXPECT_FALSE(sharded->decode(Bytes8(63, 0), out).ok());
    EXPECT_FALSE(codec.decode_index(Bytes8(65, 0)).ok());
    // Wrong inner chunk size.
    const Bytes8 short_chunk = hand_built_shard(
        at_end, {{base + 4, 3}, {kEmpty, kEmpty}, {kEmpty, kEmpty}, {base, 4}}, data);
    const Status wrong = sharded->decode(short_chunk, out);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().to_string().find("inner chunk 0,0"), std::string::npos)
        << wrong.error().to_string();
  }
}

// Decompression bombs: small inputs that inflate far beyond the chunk must fail without allocating
// more.
TEST(Bombs, CompressorsStopAtTheExpectedSize) {
  const Bytes8 zeros(64 << 20, 0);
  const ChunkLayout small = layout("uint8", {4096});

  Bytes8 deflated(1 << 20);
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(6);
  deflated.resize(libdeflate_gzip_compress(compressor, zeros.data(), zeros.size(), deflated.data(),
                                           deflated.size()));
  libdeflate_free_compressor(compressor);
  ASSERT_GT(deflated.size(), 0u);
  auto gzip = pipeline(R"([{"name": "bytes"}, {"name": "gzip"}])", small);
  Bytes8 out(4096);
  const Status gzip_status = gzip->decode(deflated, out);
  ASSERT_FALSE(gzip_status.ok());
  EXPECT_NE(
      gzip_status.error().to_string().find("gzip: inflates to more than the expected 4096 bytes"),
      std::string::npos)
      << gzip_status.error().to_string();

  Bytes8 framed(ZSTD_compressBound(zeros.size()));
  framed.resize(ZSTD_compress(framed.data(), framed.size(), zeros.data(), zeros.size(), 1));
  auto zstd = pipeline(R"([{"name": "bytes"}, {"name": "zstd"}])", small);
  EXPECT_FALSE(zstd->decode(framed, out).ok());

  // After a shard the size is unknown: the bound is a small multiple of the decoded chunk.
  auto sharded_then_zstd =
      pipeline(R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [4096],
      "codecs": [{"name": "bytes"}], "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}},
      {"name": "zstd"}])",
               small);
  ASSERT_TRUE(sharded_then_zstd.ok()) << error_of(sharded_then_zstd);
  const Status bounded = sharded_then_zstd->decode(framed, out);
  ASSERT_FALSE(bounded.ok());
  EXPECT_NE(bounded.error().to_string().find("more than the limit"), std::string::npos)
      << bounded.error().to_string();

  // A streamed frame (no content size) is cut off at the bound too.
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);
  Bytes8 streamed(ZSTD_compressBound(zeros.size()));
  ZSTD_inBuffer input{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer output{streamed.data(), streamed.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(context, &output, &input, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(context);
  streamed.resize(output.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(streamed.data(), streamed.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_FALSE(zstd->decode(streamed, out).ok());
  EXPECT_FALSE(sharded_then_zstd->decode(streamed, out).ok());
}

TEST(CodecPipeline, OnePipelineDecodesFromManyThreads) {
  const ChunkLayout chunk = layout("int32", {64, 64});
  Bytes8 data(chunk.byte_size());
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 / 3);
  Bytes8 deflated(data.size() + 1024);
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(6);
  deflated.resize(libdeflate_zlib_compress(compressor, data.data(), data.size(), deflated.data(),
                                           deflated.size()));
  libdeflate_free_compressor(compressor);
  auto zlib = pipeline(R"([{"name": "bytes", "configuration": {"endian": "little"}},
      {"name": "numcodecs.zlib"}, {"name": "crc32c"}])",
                       chunk);
  ASSERT_TRUE(zlib.ok());
  const std::uint32_t checksum = crc32c(deflated);
  for (int k = 0; k < 4; ++k) deflated.push_back(static_cast<std::uint8_t>(checksum >> (8 * k)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Bytes8 out(data.size());
      for (int i = 0; i < 50; ++i) {
        if (!zlib->decode(deflated, out).ok() || out != data) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace floe::codecs
