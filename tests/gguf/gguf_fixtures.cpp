// Small GGUF files made with ember's GgufWriter (see gguf_fixtures.h).
#include "gguf/gguf_fixtures.h"

#include <cstring>
#include <limits>

#include "gguf/gguf_file.h"

namespace ember::test {

std::vector<uint8_t> PatternBytes(const std::string& name, size_t n) {
  uint64_t x = 0xcbf29ce484222325ull;  // FNV-1a of the name seeds a 64-bit LCG
  for (char c : name) x = (x ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  std::vector<uint8_t> out(n);
  for (auto& b : out) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(x >> 56);
  }
  return out;
}

GgufWriter::Fill PatternFill(const std::string& name) {
  return [name](std::span<uint8_t> dst) {
    const auto bytes = PatternBytes(name, dst.size());
    if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  };
}

namespace {

using V = GgufValue;
using T = GgufValueType;

// An array nested `depth` levels deep: [[...[1, 2]...]], the innermost holding u8 1 and 2.
GgufValue Nested(int depth) {
  if (depth == 1) return V::MakeArray(T::UINT8, {V::U8(1), V::U8(2)});
  return V::MakeArray(T::ARRAY, {Nested(depth - 1)});
}

}  // namespace

GgufWriter MakeWriterFixture() {
  GgufWriter w(64);
  w.Set("general.architecture", V::String("fixture"));
  w.Set("general.name", V::String("ember writer fixture"));
  // Every scalar type at its extremes.
  w.Set("scalar.u8", V::U8(255));
  w.Set("scalar.i8", V::I8(-128));
  w.Set("scalar.u16", V::U16(65535));
  w.Set("scalar.i16", V::I16(-32768));
  w.Set("scalar.u32", V::U32(std::numeric_limits<uint32_t>::max()));
  w.Set("scalar.i32", V::I32(std::numeric_limits<int32_t>::min()));
  w.Set("scalar.u64", V::U64(std::numeric_limits<uint64_t>::max()));
  w.Set("scalar.i64", V::I64(std::numeric_limits<int64_t>::min()));
  w.Set("scalar.f32", V::F32(1e-6f));
  w.Set("scalar.f32_inf", V::F32(-std::numeric_limits<float>::infinity()));
  w.Set("scalar.f32_nan", V::F32(std::numeric_limits<float>::quiet_NaN()));
  w.Set("scalar.f32_denormal", V::F32(std::numeric_limits<float>::denorm_min()));
  w.Set("scalar.f64", V::F64(3.141592653589793));
  w.Set("scalar.f64_min", V::F64(std::numeric_limits<double>::lowest()));
  w.Set("scalar.true", V::Bool(true));
  w.Set("scalar.false", V::Bool(false));
  // Strings: empty, multi-byte UTF-8, an embedded NUL, bytes that are not UTF-8.
  w.Set("string.empty", V::String(""));
  w.Set("string.utf8", V::String("h\xc3\xa9llo \xe2\x96\x81w\xc3\xb6rld \xf0\x9f\x94\xa5\n\t\"\\"));
  w.Set("string.nul", V::String(std::string("a\0b", 3)));
  w.Set("string.not_utf8", V::String("\xff\xfe\x80"));
  w.Set("", V::String("the empty key"));
  // Arrays: empty ones, one of each scalar type, a long one, strings, nesting.
  w.Set("array.empty_u8", V::MakeArray(T::UINT8, {}));
  w.Set("array.empty_str", V::MakeArray(T::STRING, {}));
  w.Set("array.empty_arr", V::MakeArray(T::ARRAY, {}));
  w.Set("array.u8", V::MakeArray(T::UINT8, {V::U8(0), V::U8(1), V::U8(255)}));
  w.Set("array.i8", V::MakeArray(T::INT8, {V::I8(-128), V::I8(127)}));
  w.Set("array.u16", V::MakeArray(T::UINT16, {V::U16(0), V::U16(65535)}));
  w.Set("array.i16", V::MakeArray(T::INT16, {V::I16(-32768), V::I16(32767)}));
  w.Set("array.u32", V::MakeArray(T::UINT32, {V::U32(7), V::U32(4000000000u)}));
  w.Set("array.i32", V::I32Array({-2147483647 - 1, 0, 2147483647}));
  w.Set("array.u64", V::MakeArray(T::UINT64, {V::U64(0), V::U64(~0ull)}));
  w.Set("array.i64", V::MakeArray(T::INT64, {V::I64(-1), V::I64(std::numeric_limits<int64_t>::max())}));
  w.Set("array.f32", V::F32Array({0.5f, -0.0f, std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(), 3.4028235e38f}));
  w.Set("array.f64", V::MakeArray(T::FLOAT64, {V::F64(1.0 / 3.0), V::F64(-2.5e-300)}));
  w.Set("array.bool", V::MakeArray(T::BOOL, {V::Bool(true), V::Bool(false), V::Bool(true)}));
  w.Set("array.str", V::StringArray({"", "a", "\xe2\x96\x81the", std::string("x\0y", 3)}));
  std::vector<float> long_f32(1000);
  for (size_t i = 0; i < long_f32.size(); ++i) long_f32[i] = -static_cast<float>(i) * 0.25f;
  w.Set("array.long_f32", V::F32Array(long_f32));
  std::vector<std::string> long_str;
  for (int i = 0; i < 300; ++i) long_str.push_back("tok" + std::to_string(i * i));
  w.Set("array.long_str", V::StringArray(long_str));
  w.Set("array.nested_i32", V::MakeArray(T::ARRAY, {V::I32Array({1, 2}), V::I32Array({}),
                                                    V::I32Array({3})}));
  w.Set("array.nested_str", V::MakeArray(T::ARRAY, {V::StringArray({"a", "b"}),
                                                    V::StringArray({""})}));
  w.Set("array.nested_empty", V::MakeArray(T::ARRAY, {V::MakeArray(T::ARRAY, {})}));
  w.Set("array.nested_deepest", Nested(kGgufMaxArrayNesting));

  // Tensors: 1 to 4 dimensions, row sizes that need padding to 64, several block types.
  auto add = [&](const std::string& name, GgmlType type, std::vector<uint64_t> shape) {
    w.AddTensor(name, type, std::move(shape), PatternFill(name));
  };
  add("f32.odd", GgmlType::F32, {5});
  add("f16.matrix", GgmlType::F16, {3, 2});
  add("bf16.vector", GgmlType::BF16, {7});
  add("f64.pair", GgmlType::F64, {2});
  add("i8.bytes", GgmlType::I8, {3});
  add("i32.4d", GgmlType::I32, {2, 3, 1, 2});
  add("q4_0.weight", GgmlType::Q4_0, {64, 2});
  add("q8_0.weight", GgmlType::Q8_0, {32, 3, 2});
  add("q4_k.weight", GgmlType::Q4_K, {256, 2});
  add("q6_k.weight", GgmlType::Q6_K, {512});
  return w;
}

std::vector<uint8_t> MakeSmallFile() {
  GgufWriter w;
  w.Set("general.architecture", V::String("llama"));
  w.Set("llama.block_count", V::U32(2));
  w.Set("llama.rope.freq_base", V::F32(10000.0f));
  w.Set("flag", V::Bool(true));
  w.Set("tokens", V::StringArray({"<s>", "a", ""}));
  w.Set("nested", V::MakeArray(T::ARRAY, {V::I32Array({1, -1}), V::MakeArray(T::INT32, {})}));
  w.AddTensor("token_embd.weight", GgmlType::Q8_0, {32, 2}, PatternFill("token_embd.weight"));
  w.AddTensor("norm", GgmlType::F32, {3}, PatternFill("norm"));
  w.AddTensor("out", GgmlType::F16, {4, 2}, PatternFill("out"));
  std::vector<uint8_t> bytes = w.WriteToBuffer();
  const GgufFile f = GgufFile::Parse(bytes, "small");
  const GgufTensorInfo& last = f.tensors().back();
  bytes.resize(f.data_offset() + last.offset + last.n_bytes);
  return bytes;
}

std::vector<std::pair<std::string, std::vector<uint8_t>>> MakeSeedFiles() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds;
  seeds.emplace_back("fixture.gguf", MakeWriterFixture().WriteToBuffer());
  seeds.emplace_back("small.gguf", MakeSmallFile());
  seeds.emplace_back("empty.gguf", GgufWriter().WriteToBuffer());
  {
    GgufWriter w;
    w.Set("general.architecture", V::String("llama"));
    w.Set("tokenizer.ggml.tokens", V::StringArray({"<unk>", "<s>", "</s>", "\xe2\x96\x81hi"}));
    w.Set("tokenizer.ggml.scores", V::F32Array({0.0f, 0.0f, 0.0f, -1.5f}));
    w.Set("tokenizer.ggml.token_type", V::I32Array({2, 3, 3, 1}));
    auto v2 = w.WriteToBuffer();
    v2[4] = 2;  // the same layout, declared as GGUF version 2
    seeds.emplace_back("vocab_v2.gguf", std::move(v2));
  }
  {
    GgufWriter w(1);
    w.AddTensor("a", GgmlType::I8, {3}, PatternFill("a"));
    w.AddTensor("b", GgmlType::Q4_K, {256}, PatternFill("b"));
    seeds.emplace_back("align1.gguf", w.WriteToBuffer());
  }
  {
    GgufWriter w;
    w.Set("deep", Nested(kGgufMaxArrayNesting));
    w.AddTensor("z", GgmlType::F32, {0, 4}, PatternFill("z"));
    seeds.emplace_back("deep_and_empty_tensor.gguf", w.WriteToBuffer());
  }
  return seeds;
}

}  // namespace ember::test
