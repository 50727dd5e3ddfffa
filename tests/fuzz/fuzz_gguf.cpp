// libFuzzer target for the GGUF reader: any bytes must either parse or raise ember::Error, never
// crash, hang, read out of bounds or allocate without bound. What parses is then exercised: every
// metadata value is walked and rendered, every typed getter is tried on every key, every tensor's
// data is touched, and the file is written again with GgufWriter and must read back identically.
// fuzz-deps: ember_gguf ember_core
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace {

using ember::GgufValue;

// Exact equality with floats compared bit for bit, so that NaN equals itself.
bool Same(const GgufValue& a, const GgufValue& b) {
  if (a.type() != b.type()) return false;
  if (a.is_float()) {
    return std::bit_cast<uint64_t>(a.as_float()) == std::bit_cast<uint64_t>(b.as_float());
  }
  if (!a.is_array()) return a == b;
  if (a.elem_type() != b.elem_type() || a.as_array().size() != b.as_array().size()) return false;
  for (size_t i = 0; i < a.as_array().size(); ++i) {
    if (!Same(a.as_array()[i], b.as_array()[i])) return false;
  }
  return true;
}

// Signalling NaNs in f32 values come back quieted (float -> double -> float): not comparable.
bool HasSignallingNan(const GgufValue& v) {
  if (v.type() == ember::GgufValueType::FLOAT32) {
    const auto bits = std::bit_cast<uint32_t>(static_cast<float>(v.as_float()));
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) != 0 && !(bits & 0x400000u);
  }
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (HasSignallingNan(item)) return true;
    }
  }
  return false;
}

size_t Walk(const GgufValue& v) {
  size_t n = 1;
  if (v.is_array()) {
    for (const auto& item : v.as_array()) n += Walk(item);
  } else if (v.is_string()) {
    n += v.as_string().size();
  }
  return n;
}

template <typename F>
void Try(F&& f) {
  try {
    f();
  } catch (const ember::Error&) {
  }
}

void Exercise(const ember::GgufFile& f) {
  volatile size_t sink = 0;
  for (const auto& kv : f.metadata()) {
    const std::string& key = kv.first;  // not a structured binding: clang 14 cannot capture those
    const GgufValue& value = kv.second;
    sink = sink + Walk(value) + value.ToString().size() + value.ToString(SIZE_MAX).size();
    Try([&] { sink = sink + f.GetUnsigned(key); });
    Try([&] { sink = sink + f.GetU32(key); });
    Try([&] { sink = sink + static_cast<size_t>(f.GetInt(key)); });
    Try([&] { sink = sink + static_cast<size_t>(f.GetFloat(key) != 0); });
    Try([&] { sink = sink + f.GetBool(key); });
    Try([&] { sink = sink + f.GetString(key).size(); });
    Try([&] { sink = sink + f.GetArray(key).size(); });
    Try([&] { sink = sink + f.GetStringArray(key).size(); });
    Try([&] { sink = sink + f.GetF32Array(key).size(); });
    Try([&] { sink = sink + f.GetI32Array(key).size(); });
    if (f.Find(key) != &value) __builtin_trap();
  }
  // A general.architecture that is not a string is an ember::Error (the fuzzer's second finding
  // was this harness calling it unguarded).
  Try([&] { sink = sink + f.architecture().size(); });
  for (const auto& t : f.tensors()) {
    sink = sink + t.n_rows() + t.ne(0) + t.ne(3);
    if (t.n_bytes > 0) sink = sink + t.data[0] + t.data[t.n_bytes - 1];  // inside the buffer
    if (f.FindTensor(t.name) != &t) __builtin_trap();
  }
}

// Whatever the reader accepts, the writer must write so that the reader reads it back the same.
void RoundTrip(const ember::GgufFile& f) {
  if (f.alignment() > (1u << 16)) return;  // the writer pads with that many zeros per tensor
  ember::GgufWriter w(static_cast<uint32_t>(f.alignment()));
  for (const auto& [key, value] : f.metadata()) {
    if (HasSignallingNan(value)) return;
    w.Set(key, value);
  }
  for (const auto& t : f.tensors()) w.AddTensor(t.name, t.type, t.shape, t.bytes());
  const std::vector<uint8_t> bytes = w.WriteToBuffer();
  const ember::GgufFile g = ember::GgufFile::Parse(bytes, "rewritten");
  if (g.metadata().size() != f.metadata().size() || g.tensors().size() != f.tensors().size()) {
    __builtin_trap();
  }
  for (const auto& [key, value] : f.metadata()) {
    const GgufValue* other = g.Find(key);
    if (other == nullptr || !Same(*other, value)) __builtin_trap();
  }
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& a = f.tensors()[i];
    const auto& b = g.tensors()[i];
    if (a.name != b.name || a.type != b.type || a.shape != b.shape || a.n_bytes != b.n_bytes ||
        !std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin(), b.bytes().end())) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<ember::GgufFile> f;
  try {
    f.emplace(ember::GgufFile::Parse(std::span<const uint8_t>(data, size), "fuzz"));
  } catch (const ember::Error& e) {
    // Refusing a malformed file is the expected outcome, with a one-line "NAME: offset N: ...".
    const std::string msg = e.what();
    if (msg.rfind("fuzz: offset ", 0) != 0 || msg.find('\n') != std::string::npos) __builtin_trap();
    return 0;
  }
  Exercise(*f);
  RoundTrip(*f);  // an ember::Error here is a bug: it escapes and libFuzzer reports it
  return 0;
}
