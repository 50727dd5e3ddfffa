// The generation loop shared by `ember run` and the server: prefill the prompt as one batch, then
// decode one token at a time, choosing each with a TokenChooser, until an end-of-generation token,
// the token limit, a full context, or the caller says stop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/session.h"
#include "runtime/simple_sampler.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace ember {

struct GenerateOptions {
  int64_t n_predict = -1;  // < 0: until end of generation or a full context
};

// kStopped: the caller said stop (Ctrl-C); kStopString: a stop string (-r) matched.
enum class StopReason { kEndOfGeneration, kLength, kContextFull, kStopped, kStopString };
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

struct TextGenerateOptions {
  int64_t n_predict = -1;          // < 0: until end of generation or a full context
  std::vector<std::string> stops;  // stop strings, matched across token boundaries
};

struct TextGenerateResult {
  std::vector<int32_t> tokens;  // generated ids (an end-of-generation token is not included)
  std::string text;             // what was emitted: complete UTF-8, no stop string
  StopReason stop = StopReason::kLength;
  std::string stop_string;      // the stop string that matched (kStopString)
};

// Generate, as text: each token is decoded to UTF-8 (held back until a character is complete)
// and passed through the stop strings, so on_text only ever sees text to show. on_text returns
// false to stop (kStopped). `prompt` is evaluated after the session's current position.
TextGenerateResult GenerateText(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                TokenChooser& chooser, const TextGenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text);

// The sampler chain for a model's vocabulary: each token's piece (special tokens included) for
// the grammar and DRY, the vocabulary's end-of-generation tokens, and `gbnf` ("" = none).
std::unique_ptr<Sampler> MakeSampler(const SamplerParams& params, const Tokenizer& tokenizer, int32_t n_vocab,
                                     const std::string& gbnf);

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
