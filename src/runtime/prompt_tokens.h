// Prompt text to tokens as llama.cpp's tools do it, shared by `ember run`, `ember chat` and the
// server so that the same text always gives the same tokens.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace ember {

// Tokenizes rendered chat text (or raw text) as llama-cli does: special tokens parsed, BOS added
// when the vocabulary asks for it unless the text already starts with the BOS text or no_bos.
// `plain`: byte ranges (the users' messages) where special tokens are not parsed.
std::vector<int32_t> TokenizePrompt(const Tokenizer& tok, const std::string& text, bool no_bos,
                                    std::span<const Tokenizer::TextRange> plain = {});

}  // namespace ember
