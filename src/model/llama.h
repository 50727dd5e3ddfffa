// The Llama forward pass, written once against the Backend interface.
//
//   x = token_embd[tokens]                                   (T, n_embd)
//   per layer:  h = rmsnorm(x) * attn_norm
//               q, k, v = h Wq, h Wk, h Wv; rope(q), rope(k); cache <- k, v
//               x += softmax_causal(q k^T / sqrt(head_dim)) v  Wo   (GQA: kv head = h / group)
//               h = rmsnorm(x) * ffn_norm
//               x += (silu(h Wgate) * h Wup) Wdown
//   logits = (rmsnorm(x) * output_norm) Woutput              (rows requested only)
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace ember {

// Called with each intermediate activation when set: the tool that finds the first layer
// where two implementations part. name is e.g. "attn_out", layer -1 for non-layer tensors.
using ForwardTrace =
    std::function<void(const char* name, int64_t layer, const float* data, int64_t rows, int64_t cols)>;

struct ForwardOptions {
  bool all_logits = false;  // logits for every token, else only for the last
  ForwardTrace trace;
};

// Runs tokens at positions pos0, pos0+1, ... (the cache must hold positions < pos0), stores their
// keys/values, and writes logits: (n_tokens, n_vocab) with all_logits, else (1, n_vocab).
// A batch that does not fit the cache is an ember::Error with the numbers.
void LlamaForward(const Model& model, Backend& backend, KvCache& cache,
                  std::span<const int32_t> tokens, int64_t pos0, const ForwardOptions& options,
                  std::vector<float>& logits);

}  // namespace ember
