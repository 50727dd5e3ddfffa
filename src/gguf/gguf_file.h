// GGUF reader: a bounds-checked parse of the header, metadata and tensor infos of a GGUF file,
// with the tensor data left in a read-only memory map.
//
// Format (little-endian; versions 2 and 3 share this layout):
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count x { gguf_string key | u32 value_type | value }
//   tensor_count x { gguf_string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32) | tensor data (offsets relative to here)
//   gguf_string = u64 length | bytes;  array value = u32 elem_type | u64 count | items
// ne[0] is the contiguous (fastest-varying) dimension: a weight stored as (n_out, n_in) in PyTorch
// appears with ne = {n_in, n_out}.
//
// Every length, count and offset is checked against the bytes that remain before anything is
// allocated, and what the parse allocates in all is bounded (kGgufMaxParsedBytes); errors are
// ember::Error "FILE: offset N: what was wrong", one line (names from the file are escaped).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "gguf/ggml_type.h"
#include "gguf/gguf_value.h"

namespace ember {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;
inline constexpr int kGgufMaxArrayNesting = 8;
// Memory the parsed metadata and tensor infos may take (real models need a few tens of MiB; the
// largest vocabularies, 256K tokens with scores and types, about 40 MiB).
inline constexpr uint64_t kGgufMaxParsedBytes = uint64_t{1} << 30;

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // ne[0] first (contiguous dimension)
  GgmlType type;
  uint64_t offset = 0;          // relative to the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // inside the mapping

  uint64_t ne(int i) const { return i < static_cast<int>(shape.size()) ? shape[i] : 1; }
  // Rows of ne[0] elements (0 for an empty tensor, including one with ne[0] == 0).
  uint64_t n_rows() const { return shape.empty() || shape[0] == 0 ? 0 : n_elements / shape[0]; }
  std::span<const uint8_t> bytes() const { return {data, n_bytes}; }
};

class GgufFile {
 public:
  // Maps and parses a file. Throws ember::Error on any malformed input.
  static GgufFile Open(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing). `bytes` must outlive the result.
  static GgufFile Parse(std::span<const uint8_t> bytes, const std::string& source_name);

  const std::string& path() const { return source_name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* Find(const std::string& key) const;
  bool Has(const std::string& key) const { return Find(key) != nullptr; }

  // Typed access: a missing key, a value of the wrong type, or one out of range is an
  // ember::Error naming the file and key. The *Or variants return `fallback` when absent.
  const GgufValue& Get(const std::string& key) const;
  uint64_t GetUnsigned(const std::string& key) const;
  uint32_t GetU32(const std::string& key) const;
  int64_t GetInt(const std::string& key) const;
  double GetFloat(const std::string& key) const;  // accepts f32, f64 and integers
  bool GetBool(const std::string& key) const;
  const std::string& GetString(const std::string& key) const;
  const GgufValue::Array& GetArray(const std::string& key) const;
  std::vector<std::string> GetStringArray(const std::string& key) const;
  std::vector<float> GetF32Array(const std::string& key) const;
  std::vector<int32_t> GetI32Array(const std::string& key) const;
  uint32_t GetU32Or(const std::string& key, uint32_t fallback) const;
  double GetFloatOr(const std::string& key, double fallback) const;
  bool GetBoolOr(const std::string& key, bool fallback) const;
  std::string GetStringOr(const std::string& key, const std::string& fallback) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;
  // The tensor or an ember::Error naming it.
  const GgufTensorInfo& GetTensor(const std::string& name) const;

  // The architecture from general.architecture ("" if absent).
  std::string architecture() const { return GetStringOr("general.architecture", ""); }

 private:
  GgufFile() = default;
  void ParseAll();
  [[noreturn]] void KeyError(const std::string& key, const std::string& what) const;

  std::shared_ptr<MappedFile> mapping_;  // empty for Parse()
  std::span<const uint8_t> bytes_;
  std::string source_name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;

  friend class GgufParser;
};

}  // namespace ember
