#include "diag/perplexity.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "diag/kl_divergence.h"
#include "runtime/session.h"

namespace ember {

double TokenNll(const float* logits, int64_t n_vocab, int32_t token) {
  float max_logit = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) max_logit = std::max(max_logit, logits[i]);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  return -(logits[token] - max_logit - std::log(sum_exp));
}

void EvaluateChunk(Session& session, const Tokenizer& tokenizer, std::vector<int32_t> chunk,
                   int64_t n_batch, int64_t first, std::vector<float>& logits) {
  const int64_t n_ctx = static_cast<int64_t>(chunk.size());
  const int64_t n_vocab = session.model().config().n_vocab;
  if (tokenizer.add_bos() && tokenizer.bos() >= 0) chunk[0] = tokenizer.bos();
  session.Reset();
  logits.assign(static_cast<size_t>((n_ctx - first) * n_vocab), 0.0f);
  for (int64_t b = 0; b < n_ctx; b += n_batch) {
    const int64_t n = std::min(n_batch, n_ctx - b);
    const auto& out = session.Prefill(std::span<const int32_t>(chunk.data() + b, n), true);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = b + k;
      if (pos < first) continue;
      std::memcpy(logits.data() + (pos - first) * n_vocab, out.data() + k * n_vocab,
                  static_cast<size_t>(n_vocab) * sizeof(float));
    }
  }
}

PerplexityResult ComputePerplexity(const Model& model, Backend& backend, const Tokenizer& tokenizer,
                                   const std::string& text, const PerplexityOptions& o,
                                   const std::function<void(int64_t, double)>& on_chunk) {
  const int64_t n_ctx = o.n_ctx;
  if (n_ctx < 4) Fail("perplexity: context size {} is too small (at least 4)", n_ctx);
  if (o.n_batch < 1) Fail("perplexity: batch size {} must be positive", o.n_batch);
  if (tokenizer.add_eos()) Fail("perplexity: the vocabulary adds EOS to every text, which llama.cpp's method does not support");
  const int64_t n_batch = std::min(o.n_batch, n_ctx);
  const std::vector<int32_t> tokens = tokenizer.Encode(text, true, false);
  PerplexityResult r;
  r.n_tokens = static_cast<int64_t>(tokens.size());
  if (r.n_tokens < 2 * n_ctx) {
    Fail("perplexity: the text has {} tokens; a context of {} needs at least {} (use a longer text or a smaller -c)",
         r.n_tokens, n_ctx, 2 * n_ctx);
  }
  const int64_t n_chunk_max = r.n_tokens / n_ctx;
  r.n_chunk = o.n_chunks < 0 ? n_chunk_max : std::min(o.n_chunks, n_chunk_max);
  const int64_t n_vocab = model.config().n_vocab;
  const int64_t first = n_ctx / 2;
  const int64_t n_scored = n_ctx - 1 - first;

  std::ofstream kl_out;
  const int64_t nv = 2 * ((n_vocab + 1) / 2) + 4;
  std::vector<uint16_t> log_probs;
  if (!o.kl_base_out.empty()) {
    kl_out.open(o.kl_base_out, std::ios::binary);
    if (!kl_out) Fail("perplexity: cannot write '{}'", o.kl_base_out);
    const uint32_t ctx32 = static_cast<uint32_t>(n_ctx);
    const int32_t vocab32 = static_cast<int32_t>(n_vocab), chunk32 = static_cast<int32_t>(r.n_chunk);
    kl_out.write("_logits_", 8);
    kl_out.write(reinterpret_cast<const char*>(&ctx32), 4);
    kl_out.write(reinterpret_cast<const char*>(&vocab32), 4);
    kl_out.write(reinterpret_cast<const char*>(&chunk32), 4);
    kl_out.write(reinterpret_cast<const char*>(tokens.data()),
                 static_cast<std::streamsize>(r.n_chunk * n_ctx * 4));
    log_probs.resize(static_cast<size_t>(n_scored * nv));
  }

  SessionOptions so;
  so.n_ctx = n_ctx;
  Session session(model, backend, so);
  std::vector<float> logits;
  double nll = 0.0, nll2 = 0.0;
  for (int64_t c = 0; c < r.n_chunk; ++c) {
    const auto begin = tokens.begin() + c * n_ctx;
    EvaluateChunk(session, tokenizer, std::vector<int32_t>(begin, begin + n_ctx), n_batch, first,
                  logits);
    for (int64_t j = 0; j < n_scored; ++j) {
      const int32_t next = tokens[static_cast<size_t>(c * n_ctx + first + j + 1)];
      const float* row = logits.data() + j * n_vocab;
      const double v = log_probs.empty() ? TokenNll(row, n_vocab, next)
                                         : QuantizeLogProbs(row, n_vocab, next, log_probs.data() + j * nv);
      nll += v;
      nll2 += v * v;
    }
    if (kl_out.is_open()) {
      kl_out.write(reinterpret_cast<const char*>(log_probs.data()),
                   static_cast<std::streamsize>(log_probs.size() * sizeof(uint16_t)));
    }
    r.count += n_scored;
    r.running.push_back(std::exp(nll / static_cast<double>(r.count)));
    if (on_chunk) on_chunk(c, r.running.back());
  }
  if (kl_out.is_open() && !kl_out) Fail("perplexity: writing '{}' failed", o.kl_base_out);
  const double mean = nll / static_cast<double>(r.count);
  r.ppl = std::exp(mean);
  const double var = nll2 / static_cast<double>(r.count) - mean * mean;
  r.ppl_error = var > 0 && r.count > 1 ? std::sqrt(var / static_cast<double>(r.count - 1)) * r.ppl : 0.0;
  return r;
}

}  // namespace ember
