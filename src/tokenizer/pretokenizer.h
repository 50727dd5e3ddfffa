// Pre-tokenizers for byte-level BPE vocabularies: the regex splits llama.cpp selects by
// tokenizer.ggml.pre, matched with PCRE2 (JIT).
//
// llama.cpp's semantics, reproduced exactly:
//  - text is decoded leniently (bad bytes -> U+FFFD, see unicode.h);
//  - regexes apply in sequence, each to every piece the previous one produced; text a regex does not
//    match stays as its own piece;
//  - a regex using \p{..} runs on a "collapsed" text where each code point >= 128 is one unit that
//    names its category (N, L, P, M, S, other; Unicode whitespace -> \v), with \p{X} rewritten into
//    a class of that unit plus the ASCII members of X. Categories come from llama.cpp's table;
//  - a regex without \p{..} runs on the code points, with non-ASCII whitespace replaced by \v;
//  - \s means ASCII whitespace in both (as std::regex in the C locale, which llama.cpp uses).
// Both kinds run on 32-bit PCRE2 in non-UTF mode, so every code point (even a lone surrogate that
// the lenient decoder produced) is one code unit.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

struct PreTokenizerConfig {
  std::vector<std::string> regexes;  // llama.cpp's regex_exprs, in order
  bool clean_spaces = true;          // detokenizer clean-up (llama.cpp's clean_spaces)
  bool ignore_merges = false;        // a word that is already a token is emitted whole
  bool force_add_bos = false;        // llama.cpp sets add_bos for these before reading the key
  bool no_bos = false;               // llama.cpp clears the BOS id for these
};

// The configuration llama.cpp uses for a tokenizer.ggml.pre value. Throws ember::Error for a name
// llama.cpp does not know or one ember does not support.
PreTokenizerConfig PreTokenizerConfigFor(const std::string& pre);

class PreTokenizer {
 public:
  explicit PreTokenizer(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Splits text into words, each re-encoded from the leniently decoded code points and then
  // mapped through the GPT-2 byte alphabet when `byte_encode`.
  std::vector<std::string> Split(std::string_view text, bool byte_encode) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember
