// KL divergence between a model and a base model's saved log-probabilities, llama.cpp's method and
// file format (llama-perplexity --kl-divergence-base / --kl-divergence), so files are exchangeable:
//
//   "_logits_"            8 bytes
//   n_ctx                 u32
//   n_vocab               i32
//   n_chunk               i32
//   tokens                i32 * n_ctx * n_chunk (the text's tokens, BOS not substituted)
//   per chunk, for each scored position (n_ctx - 1 - n_ctx/2 of them):
//     nv = 2*((n_vocab+1)/2) + 4 uint16: the first 4 hold two floats (scale, min_log_prob), then
//     log p(i) = scale * q[i] + min_log_prob, with min_logit clamped at max_logit - 16
//     (q = 0 below it) -- 16-bit quantized log-probabilities.
// Per position: KLD = sum_i p_base(i) (log p_base(i) - log p(i)) over p_base's entries above
// exp(-16); same-top when the argmax of both agree; Δp = p(token) - p_base(token).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "model/backend.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ember {

// Quantizes one position's log-probabilities into `out` (nv uint16) as llama.cpp does; returns
// the NLL of `token`.
double QuantizeLogProbs(const float* logits, int64_t n_vocab, int32_t token, uint16_t* out);

struct KlResult {
  int64_t n_chunk = 0;
  int64_t count = 0;
  double ppl = 0.0, ppl_error = 0.0;            // the model's
  double ppl_base = 0.0, ppl_base_error = 0.0;  // the base's, from its saved log-probabilities
  double ln_ratio = 0.0, ln_ratio_error = 0.0;  // mean ln(PPL(Q)/PPL(base))
  double ppl_ratio = 0.0, ppl_ratio_error = 0.0;
  double kld_mean = 0.0, kld_error = 0.0;
  double kld_median = 0.0, kld_max = 0.0, kld_p99 = 0.0, kld_p90 = 0.0;
  double same_top = 0.0, same_top_error = 0.0;  // fraction
  double p_diff_rms = 0.0;                      // RMS of Δp (fraction)
  double p_diff_max = 0.0;
};

// Evaluates `model` on the tokens saved in `base_path` and compares. on_chunk(i, result so far).
KlResult ComputeKlDivergence(const Model& model, Backend& backend, const Tokenizer& tokenizer,
                             const std::string& base_path, int64_t n_batch,
                             const std::function<void(int64_t, const KlResult&)>& on_chunk = nullptr);

// llama.cpp's closing report ("====== Perplexity statistics ======" ... "Same top p").
std::string FormatKl(const KlResult& r);

}  // namespace ember
