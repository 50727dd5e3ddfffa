// Every CUDA op against a CPU reference on random inputs of awkward sizes (not multiples of the
// kernels' tiles), as ggml's test-backend-ops: the measure is the normalized MSE
// sum((gpu - ref)^2) / sum(ref^2) against a double-precision reference, with a threshold per op:
//   MatVec, GetRows (all 15 weight types)      1e-10  (F32 sums of the exactly dequantized values)
//   GEMM (F16 tensor cores)                    5e-6   (F16 rounding of weights and activations)
//   RMSNorm, GLUs, add, scale, softmax         1e-10
//   RoPE (positions up to 5000)                1e-8   (float angles, as ggml)
//   attention (F16 cache, reference reads the same F16 values)  1e-8
// Outputs are poisoned with NaN before every launch, so an unwritten element fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "cuda/cuda_test_util.h"  // tests/cuda/cuda_test_util.h
#include "cuda/device.h"
#include "cuda/kernels.h"
#include "gguf/ggml_type.h"
#include "quant/quant.h"

namespace ember::cuda {
namespace {

using testing::DeviceArray;
using testing::Nmse;
using testing::RandomFloats;

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,    GgmlType::BF16, GgmlType::Q4_0,
                              GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1, GgmlType::Q8_0,
                              GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K, GgmlType::Q5_K,
                              GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

// A random (n_out, n_in) matrix quantized by ember's reference quantizer, and its exact F32 value.
struct QuantMatrix {
  GgmlType type;
  int64_t n_in, n_out;
  uint64_t row_bytes;
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // dequantized, (n_out, n_in)
};

QuantMatrix MakeMatrix(GgmlType type, int64_t n_in, int64_t n_out, uint32_t seed) {
  QuantMatrix m{type, n_in, n_out, *RowBytes(type, static_cast<uint64_t>(n_in)), {}, {}};
  m.bytes.resize(m.row_bytes * static_cast<uint64_t>(n_out));
  m.values.resize(static_cast<size_t>(n_in * n_out));
  const std::vector<float> src = RandomFloats(static_cast<size_t>(n_in * n_out), seed);
  for (int64_t r = 0; r < n_out; ++r) {
    QuantizeRow(type, src.data() + r * n_in, m.bytes.data() + r * m.row_bytes, n_in);
    DequantizeRow(type, m.bytes.data() + r * m.row_bytes, m.values.data() + r * n_in, n_in);
  }
  return m;
}

// Rows not a multiple of the 8 rows a block computes; widths not a multiple of 32 chunks/lane.
int64_t AwkwardWidth(GgmlType type) {
  const int64_t bs = TraitsOf(type).block_size;
  return bs == 1 ? 1013 : (bs == 32 ? 32 * 37 : 256 * 5);
}

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override { EMBER_REQUIRE_GPU(); }
};

TEST_F(CudaOps, MatVecMatchesReferenceForEveryWeightType) {
  for (GgmlType type : kAllTypes) {
    SCOPED_TRACE(std::string(GgmlTypeName(type)));
    const int64_t n_in = AwkwardWidth(type), n_out = 131;
    const QuantMatrix m = MakeMatrix(type, n_in, n_out, 11);
    const std::vector<float> x = RandomFloats(static_cast<size_t>(n_in), 12);
    std::vector<double> ref(static_cast<size_t>(n_out));
    for (int64_t r = 0; r < n_out; ++r) {
      double s = 0.0;
      for (int64_t i = 0; i < n_in; ++i) s += static_cast<double>(m.values[r * n_in + i]) * x[i];
      ref[r] = s;
    }
    DeviceArray<uint8_t> w(m.bytes);
    DeviceArray<float> xd(x), y(static_cast<size_t>(n_out));
    MatVec(type, w.get(), m.row_bytes, n_in, n_out, xd.get(), y.get(), nullptr);
    EXPECT_LT(Nmse(y.Get(), ref), 1e-10);
  }
}

TEST_F(CudaOps, GetRowsDequantizesEveryWeightTypeLikeTheScalarReference) {
  for (GgmlType type : kAllTypes) {
    SCOPED_TRACE(std::string(GgmlTypeName(type)));
    const int64_t n_in = AwkwardWidth(type), n_rows = 19;
    const QuantMatrix m = MakeMatrix(type, n_in, n_rows, 21);
    const std::vector<int32_t> ids = {18, 0, 7, 7, 3};
    std::vector<double> ref;
    for (int32_t id : ids) {
      for (int64_t i = 0; i < n_in; ++i) ref.push_back(m.values[id * n_in + i]);
    }
    DeviceArray<uint8_t> w(m.bytes);
    DeviceArray<int32_t> idd(ids);
    DeviceArray<float> out(ref.size());
    GetRows(type, w.get(), m.row_bytes, n_in, idd.get(), static_cast<int64_t>(ids.size()),
            out.get(), nullptr);
    // Products may be fused (FMA) on the GPU: 1-ulp differences are allowed, nothing more.
    EXPECT_LT(Nmse(out.Get(), ref), 1e-12);
  }
}

TEST_F(CudaOps, TensorCoreGemmMatchesReferenceForQuantizedAndFloatWeights) {
  Context ctx;
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0,
                        GgmlType::F16, GgmlType::F32}) {
    SCOPED_TRACE(std::string(GgmlTypeName(type)));
    const int64_t n_in = type == GgmlType::F32 || type == GgmlType::F16 ? 1000 : AwkwardWidth(type);
    const int64_t n_out = 203, n_tokens = 37;
    const QuantMatrix m = MakeMatrix(type, n_in, n_out, 31);
    const std::vector<float> x = RandomFloats(static_cast<size_t>(n_in * n_tokens), 32);
    std::vector<double> ref(static_cast<size_t>(n_out * n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n_out; ++r) {
        double s = 0.0;
        for (int64_t i = 0; i < n_in; ++i) s += static_cast<double>(m.values[r * n_in + i]) * x[t * n_in + i];
        ref[t * n_out + r] = s;
      }
    }
    DeviceArray<uint8_t> w(m.bytes);
    DeviceArray<uint16_t> w16(static_cast<size_t>(n_in * n_out)), x16(static_cast<size_t>(n_in * n_tokens));
    DeviceArray<float> xd(x), y(ref.size());
    DequantizeToF16(type, w.get(), m.row_bytes, n_in, n_out, w16.get(), ctx.stream());
    GemmF16(ctx.cublas(), w16.get(), n_in, n_out, xd.get(), n_tokens, x16.get(), y.get(), ctx.stream());
    ctx.Synchronize();
    EXPECT_LT(Nmse(y.Get(), ref), 5e-6);
  }
}

