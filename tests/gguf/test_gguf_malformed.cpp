// A corpus of malformed GGUF files, built here byte by byte: each must be refused with a one-line
// ember::Error "NAME: offset N: ..." that points at the broken field and says what was wrong.
#include <gtest/gtest.h>

#include <limits>
#include <regex>

#include "core/error.h"
#include "gguf/gguf_bytes.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_fixtures.h"

namespace ember::test {
namespace {

using T = GgufValueType;
constexpr uint32_t kF32 = 0, kQ4_0 = 2, kQ4_K = 12;
constexpr uint64_t kFirstKv = 24;  // magic, version, tensor count, metadata count

std::string ParseError(const std::vector<uint8_t>& bytes) {
  try {
    GgufFile::Parse(bytes, "bad.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "(parsed without error)";
}

void ExpectRejected(const GgufBytes& b, uint64_t offset, const std::string& fragment) {
  const std::string msg = ParseError(b.bytes());
  const std::string prefix = "bad.gguf: offset " + std::to_string(offset) + ": ";
  EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "expected prefix '" << prefix << "' in: " << msg;
  EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

void ExpectParses(const GgufBytes& b) {
  EXPECT_NO_THROW(GgufFile::Parse(b.bytes(), "good.gguf"));
}

TEST(GgufMalformed, RejectsTruncationAtEveryByte) {
  const std::vector<uint8_t> file = MakeSmallFile();
  ASSERT_NO_THROW(GgufFile::Parse(file, "small"));
  const std::regex shape("bad\\.gguf: offset ([0-9]+): [^\n]+");
  for (size_t len = 0; len < file.size(); ++len) {
    SCOPED_TRACE("prefix of " + std::to_string(len) + " of " + std::to_string(file.size()) + " bytes");
    const std::vector<uint8_t> prefix(file.begin(), file.begin() + static_cast<ptrdiff_t>(len));
    const std::string msg = ParseError(prefix);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(msg, m, shape)) << msg;
    EXPECT_LE(std::stoull(m[1].str()), len) << msg;  // the offset lies inside what was given
    const bool says_short = msg.find("file truncated") != std::string::npos ||
                            msg.find("bytes remain") != std::string::npos ||
                            msg.find("that remain") != std::string::npos ||
                            msg.find("extends past the end of the file") != std::string::npos;
    EXPECT_TRUE(says_short) << msg;
  }
}

TEST(GgufMalformed, RejectsBadMagic) {
  GgufBytes b;
  b.U32(0x544a4747).U32(3).U64(0).U64(0);  // "GGJT", a pre-GGUF llama.cpp format
  ExpectRejected(b, 0, "not a GGUF file (magic 47 47 4a 54, expected \"GGUF\")");
}

TEST(GgufMalformed, RejectsVersion1) {
  GgufBytes b;
  b.Header(0, 0, 1);
  ExpectRejected(b, 4, "GGUF version 1 is not supported (versions 2 and 3 are)");
}

TEST(GgufMalformed, RejectsVersion4AndVersion0) {
  GgufBytes b4, b0;
  b4.Header(0, 0, 4);
  b0.Header(0, 0, 0);
  ExpectRejected(b4, 4, "unsupported GGUF version 4 (versions 2 and 3 are supported)");
  ExpectRejected(b0, 4, "unsupported GGUF version 0");
}

TEST(GgufMalformed, RejectsBigEndianFiles) {
  GgufBytes b;
  b.Header(0, 0, 0x03000000);  // version 3 written big-endian
  ExpectRejected(b, 4, "big-endian GGUF files are not supported");
}

TEST(GgufMalformed, AcceptsVersion2AndVersion3) {
  GgufBytes b2, b3;
  b2.Header(0, 1, 2).KvU32("k", 1);
  b3.Header(0, 1, 3).KvU32("k", 1);
  ExpectParses(b2);
  ExpectParses(b3);
  EXPECT_EQ(GgufFile::Parse(b2.bytes(), "v2").version(), 2u);
}

TEST(GgufMalformed, RejectsHugeTensorCount) {
  GgufBytes b;
  b.Header(std::numeric_limits<uint64_t>::max(), 0).Zeros(64);
  ExpectRejected(b, 8, "tensor count 18446744073709551615 cannot fit in the 64 bytes that remain");
}

TEST(GgufMalformed, RejectsHugeMetadataCount) {
  GgufBytes b;
  b.Header(0, uint64_t{1} << 60).Zeros(64);
  ExpectRejected(b, 16, "metadata count 1152921504606846976 cannot fit in the 64 bytes that remain");
}

TEST(GgufMalformed, RejectsHugeKeyLength) {
  GgufBytes b;
  b.Header(0, 1).U64(uint64_t{1} << 62).Zeros(8);
  ExpectRejected(b, kFirstKv, "metadata key has length 4611686018427387904 but only 8 bytes remain");
}

TEST(GgufMalformed, RejectsHugeStringValueLength) {
  GgufBytes b;
  b.Header(0, 1).Key("k", T::STRING);
  const uint64_t at = b.size();
  b.U64(std::numeric_limits<uint64_t>::max()).Zeros(3);
  ExpectRejected(b, at, "string value has length 18446744073709551615 but only 3 bytes remain");
}

TEST(GgufMalformed, RejectsHugeArrayLengths) {
  struct Case {
    T elem;
    const char* text;
  };
  for (const Case c : {Case{T::UINT32, "array of 2305843009213693952 u32 items cannot fit in the 16 "
                                       "bytes that remain"},
                       Case{T::UINT8, "array of 2305843009213693952 u8 items cannot fit"},
                       Case{T::STRING, "array of 2305843009213693952 str items cannot fit"},
                       Case{T::ARRAY, "array of 2305843009213693952 arr items cannot fit"}}) {
    GgufBytes b;
    b.Header(0, 1).Key("a", T::ARRAY).U32(static_cast<uint32_t>(c.elem));
    const uint64_t at = b.size();
    b.U64(uint64_t{1} << 61).Zeros(16);
    ExpectRejected(b, at, std::string("key 'a': ") + c.text);
  }
  // Seventeen bytes cannot hold three strings (8 bytes of length each at least).
  GgufBytes b;
  b.Header(0, 1).Key("s", T::ARRAY).U32(static_cast<uint32_t>(T::STRING));
  const uint64_t at = b.size();
  b.U64(3).Zeros(17);
  ExpectRejected(b, at, "array of 3 str items cannot fit in the 17 bytes that remain");
}

TEST(GgufMalformed, RejectsArraysNestedDeeperThanTheLimit) {
  GgufBytes b;
  b.Header(0, 1).Key("bomb", T::ARRAY);
  uint64_t deepest = 0;
  for (int level = 0; level <= kGgufMaxArrayNesting; ++level) {
    deepest = b.size();
    b.ArrayHeader(T::ARRAY, 1);
  }
  b.Zeros(64);
  ExpectRejected(b, deepest, "key 'bomb': arrays nested deeper than 8");
}

TEST(GgufMalformed, AcceptsArraysNestedExactlyToTheLimit) {
  GgufBytes b;
  b.Header(0, 1).Key("deep", T::ARRAY);
  for (int level = 0; level < kGgufMaxArrayNesting - 1; ++level) b.ArrayHeader(T::ARRAY, 1);
  b.ArrayHeader(T::UINT8, 1).U8(42);
  ExpectParses(b);
}

TEST(GgufMalformed, RejectsBoolOtherThanZeroOrOne) {
  GgufBytes b;
  b.Header(0, 1).Key("b", T::BOOL);
  const uint64_t at = b.size();
  b.U8(2);
  ExpectRejected(b, at, "key 'b': bool value 2 is neither 0 nor 1");

  GgufBytes in_array;
  in_array.Header(0, 1).Key("bs", T::ARRAY).ArrayHeader(T::BOOL, 2).U8(1);
  const uint64_t item_at = in_array.size();
  in_array.U8(255);
  ExpectRejected(in_array, item_at, "key 'bs': bool value 255 is neither 0 nor 1");
}

TEST(GgufMalformed, RejectsUnknownValueTypes) {
  GgufBytes b;
  b.Header(0, 1).Str("k");
  const uint64_t at = b.size();
  b.U32(13).Zeros(8);
  ExpectRejected(b, at, "key 'k': unknown value type 13");

  GgufBytes arr;
  arr.Header(0, 1).Key("a", T::ARRAY);
  const uint64_t arr_at = arr.size();
  arr.U32(0xffffffff).U64(0);
  ExpectRejected(arr, arr_at, "key 'a': unknown array item type 4294967295");
}

TEST(GgufMalformed, RejectsZeroAndNonPowerOfTwoAlignment) {
  for (uint32_t a : {0u, 48u, 3u, 0x80000001u}) {
    GgufBytes b;
    b.Header(0, 1).Key("general.alignment", T::UINT32);
    const uint64_t at = b.size();
    b.U32(a);
    ExpectRejected(b, at, "general.alignment " + std::to_string(a) + " is not a power of two");
  }
}

TEST(GgufMalformed, RejectsAlignmentOfTheWrongType) {
  GgufBytes b;
  b.Header(0, 2).KvU32("first", 1).Str("general.alignment");
  const uint64_t at = b.size();
  b.U32(static_cast<uint32_t>(T::UINT64)).U64(32);
  ExpectRejected(b, at, "general.alignment must be u32, found u64");

  GgufBytes s;
  s.Header(0, 1).Str("general.alignment");
  const uint64_t s_at = s.size();
  s.U32(static_cast<uint32_t>(T::STRING)).Str("32");
  ExpectRejected(s, s_at, "general.alignment must be u32, found str");
}

TEST(GgufMalformed, RejectsTensorWithZeroOrFiveDimensions) {
  for (const std::vector<uint64_t>& shape :
       {std::vector<uint64_t>{}, std::vector<uint64_t>{1, 1, 1, 1, 1}}) {
    GgufBytes b;
    b.Header(1, 0).Str("t");
    const uint64_t at = b.size();
    b.U32(static_cast<uint32_t>(shape.size()));
    for (uint64_t d : shape) b.U64(d);
    b.U32(kF32).U64(0).Zeros(64);
    ExpectRejected(b, at, "tensor 't' has " + std::to_string(shape.size()) +
                              " dimensions (1 to 4 allowed)");
  }
}

TEST(GgufMalformed, RejectsDimensionAboveInt64Max) {
  GgufBytes b;
  b.Header(1, 0).Str("t").U32(2).U64(4);
  const uint64_t at = b.size();
  b.U64(uint64_t{1} << 63).U32(kF32).U64(0).Zeros(32);
  ExpectRejected(b, at, "tensor 't' dimension 1 is 9223372036854775808 (negative or too large)");
}

TEST(GgufMalformed, RejectsElementCountOverflow) {
  GgufBytes b;
  b.Header(1, 0).Str("t").U32(3).U64(uint64_t{1} << 32);
  const uint64_t at = b.size();
  b.U64(uint64_t{1} << 31).U64(1).U32(kF32).U64(0).Zeros(32);
  ExpectRejected(b, at, "tensor 't': element count overflows");
}

TEST(GgufMalformed, RejectsByteSizeOverflow) {
  GgufBytes b;
  b.Header(1, 0).Str("t");
  const uint64_t at = b.size();
  b.U32(1).U64(uint64_t{1} << 62).U32(kF32).U64(0).Zeros(32);  // 2^62 floats = 2^64 bytes
  ExpectRejected(b, at, "tensor 't': byte size overflows");
}

TEST(GgufMalformed, RejectsUnknownTensorTypes) {
  for (uint32_t type : {42u, 64u, 1000u, 0xffffffffu}) {
    GgufBytes b;
    b.Header(1, 0).Str("t").U32(1).U64(32);
    const uint64_t at = b.size();
    b.U32(type).U64(0).Zeros(64);
    ExpectRejected(b, at, "tensor 't' has unknown ggml type " + std::to_string(type));
  }
}

TEST(GgufMalformed, RejectsRemovedTensorTypesWithAClearerMessage) {
  for (uint32_t type : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) {
    GgufBytes b;
    b.Header(1, 0).Str("t").U32(1).U64(256);
    const uint64_t at = b.size();
    b.U32(type).U64(0).Zeros(512);
    ExpectRejected(b, at, "tensor 't' uses ggml type " + std::to_string(type) +
                              ", which ggml removed; re-convert the model");
  }
}

TEST(GgufMalformed, RejectsRowLengthNotAMultipleOfTheBlockSize) {
  GgufBytes q4_0;
  q4_0.Header(1, 0).Str("t");
  const uint64_t at = q4_0.size();
  q4_0.U32(2).U64(33).U64(2).U32(kQ4_0).U64(0).Zeros(256);
  ExpectRejected(q4_0, at, "tensor 't': row length 33 is not a multiple of Q4_0's block size 32");

  GgufBytes q4_k;
  q4_k.Header(1, 0).Str("t");
  const uint64_t k_at = q4_k.size();
  q4_k.U32(1).U64(128).U32(kQ4_K).U64(0).Zeros(256);
  ExpectRejected(q4_k, k_at, "tensor 't': row length 128 is not a multiple of Q4_K's block size 256");
}

TEST(GgufMalformed, RejectsMisalignedTensorOffset) {
  GgufBytes b;
  b.Header(1, 0).Str("t").U32(1).U64(4).U32(kF32);
  const uint64_t at = b.size();
  b.U64(16).PadTo(32).Zeros(64);
  ExpectRejected(b, at, "tensor 't': data offset 16 is not a multiple of the alignment 32");

  GgufBytes a64;
  a64.Header(1, 1).KvU32("general.alignment", 64).Str("t").U32(1).U64(4).U32(kF32);
  const uint64_t at64 = a64.size();
  a64.U64(32).PadTo(64).Zeros(128);
  ExpectRejected(a64, at64, "tensor 't': data offset 32 is not a multiple of the alignment 64");
}

TEST(GgufMalformed, RejectsTensorOffsetBeyondEndOfFile) {
  for (uint64_t offset : {uint64_t{1} << 40, uint64_t{0xffffffffffffffe0}, uint64_t{32}}) {
    GgufBytes b;
    b.Header(1, 0).Str("t").U32(1).U64(1).U32(kF32);
    const uint64_t at = b.size();
    b.U64(offset).PadTo(32).Zeros(4);
    ExpectRejected(b, at, "tensor 't' (4 bytes at data offset " + std::to_string(offset) +
                              ") extends past the end of the file (data section has 4 bytes)");
  }
}

TEST(GgufMalformed, RejectsTensorDataRunningPastEndOfFile) {
  GgufBytes b;
  b.Header(1, 0).Str("t").U32(2).U64(10).U64(10).U32(kF32);
  const uint64_t at = b.size();
  b.U64(0).PadTo(32).Zeros(399);
  ExpectRejected(b, at, "tensor 't' (400 bytes at data offset 0) extends past the end of the file "
                        "(data section has 399 bytes)");
}

TEST(GgufMalformed, RejectsMissingDataSection) {
  GgufBytes b;
  b.Header(1, 0).TensorInfo("t", {4}, kF32, 0);  // 57 bytes: data would start at 64
  ExpectRejected(b, 57, "file truncated: tensor data should start at 64 but the file has 57 bytes");
}

TEST(GgufMalformed, RejectsOverlappingTensors) {
  GgufBytes same;
  same.Header(2, 0).TensorInfo("t1", {8}, kF32, 0).Str("t2").U32(1).U64(8).U32(kF32);
  const uint64_t at = same.size();
  same.U64(0).PadTo(32).Zeros(32);
  ExpectRejected(same, at, "tensor 't2' overlaps tensor 't1'");

  // t2 starts inside t1; t3, listed first, lies after both.
  GgufBytes inside;
  inside.Header(3, 0).TensorInfo("t3", {8}, kF32, 128).TensorInfo("t1", {16}, kF32, 0);
  inside.Str("t2").U32(1).U64(8).U32(kF32);
  const uint64_t inside_at = inside.size();
  inside.U64(32).PadTo(32).Zeros(160);
  ExpectRejected(inside, inside_at, "tensor 't2' overlaps tensor 't1'");
}

TEST(GgufMalformed, AcceptsZeroByteTensorsSharingAnOffset) {
  GgufBytes b;
  b.Header(3, 0).TensorInfo("a", {0}, kF32, 0).TensorInfo("b", {8}, kF32, 0);
  b.TensorInfo("c", {0, 3}, kF32, 0).PadTo(32).Zeros(32);
  ExpectParses(b);
}

TEST(GgufMalformed, RejectsDuplicateKeys) {
  GgufBytes b;
  b.Header(0, 2).KvU32("k", 1);
  const uint64_t at = b.size();
  b.KvStr("k", "again");
  ExpectRejected(b, at, "duplicate metadata key 'k'");
}

TEST(GgufMalformed, RejectsDuplicateTensorNames) {
  GgufBytes b;
  b.Header(2, 0).TensorInfo("w", {8}, kF32, 0);
  const uint64_t at = b.size();
  b.TensorInfo("w", {8}, kF32, 32).PadTo(32).Zeros(64);
  ExpectRejected(b, at, "duplicate tensor name 'w'");
}

TEST(GgufMalformed, ErrorsStayOnOneLineWhateverTheNames) {
  GgufBytes b;
  b.Header(0, 2).KvU32("a\nb\x1b[31m", 1);
  const uint64_t at = b.size();
  b.KvU32("a\nb\x1b[31m", 2);
  ExpectRejected(b, at, "duplicate metadata key 'a\\x0ab\\x1b[31m'");

  const std::string long_name(10000, 'x');
  GgufBytes t;
  t.Header(2, 0).TensorInfo(long_name, {8}, kF32, 0);
  const uint64_t t_at = t.size();
  t.TensorInfo(long_name, {8}, kF32, 32).PadTo(32).Zeros(64);
  ExpectRejected(t, t_at, "duplicate tensor name '" + std::string(96, 'x') + "...(10000 bytes)'");
}

TEST(GgufMalformed, RejectsMetadataThatWouldExpandPastTheMemoryBudget) {
  // One byte per u8 item in the file, but a GgufValue each in memory: a file of ~22 MB would
  // otherwise need 1 GiB. The count fits the bytes, so only the budget stops it, before allocating.
  const uint64_t count = kGgufMaxParsedBytes / sizeof(GgufValue) + 1;
  GgufBytes b;
  b.Header(0, 1).Key("big", T::ARRAY).U32(static_cast<uint32_t>(T::UINT8));
  const uint64_t at = b.size();
  b.U64(count).Zeros(count);
  ExpectRejected(b, at, "key 'big': array of " + std::to_string(count) +
                            " items would take the parsed metadata past 1024 MiB of memory");
}

TEST(GgufMalformed, AcceptsTrailingBytesAfterTheLastTensor) {
  std::vector<uint8_t> file = MakeSmallFile();
  file.resize(file.size() + 1000, 0xaa);
  EXPECT_NO_THROW(GgufFile::Parse(file, "trailing"));
}

}  // namespace
}  // namespace ember::test
