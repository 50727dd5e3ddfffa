#include "cpu/ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/half.h"

namespace ember::cpu {

void MatMul(ThreadPool& pool, Isa isa, const MatrixRef& w, const float* x, int64_t n_tokens,
            float* y, std::vector<uint8_t>& scratch) {
  const DotKernel& k = GetDotKernel(w.type, isa);
  const uint64_t act_bytes = ActRowBytes(k, w.n_in);
  scratch.resize(act_bytes * static_cast<uint64_t>(n_tokens));
  uint8_t* act = scratch.data();
  pool.ParallelFor(n_tokens, std::max<int64_t>(1, n_tokens / (4 * pool.size())),
                   [&](int64_t t0, int64_t t1) {
                     for (int64_t t = t0; t < t1; ++t) {
                       k.quantize(x + t * w.n_in, act + static_cast<uint64_t>(t) * act_bytes, w.n_in);
                     }
                   });
  // Blocks of weight rows against every token: a block stays in cache while the tokens pass.
  const int64_t kRowBlock = 16;
  const int64_t n_blocks = (w.n_out + kRowBlock - 1) / kRowBlock;
  const int64_t grain = std::max<int64_t>(1, n_blocks / (8 * pool.size()));
  pool.ParallelFor(n_blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kRowBlock;
    const int64_t r1 = std::min(w.n_out, b1 * kRowBlock);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const uint8_t* a = act + static_cast<uint64_t>(t) * act_bytes;
      float* yt = y + t * w.n_out;
      for (int64_t r = r0; r < r1; ++r) {
        yt[r] = k.dot(w.n_in, w.data + static_cast<uint64_t>(r) * w.row_bytes, a);
      }
    }
  });
}

void RmsNorm(const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double sum = 0.0;  // ggml sums squares in double
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    if (weight != nullptr) {
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] * scale) * weight[i];
    } else {
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale;
    }
  }
}

void Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos, const RopeArgs& a) {
  EMBER_CHECK(a.n_dims % 2 == 0 && a.n_dims <= a.head_dim);
  const int64_t half = a.n_dims / 2;
  // theta_i = pos * freq_scale * base^(-2i/n_dims) / factor_i, computed as ggml does (a running
  // product of theta_scale) so the float rounding is the same.
  const float theta_scale = std::pow(a.freq_base, -2.0f / static_cast<float>(a.n_dims));
  std::vector<float> cos_sin(static_cast<size_t>(a.n_dims));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(pos[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float ff = a.freq_factors ? a.freq_factors[i] : 1.0f;
      const float th = a.freq_scale * (theta / ff);
      cos_sin[2 * i] = std::cos(th);
      cos_sin[2 * i + 1] = std::sin(th);
      theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * a.head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t i0 = a.neox ? i : 2 * i;
        const int64_t i1 = a.neox ? i + half : 2 * i + 1;
        const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        const float x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x0 * s + x1 * c;
      }
    }
  }
}

void Attention(ThreadPool& pool, Isa isa, const float* q, int64_t n_tokens, int64_t pos0,
               const AttentionArgs& a, float* out) {
  EMBER_CHECK(a.n_head % a.n_head_kv == 0);
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t hd = a.head_dim;
  const int64_t n_tasks = n_tokens * a.n_head;
  pool.ParallelFor(n_tasks, std::max<int64_t>(1, n_tasks / (4 * pool.size())),
                   [&](int64_t task0, int64_t task1) {
    std::vector<float> scores(static_cast<size_t>(pos0 + n_tokens));
    std::vector<uint16_t> q16(static_cast<size_t>(hd));
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t t = task / a.n_head;
      const int64_t h = task % a.n_head;
      const int64_t kvh = h / group;
      const int64_t p = pos0 + t;
      const int64_t first = a.window > 0 ? std::max<int64_t>(0, p - a.window + 1) : 0;
      const float* qh = q + (t * a.n_head + h) * hd;
      if (a.f16) {
        for (int64_t d = 0; d < hd; ++d) q16[d] = FloatToHalf(qh[d]);
      }
      float max = -INFINITY;
      for (int64_t j = first; j <= p; ++j) {
        const uint8_t* krow = a.k + static_cast<uint64_t>(j) * a.k_stride;
        float s = a.f16 ? DotF16F16(isa, hd, q16.data(), reinterpret_cast<const uint16_t*>(krow) + kvh * hd)
                        : DotF32F32(isa, hd, qh, reinterpret_cast<const float*>(krow) + kvh * hd);
        s *= a.scale;
        if (a.softcap > 0.0f) s = a.softcap * std::tanh(s / a.softcap);
        scores[j] = s;
        max = std::max(max, s);
      }
      double sum = 0.0;
      for (int64_t j = first; j <= p; ++j) {
        scores[j] = std::exp(scores[j] - max);
        sum += scores[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* o = out + (t * a.n_head + h) * hd;
      std::fill(o, o + hd, 0.0f);
      for (int64_t j = first; j <= p; ++j) {
        float w = scores[j] * inv;
        const uint8_t* vrow = a.v + static_cast<uint64_t>(j) * a.v_stride;
        if (a.f16) {
          w = HalfToFloat(FloatToHalf(w));
          AxpyF16(isa, hd, w, reinterpret_cast<const uint16_t*>(vrow) + kvh * hd, o);
        } else {
          AxpyF32(isa, hd, w, reinterpret_cast<const float*>(vrow) + kvh * hd, o);
        }
      }
    }
  });
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void Add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace ember::cpu
