// CPU ops (RMSNorm, RoPE, attention, SwiGLU, threaded matrix products) against plain references.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/half.h"
#include "cpu/gemm.h"
#include "cpu/ops.h"
#include "cpu/thread_pool.h"
#include "quant/quant.h"

namespace ember::cpu {
namespace {

std::vector<float> Random(std::mt19937& rng, size_t n, float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

TEST(ThreadPool, ParallelForCoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1001);
  for (int rep = 0; rep < 50; ++rep) {
    pool.ParallelFor(1001, 7, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
  }
  for (auto& h : hits) EXPECT_EQ(h.load(), 50);
}

// -t / -tb: fewer active threads than the pool holds; every index still runs exactly once, on
// no more distinct threads than are active.
TEST(ThreadPool, SetActiveLimitsTheThreadsThatTakePart) {
  ThreadPool pool(3);
  for (int active : {1, 2, 3, 1}) {
    pool.set_active(active);
    std::vector<std::atomic<int>> hits(2000);
    std::mutex mu;
    std::set<std::thread::id> ids;
    for (int rep = 0; rep < 20; ++rep) {
      pool.ParallelFor(2000, 3, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      });
    }
    for (auto& h : hits) ASSERT_EQ(h.load(), 20) << "active " << active;
    EXPECT_LE(static_cast<int>(ids.size()), active);
    if (active == 1) {
      EXPECT_EQ(*ids.begin(), std::this_thread::get_id());
    }
  }
  pool.set_active(0);
  EXPECT_EQ(pool.active(), 1);
  pool.set_active(9);
  EXPECT_EQ(pool.active(), 3);
}

TEST(RmsNorm, ScalesEachRowToUnitRmsTimesWeight) {
  std::mt19937 rng(1);
  const int64_t n = 77;
  auto x = Random(rng, 2 * n, 3.0f);
  auto w = Random(rng, n);
  std::vector<float> y(2 * n);
  RmsNorm(x.data(), w.data(), 2, n, 1e-5f, y.data());
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[r * n + i], x[r * n + i] * scale * w[i], 1e-5);
  }
}

TEST(Rope, NormalModeRotatesAdjacentPairs) {
  // One head of 8 dims, all rotated; x = (1, 0) in every pair; position 3.
  std::vector<float> x = {1, 0, 1, 0, 1, 0, 1, 0};
  const int32_t pos = 3;
  RopeArgs a{8, 8, 10000.0f, 1.0f, /*neox=*/false, nullptr};
  Rope(x.data(), 1, 1, &pos, a);
  for (int i = 0; i < 4; ++i) {
    const double theta = 3.0 * std::pow(10000.0, -2.0 * i / 8.0);
    EXPECT_NEAR(x[2 * i], std::cos(theta), 1e-5) << i;
    EXPECT_NEAR(x[2 * i + 1], std::sin(theta), 1e-5) << i;
  }
}

TEST(Rope, NeoxModeRotatesSplitHalves) {
  std::vector<float> x = {1, 1, 1, 1, 0, 0, 0, 0};
  const int32_t pos = 5;
  RopeArgs a{8, 8, 10000.0f, 1.0f, /*neox=*/true, nullptr};
  Rope(x.data(), 1, 1, &pos, a);
  for (int i = 0; i < 4; ++i) {
    const double theta = 5.0 * std::pow(10000.0, -2.0 * i / 8.0);
    EXPECT_NEAR(x[i], std::cos(theta), 1e-5) << i;
    EXPECT_NEAR(x[i + 4], std::sin(theta), 1e-5) << i;
  }
}

TEST(Rope, LinearScalingAndFreqFactorsDivideTheAngle) {
  std::vector<float> x = {1, 0, 1, 0};
  const int32_t pos = 12;
  const float factors[2] = {1.0f, 3.0f};
  RopeArgs a{4, 4, 100.0f, 0.25f, false, factors};
  Rope(x.data(), 1, 1, &pos, a);
  EXPECT_NEAR(x[0], std::cos(12.0 * 0.25), 1e-5);
  EXPECT_NEAR(x[2], std::cos(12.0 * 0.25 * 0.1 / 3.0), 1e-5);
}

