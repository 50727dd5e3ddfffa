// Sampler stages with llama.cpp's arithmetic; see samplers.h. Float vs double and the order of
// operations follow llama.cpp on purpose, so probabilities agree to the last bit or so.
#include "sample/samplers.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace ember {
namespace {

bool LogitGreater(const TokenData& a, const TokenData& b) { return a.logit > b.logit; }

}  // namespace

void PartialSortCopy(const CandidateArray& cur, int npartial, std::vector<TokenData>& out) {
  // Bucket the logits into 128 bins over [-10, 10], take whole bins from the top until they
  // hold npartial, then sort only those (llama.cpp's llama_token_data_array_partial_sort).
  constexpr int kBuckets = 128;
  constexpr float kLow = -10.0f;
  constexpr float kHigh = 10.0f;
  constexpr float kScale = kBuckets / (kHigh - kLow);
  constexpr float kInter = -kLow * kScale;

  std::vector<int> bucket_idx(cur.size);
  std::vector<int> histo(kBuckets, 0);
  for (size_t i = 0; i < cur.size; ++i) {
    int ib = static_cast<int>(kScale * cur.data[i].logit + kInter);
    ib = std::max(0, std::min(kBuckets - 1, ib));
    bucket_idx[i] = ib;
    ++histo[ib];
  }
  int nhave = 0;
  int ib = kBuckets - 1;
  for (; ib >= 0; --ib) {
    nhave += histo[ib];
    if (nhave >= npartial) break;
  }
  ib = std::max(ib, 0);
  out.resize(nhave);
  std::vector<TokenData*> bucket_ptrs;
  bucket_ptrs.reserve(kBuckets - ib);
  TokenData* ptr = out.data();
  for (int j = kBuckets - 1; j >= ib; --j) {
    bucket_ptrs.push_back(ptr);
    ptr += histo[j];
  }
  for (size_t i = 0; i < cur.size; ++i) {
    const int j = bucket_idx[i];
    if (j >= ib) *bucket_ptrs[kBuckets - 1 - j]++ = cur.data[i];
  }
  ptr = out.data();
  int ndone = 0;
  for (int j = kBuckets - 1; j > ib; --j) {
    std::sort(ptr, ptr + histo[j], LogitGreater);
    ptr += histo[j];
    ndone += histo[j];
  }
  std::partial_sort(ptr, ptr + (npartial - ndone), ptr + histo[ib], LogitGreater);
}

void PartialSortInPlace(CandidateArray& cur, int npartial) {
  if (npartial <= 128) {
    std::partial_sort(cur.data, cur.data + npartial, cur.data + cur.size, LogitGreater);
  } else {
    std::vector<TokenData> tmp;
    PartialSortCopy(cur, npartial, tmp);
    std::copy(tmp.data(), tmp.data() + npartial, cur.data);
  }
  cur.size = static_cast<size_t>(npartial);
  cur.sorted = true;
}

void Softmax(CandidateArray& cur, bool do_sort) {
  EMBER_CHECK(cur.size > 0);
  if (do_sort && !cur.sorted) PartialSortInPlace(cur, static_cast<int>(cur.size));
  float max_l = cur.data[0].logit;
  if (!cur.sorted) {
    for (size_t i = 1; i < cur.size; ++i) max_l = std::max(max_l, cur.data[i].logit);
  }
  float cum_sum = 0.0f;
  for (size_t i = 0; i < cur.size; ++i) {
    const float p = expf(cur.data[i].logit - max_l);
    cur.data[i].p = p;
    cum_sum += p;
  }
  for (size_t i = 0; i < cur.size; ++i) cur.data[i].p /= cum_sum;
}

void ApplyTopK(CandidateArray& cur, int32_t k) {
  if (k <= 0) return;
  k = std::min(k, static_cast<int32_t>(cur.size));
  if (!cur.sorted) PartialSortInPlace(cur, k);
  cur.size = static_cast<size_t>(k);
}

