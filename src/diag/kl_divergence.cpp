#include "diag/kl_divergence.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "diag/perplexity.h"
#include "runtime/session.h"

namespace ember {
namespace {

// llama.cpp's nearest_int: round to nearest even through the float mantissa.
int NearestInt(float fval) {
  const float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

struct Sums {
  double nll = 0, nll2 = 0, nll_base = 0, nll_base2 = 0, nll_nll_base = 0;
  double kld = 0, kld2 = 0, p_diff = 0, p_diff2 = 0, p_diff4 = 0;
  float max_p_diff = 0;
  int64_t same_top = 0, count = 0;
};

std::pair<double, double> MeanAndUncertainty(double sum, double sum2, int64_t count) {
  if (count < 1) return {0.0, 0.0};
  const double f = sum / static_cast<double>(count);
  double df = sum2 / static_cast<double>(count) - f * f;
  df = df > 0 && count > 10 ? std::sqrt(df / static_cast<double>(count - 1)) : 0.0;
  return {f, df};
}

double Covariance(double a, double b, double ab, int64_t count) {
  if (count < 10) return 0.0;
  const double n = static_cast<double>(count);
  return (ab / n - (a / n) * (b / n)) / (n - 1);
}

// One position against the base's quantized log-probabilities; returns (KLD, Δp).
std::pair<double, float> Position(const float* logits, int64_t n_vocab, const uint16_t* base,
                                  int32_t tok, Sums& s) {
  float max_logit = logits[0];
  int64_t imax = 0;
  for (int64_t i = 1; i < n_vocab; ++i) {
    if (logits[i] > max_logit) {
      max_logit = logits[i];
      imax = i;
    }
  }
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  const float log_sum_exp = static_cast<float>(std::log(sum_exp));
  float header[2];
  std::memcpy(header, base, sizeof(header));
  const float scale = header[0], min_log_prob = header[1];
  base += 4;
  const float nll = max_logit + log_sum_exp - logits[tok];
  s.nll += nll;
  s.nll2 += nll * nll;
  const float nll_base = -(scale * base[tok] + min_log_prob);
  s.nll_base += nll_base;
  s.nll_base2 += nll_base * nll_base;
  s.nll_nll_base += nll * nll_base;
  max_logit += log_sum_exp;
  double sum = 0;
  int64_t imax_base = -1;
  float p_log_base_max = 0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    const float p_log_base = scale * base[i] + min_log_prob;
    if (i == 0 || p_log_base > p_log_base_max) {
      p_log_base_max = p_log_base;
      imax_base = i;
    }
    if (p_log_base > -16.f) {
      const float p_base = std::exp(p_log_base);
      sum += p_base * (p_log_base - logits[i] + max_logit);
    }
  }
  s.kld += sum;
  s.kld2 += sum * sum;
  ++s.count;
  if (imax == imax_base) ++s.same_top;
  const float p_diff = std::exp(-nll) - std::exp(-nll_base);
  s.p_diff += p_diff;
  const double p_diff2 = static_cast<double>(p_diff) * p_diff;
  s.p_diff2 += p_diff2;
  s.p_diff4 += p_diff2 * p_diff2;
  s.max_p_diff = std::max(s.max_p_diff, std::fabs(p_diff));
  return {sum, p_diff};
}

void Summarize(const Sums& s, KlResult& r) {
  r.count = s.count;
  const auto lp = MeanAndUncertainty(s.nll, s.nll2, s.count);
  r.ppl = std::exp(lp.first);
  r.ppl_error = r.ppl * lp.second;
  const auto lb = MeanAndUncertainty(s.nll_base, s.nll_base2, s.count);
  r.ppl_base = std::exp(lb.first);
  r.ppl_base_error = r.ppl_base * lb.second;
  const double cov = Covariance(s.nll, s.nll_base, s.nll_nll_base, s.count);
  r.ln_ratio = lp.first - lb.first;
  r.ln_ratio_error = std::sqrt(std::max(0.0, lp.second * lp.second + lb.second * lb.second - 2.0 * cov));
  r.ppl_ratio = std::exp(r.ln_ratio);
  r.ppl_ratio_error = r.ppl_ratio * r.ln_ratio_error;
  const auto kl = MeanAndUncertainty(s.kld, s.kld2, s.count);
  r.kld_mean = kl.first;
  r.kld_error = kl.second;
  const auto mse = MeanAndUncertainty(s.p_diff2, s.p_diff4, s.count);
  r.p_diff_rms = std::sqrt(mse.first);
  r.p_diff_max = s.max_p_diff;
  r.same_top = s.count ? static_cast<double>(s.same_top) / static_cast<double>(s.count) : 0.0;
  r.same_top_error = s.count > 1 ? std::sqrt(r.same_top * (1 - r.same_top) / static_cast<double>(s.count - 1)) : 0.0;
}

double Percentile(const std::vector<float>& v, float fraction) {
  if (fraction <= 0) return v.front();
  if (fraction >= 1) return v.back();
  float p = fraction * static_cast<float>(v.size() - 1);
  const size_t ip = static_cast<size_t>(p);
  p -= static_cast<float>(ip);
  return (1 - p) * v[ip] + p * v[std::min(ip + 1, v.size() - 1)];
}

}  // namespace

double QuantizeLogProbs(const float* logits, int64_t n_vocab, int32_t token, uint16_t* out) {
  float max_logit = logits[0];
  float min_logit = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) {
    max_logit = std::max(max_logit, logits[i]);
    min_logit = std::min(min_logit, logits[i]);
  }
  min_logit = std::max(min_logit, max_logit - 16);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  const float log_sum_exp = static_cast<float>(std::log(sum_exp));
  const float min_log_prob = min_logit - max_logit - log_sum_exp;
  const float scale = (max_logit - min_logit) / 65535.f;
  const float header[2] = {scale, min_log_prob};
  std::memcpy(out, header, sizeof(header));
  out += 4;
  if (scale != 0.0f) {
    const float inv_scale = 1 / scale;
    for (int64_t i = 0; i < n_vocab; ++i) {
      out[i] = logits[i] > min_logit ? static_cast<uint16_t>(NearestInt(inv_scale * (logits[i] - min_logit))) : 0;
    }
  } else {
    std::memset(out, 0, static_cast<size_t>(n_vocab) * sizeof(uint16_t));
  }
  return max_logit + log_sum_exp - logits[token];
}