TEST(Rope, PassesThroughDimensionsBeyondNDims) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const int32_t pos = 9;
  RopeArgs a{6, 2, 10000.0f, 1.0f, false, nullptr};
  Rope(x.data(), 1, 1, &pos, a);
  EXPECT_EQ(x[2], 3);
  EXPECT_EQ(x[5], 6);
}

TEST(ExpGgml, WithinTwoUlpsOfExpAndZeroForMinusInfinity) {
  for (float v = -87.0f; v <= 0.0f; v += 0.01f) {
    const float e = std::exp(v);
    EXPECT_NEAR(ExpGgml(v), e, 2.5e-7f * e) << v;
  }
  EXPECT_EQ(ExpGgml(-INFINITY), 0.0f);
  EXPECT_EQ(ExpGgml(0.0f), 1.0f);
}

TEST(SwiGlu, IsSiluOfGateTimesUp) {
  std::vector<float> g = {-3, -0.5, 0, 0.5, 3, 10, -10, 1, 2};
  std::vector<float> u = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> out(g.size());
  SwiGlu(g.data(), u.data(), static_cast<int64_t>(g.size()), out.data());
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_NEAR(out[i], g[i] / (1 + std::exp(-g[i])) * u[i], 1e-5 * std::fabs(u[i] * g[i]) + 1e-6);
  }
}

// The 8-lane exp (softmax) and SwiGLU are the one-lane steps done 8 at a time: the same bits,
// including the lanes that leave the fast range (overflow, underflow, infinities), and NaN for
// NaN (its sign bit is not the same in every build: the unoptimized sanitizer build's scalar step
// gave -NaN where the vector one gave NaN).
TEST(ExpShifted, GivesExpGgmlsBitsInEveryLane) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> wide(-120.0f, 100.0f);
  std::vector<float> x(4099);
  for (float& v : x) v = wide(rng);
  const float specials[] = {-INFINITY, INFINITY, NAN, 0.0f, -0.0f, 88.7f, 89.0f, -87.4f, -103.9f,
                            -104.0f, 87.33f, -150.0f, 1e-30f, -1e-30f};
  for (size_t i = 0; i < std::size(specials); ++i) x[i * 37] = specials[i];
  for (float shift : {0.0f, 3.5f, -2.0f}) {
    std::vector<float> got = x;
    ExpShifted(got.data(), static_cast<int64_t>(got.size()), shift);
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = ExpGgml(x[i] - shift);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(got[i])) << "x " << x[i] << " shift " << shift;
        continue;
      }
      ASSERT_EQ(std::memcmp(&got[i], &want, 4), 0) << "x " << x[i] << " shift " << shift;
    }
  }
}

TEST(SwiGlu, EveryLaneHasTheOneLaneStepsBits) {
  std::mt19937 rng(12);
  std::normal_distribution<float> nd(0.0f, 6.0f);
  for (int64_t n : {1, 7, 8, 9, 64, 1003}) {
    std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n)), out(g.size());
    for (auto& v : g) v = nd(rng);
    for (auto& v : u) v = nd(rng);
    if (n > 5) g[5] = -200.0f;  // exp overflows to inf: silu gives -0
    SwiGlu(g.data(), u.data(), n, out.data());
    const int64_t n8 = n / 8 * 8;
    for (int64_t i = 0; i < n; ++i) {
      const float ex = i < n8 ? ExpGgml(0.0f - g[i]) : std::exp(-g[i]);
      const float want = g[i] / (1.0f + ex) * u[i];
      ASSERT_EQ(std::memcmp(&out[i], &want, 4), 0) << "n " << n << " i " << i;
    }
  }
}