TEST_F(CudaOps, RmsNormMatchesReference) {
  for (int64_t n : {576, 1001, 5120}) {
    const int64_t rows = 7;
    const float eps = 1e-5f;
    const std::vector<float> x = RandomFloats(static_cast<size_t>(rows * n), 41, -3.0f, 3.0f);
    const std::vector<float> wt = RandomFloats(static_cast<size_t>(n), 42);
    std::vector<double> ref(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0.0;
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
      const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
      for (int64_t i = 0; i < n; ++i) ref[r * n + i] = x[r * n + i] * scale * wt[i];
    }
    DeviceArray<float> xd(x), wd(wt), y(x.size());
    RmsNorm(xd.get(), wd.get(), rows, n, eps, y.get(), nullptr);
    EXPECT_LT(Nmse(y.Get(), ref), 1e-10) << "n=" << n;
  }
}

// Double-precision RoPE of one head: adjacent pairs (normal) or split halves (NeoX).
void RopeRef(std::vector<double>& x, int64_t off, int64_t n_dims, double pos, double base,
             double freq_scale, bool neox, const std::vector<float>* ff) {
  for (int64_t i = 0; i < n_dims / 2; ++i) {
    double theta = pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(n_dims));
    if (ff != nullptr) theta /= (*ff)[static_cast<size_t>(i)];
    theta *= freq_scale;
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_dims / 2 : 2 * i + 1;
    const double x0 = x[off + a], x1 = x[off + b];
    x[off + a] = x0 * std::cos(theta) - x1 * std::sin(theta);
    x[off + b] = x0 * std::sin(theta) + x1 * std::cos(theta);
  }
}

