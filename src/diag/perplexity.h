// Perplexity the way llama.cpp's llama-perplexity measures it, so the numbers can be put side by
// side:
//   - the whole text is tokenized once with the vocabulary's BOS rule (no special-token parsing);
//   - it is cut into n_chunk = n_tokens / n_ctx chunks of n_ctx tokens (the tail is dropped);
//   - each chunk is evaluated from an empty cache, its FIRST token replaced by BOS when the
//     vocabulary adds one (replaced, not inserted, so chunks stay n_ctx long);
//   - only the second half is scored: logits at positions first = n_ctx/2 .. n_ctx-2 predict the
//     next token, n_ctx - 1 - first scores per chunk;
//   - PPL = exp(mean NLL), uncertainty = PPL * sqrt((E[NLL^2] - E[NLL]^2) / (count - 1)).
// The same pass can save the log-probabilities as llama.cpp's --kl-divergence-base file (see
// kl_divergence.h), which llama-perplexity reads too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/backend.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ember {

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t n_batch = 2048;    // capped at n_ctx, as llama.cpp does
  int64_t n_chunks = -1;     // -1: every full chunk
  std::string kl_base_out;   // save log-probabilities here (llama.cpp format) when set
};

struct PerplexityResult {
  double ppl = 0.0;
  double ppl_error = 0.0;
  int64_t n_tokens = 0;  // tokens in the text
  int64_t n_chunk = 0;
  int64_t count = 0;     // scored positions
  std::vector<double> running;  // the estimate after each chunk
};

// The negative log-likelihood of `token` under `logits` (n_vocab), computed as llama.cpp does
// (float exponentials, double sum).
double TokenNll(const float* logits, int64_t n_vocab, int32_t token);

// Throws ember::Error when the text has fewer than 2 * n_ctx tokens (llama.cpp's rule) or the
// context exceeds the model's. on_chunk(i, running_ppl) is called after each chunk.
PerplexityResult ComputePerplexity(const Model& model, Backend& backend, const Tokenizer& tokenizer,
                                   const std::string& text, const PerplexityOptions& options,
                                   const std::function<void(int64_t, double)>& on_chunk = nullptr);

class Session;

// Logits of positions first..n_ctx-1 of one chunk ((n_ctx - first), n_vocab), evaluated from an
// empty cache in batches of n_batch, the chunk's first token replaced by BOS when the vocabulary
// adds one. Shared with the KL pass.
void EvaluateChunk(Session& session, const Tokenizer& tokenizer, std::vector<int32_t> chunk,
                   int64_t n_batch, int64_t first, std::vector<float>& logits);

}  // namespace ember