TEST(GeGlu, EveryLaneHasTheOneLaneStepsBits) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.0f, 5.0f);
  for (int64_t n : {1, 8, 13, 640, 2051}) {
    std::vector<float> g(static_cast<size_t>(n)), u(g.size()), out(g.size());
    for (auto& v : g) v = nd(rng);
    for (auto& v : u) v = nd(rng);
    for (size_t i = 0; i + 3 < g.size(); i += 50) {  // the table's edges and beyond
      g[i] = -10.0f;
      g[i + 1] = 10.0f;
      g[i + 2] = 9.999f;
      g[i + 3] = -10.001f;
    }
    GeGlu(g.data(), u.data(), n, out.data());
    for (int64_t i = 0; i < n; ++i) {
      float want;
      if (g[i] <= -10.0f) {
        want = 0.0f;
      } else if (g[i] >= 10.0f) {
        want = g[i] * u[i];
      } else {
        const float x = HalfToFloat(FloatToHalf(g[i]));
        const float gelu = 0.5f * x * (1.0f + std::tanh(0.79788456080286535587989211986876f * x *
                                                        (1.0f + 0.044715f * x * x)));
        want = HalfToFloat(FloatToHalf(gelu)) * u[i];
      }
      ASSERT_EQ(std::memcmp(&out[i], &want, 4), 0) << "n " << n << " i " << i << " g " << g[i];
    }
  }
}

// Plain softmax attention in double over an F32 or F16 cache.
struct Cache {
  int64_t n_ctx, width;
  bool f16;
  std::vector<uint8_t> k, v;
  Cache(int64_t n, int64_t w, bool half) : n_ctx(n), width(w), f16(half) {
    k.resize(static_cast<size_t>(n * w) * (half ? 2 : 4));
    v.resize(k.size());
  }
  void Set(std::vector<uint8_t>& buf, int64_t pos, int64_t i, float value) {
    if (f16) {
      reinterpret_cast<uint16_t*>(buf.data())[pos * width + i] = FloatToHalf(value);
    } else {
      reinterpret_cast<float*>(buf.data())[pos * width + i] = value;
    }
  }
  float Get(const std::vector<uint8_t>& buf, int64_t pos, int64_t i) const {
    return f16 ? HalfToFloat(reinterpret_cast<const uint16_t*>(buf.data())[pos * width + i])
               : reinterpret_cast<const float*>(buf.data())[pos * width + i];
  }
};

void CheckAttention(bool f16, Isa isa, int64_t n_head, int64_t n_head_kv, int64_t hd, int64_t pos0,
                    int64_t n_tokens, int64_t window) {
  std::mt19937 rng(11);
  const int64_t n_ctx = pos0 + n_tokens;
  Cache c(n_ctx, n_head_kv * hd, f16);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t p = 0; p < n_ctx; ++p) {
    for (int64_t i = 0; i < c.width; ++i) {
      c.Set(c.k, p, i, nd(rng));
      c.Set(c.v, p, i, nd(rng));
    }
  }
  auto q = Random(rng, static_cast<size_t>(n_tokens * n_head * hd));
  std::vector<float> out(q.size());
  AttentionArgs a{n_head, n_head_kv, hd, 1.0f / std::sqrt(float(hd)), 0.0f, window,
                  c.k.data(), c.v.data(), static_cast<uint64_t>(c.width) * (f16 ? 2 : 4),
                  static_cast<uint64_t>(c.width) * (f16 ? 2 : 4), f16};
  ThreadPool pool(2);
  Attention(pool, isa, q.data(), n_tokens, pos0, a, out.data());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < n_head; ++h) {
      const int64_t kvh = h / (n_head / n_head_kv);
      const int64_t p = pos0 + t;
      const int64_t first = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
      std::vector<double> s(static_cast<size_t>(p + 1));
      double max = -1e300;
      for (int64_t j = first; j <= p; ++j) {
        double d = 0;
        for (int64_t i = 0; i < hd; ++i) d += double(q[(t * n_head + h) * hd + i]) * c.Get(c.k, j, kvh * hd + i);
        s[j] = d / std::sqrt(double(hd));
        max = std::max(max, s[j]);
      }
      double sum = 0;
      for (int64_t j = first; j <= p; ++j) sum += (s[j] = std::exp(s[j] - max));
      for (int64_t i = 0; i < hd; ++i) {
        double o = 0;
        for (int64_t j = first; j <= p; ++j) o += s[j] / sum * c.Get(c.v, j, kvh * hd + i);
        // F16: q and the weights are rounded to F16 (relative 2^-11 each) as in llama.cpp.
        EXPECT_NEAR(out[(t * n_head + h) * hd + i], o, f16 ? 3e-3 : 1e-5)
            << "t=" << t << " h=" << h << " i=" << i << " isa=" << IsaName(isa);
      }
    }
  }
}

