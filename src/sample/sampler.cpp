// The sampler chain; see sampler.h. Chain construction mirrors llama.cpp's common_sampler_init
// and the grammar handling its common_sampler_sample.
#include "sample/sampler.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "sample/grammar.h"

namespace ember {
namespace {

uint32_t ResolveSeed(uint32_t seed) {
  if (seed != kRandomSeed) return seed;
  std::random_device rd;
  if (rd.entropy() == 0) {
    return static_cast<uint32_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }
  return rd();
}

}  // namespace

Sampler::Sampler(const SamplerParams& params, int32_t n_vocab,
                 std::vector<std::string> token_pieces, std::vector<int32_t> eog_tokens,
                 TokenizeFn tokenize)
    : params_(params),
      n_vocab_(n_vocab),
      pieces_(std::move(token_pieces)),
      is_eog_(static_cast<size_t>(std::max(n_vocab, 0)), 0),
      seed_(ResolveSeed(params.seed)),
      penalties_(params.repeat_last_n, params.repeat_penalty, params.frequency_penalty,
                 params.presence_penalty),
      dry_(params.dry_multiplier, params.dry_base, params.dry_allowed_length,
           params.dry_penalty_last_n, params.dry_sequence_breakers, pieces_, tokenize),
      dist_rng_(seed_),
      xtc_rng_(seed_) {
  if (n_vocab <= 0) Fail("sampler: vocabulary size must be positive, got {}", n_vocab);
  if (!pieces_.empty() && pieces_.size() != static_cast<size_t>(n_vocab)) {
    Fail("sampler: {} token pieces for a vocabulary of {}", pieces_.size(), n_vocab);
  }
  if (!std::isfinite(params.repeat_penalty) || params.repeat_penalty <= 0.0f ||
      !std::isfinite(1.0f / params.repeat_penalty)) {
    Fail("repeat-penalty must be finite and greater than 0, got {}", params.repeat_penalty);
  }
  if (!std::isfinite(params.frequency_penalty)) Fail("frequency-penalty must be finite");
  if (!std::isfinite(params.presence_penalty)) Fail("presence-penalty must be finite");
  if (params.mirostat < 0 || params.mirostat > 2) {
    Fail("mirostat must be 0, 1 or 2, got {}", params.mirostat);
  }
  for (int32_t t : eog_tokens) {
    if (t >= 0 && t < n_vocab) is_eog_[static_cast<size_t>(t)] = 1;
  }
  for (const LogitBias& lb : params.logit_bias) {
    if (lb.token < 0 || lb.token >= n_vocab) {
      Fail("logit-bias: token {} is outside the vocabulary (0..{})", lb.token, n_vocab - 1);
    }
    biases_.push_back(lb);
  }
  if (params.ignore_eos) {
    for (int32_t t : eog_tokens) {
      if (t >= 0 && t < n_vocab) biases_.push_back({t, -INFINITY});
    }
  }
  if (params.mirostat != 0) mirostat_.emplace(params.mirostat, n_vocab, params.mirostat_tau,
                                              params.mirostat_eta);
  buffer_.resize(static_cast<size_t>(n_vocab));
}

Sampler::~Sampler() = default;

void Sampler::SetGrammar(const std::string& gbnf, const std::string& root) {
  if (pieces_.empty()) Fail("grammar: the sampler has no token pieces to match against");
  auto g = std::make_unique<Grammar>(Grammar::Parse(gbnf, root, &pieces_));
  g->CacheVocabulary(pieces_);
  grammar_start_ = std::make_unique<Grammar>(*g);
  grammar_ = std::move(g);
}

void Sampler::ClearGrammar() {
  grammar_.reset();
  grammar_start_.reset();
}

bool Sampler::GrammarCanEnd() const { return grammar_ == nullptr || grammar_->CanEnd(); }

void Sampler::Fill(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    Fail("sampler: got {} logits for a vocabulary of {}", logits.size(), n_vocab_);
  }
  for (size_t i = 0; i < logits.size(); ++i) {
    buffer_[i] = TokenData{static_cast<int32_t>(i), logits[i], 0.0f};
  }
  cur_ = CandidateArray{buffer_.data(), buffer_.size(), -1, false};
}