void ApplyTopP(CandidateArray& cur, float p, size_t min_keep, std::vector<TokenData>& scratch) {
  if (p >= 1.0f) return;
  Softmax(cur, false);
  size_t k = cur.size;
  const TokenData* pdata = cur.data;
  // Unsorted and large: guess that the top 256 hold mass p and sort only those; widen if not.
  if (!cur.sorted && cur.size > 1024) {
    k = std::min<size_t>(256, cur.size);
    PartialSortCopy(cur, static_cast<int>(k), scratch);
    pdata = scratch.data();
  } else if (!cur.sorted) {
    PartialSortInPlace(cur, static_cast<int>(k));
  }
  float cum_sum = 0.0f;
  size_t last_idx = cur.size;
  for (size_t i = 0; i < cur.size; ++i) {
    cum_sum += pdata[i].p;
    if (cum_sum >= p && i + 1 >= min_keep) {
      last_idx = i + 1;
      break;
    }
    if (!cur.sorted && i == k - 1) {
      k = cur.size;
      PartialSortCopy(cur, static_cast<int>(k), scratch);
      pdata = scratch.data();
    }
  }
  if (!cur.sorted) {
    std::copy(scratch.data(), scratch.data() + last_idx, cur.data);
    cur.sorted = true;
  }
  cur.size = last_idx;
}

void ApplyMinP(CandidateArray& cur, float p, size_t min_keep, std::vector<TokenData>& scratch) {
  if (p <= 0.0f || cur.size == 0) return;
  bool applied = false;
  if (!cur.sorted) {
    // One pass, no sort: p_i >= p * p_max is logit_i >= max_logit + log(p).
    scratch.clear();
    float max_logit = -FLT_MAX;
    for (size_t i = 0; i < cur.size; ++i) max_logit = std::max(max_logit, cur.data[i].logit);
    const float min_logit = max_logit + logf(p);
    for (size_t i = 0; i < cur.size; ++i) {
      if (cur.data[i].logit >= min_logit) scratch.push_back(cur.data[i]);
    }
    if (!scratch.empty() && scratch.size() >= min_keep) {
      std::copy(scratch.begin(), scratch.end(), cur.data);
      cur.size = scratch.size();
      applied = true;
    }
  }
  if (!applied) {
    if (!cur.sorted) PartialSortInPlace(cur, static_cast<int>(cur.size));
    const float min_logit = cur.data[0].logit + logf(p);
    size_t i = 1;
    for (; i < cur.size; ++i) {
      if (cur.data[i].logit < min_logit && i >= min_keep) break;
    }
    cur.size = i;
  }
}

void ApplyTypical(CandidateArray& cur, float p, size_t min_keep) {
  if (p >= 1.0f) return;
  Softmax(cur, true);
  float entropy = 0.0f;
  for (size_t i = 0; i < cur.size; ++i) entropy += -cur.data[i].p * logf(cur.data[i].p);
  std::vector<float> shifted(cur.size);
  for (size_t i = 0; i < cur.size; ++i) shifted[i] = fabsf(-logf(cur.data[i].p) - entropy);
  std::vector<size_t> indices(cur.size);
  std::iota(indices.begin(), indices.end(), 0);
  std::sort(indices.begin(), indices.end(),
            [&](size_t a, size_t b) { return shifted[a] < shifted[b]; });
  float cum_sum = 0.0f;
  size_t last_idx = indices.size();
  for (size_t i = 0; i < indices.size(); ++i) {
    cum_sum += cur.data[indices[i]].p;
    if (cum_sum > p && (min_keep == 0 || i >= min_keep - 1)) {
      last_idx = i + 1;
      break;
    }
  }
  std::vector<TokenData> kept;
  kept.reserve(last_idx);
  for (size_t i = 0; i < last_idx; ++i) kept.push_back(cur.data[indices[i]]);
  std::copy(kept.begin(), kept.end(), cur.data);
  cur.size = kept.size();
  cur.sorted = false;
}

void ApplyTemp(CandidateArray& cur, float temp) {
  if (cur.size == 0) return;
  if (temp <= 0.0f) {
    // Greedy: keep the first maximum, send the rest to -inf.
    size_t max_i = 0;
    float max_l = cur.data[0].logit;
    for (size_t i = 1; i < cur.size; ++i) {
      if (cur.data[i].logit > max_l) {
        cur.data[max_i].logit = -INFINITY;
        max_i = i;
        max_l = cur.data[i].logit;
      } else {
        cur.data[i].logit = -INFINITY;
      }
    }
    return;
  }
  for (size_t i = 0; i < cur.size; ++i) cur.data[i].logit /= temp;
}

