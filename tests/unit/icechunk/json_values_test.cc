// Tests of the Icechunk value readers: FlexBuffers ↔ JSON, MessagePack → JSON, spec-1 config.yaml.
#include "floe/icechunk/json_values.h"

#include <flatbuffers/flexbuffers.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace floe::icechunk {
namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> bytes;
  int high = -1;
  for (char c : hex) {
    int nibble = -1;
    if (c >= '0' && c <= '9') nibble = c - '0';
    if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
    if (nibble < 0) continue;  // spaces separate bytes for readability
    if (high < 0) {
      high = nibble;
    } else {
      bytes.push_back(static_cast<std::uint8_t>(high * 16 + nibble));
      high = -1;
    }
  }
  return bytes;
}

Json msgpack(std::string_view hex) {
  auto result = msgpack_to_json(from_hex(hex));
  EXPECT_TRUE(result.ok()) << hex << ": " << result.error().to_string();
  return result.ok() ? *result : Json("<error>");
}

ErrorCode msgpack_error(std::string_view hex) {
  auto result = msgpack_to_json(from_hex(hex));
  EXPECT_FALSE(result.ok()) << hex << " decoded to " << result->dump();
  return result.ok() ? ErrorCode::kInternal : result.error().code();
}

std::filesystem::path testdata() {
  const char* from_environment = std::getenv("FLOE_TESTDATA");
  return from_environment ? std::filesystem::path(from_environment)
                          : std::filesystem::path(FLOE_TESTDATA_DEFAULT);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// ---- FlexBuffers ---------------------------------------------------------------------------

TEST(FlexBuffers, RoundTripsNestedValues) {
  Json value = Json::parse(R"({
    "inline_chunk_threshold_bytes": 512,
    "negative": -7,
    "big": 18446744073709551615,
    "most_negative": -9223372036854775808,
    "ratio": 0.25,
    "flags": [true, false, null],
    "empty_map": {}, "empty_list": [], "empty_text": "",
    "virtual_chunk_containers": {"s3://bucket/": {"name": null, "url_prefix": "s3://bucket/",
      "store": {"s3_compatible": {"region": "us-east-1", "endpoint_url": null, "allow_http": true}}}},
    "mixed": [1, "two", [3.5, {"four": [4]}], -1]
  })");
  std::vector<std::uint8_t> bytes = json_to_flexbuffer(value);
  auto decoded = flexbuffer_to_json(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, value);
  EXPECT_TRUE((*decoded)["inline_chunk_threshold_bytes"].is_number_unsigned());
  EXPECT_TRUE((*decoded)["negative"].is_number_integer());
  EXPECT_EQ((*decoded)["big"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ((*decoded)["most_negative"].get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
}

TEST(FlexBuffers, WritesNonNegativeIntsAsUnsignedLikeRust) {
  std::vector<std::uint8_t> bytes = json_to_flexbuffer(Json::array({Json(5), Json(-5), Json(2.5)}));
  flexbuffers::Vector vector = flexbuffers::GetRoot(bytes).AsVector();
  ASSERT_EQ(vector.size(), 3u);
  EXPECT_EQ(vector[0].GetType(), flexbuffers::FBT_UINT);
  EXPECT_EQ(vector[1].GetType(), flexbuffers::FBT_INT);
  EXPECT_EQ(vector[2].GetType(), flexbuffers::FBT_FLOAT);
  EXPECT_TRUE(flexbuffers::GetRoot(json_to_flexbuffer(Json::object())).IsMap());
}

TEST(FlexBuffers, ScalarRoots) {
  for (const Json& value :
       {Json(nullptr), Json(true), Json(42u), Json(-3), Json(1.5), Json("text")}) {
    auto decoded = flexbuffer_to_json(json_to_flexbuffer(value));
    ASSERT_TRUE(decoded.ok()) << value.dump() << ": " << decoded.error().to_string();
    EXPECT_EQ(*decoded, value);
  }
}

TEST(FlexBuffers, ReadsTypesTheWriterDoesNotUse) {
  flexbuffers::Builder builder;
  builder.Map([&] {
    std::vector<std::int64_t> ints = {1, -2, 300};
    builder.Vector("typed_ints", ints.data(), ints.size());
    std::vector<double> floats = {0.5, 1.5};
    builder.Vector("typed_floats", floats.data(), floats.size());
    float pair[2] = {1.0f, 2.0f};
    builder.FixedTypedVector("fixed", pair, 2);
    std::uint8_t blob[3] = {0, 127, 255};
    builder.Key("blob");
    builder.Blob(blob, 3);
    builder.Key("indirect_int");
    builder.IndirectInt(-123456789);
    builder.Key("indirect_uint");
    builder.IndirectUInt(99);
    // IndirectFloat, not IndirectDouble: 2.0.8's IndirectDouble writes half of a narrowed double.
    builder.Key("indirect_float");
    builder.IndirectFloat(3.25f);
    builder.TypedVector("keys", [&] {
      builder.Key("alpha");
      builder.Key("beta");
    });
    bool bools[2] = {true, false};
    builder.Vector("bools", bools, 2);
  });
  builder.Finish();
  auto decoded = flexbuffer_to_json(builder.GetBuffer());
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, Json::parse(R"({"typed_ints": [1, -2, 300], "typed_floats": [0.5, 1.5],
    "fixed": [1.0, 2.0], "blob": [0, 127, 255], "indirect_int": -123456789, "indirect_uint": 99,
    "indirect_float": 3.25, "keys": ["alpha", "beta"], "bools": [true, false]})"));
}

// Commit metadata values as Icechunk 2.3.0 (Rust `flexbuffers` serde over serde_json::Value) wrote
// them into a snapshot, one buffer per key, and the spec-1 → 2 `__icechunk` marker of test-repo-v2.
// Our writer produces the same bytes.
TEST(FlexBuffers, MatchesBytesWrittenByIcechunk) {
  struct Vector {
    std::string_view hex;
    std::string_view json;
  };
  for (const Vector& v : std::initializer_list<Vector>{
           {"04 666c6f65 00 05 14 01", R"("floe")"},
           {"0000003f 0e 04", "0.5"},
           {"01 61 00 03 01 04 01 08 14 68 06 28 01", R"([1, "a", true])"},
           {"7a 00 01 03 01 01 01 00 00 02 24 01", R"({"z": null})"},
           {"07 08 01", "7"},
           {"fe 04 01", "-2"},
           {"69735f726f6f74 00 01 09 01 01 01 01 68 02 24 01", R"({"is_root": true})"},
       }) {
    std::vector<std::uint8_t> bytes = from_hex(v.hex);
    auto decoded = flexbuffer_to_json(bytes);
    ASSERT_TRUE(decoded.ok()) << v.hex << ": " << decoded.error().to_string();
    EXPECT_EQ(*decoded, Json::parse(v.json)) << v.hex;
    EXPECT_EQ(json_to_flexbuffer(Json::parse(v.json)), bytes) << v.json;
  }
}

TEST(FlexBuffers, RejectsSharedValueExpansion) {
  // 4,000 references to one shared 4,000-byte string: 16 MB of JSON from ~16 KB of input.
  flexbuffers::Builder builder(1024, flexbuffers::BUILDER_FLAG_SHARE_KEYS_AND_STRINGS);
  std::string text(4000, 'x');
  builder.Vector([&] {
    for (int i = 0; i < 4000; ++i) builder.String(text);
  });
  builder.Finish();
  ASSERT_LT(builder.GetBuffer().size(), 20000u);
  auto result = flexbuffer_to_json(builder.GetBuffer());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
}

TEST(FlexBuffers, RejectsCorruptBuffers) {
  std::vector<std::uint8_t> good =
      json_to_flexbuffer(Json::parse(R"({"a": [1, 2, {"b": "text"}], "c": "more text here"})"));
  ASSERT_TRUE(flexbuffer_to_json(good).ok());
  EXPECT_EQ(flexbuffer_to_json({}).error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(flexbuffer_to_json(std::vector<std::uint8_t>{1, 2}).error().code(),
            ErrorCode::kCorrupt);
  // Every truncation and every single-byte corruption either fails cleanly or decodes to something.
  for (std::size_t length = 0; length < good.size(); ++length) {
    auto result = flexbuffer_to_json(std::span(good.data(), length));
    if (!result.ok()) {
      EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
    }
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::vector<std::uint8_t> bad = good;
      bad[i] = static_cast<std::uint8_t>(bad[i] ^ flip);
      auto result = flexbuffer_to_json(bad);
      if (!result.ok()) {
        EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
      }
    }
  }
  // Root width byte that is not 1/2/4/8, and a root offset pointing past the start.
  std::vector<std::uint8_t> bad_width = good;
  bad_width.back() = 3;
  EXPECT_FALSE(flexbuffer_to_json(bad_width).ok());
  std::vector<std::uint8_t> bad_offset = good;
  bad_offset[bad_offset.size() - 3] = 0xff;
  EXPECT_FALSE(flexbuffer_to_json(bad_offset).ok());
}

// flexbuffers 2.0.8's verifier accepts a key whose NUL terminator is missing (it stops at the first
// non-NUL byte); found by fuzz_icechunk_values. The `{"is_root": true}` buffer with its NUL
// replaced:
TEST(FlexBuffers, RejectsKeyWithoutTerminator) {
  auto result = flexbuffer_to_json(from_hex("69735f726f6f74 2a 01 09 01 01 01 01 68 02 24 01"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(result.error().message().find("offset 0"), std::string::npos)
      << result.error().message();
}

TEST(FlexBuffers, RejectsDeepNesting) {
  Json deep = Json::array();
  for (int i = 0; i < 200; ++i) deep = Json::array({deep});
  auto result = flexbuffer_to_json(json_to_flexbuffer(deep));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
  Json shallow = Json::array();
  for (int i = 0; i < 40; ++i) shallow = Json::object({{"k", shallow}});
  EXPECT_TRUE(flexbuffer_to_json(json_to_flexbuffer(shallow)).ok());
}

// ---- MessagePack ---------------------------------------------------------------------------

TEST(MessagePack, Scalars) {
  EXPECT_EQ(msgpack("c0"), Json(nullptr));
  EXPECT_EQ(msgpack("c2"), Json(false));
  EXPECT_EQ(msgpack("c3"), Json(true));
  EXPECT_EQ(msgpack("00"), Json(0));
  EXPECT_EQ(msgpack("7f"), Json(127));
  EXPECT_EQ(msgpack("ff"), Json(-1));
  EXPECT_EQ(msgpack("e0"), Json(-32));
  EXPECT_EQ(msgpack("cc ff"), Json(255));
  EXPECT_EQ(msgpack("cd 01 00"), Json(256));
  EXPECT_EQ(msgpack("ce 00 01 00 00"), Json(65536));
  EXPECT_EQ(msgpack("cf ff ff ff ff ff ff ff ff"), Json(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(msgpack("d0 80"), Json(-128));
  EXPECT_EQ(msgpack("d1 ff 7f"), Json(-129));
  EXPECT_EQ(msgpack("d1 7f ff"), Json(32767));
  EXPECT_EQ(msgpack("d2 80 00 00 00"), Json(std::numeric_limits<std::int32_t>::min()));
  EXPECT_EQ(msgpack("d3 80 00 00 00 00 00 00 00"), Json(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(msgpack("d3 00 00 00 00 00 00 00 05"), Json(5));
  EXPECT_EQ(msgpack("ca 3f c0 00 00"), Json(1.5));
  EXPECT_EQ(msgpack("cb 40 09 21 fb 54 44 2d 18"), Json(3.141592653589793));
  EXPECT_EQ(msgpack("cb c0 00 00 00 00 00 00 00"), Json(-2.0));
}

TEST(MessagePack, StringsAndBinary) {
  EXPECT_EQ(msgpack("a0"), Json(""));
  EXPECT_EQ(msgpack("a3 61 62 63"), Json("abc"));
  EXPECT_EQ(msgpack("d9 02 68 69"), Json("hi"));
  EXPECT_EQ(msgpack("da 00 02 68 69"), Json("hi"));
  EXPECT_EQ(msgpack("db 00 00 00 02 68 69"), Json("hi"));
  EXPECT_EQ(msgpack("a3 e2 82 ac"), Json("\u20ac"));
  EXPECT_EQ(msgpack("c4 03 00 7f ff"), Json::parse("[0, 127, 255]"));
  EXPECT_EQ(msgpack("c5 00 01 2a"), Json::parse("[42]"));
  EXPECT_EQ(msgpack("c6 00 00 00 00"), Json::array());
  std::string long_text(40, 'x');
  std::string hex = "d9 28";
  for (char c : long_text) hex += fmt::format(" {:02x}", c);
  EXPECT_EQ(msgpack(hex), Json(long_text));
}

TEST(MessagePack, Collections) {
  EXPECT_EQ(msgpack("90"), Json::array());
  EXPECT_EQ(msgpack("80"), Json::object());
  EXPECT_EQ(msgpack("93 01 a1 61 c0"), Json::parse(R"([1, "a", null])"));
  EXPECT_EQ(msgpack("dc 00 02 c3 c2"), Json::parse("[true, false]"));
  EXPECT_EQ(msgpack("dd 00 00 00 01 90"), Json::parse("[[]]"));
  EXPECT_EQ(msgpack("82 a1 61 01 a1 62 92 ff 80"), Json::parse(R"({"a": 1, "b": [-1, {}]})"));
  EXPECT_EQ(msgpack("de 00 01 a1 6b a1 76"), Json::parse(R"({"k": "v"})"));
  EXPECT_EQ(msgpack("df 00 00 00 01 a1 6b c0"), Json::parse(R"({"k": null})"));
  // Non-string keys become their JSON text.
  EXPECT_EQ(msgpack("82 01 a1 61 c3 02"), Json::parse(R"({"1": "a", "true": 2})"));
  // Zarr-style attributes as rmp-serde writes a serde_json::Value.
  EXPECT_EQ(msgpack("82 a5 75 6e 69 74 73 a1 4b a5 73 63 61 6c 65 cb 3f e0 00 00 00 00 00 00"),
            Json::parse(R"({"units": "K", "scale": 0.5})"));
}

TEST(MessagePack, RejectsCorruptInput) {
  EXPECT_EQ(msgpack_error(""), ErrorCode::kCorrupt);
  EXPECT_EQ(msgpack_error("c1"), ErrorCode::kCorrupt);                    // never used
  EXPECT_EQ(msgpack_error("c0 c0"), ErrorCode::kCorrupt);                 // trailing bytes
  EXPECT_EQ(msgpack_error("a3 61 62"), ErrorCode::kCorrupt);              // short fixstr
  EXPECT_EQ(msgpack_error("cd 01"), ErrorCode::kCorrupt);                 // short uint16
  EXPECT_EQ(msgpack_error("cb 00 00 00"), ErrorCode::kCorrupt);           // short float64
  EXPECT_EQ(msgpack_error("db ff ff ff ff 61"), ErrorCode::kCorrupt);     // huge str32
  EXPECT_EQ(msgpack_error("c6 ff ff ff ff"), ErrorCode::kCorrupt);        // huge bin32
  EXPECT_EQ(msgpack_error("dd ff ff ff ff c0"), ErrorCode::kCorrupt);     // huge array32
  EXPECT_EQ(msgpack_error("df ff ff ff ff c0 c0"), ErrorCode::kCorrupt);  // huge map32
  EXPECT_EQ(msgpack_error("92 01"), ErrorCode::kCorrupt);                 // short array
  EXPECT_EQ(msgpack_error("81 a1 61"), ErrorCode::kCorrupt);              // key without value
  EXPECT_EQ(msgpack_error("82 a1 61 01 a1 61 02"), ErrorCode::kCorrupt);  // repeated key
  EXPECT_EQ(msgpack_error("d4 01 00"), ErrorCode::kUnsupported);          // fixext1
  EXPECT_EQ(msgpack_error("c7 01 05 00"), ErrorCode::kUnsupported);       // ext8
  // Container keys: stringifying nested ones grows exponentially (found by fuzzing).
  EXPECT_EQ(msgpack_error("81 90 01"), ErrorCode::kUnsupported);
  EXPECT_EQ(msgpack_error("81 81 81 01 02 03 04"), ErrorCode::kUnsupported);
  EXPECT_EQ(msgpack_error("81 c4 01 00 01"), ErrorCode::kUnsupported);
  std::string deep(200 * 2, '9');
  for (std::size_t i = 0; i < deep.size(); i += 2) deep[i + 1] = '1';  // 200 × fixarray(1)
  EXPECT_EQ(msgpack_error(deep + "c0"), ErrorCode::kCorrupt);
  std::string fine;
  for (int i = 0; i < 50; ++i) fine += "91";
  EXPECT_TRUE(msgpack_to_json(from_hex(fine + "c0")).ok());
}

TEST(MessagePack, EveryTruncationFailsCleanly) {
  std::vector<std::uint8_t> good = from_hex(
      "85 a1 61 cf 00 00 00 00 00 00 00 07 a1 62 dc 00 02 ca 3f c0 00 00 d3 ff ff ff ff ff ff ff fe"
      " a1 63 c4 02 01 02 a1 64 da 00 01 7a a1 65 de 00 01 a1 66 c3");
  ASSERT_TRUE(msgpack_to_json(good).ok());
  for (std::size_t length = 0; length < good.size(); ++length) {
    auto result = msgpack_to_json(std::span(good.data(), length));
    ASSERT_FALSE(result.ok()) << length;
    EXPECT_EQ(result.error().code(), ErrorCode::kCorrupt);
  }
}

// ---- config.yaml ---------------------------------------------------------------------------

Json yaml(std::string_view text) {
  auto result = parse_spec1_config_yaml(text);
  EXPECT_TRUE(result.ok()) << text << "\n" << result.error().to_string();
  return result.ok() ? *result : Json("<error>");
}

TEST(ConfigYaml, Scalars) {
  Json infinity = yaml("i: .inf\nm: -.Inf\n");
  EXPECT_EQ(infinity["i"].get<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(infinity["m"].get<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(
      yaml("a: null\nb: ~\nc: true\nd: False\ne: 12\nf: -3\ng: 1.5\nh: 1e3\ni: ~\n"
           "j: plain text\nk: 'single ''quoted'''\nl: \"double \\\"q\\\" \\u00e9\\n\"\nm: '12'\n"
           "n: s3://bucket/prefix\no: 0x1f\np:\nq: 99999999999999999999\n"),
      Json::parse(R"({"a": null, "b": null, "c": true, "d": false, "e": 12, "f": -3, "g": 1.5,
              "h": 1000.0, "i": null, "j": "plain text", "k": "single 'quoted'",
              "l": "double \"q\" é\n", "m": "12", "n": "s3://bucket/prefix", "o": 31, "p": null,
              "q": 1e20})"));
}

TEST(ConfigYaml, TagsFlowAndSequences) {
  EXPECT_EQ(yaml("store: !s3_compatible\n  region: us-east-1\n  anonymous: false\n"
                 "other: !azure {}\nfile: !local_file_system ''\nkind: !Axis 0\nunit: Any\n"
                 "flow: {a: 1, b: [x, 'y z', {}], c: }\nlist:\n- 1\n- two\n-\n  nested: true\n"
                 "empty: []\n# comment line\nafter: 1  # trailing comment\n"),
            Json::parse(R"({"store": {"s3_compatible": {"region": "us-east-1", "anonymous": false}},
              "other": {"azure": {}}, "file": {"local_file_system": ""}, "kind": {"Axis": 0},
              "unit": "Any", "flow": {"a": 1, "b": ["x", "y z", {}], "c": null},
              "list": [1, "two", {"nested": true}], "empty": [], "after": 1})"));
}

TEST(ConfigYaml, CompactNestedSequences) {
  EXPECT_EQ(yaml("split_sizes:\n- - !name_matches\n    regex: split_*\n  - - condition: !Axis 0\n"
                 "      num_chunks: 1\n    - condition: Any\n      num_chunks: 3\nnext: 1\n"),
            Json::parse(R"({"split_sizes": [[{"name_matches": {"regex": "split_*"}},
              [{"condition": {"Axis": 0}, "num_chunks": 1}, {"condition": "Any", "num_chunks": 3}]]],
              "next": 1})"));
}

TEST(ConfigYaml, QuotedKeysAndDocumentMarker) {
  EXPECT_EQ(yaml("---\n\"s3://bucket/\":\n  'url prefix': \"s3://bucket/\"\n"),
            Json::parse(R"({"s3://bucket/": {"url prefix": "s3://bucket/"}})"));
  EXPECT_EQ(yaml(""), Json::object());
  EXPECT_EQ(yaml("a: 1\r\nb: 2\r\n"), Json::parse(R"({"a": 1, "b": 2})"));
}

TEST(ConfigYaml, RejectsWhatItDoesNotSupport) {
  struct Case {
    std::string_view text;
    ErrorCode code;
    std::string_view line;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"a: 1\n  b: 2\n", ErrorCode::kUnsupported, "line 2"},
           {"a: |\n  text\n", ErrorCode::kUnsupported, "line 1"},
           {"a: &x 1\nb: *x\n", ErrorCode::kUnsupported, "line 1"},
           {"a: 1\n\tb: 2\n", ErrorCode::kUnsupported, "line 2"},
           {"a: 'open\n", ErrorCode::kUnsupported, "line 1"},
           {"a: 1\na: 2\n", ErrorCode::kCorrupt, "line 2"},
           {"a: {b: 1\n", ErrorCode::kUnsupported, "line 1"},
           {"just a scalar\n", ErrorCode::kCorrupt, ""},
           {"- 1\n- 2\n", ErrorCode::kCorrupt, ""},
           {"a: 1\n---\nb: 2\n", ErrorCode::kUnsupported, "line 2"},
           {"? complex\n", ErrorCode::kUnsupported, "line 1"},
           {"a:\n  - 1\n  b: 2\n", ErrorCode::kUnsupported, "line 3"},
           {"a: \"\\q\"\n", ErrorCode::kCorrupt, "line 1"},
           {"a: 1\nb: {[1]: 2}\n", ErrorCode::kUnsupported, "line 2"},
       }) {
    auto result = parse_spec1_config_yaml(c.text);
    ASSERT_FALSE(result.ok()) << c.text << " parsed to " << result->dump();
    EXPECT_EQ(result.error().code(), c.code) << c.text << ": " << result.error().to_string();
    EXPECT_NE(result.error().message().find(c.line), std::string::npos)
        << result.error().to_string();
  }
  std::string deep = "a:\n";
  for (int i = 1; i < 100; ++i) deep += std::string(static_cast<std::size_t>(i) * 2, ' ') + "a:\n";
  EXPECT_FALSE(parse_spec1_config_yaml(deep).ok());
  std::string deep_flow = "a: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_FALSE(parse_spec1_config_yaml(deep_flow).ok());
}

TEST(ConfigYaml, RealTestRepoV1) {
  std::filesystem::path path = testdata() / "icechunk/test-repo-v1/config.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no fixture at " << path;
  Json config = yaml(read_text(path));
  EXPECT_EQ(config["inline_chunk_threshold_bytes"], 12);
  EXPECT_TRUE(config["manifest"].is_null());
  const Json& containers = config["virtual_chunk_containers"];
  ASSERT_EQ(containers.size(), 5u);
  EXPECT_EQ(containers["s3"]["url_prefix"], "s3://testbucket");
  EXPECT_EQ(containers["s3"]["store"], Json::parse(R"({"s3_compatible": {"region": "us-east-1",
    "endpoint_url": "http://localhost:4200", "anonymous": false, "allow_http": true,
    "force_path_style": true}})"));
  EXPECT_EQ(containers["tigris"]["store"]["tigris"]["endpoint_url"],
            "https://fly.storage.tigris.dev");
  EXPECT_TRUE(containers["tigris"]["store"]["tigris"]["region"].is_null());
  EXPECT_EQ(containers["az"]["store"], Json::parse(R"({"azure": {}})"));
  EXPECT_EQ(containers["file"]["store"], Json::parse(R"({"local_file_system": ""})"));
  EXPECT_EQ(containers["gcs"]["url_prefix"], "gcs");
}

TEST(ConfigYaml, RealSplitRepoV1) {
  std::filesystem::path path = testdata() / "icechunk/split-repo-v1/config.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no fixture at " << path;
  Json config = yaml(read_text(path));
  EXPECT_EQ(config["manifest"]["splitting"]["split_sizes"], Json::parse(R"([[
    {"name_matches": {"regex": "split_*"}},
    [{"condition": {"Axis": 0}, "num_chunks": 1},
     {"condition": {"DimensionName": "longitude"}, "num_chunks": 1},
     {"condition": "Any", "num_chunks": 3}]]])"));
  EXPECT_TRUE(config["manifest"]["preload"].is_null());
}

TEST(ConfigYaml, EveryRealConfigParses) {
  std::filesystem::path root = testdata() / "icechunk";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no fixtures at " << root;
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    std::filesystem::path path = entry.path() / "config.yaml";
    if (!std::filesystem::exists(path)) continue;
    Json config = yaml(read_text(path));
    EXPECT_EQ(config["inline_chunk_threshold_bytes"], 12) << path;
    ++parsed;
  }
  EXPECT_GE(parsed, 5);
  Json storage = yaml(read_text(root / "expire-repo-v1-by-2.0.5/config.yaml"))["storage"];
  EXPECT_EQ(storage["concurrency"]["ideal_concurrent_request_size"], 4096);
  EXPECT_EQ(storage["retries"]["max_tries"], 1);
  EXPECT_EQ(storage["unsafe_use_conditional_update"], false);
}

}  // namespace
}  // namespace floe::icechunk
