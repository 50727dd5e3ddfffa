#include "runtime/generate.h"

#include "sample/stop_matcher.h"

namespace ember {

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kEndOfGeneration: return "eog";
    case StopReason::kLength: return "length";
    case StopReason::kContextFull: return "context";
    case StopReason::kStopped: return "stopped";
    case StopReason::kStopString: return "stop_string";
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

TextGenerateResult GenerateText(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                TokenChooser& chooser, const TextGenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text) {
  TextGenerateResult out;
  StreamingDecoder decoder(tokenizer);
  StopMatcher matcher(options.stops);
  bool caller_stopped = false;
  // Shows text; false when the caller wants to stop.
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    out.text += text;
    if (on_text && !on_text(text)) caller_stopped = true;
    return !caller_stopped;
  };
  // Passes decoded text through the stop strings; false when one matched.
  auto feed = [&](const std::string& piece) {
    StopMatcher::Result r = matcher.Feed(piece);
    emit(r.emit);
    if (r.stopped) out.stop_string = r.matched;
    return !r.stopped;
  };
  GenerateOptions go;
  go.n_predict = options.n_predict;
  const GenerateResult g = Generate(
      session, prompt, chooser, [&](int32_t id) { return tokenizer.IsEog(id); }, go,
      [&](int32_t id) { return feed(decoder.Push(id)) && !caller_stopped; });
  out.tokens = g.tokens;
  out.stop = g.stop;
  if (!out.stop_string.empty()) {
    out.stop = StopReason::kStopString;
  } else if (!caller_stopped) {
    // The last character may still be held back by the decoder, and text by the stop matcher.
    if (feed(decoder.Flush())) {
      emit(matcher.Flush());
    } else {
      out.stop = StopReason::kStopString;
    }
  }
  return out;
}

std::unique_ptr<Sampler> MakeSampler(const SamplerParams& params, const Tokenizer& tokenizer, int32_t n_vocab,
                                     const std::string& gbnf) {
  std::vector<std::string> pieces(static_cast<size_t>(n_vocab));
  for (int32_t i = 0; i < n_vocab && i < tokenizer.n_vocab(); ++i) {
    pieces[static_cast<size_t>(i)] = tokenizer.TokenToPiece(i, true);
  }
  auto sampler = std::make_unique<Sampler>(params, n_vocab, std::move(pieces), tokenizer.eog_ids(),
                                           [&tokenizer](const std::string& text) {
                                             return tokenizer.Encode(text, /*add_special=*/false, /*parse_special=*/false);
                                           });
  if (!gbnf.empty()) sampler->SetGrammar(gbnf);
  return sampler;
}

}  // namespace ember
