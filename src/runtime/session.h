// Session: one conversation's state over a loaded model -- the KV cache, the number of positions
// filled, the last logits -- and the timings a run reports. Shared by the CLI and the server.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "gguf/ggml_type.h"
#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/llama.h"
#include "model/model.h"

namespace ember {

// Runs a whole forward pass in place of LlamaForward (same contract; `cache` is the session's
// host cache). The CUDA backend sets it: it keeps activations and its KV cache on the device.
using ForwardFn = std::function<void(KvCache& cache, std::span<const int32_t> tokens, int64_t pos0,
                                     const ForwardOptions& options, std::vector<float>& logits)>;

struct SessionOptions {
  int64_t n_ctx = 0;                   // 0: the model's context, capped at kDefaultMaxContext
  GgmlType kv_type = GgmlType::F16;    // F16 (llama.cpp's default) or F32
  ForwardFn forward;                   // empty: LlamaForward on the session's backend
};

// llama.cpp's default context when the model's own is larger.
inline constexpr int64_t kDefaultMaxContext = 4096;

struct Timings {
  double prompt_ms = 0.0;
  int64_t prompt_tokens = 0;
  double gen_ms = 0.0;
  int64_t gen_tokens = 0;
};

class Session {
 public:
  Session(const Model& model, Backend& backend, const SessionOptions& options);

  // Evaluates tokens as one batch after the current position. Returns the logits of the last
  // token (n_vocab), or of every token (n_tokens * n_vocab) with all_logits. A batch that does
  // not fit the context is an ember::Error with the numbers.
  const std::vector<float>& Prefill(std::span<const int32_t> tokens, bool all_logits = false);
  // One token after the current position; returns its logits (n_vocab).
  const std::vector<float>& Decode(int32_t token);
  // Forgets every position (the cache is overwritten as positions are filled again).
  void Reset();
  // Keeps the positions whose tokens `tokens` starts with (the longest common prefix with
  // history(), but at least one token is left to evaluate) and forgets the rest; returns the
  // tokens still to evaluate. How a chat turn reuses the cache: the whole conversation is
  // rendered and tokenized again, and only what differs from the cache is computed.
  std::span<const int32_t> KeepCommonPrefix(std::span<const int32_t> tokens);

  // The token at each filled position.
  const std::vector<int32_t>& history() const { return history_; }

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  const KvCache& cache() const { return cache_; }
  const Model& model() const { return model_; }
  const Timings& timings() const { return timings_; }
  const std::vector<float>& logits() const { return logits_; }
  void set_trace(ForwardTrace trace) { trace_ = std::move(trace); }

 private:
  const Model& model_;
  Backend& backend_;
  KvCache cache_;
  int64_t n_past_ = 0;
  std::vector<int32_t> history_;  // n_past_ entries
  std::vector<float> logits_;
  Timings timings_;
  ForwardTrace trace_;
  ForwardFn forward_;
};

// The context a session gets for a requested size (0 = default) on this model.
int64_t ResolveContextSize(const ModelConfig& config, int64_t requested);

}  // namespace ember
