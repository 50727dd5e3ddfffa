// A minimal token chooser (greedy, or temperature sampling with a seed) behind an interface the
// full sampler chain (src/sample) can replace.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace ember {

class TokenChooser {
 public:
  virtual ~TokenChooser() = default;
  virtual int32_t Choose(std::span<const float> logits) = 0;
};

// The largest logit; the lowest id wins a tie (as llama.cpp's greedy sampler).
int32_t ArgMax(std::span<const float> logits);

class SimpleSampler : public TokenChooser {
 public:
  // temperature <= 0: greedy.
  SimpleSampler(float temperature, uint64_t seed) : temperature_(temperature), rng_(seed) {}
  int32_t Choose(std::span<const float> logits) override;

 private:
  float temperature_;
  std::mt19937_64 rng_;
};

}  // namespace ember