void ApplyTempExt(CandidateArray& cur, float temp, float delta, float exponent) {
  if (delta <= 0) {
    ApplyTemp(cur, temp);
    return;
  }
  const float min_temp = std::max(0.0f, temp - delta);
  const float max_temp = temp + delta;
  if (cur.size <= 1) return;
  const float max_entropy = -logf(1.0f / static_cast<float>(cur.size));
  Softmax(cur, true);
  float entropy = 0.0f;
  for (size_t i = 0; i < cur.size; ++i) {
    const float prob = cur.data[i].p;
    if (prob > 0.0f) entropy -= prob * logf(prob);
  }
  const float normalized_entropy = entropy / max_entropy;
  const float dyn_temp = min_temp + (max_temp - min_temp) * powf(normalized_entropy, exponent);
  ApplyTemp(cur, dyn_temp);
  const double max_l = cur.data[0].logit;
  double cum_sum = 0.0;
  for (size_t i = 0; i < cur.size; ++i) {
    const double pr = exp(cur.data[i].logit - max_l);
    cur.data[i].p = static_cast<float>(pr);
    cum_sum += pr;
  }
  for (size_t i = 0; i < cur.size; ++i) cur.data[i].p = static_cast<float>(cur.data[i].p / cum_sum);
}

void ApplyTopNSigma(CandidateArray& cur, float n) {
  if (n <= 0.0f || cur.size <= 1) return;
  float max = cur.data[0].logit;
  float logits_sum = 0;
  size_t valid = 0;
  for (size_t i = 0; i < cur.size; ++i) {
    if (cur.data[i].logit != -INFINITY) {
      max = std::max(max, cur.data[i].logit);
      logits_sum += cur.data[i].logit;
      valid++;
    }
  }
  const float mean = valid > 0 ? logits_sum / static_cast<float>(valid) : 0;
  float acc = 0;
  for (size_t i = 0; i < cur.size; ++i) {
    if (cur.data[i].logit != -INFINITY) {
      // Sum in double then round, as llama.cpp's float += double does.
      acc = static_cast<float>(acc + std::pow(cur.data[i].logit - mean, 2));
    }
  }
  const float sd = valid > 0 ? static_cast<float>(std::sqrt(acc / static_cast<float>(valid))) : 0;
  for (size_t i = 0; i < cur.size; ++i) {
    if (cur.data[i].logit < max - (n * sd)) cur.data[i].logit = -INFINITY;
  }
}

void ApplyXtc(CandidateArray& cur, float probability, float threshold, size_t min_keep,
              std::mt19937& rng) {
  if (probability <= 0.0f || threshold > 0.5f || cur.size < 2) return;
  std::uniform_real_distribution<float> distribution(0.0f, 1.0f);
  const float chance = distribution(rng);
  if (chance > probability) return;
  Softmax(cur, true);
  size_t pos_last = 0;
  for (size_t i = 0; i < cur.size; ++i) {
    if (cur.data[i].p >= threshold) {
      pos_last = i;
    } else {
      break;
    }
  }
  // Exclude the top choices: keep only the least likely of those above the threshold onward.
  if (cur.size - pos_last >= min_keep && pos_last > 0) {
    cur.data += pos_last;
    cur.size -= pos_last;
  }
}

void ApplyLogitBias(CandidateArray& cur, std::span<const LogitBias> biases) {
  if (biases.empty()) return;
  for (const LogitBias& lb : biases) {
    // Fast path: the array is still in vocabulary order.
    if (lb.token >= 0 && cur.size > static_cast<size_t>(lb.token) &&
        cur.data[lb.token].id == lb.token) {
      cur.data[lb.token].logit += lb.bias;
      continue;
    }
    for (size_t i = 0; i < cur.size; ++i) {
      if (cur.data[i].id == lb.token) {
        cur.data[i].logit += lb.bias;
        break;
      }
    }
  }
}

void SampleDist(CandidateArray& cur, std::mt19937& rng) {
  if (cur.size == 0) {
    cur.selected = -1;
    return;
  }
  cur.selected = 0;
  std::uniform_real_distribution<double> dist(0.0f, 1.0f);
  if (cur.size == 1) {
    dist(rng);  // llama.cpp draws once per output even here; keeps seeded streams aligned
    cur.data[0].p = 1.0f;
    return;
  }
  float max_l = cur.data[0].logit;
  if (!cur.sorted) {
    for (size_t i = 1; i < cur.size; ++i) max_l = std::max(max_l, cur.data[i].logit);
  }
  double sum_cum = 0.0f;
  for (size_t i = 0; i < cur.size; ++i) {
    const float p = expf(cur.data[i].logit - max_l);
    cur.data[i].p = p;
    sum_cum += p;
  }
  const double rnd = dist(rng);
  double sum_run = 0.0f;
  const double sum_tgt = sum_cum * rnd;
  bool found = false;
  for (size_t i = 0; i < cur.size; ++i) {
    if (!found) {
      sum_run += cur.data[i].p;
      if (sum_run >= sum_tgt) {
        cur.selected = static_cast<int64_t>(i);
        found = true;
      }
    }
    cur.data[i].p = static_cast<float>(cur.data[i].p / sum_cum);
  }
  if (!found) cur.selected = static_cast<int64_t>(cur.size) - 1;
}

