// GgufWriter round trips: what the writer writes, GgufFile reads back exactly (every value type,
// nested and empty arrays, tensors of several types and alignments); plus the writer's refusals
// and the reader's typed getters.
#include <gtest/gtest.h>

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_fixtures.h"
#include "gguf/gguf_writer.h"

namespace ember::test {
namespace {

using V = GgufValue;
using T = GgufValueType;

// Exact equality: floats compared bit for bit (NaN equals itself, -0.0 differs from 0.0).
bool SameValue(const GgufValue& a, const GgufValue& b) {
  if (a.type() != b.type()) return false;
  if (a.is_float()) {
    return b.is_float() && std::bit_cast<uint64_t>(a.as_float()) == std::bit_cast<uint64_t>(b.as_float());
  }
  if (a.is_array()) {
    if (!b.is_array() || a.elem_type() != b.elem_type() || a.as_array().size() != b.as_array().size()) {
      return false;
    }
    for (size_t i = 0; i < a.as_array().size(); ++i) {
      if (!SameValue(a.as_array()[i], b.as_array()[i])) return false;
    }
    return true;
  }
  return a == b;
}

template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufWriter, RoundTripPreservesEveryValueTypeAndKeyOrderExactly) {
  const GgufWriter w = MakeWriterFixture();
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "fixture");
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), w.metadata().size());
  for (size_t i = 0; i < w.metadata().size(); ++i) {
    const auto& [key, value] = w.metadata()[i];
    EXPECT_EQ(f.metadata()[i].first, key);
    EXPECT_TRUE(SameValue(f.metadata()[i].second, value))
        << key << ": wrote " << value.ToString() << ", read " << f.metadata()[i].second.ToString();
  }
  // Spot checks through the typed getters, independent of SameValue.
  EXPECT_EQ(f.GetUnsigned("scalar.u64"), ~0ull);
  EXPECT_EQ(f.GetInt("scalar.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.GetInt("scalar.i8"), -128);
  EXPECT_EQ(f.GetFloat("scalar.f32"), static_cast<double>(1e-6f));
  EXPECT_TRUE(std::isnan(f.GetFloat("scalar.f32_nan")));
  EXPECT_EQ(f.GetString("string.nul"), std::string("a\0b", 3));
  EXPECT_EQ(f.GetString(""), "the empty key");
  EXPECT_EQ(f.GetStringArray("array.str")[3], std::string("x\0y", 3));
  EXPECT_EQ(f.GetArray("array.empty_arr").size(), 0u);
  EXPECT_EQ(f.Get("array.empty_arr").elem_type(), T::ARRAY);
  EXPECT_EQ(f.GetF32Array("array.long_f32")[999], -249.75f);
  const GgufValue* deep = f.Find("array.nested_deepest");
  ASSERT_NE(deep, nullptr);
  int depth = 0;
  while (deep->is_array() && deep->elem_type() == T::ARRAY) {
    deep = &deep->as_array().at(0);
    ++depth;
  }
  EXPECT_EQ(depth + 1, kGgufMaxArrayNesting);
}

TEST(GgufWriter, RoundTripPreservesTensorsAndTheirData) {
  const GgufWriter w = MakeWriterFixture();
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "fixture");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 10u);
  struct Want {
    const char* name;
    GgmlType type;
    std::vector<uint64_t> shape;
    uint64_t n_bytes;
  };
  const std::vector<Want> want = {
      {"f32.odd", GgmlType::F32, {5}, 20},           {"f16.matrix", GgmlType::F16, {3, 2}, 12},
      {"bf16.vector", GgmlType::BF16, {7}, 14},      {"f64.pair", GgmlType::F64, {2}, 16},
      {"i8.bytes", GgmlType::I8, {3}, 3},            {"i32.4d", GgmlType::I32, {2, 3, 1, 2}, 48},
      {"q4_0.weight", GgmlType::Q4_0, {64, 2}, 72},  {"q8_0.weight", GgmlType::Q8_0, {32, 3, 2}, 204},
      {"q4_k.weight", GgmlType::Q4_K, {256, 2}, 288}, {"q6_k.weight", GgmlType::Q6_K, {512}, 420},
  };
  uint64_t expected_offset = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(t.name, want[i].name);
    EXPECT_EQ(t.type, want[i].type);
    EXPECT_EQ(t.shape, want[i].shape);
    EXPECT_EQ(t.n_bytes, want[i].n_bytes);
    EXPECT_EQ(t.offset, expected_offset);  // packed in order, each padded to the alignment
    expected_offset += (t.n_bytes + 63) / 64 * 64;
    EXPECT_EQ(t.data, bytes.data() + f.data_offset() + t.offset);
    const auto data = PatternBytes(t.name, t.n_bytes);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), t.bytes().begin(), t.bytes().end()));
  }
  EXPECT_EQ(f.tensors()[5].ne(3), 2u);
  EXPECT_EQ(f.tensors()[5].n_rows(), 6u);
  EXPECT_EQ(f.tensors()[0].ne(2), 1u);  // missing dimensions read as 1
  EXPECT_EQ(bytes.size(), f.data_offset() + expected_offset);
}