TEST_F(CudaOps, RopeMatchesReferenceInNormalAndNeoxModes) {
  struct Case { int64_t head_dim, n_dims; bool neox, factors; float scale; };
  for (const Case c : {Case{64, 64, false, false, 1.0f}, Case{128, 128, true, false, 1.0f},
                       Case{96, 64, false, true, 0.25f}, Case{256, 128, true, true, 1.0f}}) {
    SCOPED_TRACE(::testing::Message() << "head_dim " << c.head_dim << " n_dims " << c.n_dims
                                      << (c.neox ? " neox" : " normal"));
    const int64_t n_tokens = 9, n_heads = 5;
    const std::vector<float> x = RandomFloats(static_cast<size_t>(n_tokens * n_heads * c.head_dim), 51);
    const std::vector<int32_t> pos = {0, 1, 2, 17, 18, 500, 1234, 4095, 5000};
    const std::vector<float> ff = RandomFloats(static_cast<size_t>(c.n_dims / 2), 52, 1.0f, 8.0f);
    std::vector<double> ref(x.begin(), x.end());
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t h = 0; h < n_heads; ++h) {
        RopeRef(ref, (t * n_heads + h) * c.head_dim, c.n_dims, pos[t], 10000.0, c.scale, c.neox,
                c.factors ? &ff : nullptr);
      }
    }
    DeviceArray<float> xd(x), ffd(ff);
    DeviceArray<int32_t> posd(pos);
    Rope(xd.get(), n_tokens, n_heads, c.head_dim, c.n_dims, posd.get(), 10000.0f, c.scale, c.neox,
         c.factors ? ffd.get() : nullptr, nullptr);
    // Float angles near 5000 rad are 2.4e-4 apart: the CPU's own running-product angles give
    // 1.3e-8 against this double reference; a wrong pair or frequency gives ~1.
    EXPECT_LT(Nmse(xd.Get(), ref), 1e-7);
  }
}

TEST_F(CudaOps, GluAddScaleAndSoftmaxMatchReference) {
  const int64_t n = 4099;
  const std::vector<float> g = RandomFloats(n, 61, -6.0f, 6.0f), u = RandomFloats(n, 62);
  std::vector<double> swi(n), gel(n), add(n), scl(n);
  for (int64_t i = 0; i < n; ++i) {
    const double gv = g[i];
    swi[i] = gv / (1.0 + std::exp(-gv)) * u[i];
    gel[i] = 0.5 * gv * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (gv + 0.044715 * gv * gv * gv))) * u[i];
    add[i] = gv + u[i];
    scl[i] = gv * 0.125;
  }
  DeviceArray<float> gd(g), ud(u), out(n);
  SwiGlu(gd.get(), ud.get(), n, out.get(), nullptr);
  EXPECT_LT(Nmse(out.Get(), swi), 1e-10);
  out.Poison();
  GeGlu(gd.get(), ud.get(), n, out.get(), nullptr);
  EXPECT_LT(Nmse(out.Get(), gel), 1e-10);
  DeviceArray<float> ad(g);
  Add(ad.get(), ud.get(), n, nullptr);
  EXPECT_LT(Nmse(ad.Get(), add), 1e-12);
  DeviceArray<float> sd(g);
  Scale(sd.get(), 0.125f, n, nullptr);
  EXPECT_LT(Nmse(sd.Get(), scl), 1e-14);

  const int64_t rows = 3, cols = 1377;
  const std::vector<float> s = RandomFloats(static_cast<size_t>(rows * cols), 63, -20.0f, 20.0f);
  std::vector<double> sm(s.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < cols; ++i) mx = std::max(mx, static_cast<double>(s[r * cols + i]));
    for (int64_t i = 0; i < cols; ++i) sum += std::exp(s[r * cols + i] - mx);
    for (int64_t i = 0; i < cols; ++i) sm[r * cols + i] = std::exp(s[r * cols + i] - mx) / sum;
  }
  DeviceArray<float> smd(s);
  SoftmaxRows(smd.get(), rows, cols, nullptr);
  EXPECT_LT(Nmse(smd.Get(), sm), 1e-10);
}

