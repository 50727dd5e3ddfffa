// KvCache: the keys and values of every processed position, per layer.
//
// Layout per layer: K (n_ctx, n_head_kv * head_dim) and V (n_ctx, n_head_kv * head_dim_v),
// row-major, one row per position, in F16 (the default, as llama.cpp) or F32. Position p of layer l
// is written once by the forward pass and read by every later position's attention.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/ggml_type.h"
#include "model/model_config.h"

namespace ember {

class KvCache {
 public:
  // type must be F16 or F32. n_ctx >= 1.
  KvCache(const ModelConfig& config, int64_t n_ctx, GgmlType type);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t k_width() const { return k_width_; }
  int64_t v_width() const { return v_width_; }
  GgmlType type() const { return type_; }
  size_t elem_size() const { return type_ == GgmlType::F16 ? 2 : 4; }
  uint64_t bytes() const { return static_cast<uint64_t>(storage_.size()); }

  // Row `pos` of layer `layer`'s keys / values.
  uint8_t* K(int64_t layer, int64_t pos) { return Row(layer, 0, pos, k_width_); }
  uint8_t* V(int64_t layer, int64_t pos) { return Row(layer, 1, pos, v_width_); }
  const uint8_t* K(int64_t layer, int64_t pos) const {
    return const_cast<KvCache*>(this)->K(layer, pos);
  }
  const uint8_t* V(int64_t layer, int64_t pos) const {
    return const_cast<KvCache*>(this)->V(layer, pos);
  }

 private:
  uint8_t* Row(int64_t layer, int which, int64_t pos, int64_t width);

  int64_t n_ctx_;
  int64_t n_layer_;
  int64_t k_width_;
  int64_t v_width_;
  GgmlType type_;
  size_t layer_bytes_;
  std::vector<uint8_t> storage_;
};

}  // namespace ember