TEST(Attention, MatchesSoftmaxReferenceUnderGqaWithCachedPrefix) {
  for (Isa isa : {Isa::kScalar, ClampIsa(Isa::kAvx2)}) {
    CheckAttention(false, isa, 6, 2, 64, 5, 13, 0);   // GQA 3, F32 cache
    CheckAttention(true, isa, 8, 1, 128, 0, 11, 0);   // GQA 8, F16 cache
    CheckAttention(true, isa, 4, 4, 40, 17, 3, 0);    // head dim not a multiple of 8
    CheckAttention(false, isa, 2, 1, 16, 9, 9, 4);    // sliding window
  }
}

// A prompt batch (which converts the F16 rows to F32 once) must give each token exactly what
// decoding it alone (F16 kernels) gives: prefill and decode agree bit for bit.
TEST(Attention, ABatchGivesEachTokenTheBitsOfDecodingItAlone) {
  const Isa isa = ClampIsa(Isa::kAvx2);
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Case { int64_t n_head, n_head_kv, hd, pos0, n_tokens, window; };
  // Prompt batches attend blocks of queries together, key tile by key tile (16 KiB of K rows:
  // 64 keys at hd 64, 32 at hd 128, 16 at hd 256): the cases reach partial query blocks, several
  // key tiles, and a window that starts inside a tile. The heads of one token go in pairs, so a
  // group of 3 (SmolLM2's shape) leaves one head alone.
  for (const Case& k : {Case{8, 2, 64, 0, 37, 0}, Case{4, 1, 256, 11, 20, 0}, Case{6, 3, 32, 5, 29, 16},
                        Case{4, 2, 128, 40, 50, 24}, Case{9, 3, 64, 3, 23, 0}}) {
    const int64_t n_ctx = k.pos0 + k.n_tokens;
    Cache c(n_ctx, k.n_head_kv * k.hd, true);
    for (int64_t p = 0; p < n_ctx; ++p) {
      for (int64_t i = 0; i < c.width; ++i) {
        c.Set(c.k, p, i, nd(rng));
        c.Set(c.v, p, i, nd(rng));
      }
    }
    const auto q = Random(rng, static_cast<size_t>(k.n_tokens * k.n_head * k.hd));
    AttentionArgs a{k.n_head, k.n_head_kv, k.hd, 0.125f, 0.0f, k.window, c.k.data(), c.v.data(),
                    static_cast<uint64_t>(c.width) * 2, static_cast<uint64_t>(c.width) * 2, true};
    ThreadPool pool(2);
    std::vector<float> batch(q.size()), alone(q.size());
    Attention(pool, isa, q.data(), k.n_tokens, k.pos0, a, batch.data());
    const int64_t row = k.n_head * k.hd;
    for (int64_t t = 0; t < k.n_tokens; ++t) {
      Attention(pool, isa, q.data() + t * row, 1, k.pos0 + t, a, alone.data() + t * row);
    }
    ASSERT_EQ(std::memcmp(batch.data(), alone.data(), batch.size() * 4), 0) << "hd " << k.hd;
  }
}

