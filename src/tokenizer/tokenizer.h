// Tokenizer: text <-> token ids, identical to llama.cpp's for the same GGUF vocabulary.
//
// Vocabulary (GGUF metadata, as llama.cpp reads it):
//   tokenizer.ggml.model   "llama" (SentencePiece-style: score-driven merges, <0xXX> byte fallback,
//                          spaces as U+2581) or "gpt2" (byte-level BPE by merge rank)
//   tokenizer.ggml.pre     pre-tokenizer regex set for gpt2 vocabularies (see pretokenizer.h)
//   tokenizer.ggml.tokens / scores / token_type / merges, *_token_id, add_bos_token,
//   add_eos_token, add_space_prefix
// Special tokens (control, user-defined, unknown) are cut out of the text first, longest first;
// control and unknown ones only when parse_special is asked, user-defined ones always.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

class GgufFile;

// llama.cpp's per-token attribute bits (llama_token_attr).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrNormalized = 1u << 6,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
  kAttrSingleWord = 1u << 9,
};

enum class VocabType { kSpm, kBpe };

class Tokenizer {
 public:
  // Reads the vocabulary from a GGUF file's metadata (tensors are not needed). Throws ember::Error
  // naming the key when the vocabulary is missing or malformed.
  static Tokenizer FromGguf(const GgufFile& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // add_special: add BOS/EOS as the vocabulary's flags say; parse_special: match control tokens
  // (e.g. "<|im_start|>") in the text. Any bytes are accepted.
  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const;
  // Encode with explicit BOS/EOS choices (overriding the vocabulary's flags).
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool add_eos,
                              bool parse_special) const;
  // As above, but control tokens are never matched where they overlap a `plain` byte range: a
  // rendered chat's template text is parsed for special tokens while the users' messages in it
  // are not (a user typing "<|im_end|>" gets that text, not the token). Without such matches the
  // result equals Encode(text, add_bos, add_eos, parse_special).
  struct TextRange {
    size_t offset = 0, length = 0;
  };
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool add_eos, bool parse_special,
                              std::span<const TextRange> plain) const;

  // The bytes of one token, as llama_token_to_piece(lstrip = 0): control/unknown tokens are empty
  // unless `special`. Throws ember::Error for an id outside the vocabulary.
  std::string TokenToPiece(int32_t id, bool special) const;
  // As llama_detokenize: remove_special drops a leading BOS / trailing EOS when the vocabulary adds
  // them; unparse_special renders control tokens' text.
  std::string Decode(std::span<const int32_t> ids, bool remove_special, bool unparse_special) const;

  int32_t n_vocab() const;
  int32_t bos() const;  // -1 if none
  int32_t eos() const;
  int32_t eot() const;
  int32_t eom() const;
  int32_t unk() const;
  int32_t pad() const;
  int32_t nl() const;   // llama.cpp's linefeed token
  bool IsEog(int32_t id) const;  // end of generation: eos, eot, eom and llama.cpp's other EOG tokens
  const std::vector<int32_t>& eog_ids() const;  // sorted
  bool add_bos() const;
  bool add_eos() const;
  bool add_space_prefix() const;
  VocabType type() const;
  const std::string& model_name() const;  // tokenizer.ggml.model
  const std::string& pre_name() const;    // tokenizer.ggml.pre ("" if absent)

  const std::string& TokenText(int32_t id) const;  // raw vocabulary string
  float TokenScore(int32_t id) const;
  uint32_t TokenAttrs(int32_t id) const;  // TokenAttr bits
  // The id of a vocabulary string, or -1.
  int32_t FindToken(std::string_view text) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Turns token ids into text as they are generated, never emitting a broken UTF-8 sequence: bytes of
// a code point split across tokens are held back until it is complete. Invalid bytes (that can
// never complete) come out as U+FFFD. The concatenated output equals the concatenation of
// TokenToPiece(id, special) whenever that is valid UTF-8.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tok, bool special = false);
  std::string Push(int32_t id);  // complete UTF-8 ready to print
  std::string Flush();           // whatever is held back (incomplete bytes become U+FFFD)

 private:
  std::string Drain(bool final);
  const Tokenizer* tok_;
  bool special_;
  std::string pending_;
};

}  // namespace ember
