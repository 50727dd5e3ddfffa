// The generation loop shared by `ember run` and the server: prefill the prompt as one batch, then
// decode one token at a time, choosing each with a TokenChooser, until an end-of-generation token,
// the token limit, a full context, or the caller says stop.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "runtime/session.h"
#include "runtime/simple_sampler.h"
#include "sample/sampler.h"

namespace ember {

struct GenerateOptions {
  int64_t n_predict = -1;  // < 0: until end of generation or a full context
};

enum class StopReason { kEndOfGeneration, kLength, kContextFull, kStopped };
const char* StopReasonName(StopReason r);

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (an end-of-generation token is not included)
  StopReason stop = StopReason::kLength;
};

// on_token(id) is called for each generated token (not for the end-of-generation one) and
// returns false to stop. is_eog(id) says whether a token ends generation.
GenerateResult Generate(Session& session, std::span<const int32_t> prompt, TokenChooser& chooser,
                        const std::function<bool(int32_t)>& is_eog, const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token);

// The full sampler chain (src/sample) as a TokenChooser: Sample, then Accept.
class ChainChooser : public TokenChooser {
 public:
  explicit ChainChooser(Sampler& sampler) : sampler_(sampler) {}
  int32_t Choose(std::span<const float> logits) override {
    const int32_t id = sampler_.Sample(logits);
    sampler_.Accept(id);
    return id;
  }

 private:
  Sampler& sampler_;
};

}  // namespace ember