TEST(GgufWriter, ReadingAndRewritingAFileIsByteIdentical) {
  const auto bytes = MakeWriterFixture().WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "fixture");
  GgufWriter w(static_cast<uint32_t>(f.alignment()));
  for (const auto& [key, value] : f.metadata()) w.Set(key, value);
  for (const auto& t : f.tensors()) w.AddTensor(t.name, t.type, t.shape, t.bytes());
  EXPECT_TRUE(w.WriteToBuffer() == bytes);
}

TEST(GgufWriter, EveryPowerOfTwoAlignmentPlacesDataOnItsBoundary) {
  for (uint32_t a : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 4096u}) {
    SCOPED_TRACE(a);
    GgufWriter w(a);
    w.Set("k", V::String("odd length"));
    w.AddTensor("a", GgmlType::I8, {3}, PatternFill("a"));
    w.AddTensor("b", GgmlType::Q8_0, {32}, PatternFill("b"));
    w.AddTensor("c", GgmlType::F16, {5, 3}, PatternFill("c"));
    const auto bytes = w.WriteToBuffer();
    const GgufFile f = GgufFile::Parse(bytes, "aligned");
    EXPECT_EQ(f.alignment(), a);
    EXPECT_EQ(f.Has("general.alignment"), a != 32);  // written only when not the default
    EXPECT_EQ(f.data_offset() % a, 0u);
    for (const auto& t : f.tensors()) {
      EXPECT_EQ(t.offset % a, 0u) << t.name;
      const auto data = PatternBytes(t.name, t.n_bytes);
      EXPECT_TRUE(std::equal(data.begin(), data.end(), t.bytes().begin(), t.bytes().end())) << t.name;
    }
  }
}

TEST(GgufWriter, HeaderOnlyAndZeroSizedTensorFilesRoundTrip) {
  const auto empty = GgufWriter().WriteToBuffer();
  const GgufFile e = GgufFile::Parse(empty, "empty");
  EXPECT_TRUE(e.metadata().empty());
  EXPECT_TRUE(e.tensors().empty());
  EXPECT_EQ(e.data_offset(), 32u);

  GgufWriter w;
  w.AddTensor("zero", GgmlType::F32, {0, 4}, PatternFill("zero"));
  w.AddTensor("one", GgmlType::F32, {1}, PatternFill("one"));
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "zero");
  EXPECT_EQ(f.tensors()[0].n_bytes, 0u);
  EXPECT_EQ(f.tensors()[0].n_elements, 0u);
  EXPECT_EQ(f.tensors()[0].n_rows(), 0u);
  EXPECT_EQ(f.tensors()[1].offset, 0u);  // a zero-byte tensor takes no room
  EXPECT_EQ(f.tensors()[1].n_bytes, 4u);
}

TEST(GgufWriter, CopiesZeroByteTensorsFromEmptySpans) {
  // Found by fuzz_gguf: memcpy was given the null pointers of an empty span (UBSan nonnull).
  const std::vector<uint8_t> two = {7, 9};
  GgufWriter w;
  w.AddTensor("empty", GgmlType::F32, {0}, std::span<const uint8_t>());
  w.AddTensor("after", GgmlType::I8, {2}, std::span<const uint8_t>(two));
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "empty-span");
  EXPECT_EQ(f.tensors()[0].n_bytes, 0u);
  EXPECT_EQ(f.tensors()[1].bytes()[1], 9);
}

TEST(GgufWriter, SetReplacesInPlaceAndRemoveDeletes) {
  GgufWriter w;
  w.Set("a", V::U32(1));
  w.Set("b", V::U32(2));
  w.Set("a", V::String("again"));
  w.Remove("b");
  w.Remove("not there");
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "set");
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.GetString("a"), "again");
}

TEST(GgufWriter, WritesToDiskAtomicallyAndOpenMapsTheSameBytes) {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_gguf_writer_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "fixture.gguf").string();
  const GgufWriter w = MakeWriterFixture();
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  w.Write(path, [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); });
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> on_disk{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(on_disk == w.WriteToBuffer());
  ASSERT_EQ(progress.size(), 10u);  // once per tensor, growing to the total
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
  const GgufFile f = GgufFile::Open(path);
  EXPECT_EQ(f.path(), path);
  EXPECT_EQ(f.tensors().size(), 10u);
  EXPECT_EQ(f.GetString("general.name"), "ember writer fixture");
  std::filesystem::remove_all(dir);
}

