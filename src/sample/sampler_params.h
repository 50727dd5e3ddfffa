// Sampler configuration with llama.cpp's names, defaults and chain order.
//
// Defaults follow llama.cpp's common_params_sampling (common/common.h): temp 0.8, top-k 40,
// top-p 0.95, min-p 0.05, typical 1, repeat penalty 1 over the last 64 tokens, DRY off
// (base 1.75, allowed length 2, last 64, breakers "\n" ":" "\"" "*"), XTC off (threshold 0.1),
// top-n-sigma off, dynatemp off, mirostat off (tau 5, eta 0.1). The chain order is
// penalties; dry; top_n_sigma; top_k; typ_p; top_p; min_p; xtc; temperature, then a draw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

// One stage of the configurable chain (`--samplers` / `--sampling-seq`).
enum class SamplerType {
  kPenalties,
  kDry,
  kTopNSigma,
  kTopK,
  kTypicalP,
  kTopP,
  kMinP,
  kXtc,
  kTemperature,
};

struct LogitBias {
  int32_t token = 0;
  float bias = 0.0f;
};

// llama.cpp's LLAMA_DEFAULT_SEED: this value asks for a random seed.
inline constexpr uint32_t kRandomSeed = 0xFFFFFFFFu;

struct SamplerParams {
  uint32_t seed = kRandomSeed;
  int32_t min_keep = 0;  // samplers keep at least this many candidates (0 = no minimum)
  int32_t top_k = 40;    // <= 0: disabled
  float top_p = 0.95f;   // 1: disabled
  float min_p = 0.05f;   // 0: disabled
  float xtc_probability = 0.0f;
  float xtc_threshold = 0.10f;  // > 0.5 disables XTC
  float typical_p = 1.0f;       // 1: disabled
  float temp = 0.80f;           // <= 0: greedy
  float dynatemp_range = 0.0f;
  float dynatemp_exponent = 1.0f;
  int32_t repeat_last_n = 64;  // 0: penalties disabled
  float repeat_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float dry_multiplier = 0.0f;  // 0: DRY disabled
  float dry_base = 1.75f;
  int32_t dry_allowed_length = 2;
  int32_t dry_penalty_last_n = 64;  // llama.cpp 0.3.36 default; 0 disables
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};
  int32_t mirostat = 0;  // 0 off, 1 Mirostat, 2 Mirostat 2.0
  float mirostat_tau = 5.0f;
  float mirostat_eta = 0.1f;
  float top_n_sigma = -1.0f;  // <= 0: disabled
  bool ignore_eos = false;
  std::vector<LogitBias> logit_bias;
  std::vector<SamplerType> samplers = {
      SamplerType::kPenalties, SamplerType::kDry,  SamplerType::kTopNSigma,
      SamplerType::kTopK,      SamplerType::kTypicalP, SamplerType::kTopP,
      SamplerType::kMinP,      SamplerType::kXtc,  SamplerType::kTemperature,
  };
};

// "penalties;dry;top_k;..." with llama.cpp's aliases (top-k, topk, nucleus, temp, typ, ...).
// Throws ember::Error naming an unknown sampler.
std::vector<SamplerType> ParseSamplerNames(std::string_view names);
// llama.cpp's one-letter form, e.g. "edskypmxt".
std::vector<SamplerType> ParseSamplerChars(std::string_view chars);
std::string SamplerTypeName(SamplerType type);
// "TOKEN+BIAS" or "TOKEN-BIAS" as in `--logit-bias 15043+1`.
LogitBias ParseLogitBias(std::string_view text);

}  // namespace ember
