// GGUF v3 writer: metadata in insertion order, tensor infos, aligned tensor data.
//
// Tensor data is produced by a callback at write time, so multi-gigabyte synthetic or quantized
// models are streamed to disk without being held in memory. The file is written to PATH.tmp and
// renamed, so a failed write never leaves a half-written model under the real name.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/gguf_value.h"

namespace ember {

class GgufWriter {
 public:
  // Fills `dst` (exactly the tensor's byte size) with the tensor's data.
  using Fill = std::function<void(std::span<uint8_t> dst)>;

  explicit GgufWriter(uint32_t alignment = 32);

  // Sets a key; replaces an existing one in place (keeping its position).
  void Set(const std::string& key, GgufValue value);
  void Remove(const std::string& key);
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }

  // shape is ne[0] first (contiguous dimension). Throws if shape[0] is not a multiple of the
  // type's block size or the name is a duplicate.
  void AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape, Fill fill);
  // Copies nothing: `data` must stay alive until Write().
  void AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> shape,
                 std::span<const uint8_t> data);

  // Writes the whole file. Calls progress(done_bytes, total_bytes) after each tensor if given.
  void Write(const std::string& path,
             const std::function<void(uint64_t, uint64_t)>& progress = nullptr) const;
  // The complete file in memory (tests, small files).
  std::vector<uint8_t> WriteToBuffer() const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> shape;
    uint64_t n_bytes;
    uint64_t offset;
    Fill fill;
  };
  void Emit(const std::function<void(const void*, size_t)>& sink,
            const std::function<void(uint64_t, uint64_t)>& progress) const;

  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t data_size_ = 0;
};

}  // namespace ember