struct AttnCase {
  int64_t n_head, n_head_kv, head_dim, pos0, n_tokens, window;
  float softcap;
  bool max_keys_is_ctx = false;
};

// Stores random K/V for positions [0, pos0 + n_tokens) through StoreKv (as a forward pass does,
// earlier positions first), then attends for the last n_tokens; the reference reads the same
// F16-rounded K/V in double precision.
void CheckAttention(const AttnCase& c) {
  SCOPED_TRACE(::testing::Message() << "heads " << c.n_head << "/" << c.n_head_kv << " dim "
                                    << c.head_dim << " pos0 " << c.pos0 << " tokens " << c.n_tokens
                                    << " window " << c.window << " softcap " << c.softcap);
  const int64_t n_ctx = c.pos0 + c.n_tokens + 3 + (c.max_keys_is_ctx ? 2000 : 0);
  const int64_t kw = c.n_head_kv * c.head_dim, qw = c.n_head * c.head_dim;
  const int64_t total = c.pos0 + c.n_tokens;
  const std::vector<float> k = RandomFloats(static_cast<size_t>(total * kw), 71, -2.0f, 2.0f);
  const std::vector<float> v = RandomFloats(static_cast<size_t>(total * kw), 72);
  const std::vector<float> q = RandomFloats(static_cast<size_t>(c.n_tokens * qw), 73, -2.0f, 2.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  DeviceArray<uint16_t> kc(static_cast<size_t>(n_ctx * kw)), vc(static_cast<size_t>(n_ctx * kw));
  KvLayerView kv{kc.get(), vc.get(), kw, kw, n_ctx};
  DeviceArray<float> kd(k), vd(v), qd(q), out(static_cast<size_t>(c.n_tokens * qw));
  std::vector<int32_t> pos_all(static_cast<size_t>(total));
  for (int64_t p = 0; p < total; ++p) pos_all[p] = static_cast<int32_t>(p);
  DeviceArray<int32_t> posd(pos_all);
  if (c.pos0 > 0) StoreKv(kv, posd.get(), c.pos0, kd.get(), vd.get(), nullptr);
  StoreKv(kv, posd.get() + c.pos0, c.n_tokens, kd.get() + c.pos0 * kw, vd.get() + c.pos0 * kw, nullptr);
  AttentionShape s{c.n_head, c.n_head_kv, c.head_dim, c.head_dim, scale, c.softcap, c.window};
  DeviceArray<float> partial(static_cast<size_t>(AttentionScratchFloats(s, c.n_tokens, n_ctx)));
  // max_keys = n_ctx, as a captured decode graph passes: splits beyond the keys must be empty.
  Attention(kv, posd.get() + c.pos0, c.n_tokens, c.max_keys_is_ctx ? n_ctx : total, qd.get(), s,
            out.get(), partial.get(), nullptr);

  auto f16 = [](float f) { return static_cast<double>(HalfToFloat(FloatToHalf(f))); };
  std::vector<double> ref(static_cast<size_t>(c.n_tokens * qw));
  const int64_t group = c.n_head / c.n_head_kv;
  for (int64_t t = 0; t < c.n_tokens; ++t) {
    const int64_t hi = c.pos0 + t + 1;
    const int64_t lo = c.window > 0 ? std::max<int64_t>(0, hi - c.window) : 0;
    for (int64_t h = 0; h < c.n_head; ++h) {
      const int64_t g = h / group;
      std::vector<double> sc;
      for (int64_t p = lo; p < hi; ++p) {
        double dot = 0.0;
        for (int64_t d = 0; d < c.head_dim; ++d) {
          dot += static_cast<double>(q[t * qw + h * c.head_dim + d]) * scale * f16(k[p * kw + g * c.head_dim + d]);
        }
        if (c.softcap > 0.0f) dot = c.softcap * std::tanh(dot / c.softcap);
        sc.push_back(dot);
      }
      const double mx = *std::max_element(sc.begin(), sc.end());
      double sum = 0.0;
      for (double& e : sc) sum += (e = std::exp(e - mx));
      for (int64_t d = 0; d < c.head_dim; ++d) {
        double acc = 0.0;
        for (int64_t p = lo; p < hi; ++p) acc += sc[p - lo] * f16(v[p * kw + g * c.head_dim + d]);
        ref[t * qw + h * c.head_dim + d] = acc / sum;
      }
    }
  }
  EXPECT_LT(Nmse(out.Get(), ref), 1e-8);
}

TEST_F(CudaOps, AttentionPrefillIsCausalWithGroupedQueryHeads) {
  CheckAttention({6, 2, 64, 0, 37, 0, 0.0f});
  CheckAttention({8, 8, 128, 0, 70, 0, 0.0f});
}

TEST_F(CudaOps, AttentionDecodeSplitsTheSequenceAndMergesExactly) {
  CheckAttention({4, 1, 128, 999, 1, 0, 0.0f});  // one token, 1000 keys: split across blocks
  CheckAttention({9, 3, 64, 300, 1, 0, 0.0f});
  CheckAttention({2, 1, 256, 77, 3, 0, 0.0f});   // gemma-sized heads, a short continuation
  CheckAttention({8, 2, 64, 5, 1, 0, 0.0f, true});  // split count from n_ctx: most chunks empty
}

TEST_F(CudaOps, AttentionHonoursSoftcapAndSlidingWindow) {
  CheckAttention({4, 2, 64, 50, 20, 16, 0.0f});
  CheckAttention({4, 2, 128, 400, 1, 64, 30.0f});
  CheckAttention({4, 4, 64, 0, 33, 0, 5.0f});
}

TEST_F(CudaOps, LaunchersRefuseUnsupportedInputsWithAnError) {
  DeviceArray<float> buf(1024);
  EXPECT_THROW(MatVec(GgmlType::IQ2_XXS, buf.get(), 66, 256, 1, buf.get(), buf.get(), nullptr), Error);
  EXPECT_FALSE(SupportsWeightType(GgmlType::Q8_K));
  EXPECT_TRUE(SupportsWeightType(GgmlType::IQ4_XS));
  KvLayerView kv{nullptr, nullptr, 36, 36, 4};
  AttentionShape s{1, 1, 36, 36, 1.0f, 0.0f, 0};  // K head dim not a multiple of 8
  const int32_t* no_pos = nullptr;
  EXPECT_THROW(Attention(kv, no_pos, 1, 1, buf.get(), s, buf.get(), buf.get(), nullptr), Error);
}

TEST(CudaAttention, ScratchForAPromptServesASingleToken) {
  // The model sizes the split scratch once, for its largest batch, and decodes with it after.
  // Holds without a GPU: a host-side size.
  for (const int64_t n_head : {4, 9, 32, 64}) {
    for (const int64_t dim : {64, 128}) {
      AttentionShape s{n_head, n_head / 4 > 0 ? n_head / 4 : 1, dim, dim, 1.0f, 0.0f, 0};
      SCOPED_TRACE(::testing::Message() << "heads " << n_head << " dim " << dim);
      EXPECT_GE(AttentionScratchFloats(s, 512, 4096), AttentionScratchFloats(s, 1, 4096));
      EXPECT_GE(AttentionScratchFloats(s, 512, 4096), 512 * (dim + 2));
    }
  }
}

TEST(CudaDevice, ContextRefusesADeviceThatDoesNotExist) {
  // Holds on machines without a GPU too: then no device exists at all.
  EXPECT_THROW(Context(DeviceCount() + 3), Error);
}

}  // namespace
}  // namespace ember::cuda
