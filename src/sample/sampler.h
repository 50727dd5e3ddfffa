// The sampler chain: llama.cpp's common_sampler in ember (logit bias, the configurable stages,
// then a seeded draw; or temperature then Mirostat), with an optional GBNF grammar.
//
// Usage per generated token: id = Sample(logits of the last position); Accept(id). A fixed seed
// reproduces the same tokens: all randomness comes from std::mt19937 streams seeded like
// llama.cpp's (one per stage that draws), and nothing depends on threads.
//
// Grammar handling follows common_sampler_sample: the chain samples first; if the grammar
// rejects the token, the grammar masks every impossible token and the chain samples again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sample/candidates.h"
#include "sample/dry.h"
#include "sample/sampler_params.h"
#include "sample/samplers.h"

namespace ember {

class Grammar;

class Sampler {
 public:
  // token_pieces: each token's text as bytes (special tokens included), for the grammar and
  // DRY. eog_tokens: end-of-generation tokens (masked under ignore_eos; the grammar allows
  // them only where the grammar may end). tokenize: optional, used only to split multi-token
  // DRY sequence breakers (a greedy longest-piece split is used without it).
  Sampler(const SamplerParams& params, int32_t n_vocab, std::vector<std::string> token_pieces,
          std::vector<int32_t> eog_tokens, TokenizeFn tokenize = {});
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Constrains output to a GBNF grammar; throws ember::Error with line:column on bad input.
  void SetGrammar(const std::string& gbnf, const std::string& root = "root");
  void ClearGrammar();
  bool HasGrammar() const { return grammar_ != nullptr; }

  // Picks the next token from the logits of the last position (n_vocab floats).
  int32_t Sample(std::span<const float> logits);
  // Records a token as generated: advances penalty/DRY history and (with accept_grammar) the
  // grammar. Prompt tokens are accepted without the grammar, as llama.cpp does.
  void Accept(int32_t token, bool accept_grammar = true);
  // Back to the state after construction (same seed, empty history, grammar at its start).
  void Reset();

  // The candidates after the last Sample (in chain order), with probabilities where a stage
  // computed them.
  std::span<const TokenData> LastCandidates() const;
  uint32_t seed() const { return seed_; }
  const SamplerParams& params() const { return params_; }
  // True when the grammar (if any) is complete, so an end-of-generation token may follow.
  bool GrammarCanEnd() const;

 private:
  void Fill(std::span<const float> logits);
  void RunChain();
  void ApplyGrammar(CandidateArray& cur) const;

  SamplerParams params_;
  int32_t n_vocab_;
  std::vector<std::string> pieces_;
  std::vector<uint8_t> is_eog_;  // per token
  uint32_t seed_;
  std::vector<LogitBias> biases_;  // user biases plus -inf for EOG under ignore_eos

  PenaltyState penalties_;
  DryState dry_;
  std::optional<MirostatState> mirostat_;
  std::mt19937 dist_rng_;
  std::mt19937 xtc_rng_;

  std::unique_ptr<Grammar> grammar_;
  std::unique_ptr<Grammar> grammar_start_;

  std::vector<TokenData> buffer_;
  std::vector<TokenData> scratch_;
  CandidateArray cur_;
};

}  // namespace ember
