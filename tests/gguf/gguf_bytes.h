// Hand-built GGUF bytes for malformed-file tests: every field written explicitly, so that a test
// can put any value anywhere and know the offset of the field it broke.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_value.h"

namespace ember::test {

class GgufBytes {
 public:
  uint64_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  template <typename T>
  GgufBytes& Put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  GgufBytes& U8(uint8_t v) { return Put(v); }
  GgufBytes& U32(uint32_t v) { return Put(v); }
  GgufBytes& U64(uint64_t v) { return Put(v); }
  GgufBytes& Str(std::string_view s) {
    U64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& Zeros(uint64_t n) {
    bytes_.insert(bytes_.end(), n, 0);
    return *this;
  }
  GgufBytes& PadTo(uint64_t alignment) { return Zeros((alignment - size() % alignment) % alignment); }

  // "GGUF", version, tensor count, metadata count.
  GgufBytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return U32(kGgufMagic).U32(version).U64(n_tensors).U64(n_kv);
  }
  // A key and its value type; the caller writes the value.
  GgufBytes& Key(std::string_view key, GgufValueType type) {
    return Str(key).U32(static_cast<uint32_t>(type));
  }
  GgufBytes& KvU32(std::string_view key, uint32_t v) { return Key(key, GgufValueType::UINT32).U32(v); }
  GgufBytes& KvStr(std::string_view key, std::string_view v) {
    return Key(key, GgufValueType::STRING).Str(v);
  }
  // An array header: item type and count; the caller writes the items.
  GgufBytes& ArrayHeader(GgufValueType elem, uint64_t count) {
    return U32(static_cast<uint32_t>(elem)).U64(count);
  }
  GgufBytes& TensorInfo(std::string_view name, const std::vector<uint64_t>& shape, uint32_t type,
                        uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(shape.size()));
    for (uint64_t d : shape) U64(d);
    return U32(type).U64(offset);
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace ember::test
