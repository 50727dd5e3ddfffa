// The forward pass of every supported family, written once against the Backend interface; the
// family's switches (model/family.h, copied into ModelConfig) select the steps that differ.
//
//   x = token_embd[tokens] (* sqrt(n_embd): gemma)                     (T, n_embd)
//   per layer:  h = rmsnorm(x) * attn_norm
//               q, k, v = h Wq (+ bq), h Wk (+ bk), h Wv (+ bv)     (phi3: one fused Wqkv)
//               q, k = rmsnorm per head * q_norm, k_norm            (gemma3)
//               rope(q), rope(k) (adjacent pairs, or NeoX halves; a sliding layer has its own base)
//               cache <- k, v
//               a = softmax_causal(q k^T * scale) v  Wo  (GQA: kv head = h / group; a sliding
//                   layer attends to the last `window` positions only)
//               x += a (gemma3: rmsnorm(a) * attn_post_norm)
//               h = rmsnorm(x) * ffn_norm
//               f = (act(h Wgate) * h Wup) Wdown, act = silu or tanh-GELU  (phi3: fused gate/up)
//               x += f (gemma3: rmsnorm(f) * ffn_post_norm)
//   logits = (rmsnorm(x) * output_norm) Woutput (soft-capped if the model says so), rows requested
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
void Forward(const Model& model, Backend& backend, KvCache& cache, std::span<const int32_t> tokens,
             int64_t pos0, const ForwardOptions& options, std::vector<float>& logits);

}  // namespace ember