// Decode at depth attends with the heads of one K/V head together (scores key tile by key tile,
// weighted sums 32 columns and 256 positions at a time, the heads two at a time and an odd one
// alone): every output must be the per-head loop's, bit for bit. Cases: SmolLM2's group of 3,
// TinyLlama's 8, Gemma 3's one K/V head of 256 columns, a head size that is not a multiple of 32 (8-column tasks), positions that end inside
// a block of 8 and a tile, and sliding windows that start inside a block.
TEST(Attention, DecodeWithSharedHeadsGivesThePerHeadBits) {
  const Isa isa = ClampIsa(Isa::kAvx2);
  if (isa < Isa::kAvx2) GTEST_SKIP() << "no AVX2: the shared decode path needs F16C";
  std::mt19937 rng(31);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Case { int64_t n_head, n_head_kv, hd, pos, window; };
  for (const Case& k : {Case{9, 3, 64, 700, 0}, Case{32, 4, 64, 517, 0}, Case{4, 1, 256, 1029, 0},
                        Case{6, 2, 40, 333, 0}, Case{8, 2, 128, 900, 300}, Case{4, 4, 64, 260, 10},
                        Case{2, 1, 64, 0, 0}}) {
    const int64_t n_ctx = k.pos + 1;
    Cache c(n_ctx, k.n_head_kv * k.hd, true);
    for (int64_t p = 0; p < n_ctx; ++p) {
      for (int64_t i = 0; i < c.width; ++i) {
        c.Set(c.k, p, i, nd(rng));
        c.Set(c.v, p, i, nd(rng));
      }
    }
    const auto q = Random(rng, static_cast<size_t>(k.n_head * k.hd));
    AttentionArgs a{k.n_head, k.n_head_kv, k.hd, 0.125f, 0.0f, k.window, c.k.data(), c.v.data(),
                    static_cast<uint64_t>(c.width) * 2, static_cast<uint64_t>(c.width) * 2, true};
    // 1, 2 and 3 threads: the key ranges and the column-block ranges fall differently.
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> shared(q.size()), per_head(q.size());
      SetDecodeSharedMinKeysForTests(1);
      Attention(pool, isa, q.data(), 1, k.pos, a, shared.data());
      SetDecodeSharedMinKeysForTests(INT64_MAX);
      Attention(pool, isa, q.data(), 1, k.pos, a, per_head.data());
      SetDecodeSharedMinKeysForTests(0);
      ASSERT_EQ(std::memcmp(shared.data(), per_head.data(), shared.size() * 4), 0)
          << "n_head " << k.n_head << " n_head_kv " << k.n_head_kv << " hd " << k.hd << " pos " << k.pos
          << " threads " << threads;
    }
  }
}

TEST(Attention, FutureCacheRowsDoNotChangeTheOutput) {
  // Causality: token t must not see positions > pos0 + t, whatever they hold.
  const int64_t hd = 16, n = 6;
  std::mt19937 rng(2);
  std::vector<float> k = Random(rng, n * hd), v = Random(rng, n * hd), q = Random(rng, 3 * hd);
  ThreadPool pool(1);
  auto run = [&](std::vector<float>& kk, std::vector<float>& vv) {
    std::vector<float> out(3 * hd);
    AttentionArgs a{1, 1, hd, 0.25f, 0.0f, 0,
                    reinterpret_cast<const uint8_t*>(kk.data()), reinterpret_cast<const uint8_t*>(vv.data()),
                    hd * 4, hd * 4, false};
    Attention(pool, Isa::kScalar, q.data(), 3, 0, a, out.data());
    return out;
  };
  const auto before = run(k, v);
  for (int64_t i = 3 * hd; i < n * hd; ++i) k[i] = v[i] = 1e3f;
  EXPECT_EQ(run(k, v), before);
}