KlResult ComputeKlDivergence(const Model& model, Backend& backend, const Tokenizer& tokenizer,
                             const std::string& base_path, int64_t n_batch,
                             const std::function<void(int64_t, const KlResult&)>& on_chunk) {
  std::ifstream in(base_path, std::ios::binary);
  if (!in) Fail("kl-divergence: cannot open '{}'", base_path);
  char magic[8];
  uint32_t n_ctx32 = 0;
  int32_t n_vocab32 = 0, n_chunk32 = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&n_ctx32), 4);
  in.read(reinterpret_cast<char*>(&n_vocab32), 4);
  in.read(reinterpret_cast<char*>(&n_chunk32), 4);
  if (!in || std::memcmp(magic, "_logits_", 8) != 0) {
    Fail("kl-divergence: '{}' is not a log-probability file (no _logits_ header)", base_path);
  }
  const int64_t n_ctx = n_ctx32, n_vocab = model.config().n_vocab;
  if (n_vocab32 != n_vocab) {
    Fail("kl-divergence: '{}' was made with a vocabulary of {} tokens, the model has {}", base_path,
         n_vocab32, n_vocab);
  }
  if (n_ctx < 4 || n_ctx > (1 << 20) || n_chunk32 < 1 || n_chunk32 > (1 << 20)) {
    Fail("kl-divergence: '{}' has an implausible header (n_ctx {}, {} chunks)", base_path, n_ctx, n_chunk32);
  }
  std::vector<int32_t> tokens(static_cast<size_t>(n_ctx * n_chunk32));
  in.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(tokens.size() * 4));
  if (!in) Fail("kl-divergence: '{}' ends inside its token list", base_path);
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab) Fail("kl-divergence: '{}' holds token id {} outside the vocabulary", base_path, t);
  }
  const int64_t first = n_ctx / 2, n_scored = n_ctx - 1 - first;
  const int64_t nv = 2 * ((n_vocab + 1) / 2) + 4;
  std::vector<uint16_t> base(static_cast<size_t>(n_scored * nv));
  std::vector<float> kld_values, p_diff_values;
  SessionOptions so;
  so.n_ctx = n_ctx;
  Session session(model, backend, so);
  std::vector<float> logits;
  Sums sums;
  KlResult r;
  r.n_chunk = n_chunk32;
  for (int64_t c = 0; c < n_chunk32; ++c) {
    in.read(reinterpret_cast<char*>(base.data()), static_cast<std::streamsize>(base.size() * 2));
    if (!in) Fail("kl-divergence: '{}' ends inside the log-probabilities of chunk {}", base_path, c + 1);
    const auto begin = tokens.begin() + c * n_ctx;
    EvaluateChunk(session, tokenizer, std::vector<int32_t>(begin, begin + n_ctx),
                  std::min(n_batch, n_ctx), first, logits);
    for (int64_t j = 0; j < n_scored; ++j) {
      const auto [kld, p_diff] = Position(logits.data() + j * n_vocab, n_vocab, base.data() + j * nv,
                                          tokens[static_cast<size_t>(c * n_ctx + first + j + 1)], sums);
      kld_values.push_back(static_cast<float>(kld));
      p_diff_values.push_back(p_diff);
    }
    Summarize(sums, r);
    if (on_chunk) on_chunk(c, r);
  }
  std::sort(kld_values.begin(), kld_values.end());
  const size_t n = kld_values.size();
  r.kld_median = n % 2 == 0 ? 0.5f * (kld_values[n / 2] + kld_values[n / 2 - 1]) : kld_values[n / 2];
  r.kld_max = kld_values.back();
  r.kld_p99 = Percentile(kld_values, 0.99f);
  r.kld_p90 = Percentile(kld_values, 0.90f);
  return r;
}

