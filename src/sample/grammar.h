// A GBNF grammar being matched: llama.cpp's pushdown-stack matcher (src/llama-grammar.cpp).
//
// The state is a set of stacks; each stack is a path through the rules whose top is a terminal
// (a char class or a token). Accepting a code point advances every stack that matches it and
// expands rule references until terminals are on top again. A stack that is empty means the
// grammar may end here. Tokens are matched through their UTF-8 text, so a token may end in the
// middle of a multi-byte character (partial_utf8 carries the remainder to the next token).
// Stacks are vectors of indices into one flat element array, so copying a Grammar is cheap
// and safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sample/candidates.h"
#include "sample/grammar_parser.h"

namespace ember {

struct PartialUtf8 {
  uint32_t value = 0;  // bits so far
  int n_remain = 0;    // bytes still expected; -1 = invalid sequence
};

class Grammar {
 public:
  // Parses and checks a GBNF grammar (undefined rules, left recursion, missing root) and sets
  // the start state. Throws ember::Error with line and column where it applies.
  static Grammar Parse(std::string_view gbnf, std::string_view root = "root",
                       const std::vector<std::string>* pieces = nullptr);

  // Sets logit = -inf on candidates whose token text cannot continue the grammar. pieces[id]
  // is the token text; is_eog[id] marks end-of-generation tokens, allowed only when the
  // grammar can end; empty pieces are never allowed.
  void Apply(CandidateArray& cur, const std::vector<std::string>& pieces,
             const std::vector<uint8_t>& is_eog) const;
  // Advances over a chosen token. Throws ember::Error if the grammar does not allow it.
  void AcceptToken(int32_t token, std::string_view piece, bool is_eog);
  // Advances over raw bytes (tests, prefill); returns false (state undefined) if rejected.
  bool AcceptBytes(std::string_view bytes);
  // True when some stack is empty: the text so far is a complete match.
  bool CanEnd() const;
  bool Dead() const { return stacks_.empty(); }
  size_t StackCount() const { return stacks_.size(); }

  // Precomputed decodings of the vocabulary (pieces with no pending partial character), so a
  // mask does not decode 100k strings each token. Optional; Apply works without it.
  void CacheVocabulary(const std::vector<std::string>& pieces);

  using Stack = std::vector<uint32_t>;  // indices into elements_, top at back

 private:
  struct Candidate {
    size_t index;
    const uint32_t* code_points;  // 0-terminated
    PartialUtf8 partial;
    int32_t id;
  };

  void AdvanceStack(const Stack& stack, std::vector<Stack>& new_stacks) const;
  std::vector<Candidate> RejectCandidates(const std::vector<Stack>& stacks,
                                          const std::vector<Candidate>& candidates) const;
  std::vector<Candidate> RejectForStack(const Stack& stack,
                                        const std::vector<Candidate>& candidates) const;
  void AcceptChr(const Stack& stack, uint32_t chr, std::vector<Stack>& new_stacks) const;
  bool IsEndOfSequence(uint32_t pos) const;
  std::pair<bool, uint32_t> MatchChar(uint32_t pos, uint32_t chr) const;
  bool MatchPartialChar(uint32_t pos, PartialUtf8 partial) const;

  std::vector<GrammarElement> elements_;  // all rules, concatenated
  std::vector<uint32_t> rule_start_;      // rule id -> offset in elements_
  std::vector<Stack> stacks_;
  PartialUtf8 partial_;
  std::vector<std::vector<uint32_t>> vocab_cps_;  // CacheVocabulary
  std::vector<PartialUtf8> vocab_partial_;
};

// Decodes UTF-8 continuing from `start`; the result ends with a 0 terminator. Stops at a NUL.
std::pair<std::vector<uint32_t>, PartialUtf8> DecodeUtf8(std::string_view src, PartialUtf8 start);

}  // namespace ember