// q/k/v and gate/up in one ParallelFor: mixed types (two sharing Q8_0 activations, one Q8_1, one
// Q8_K, one F16), row counts that are not multiples of the 16-row block; each result must be
// MatMul's for that matrix alone, bit for bit.
TEST(MatVecShared, EachResultIsMatMulsForThatMatrix) {
  std::mt19937 rng(10);
  const int64_t n_in = 512;
  const GgmlType types[] = {GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q4_K,
                            GgmlType::F16};
  const int64_t rows[] = {37, 16, 3, 70, 129};
  std::vector<std::vector<uint8_t>> ws;
  std::vector<std::vector<float>> ys, want;
  std::vector<MatVecJob> jobs;
  const auto x = Random(rng, static_cast<size_t>(n_in));
  ThreadPool pool(3);
  const Isa isa = ClampIsa(Isa::kAvx2);
  std::vector<uint8_t> scratch;
  for (size_t i = 0; i < std::size(types); ++i) {
    const uint64_t rb = *RowBytes(types[i], n_in);
    const auto wf = Random(rng, static_cast<size_t>(n_in * rows[i]), 0.1f);
    ws.emplace_back(rb * rows[i]);
    for (int64_t r = 0; r < rows[i]; ++r) {
      QuantizeRow(types[i], wf.data() + r * n_in, ws.back().data() + r * rb, n_in);
    }
    ys.emplace_back(static_cast<size_t>(rows[i]));
    want.emplace_back(static_cast<size_t>(rows[i]));
  }
  for (size_t i = 0; i < std::size(types); ++i) {
    const MatrixRef m{types[i], n_in, rows[i], *RowBytes(types[i], n_in), ws[i].data()};
    MatMul(pool, isa, m, x.data(), 1, want[i].data(), scratch);
    jobs.push_back({m, ys[i].data()});
  }
  MatVecShared(pool, isa, jobs, x.data(), scratch);
  for (size_t i = 0; i < std::size(types); ++i) {
    ASSERT_EQ(std::memcmp(ys[i].data(), want[i].data(), ys[i].size() * 4), 0) << GgmlTypeName(types[i]);
  }
}

TEST(MatMul, ThreadedBatchEqualsRowByRowDots) {
  // Exact prompt kernels (gemm.h): the default Q8_0 tile rounds once per block instead.
  const bool exact_before = ExactGemm();
  SetExactGemm(true);
  std::mt19937 rng(9);
  for (GgmlType t : {GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::F16}) {
    const int64_t n_in = 512, n_out = 37, n_tok = 5;
    const auto wf = Random(rng, static_cast<size_t>(n_in * n_out), 0.1f);
    const uint64_t rb = *RowBytes(t, n_in);
    std::vector<uint8_t> w(rb * n_out);
    for (int64_t r = 0; r < n_out; ++r) QuantizeRow(t, wf.data() + r * n_in, w.data() + r * rb, n_in);
    const auto x = Random(rng, static_cast<size_t>(n_in * n_tok));
    MatrixRef m{t, n_in, n_out, rb, w.data()};
    ThreadPool pool(3);
    std::vector<float> y(n_out * n_tok);
    std::vector<uint8_t> scratch;
    const Isa isa = ClampIsa(Isa::kAvx2);
    MatMul(pool, isa, m, x.data(), n_tok, y.data(), scratch);
    const DotKernel& k = GetDotKernel(t, isa);
    std::vector<uint8_t> xq(ActRowBytes(k, n_in));
    for (int64_t tok = 0; tok < n_tok; ++tok) {
      k.quantize(x.data() + tok * n_in, xq.data(), n_in);
      for (int64_t r = 0; r < n_out; ++r) {
        EXPECT_EQ(y[tok * n_out + r], k.dot(n_in, w.data() + r * rb, xq.data())) << GgmlTypeName(t);
      }
    }
  }
  SetExactGemm(exact_before);
}

}  // namespace
}  // namespace ember::cpu