std::string FormatKl(const KlResult& r) {
  std::string s;
  s += "====== Perplexity statistics ======\n";
  s += fmt::format("Mean PPL(Q)                   : {:10.6f} ± {:10.6f}\n", r.ppl, r.ppl_error);
  s += fmt::format("Mean PPL(base)                : {:10.6f} ± {:10.6f}\n", r.ppl_base, r.ppl_base_error);
  s += fmt::format("Mean ln(PPL(Q)/PPL(base))     : {:10.6f} ± {:10.6f}\n", r.ln_ratio, r.ln_ratio_error);
  s += fmt::format("Mean PPL(Q)/PPL(base)         : {:10.6f} ± {:10.6f}\n", r.ppl_ratio, r.ppl_ratio_error);
  s += "\n====== KL divergence statistics ======\n";
  s += fmt::format("Mean    KLD: {:10.6f} ± {:10.6f}\n", r.kld_mean, r.kld_error);
  s += fmt::format("Maximum KLD: {:10.6f}\n", r.kld_max);
  s += fmt::format("99.0%   KLD: {:10.6f}\n", r.kld_p99);
  s += fmt::format("90.0%   KLD: {:10.6f}\n", r.kld_p90);
  s += fmt::format("Median  KLD: {:10.6f}\n", r.kld_median);
  s += "\n====== Token probability statistics ======\n";
  s += fmt::format("Maximum |Δp|: {:6.3f}%\n", 100.0 * r.p_diff_max);
  s += fmt::format("RMS Δp    : {:6.3f} %\n", 100.0 * r.p_diff_rms);
  s += fmt::format("Same top p: {:6.3f} ± {:5.3f} %\n", 100.0 * r.same_top, 100.0 * r.same_top_error);
  return s;
}

}  // namespace ember
