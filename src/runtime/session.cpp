#include "runtime/session.h"

#include <chrono>

#include "core/error.h"

namespace ember {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int64_t ResolveContextSize(const ModelConfig& config, int64_t requested) {
  if (requested < 0) Fail("context size {} must not be negative", requested);
  if (requested == 0) return std::min(config.n_ctx_train, kDefaultMaxContext);
  return requested;
}

Session::Session(const Model& model, Backend& backend, const SessionOptions& options)
    : model_(model),
      backend_(backend),
      cache_(model.config(), ResolveContextSize(model.config(), options.n_ctx), options.kv_type),
      forward_(options.forward) {}

const std::vector<float>& Session::Prefill(std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) Fail("the prompt is empty (no tokens to evaluate)");
  if (n_past_ + static_cast<int64_t>(tokens.size()) > cache_.n_ctx()) {
    Fail("the prompt has {} tokens but the context holds {} (with {} already used); raise -c",
         tokens.size(), cache_.n_ctx(), n_past_);
  }
  const auto t0 = std::chrono::steady_clock::now();
  ForwardOptions fo;
  fo.all_logits = all_logits;
  fo.trace = trace_;
  if (forward_) {
    forward_(cache_, tokens, n_past_, fo, logits_);
  } else {
    LlamaForward(model_, backend_, cache_, tokens, n_past_, fo, logits_);
  }
  n_past_ += static_cast<int64_t>(tokens.size());
  history_.insert(history_.end(), tokens.begin(), tokens.end());
  timings_.prompt_ms += MsSince(t0);
  timings_.prompt_tokens += static_cast<int64_t>(tokens.size());
  return logits_;
}

const std::vector<float>& Session::Decode(int32_t token) {
  if (n_past_ + 1 > cache_.n_ctx()) Fail("the context of {} tokens is full", cache_.n_ctx());
  const auto t0 = std::chrono::steady_clock::now();
  ForwardOptions fo;
  fo.trace = trace_;
  const std::span<const int32_t> one(&token, 1);
  if (forward_) {
    forward_(cache_, one, n_past_, fo, logits_);
  } else {
    LlamaForward(model_, backend_, cache_, one, n_past_, fo, logits_);
  }
  n_past_ += 1;
  history_.push_back(token);
  timings_.gen_ms += MsSince(t0);
  timings_.gen_tokens += 1;
  return logits_;
}

void Session::Reset() {
  n_past_ = 0;
  history_.clear();
  timings_ = {};
}

std::span<const int32_t> Session::KeepCommonPrefix(std::span<const int32_t> tokens) {
  size_t keep = 0;
  while (keep < history_.size() && keep < tokens.size() && history_[keep] == tokens[keep]) ++keep;
  // The logits of the last token are needed, so it is always evaluated again.
  if (keep == tokens.size() && keep > 0) --keep;
  history_.resize(keep);
  n_past_ = static_cast<int64_t>(keep);
  return tokens.subspan(keep);
}

}  // namespace ember
