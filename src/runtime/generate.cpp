#include "runtime/generate.h"

namespace ember {

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kEndOfGeneration: return "eog";
    case StopReason::kLength: return "length";
    case StopReason::kContextFull: return "context";
    case StopReason::kStopped: return "stopped";
  }
  return "?";
}

GenerateResult Generate(Session& session, std::span<const int32_t> prompt, TokenChooser& chooser,
                        const std::function<bool(int32_t)>& is_eog, const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token) {
  GenerateResult result;
  const int64_t n_vocab = session.model().config().n_vocab;
  const std::vector<float>* logits = &session.Prefill(prompt);
  for (;;) {
    if (options.n_predict >= 0 && static_cast<int64_t>(result.tokens.size()) >= options.n_predict) {
      result.stop = StopReason::kLength;
      break;
    }
    const int32_t id = chooser.Choose(std::span<const float>(logits->data(), static_cast<size_t>(n_vocab)));
    if (is_eog && is_eog(id)) {
      result.stop = StopReason::kEndOfGeneration;
      break;
    }
    result.tokens.push_back(id);
    if (on_token && !on_token(id)) {
      result.stop = StopReason::kStopped;
      break;
    }
    if (session.n_past() >= session.n_ctx()) {
      result.stop = StopReason::kContextFull;
      break;
    }
    logits = &session.Decode(id);
  }
  return result;
}

}  // namespace ember