int DiscreteDraw(const CandidateArray& cur, std::mt19937& rng) {
  std::vector<double> weights(cur.size);
  for (size_t i = 0; i < cur.size; ++i) weights[i] = cur.data[i].p;
  std::discrete_distribution<int> dist(weights.begin(), weights.end());
  return dist(rng);
}

PenaltyState::PenaltyState(int32_t last_n, float repeat, float frequency, float presence)
    : last_n_(std::max(last_n, 0)),
      repeat_(repeat),
      frequency_(frequency),
      presence_(presence),
      ring_(static_cast<size_t>(std::max(last_n, 0))) {}

bool PenaltyState::Disabled() const {
  return last_n_ == 0 || (repeat_ == 1.0f && frequency_ == 0.0f && presence_ == 0.0f);
}

void PenaltyState::Accept(int32_t token) {
  if (Disabled()) return;
  counts_[token]++;
  const size_t cap = ring_.size();
  if (ring_size_ >= cap) {
    const int32_t old = ring_[ring_first_];
    if (--counts_[old] == 0) counts_.erase(old);
    ring_[ring_first_] = token;
    ring_first_ = (ring_first_ + 1) % cap;
  } else {
    ring_[(ring_first_ + ring_size_) % cap] = token;
    ring_size_++;
  }
}

void PenaltyState::Apply(CandidateArray& cur) const {
  if (Disabled()) return;
  for (size_t i = 0; i < cur.size; ++i) {
    const auto it = counts_.find(cur.data[i].id);
    if (it == counts_.end()) continue;
    const int count = it->second;
    // Multiply negative logits instead of dividing them, so a penalty never makes a token likelier.
    if (cur.data[i].logit <= 0) {
      cur.data[i].logit *= repeat_;
    } else {
      cur.data[i].logit /= repeat_;
    }
    cur.data[i].logit -= static_cast<float>(count) * frequency_ +
                         static_cast<float>(count > 0) * presence_;
  }
  cur.sorted = false;
}

void PenaltyState::Reset() {
  ring_first_ = 0;
  ring_size_ = 0;
  counts_.clear();
}

MirostatState::MirostatState(int version, int32_t n_vocab, float tau, float eta)
    : version_(version), n_vocab_(n_vocab), tau_(tau), eta_(eta), mu_(2.0f * tau) {}

void MirostatState::Apply(CandidateArray& cur, std::mt19937& rng) {
  Softmax(cur, true);
  if (version_ == 1) {
    // Estimate the Zipf exponent s_hat from the top m probabilities, then pick k so the
    // expected surprise is mu.
    float sum_ti_bi = 0.0f;
    float sum_ti_sq = 0.0f;
    for (size_t i = 0; i < static_cast<size_t>(m_ - 1) && i < cur.size - 1; ++i) {
      const float t_i = logf(static_cast<float>(i + 2) / static_cast<float>(i + 1));
      const float b_i = logf(cur.data[i].p / cur.data[i + 1].p);
      sum_ti_bi += t_i * b_i;
      sum_ti_sq += t_i * t_i;
    }
    const float s_hat = sum_ti_bi / sum_ti_sq;
    const float epsilon_hat = s_hat - 1;
    const float k = powf((epsilon_hat * powf(2, mu_)) /
                             (1 - powf(static_cast<float>(n_vocab_), -epsilon_hat)),
                         1 / s_hat);
    ApplyTopK(cur, std::max(static_cast<int>(k), 1));
  } else {
    // Drop tokens whose surprise exceeds mu.
    size_t n = 0;
    while (n < cur.size && !(-log2f(cur.data[n].p) > mu_)) n++;
    cur.size = std::max<size_t>(n, 1);
  }
  Softmax(cur, true);
  const int idx = DiscreteDraw(cur, rng);
  cur.selected = idx;
  const float observed_surprise = -log2f(cur.data[idx].p);
  mu_ = mu_ - eta_ * (observed_surprise - tau_);
}

}  // namespace ember