TEST(GgufWriter, RefusesBadTensorsAndUnwritablePaths) {
  GgufWriter w;
  w.AddTensor("t", GgmlType::F32, {4}, PatternFill("t"));
  EXPECT_NE(ErrorOf([&] { w.AddTensor("t", GgmlType::F32, {4}, PatternFill("t")); })
                .find("duplicate tensor name 't'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { w.AddTensor("q", GgmlType::Q4_0, {33}, PatternFill("q")); })
                .find("row length 33 is not a multiple of Q4_0's block size 32"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { w.AddTensor("s", GgmlType::F32, {}, PatternFill("s")); })
                .find("0 dimensions (1 to 4 allowed)"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { w.AddTensor("s", GgmlType::F32, {1, 1, 1, 1, 1}, PatternFill("s")); })
                .find("5 dimensions (1 to 4 allowed)"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { w.AddTensor("o", GgmlType::F32, {1ull << 32, 1ull << 32}, PatternFill("o")); })
                .find("element count overflows"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { w.Write("/nonexistent-dir/x.gguf"); }).find("cannot create"),
            std::string::npos);
}

TEST(GgufFileGetters, ReportMissingKeysWrongTypesAndOutOfRangeValues) {
  GgufWriter w;
  w.Set("u64.big", V::U64(1ull << 40));
  w.Set("i32.neg", V::I32(-5));
  w.Set("u64.huge", V::U64(~0ull));
  w.Set("str", V::String("text"));
  w.Set("i32s", V::I32Array({1, 2}));
  w.Set("u32s.big", V::MakeArray(T::UINT32, {V::U32(4000000000u)}));
  w.Set("f64s", V::MakeArray(T::FLOAT64, {V::F64(0.5)}));
  w.Set("flag", V::Bool(true));
  const auto bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "getters.gguf");
  auto expect = [&](auto fn, const std::string& fragment) {
    const std::string msg = ErrorOf(fn);
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("getters.gguf: ", 0), 0u) << msg;
  };
  expect([&] { f.GetU32("absent"); }, "metadata key 'absent': missing");
  expect([&] { f.GetU32("u64.big"); }, "metadata key 'u64.big': value 1099511627776 is out of range");
  expect([&] { f.GetUnsigned("i32.neg"); }, "value -5 is negative");
  expect([&] { f.GetInt("u64.huge"); }, "value 18446744073709551615 is out of range");
  expect([&] { f.GetInt("str"); }, "expected an integer, found str");
  expect([&] { f.GetFloat("str"); }, "expected a number, found str");
  expect([&] { f.GetBool("str"); }, "expected bool, found str");
  expect([&] { f.GetString("flag"); }, "expected a string, found bool");
  expect([&] { f.GetArray("str"); }, "expected an array, found str");
  expect([&] { f.GetStringArray("i32s"); }, "expected an array of strings");
  expect([&] { f.GetF32Array("i32s"); }, "expected an array of floats");
  expect([&] { f.GetI32Array("u32s.big"); }, "array item 4000000000 is out of range");
  expect([&] { f.GetTensor("w"); }, "tensor 'w' is missing");
  EXPECT_EQ(f.GetInt("i32.neg"), -5);
  EXPECT_EQ(f.GetFloat("i32.neg"), -5.0);
  EXPECT_EQ(f.GetUnsigned("u64.big"), 1ull << 40);
  EXPECT_EQ(f.GetI32Array("i32s"), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(f.GetF32Array("f64s"), (std::vector<float>{0.5f}));
  EXPECT_EQ(f.GetU32Or("absent", 7), 7u);
  EXPECT_EQ(f.GetFloatOr("absent", 1.5), 1.5);
  EXPECT_TRUE(f.GetBoolOr("absent", true));
  EXPECT_EQ(f.GetStringOr("absent", "x"), "x");
  EXPECT_EQ(f.GetStringOr("str", "x"), "text");
  EXPECT_EQ(f.architecture(), "");
  EXPECT_TRUE(f.GetBoolOr("flag", false));
}

TEST(GgufFileOpen, NamesTheFileWhenItCannotBeOpenedOrIsEmpty) {
  EXPECT_NE(ErrorOf([] { GgufFile::Open("/nonexistent/model.gguf"); })
                .find("/nonexistent/model.gguf: cannot open"), std::string::npos);
  EXPECT_NE(ErrorOf([] { GgufFile::Open("/tmp"); }).find("/tmp: not a regular file"),
            std::string::npos);
  const std::string empty = std::filesystem::temp_directory_path() / ("ember_empty_" + std::to_string(::getpid()) + ".gguf");
  { std::ofstream touch(empty); }
  EXPECT_EQ(ErrorOf([&] { GgufFile::Open(empty); }),
            empty + ": offset 0: file truncated: magic needs 4 bytes, only 0 remain");
  std::filesystem::remove(empty);
}

}  // namespace
}  // namespace ember::test
