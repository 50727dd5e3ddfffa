// The individual sampler stages, each with llama.cpp's arithmetic (src/llama-sampler.cpp).
//
// Stateless stages are free functions over a CandidateArray; stages with state (penalties,
// mirostat) are small classes. DRY lives in dry.h. The chain that strings them together is
// sampler.h. Every function leaves the array valid for the next stage.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "sample/candidates.h"
#include "sample/sampler_params.h"

namespace ember {

// Keeps the top `npartial` candidates in descending order (partial sort, no full sort).
void PartialSortInPlace(CandidateArray& cur, int npartial);
// Writes the top `npartial` candidates, sorted, to `out` (bucket partial sort) without touching
// `cur`; `out` may hold a few more than npartial (the rest of the last bucket), unsorted.
void PartialSortCopy(const CandidateArray& cur, int npartial, std::vector<TokenData>& out);

void Softmax(CandidateArray& cur, bool do_sort);
void ApplyTopK(CandidateArray& cur, int32_t k);
void ApplyTopP(CandidateArray& cur, float p, size_t min_keep, std::vector<TokenData>& scratch);
void ApplyMinP(CandidateArray& cur, float p, size_t min_keep, std::vector<TokenData>& scratch);
void ApplyTypical(CandidateArray& cur, float p, size_t min_keep);
void ApplyTemp(CandidateArray& cur, float temp);
// Dynamic temperature (llama_sampler_temp_ext); delta <= 0 is plain temperature.
void ApplyTempExt(CandidateArray& cur, float temp, float delta, float exponent);
void ApplyTopNSigma(CandidateArray& cur, float n);
void ApplyXtc(CandidateArray& cur, float probability, float threshold, size_t min_keep,
              std::mt19937& rng);
void ApplyLogitBias(CandidateArray& cur, std::span<const LogitBias> biases);
// The final draw of llama.cpp's dist sampler: softmax and pick with one uniform double.
void SampleDist(CandidateArray& cur, std::mt19937& rng);
// std::discrete_distribution over cur.data[i].p, as llama_sample_dist (used by mirostat).
int DiscreteDraw(const CandidateArray& cur, std::mt19937& rng);

// Repetition, frequency and presence penalties over the last `last_n` accepted tokens.
class PenaltyState {
 public:
  PenaltyState(int32_t last_n, float repeat, float frequency, float presence);
  bool Disabled() const;
  void Accept(int32_t token);
  void Apply(CandidateArray& cur) const;
  void Reset();

 private:
  int32_t last_n_;
  float repeat_;
  float frequency_;
  float presence_;
  std::vector<int32_t> ring_;  // last_n_ slots
  size_t ring_first_ = 0;
  size_t ring_size_ = 0;
  std::unordered_map<int32_t, int> counts_;
};

// Mirostat 1 (m = 100 in llama.cpp) and 2; both select the token themselves.
class MirostatState {
 public:
  MirostatState(int version, int32_t n_vocab, float tau, float eta);
  void Apply(CandidateArray& cur, std::mt19937& rng);
  void Reset() { mu_ = 2.0f * tau_; }
  float mu() const { return mu_; }

 private:
  int version_;
  int32_t n_vocab_;
  float tau_;
  float eta_;
  int32_t m_ = 100;
  float mu_;
};

}  // namespace ember
