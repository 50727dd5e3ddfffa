#include "runtime/prompt_tokens.h"

namespace ember {

std::vector<int32_t> TokenizePrompt(const Tokenizer& tok, const std::string& text, bool no_bos,
                                    std::span<const Tokenizer::TextRange> plain) {
  // A template that starts with the BOS text already carries BOS: don't add a second one.
  const std::string bos_text = tok.bos() >= 0 ? tok.TokenText(tok.bos()) : std::string();
  const bool has_bos = !bos_text.empty() && text.rfind(bos_text, 0) == 0;
  return tok.Encode(text, tok.add_bos() && !no_bos && !has_bos, tok.add_eos(), /*parse_special=*/true, plain);
}

}  // namespace ember
