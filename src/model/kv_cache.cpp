#include "model/kv_cache.h"

#include "core/error.h"

namespace ember {

KvCache::KvCache(const ModelConfig& config, int64_t n_ctx, GgmlType type)
    : n_ctx_(n_ctx),
      n_layer_(config.n_layer),
      k_width_(config.kv_width()),
      v_width_(config.v_width()),
      type_(type) {
  if (type != GgmlType::F16 && type != GgmlType::F32) {
    Fail("KV cache type {} is not supported (use f16 or f32)", GgmlTypeName(type));
  }
  if (n_ctx < 1) Fail("context size {} must be at least 1", n_ctx);
  layer_bytes_ = static_cast<size_t>(n_ctx) * static_cast<size_t>(k_width_ + v_width_) * elem_size();
  storage_.assign(layer_bytes_ * static_cast<size_t>(n_layer_), 0);
}

uint8_t* KvCache::Row(int64_t layer, int which, int64_t pos, int64_t width) {
  EMBER_CHECK_MSG(layer >= 0 && layer < n_layer_ && pos >= 0 && pos < n_ctx_,
                  "layer {} pos {} (n_ctx {})", layer, pos, n_ctx_);
  size_t off = static_cast<size_t>(layer) * layer_bytes_;
  if (which == 1) off += static_cast<size_t>(n_ctx_) * static_cast<size_t>(k_width_) * elem_size();
  off += static_cast<size_t>(pos) * static_cast<size_t>(width) * elem_size();
  return storage_.data() + off;
}

}  // namespace ember
