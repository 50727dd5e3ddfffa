// LlamaForward: the name the forward pass had when Llama was the only family; callers written
// then keep it. It is model/forward.h's Forward, which runs every family.
#pragma once

#include "model/forward.h"

namespace ember {

inline void LlamaForward(const Model& model, Backend& backend, KvCache& cache,
                         std::span<const int32_t> tokens, int64_t pos0,
                         const ForwardOptions& options, std::vector<float>& logits) {
  Forward(model, backend, cache, tokens, pos0, options, logits);
}

}  // namespace ember
