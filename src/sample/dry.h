// DRY ("don't repeat yourself") repetition penalty, as llama.cpp's llama_sampler_dry (ported
// there from koboldcpp): a token that would extend a repeat of the recent context longer than
// `allowed_length` loses multiplier * base^(length - allowed_length) of logit. Sequence breakers
// (strings such as "\n") cut the repeat search; they are matched on token text, so the state
// needs the vocabulary's pieces and a way to tokenize a breaker's tail.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sample/candidates.h"

namespace ember {

using TokenizeFn = std::function<std::vector<int32_t>(const std::string&)>;

class DryState {
 public:
  DryState(float multiplier, float base, int32_t allowed_length, int32_t penalty_last_n,
           const std::vector<std::string>& breakers, const std::vector<std::string>& pieces,
           const TokenizeFn& tokenize);
  bool Enabled() const;
  void Accept(int32_t token);
  void Apply(CandidateArray& cur);
  void Reset();

 private:
  int32_t Recent(size_t i) const;  // i = 0 is the newest token

  float multiplier_;
  float base_;
  int32_t allowed_length_;
  int32_t last_n_;
  // head token -> tails (the rest of the breaker, tokenized); an empty tail is a whole breaker.
  std::unordered_multimap<int32_t, std::vector<int32_t>> breakers_;
  std::vector<int32_t> ring_;
  size_t ring_first_ = 0;
  size_t ring_size_ = 0;
  std::vector<int> repeat_count_;
  std::unordered_map<int32_t, int> max_token_repeat_;
};

}  // namespace ember