void Sampler::ApplyGrammar(CandidateArray& cur) const {
  grammar_->Apply(cur, pieces_, is_eog_);
}

void Sampler::RunChain() {
  CandidateArray& cur = cur_;
  ApplyLogitBias(cur, biases_);
  if (mirostat_) {
    ApplyTemp(cur, params_.temp);
    mirostat_->Apply(cur, dist_rng_);
    return;
  }
  const auto min_keep = static_cast<size_t>(std::max(params_.min_keep, 0));
  for (SamplerType type : params_.samplers) {
    switch (type) {
      case SamplerType::kPenalties: penalties_.Apply(cur); break;
      case SamplerType::kDry: dry_.Apply(cur); break;
      case SamplerType::kTopNSigma: ApplyTopNSigma(cur, params_.top_n_sigma); break;
      case SamplerType::kTopK: ApplyTopK(cur, params_.top_k); break;
      case SamplerType::kTypicalP: ApplyTypical(cur, params_.typical_p, min_keep); break;
      case SamplerType::kTopP: ApplyTopP(cur, params_.top_p, min_keep, scratch_); break;
      case SamplerType::kMinP: ApplyMinP(cur, params_.min_p, min_keep, scratch_); break;
      case SamplerType::kXtc:
        ApplyXtc(cur, params_.xtc_probability, params_.xtc_threshold, min_keep, xtc_rng_);
        break;
      case SamplerType::kTemperature:
        ApplyTempExt(cur, params_.temp, params_.dynatemp_range, params_.dynatemp_exponent);
        break;
    }
  }
  SampleDist(cur, dist_rng_);
}

int32_t Sampler::Sample(std::span<const float> logits) {
  Fill(logits);
  RunChain();
  EMBER_CHECK(cur_.selected >= 0 && static_cast<size_t>(cur_.selected) < cur_.size);
  int32_t id = cur_.data[cur_.selected].id;
  if (!grammar_) return id;

  // Grammar-based rejection sampling: usually the chain's pick is allowed and no mask is needed.
  TokenData single{id, 1.0f, 0.0f};
  CandidateArray one{&single, 1, -1, false};
  ApplyGrammar(one);
  if (single.logit != -INFINITY) return id;

  Fill(logits);
  ApplyGrammar(cur_);
  bool any = false;
  for (size_t i = 0; i < cur_.size && !any; ++i) any = cur_.data[i].logit != -INFINITY;
  if (!any) {
    Fail("grammar: no token of the vocabulary can continue the grammar here{}",
         params_.ignore_eos && grammar_->CanEnd() ? " (it is complete, but --ignore-eos bans end of generation)" : "");
  }
  RunChain();
  EMBER_CHECK(cur_.selected >= 0 && static_cast<size_t>(cur_.selected) < cur_.size);
  id = cur_.data[cur_.selected].id;
  return id;
}

void Sampler::Accept(int32_t token, bool accept_grammar) {
  if (token < 0 || token >= n_vocab_) Fail("sampler: token {} outside the vocabulary", token);
  if (grammar_ && accept_grammar) {
    grammar_->AcceptToken(token, pieces_[static_cast<size_t>(token)],
                          is_eog_[static_cast<size_t>(token)] != 0);
  }
  penalties_.Accept(token);
  dry_.Accept(token);
}

void Sampler::Reset() {
  penalties_.Reset();
  dry_.Reset();
  if (mirostat_) mirostat_->Reset();
  // llama.cpp re-resolves the seed on reset: a fixed seed restarts the same stream.
  if (params_.seed != kRandomSeed) {
    dist_rng_.seed(seed_);
    xtc_rng_.seed(seed_);
  } else {
    seed_ = ResolveSeed(kRandomSeed);
    dist_rng_.seed(seed_);
    xtc_rng_.seed(seed_);
  }
  if (grammar_start_) grammar_ = std::make_unique<Grammar>(*grammar_start_);
}

std::span<const TokenData> Sampler::LastCandidates() const {
  return {cur_.data, cur_.size};
}

}  // namespace ember
