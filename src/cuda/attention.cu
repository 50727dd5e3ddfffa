// Attention over the F16 KV cache: KV stores, and causal grouped-query attention with an online
// softmax (flash-style: scores never go to memory).
//
// One block (4 warps) serves one (query token, head) pair and one contiguous chunk of its keys.
// Each warp walks 32-key tiles: lane j scores key j of the tile against q (kept in shared memory,
// pre-scaled), the warp updates its running max m, denominator l and accumulator (lane owns V
// dims 2*lane + 64*i as half2), then the 4 warps merge. Prefill uses one chunk per query (enough
// blocks already); decode (few tokens) splits the keys into chunks across blocks to fill the GPU,
// and a second kernel merges the chunks' (m, l, acc) -- "split along the sequence".
//
// Cache layout per layer: K (n_ctx, k_width), V (n_ctx, v_width), rows of F16; KV head g of a row
// is columns [g * head_dim, (g + 1) * head_dim). Query head h reads KV head h / (n_head / n_head_kv).
#include <cuda_fp16.h>

#include "cuda/common.cuh"
#include "cuda/cuda_check.h"
#include "cuda/kernels.h"

namespace ember::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxDim = 256;
constexpr int kMaxSplits = 64;
constexpr int kVPerLane = kMaxDim / 64;  // half2 pairs of V dims per lane

__global__ void StoreKvKernel(uint16_t* __restrict__ cache, int64_t width, int64_t n_ctx,
                              const int32_t* __restrict__ pos, const float* __restrict__ src,
                              int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int64_t t = i / width, col = i % width;
  const int64_t row = pos[t];
  if (row < 0 || row >= n_ctx) return;
  reinterpret_cast<__half*>(cache)[row * width + col] = __float2half_rn(src[i]);
}

struct AttnArgs {
  const __half* k;
  const __half* v;
  int64_t k_width, v_width;
  const int32_t* pos;
  const float* q;
  float* out;
  float* partial;  // (n_tokens * n_head * n_splits, dv + 2) when n_splits > 1
  int n_head, group, d, dv, n_splits;
  float scale, softcap;
  int64_t window;
};

__global__ void __launch_bounds__(kWarps * 32) AttnKernel(AttnArgs a) {
  __shared__ float q_s[kMaxDim];
  __shared__ float m_s[kWarps], l_s[kWarps];
  __shared__ float acc_s[kWarps][kMaxDim];
  const int h = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int split = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = h / a.group;

  const float* qr = a.q + (t * a.n_head + h) * a.d;
  for (int i = threadIdx.x; i < a.d; i += blockDim.x) q_s[i] = qr[i] * a.scale;
  __syncthreads();

  const int64_t hi = static_cast<int64_t>(a.pos[t]) + 1;  // keys [lo, hi) are visible to this token
  const int64_t lo = a.window > 0 && hi > a.window ? hi - a.window : 0;
  const int64_t per = (hi - lo + a.n_splits - 1) / a.n_splits;
  const int64_t begin = lo + split * per;
  const int64_t end = begin + per < hi ? begin + per : hi;

  float m = -INFINITY, l = 0.0f;
  float2 acc[kVPerLane];
#pragma unroll
  for (int i = 0; i < kVPerLane; ++i) acc[i] = make_float2(0.0f, 0.0f);

  for (int64_t k0 = begin + 32 * warp; k0 < end; k0 += 32 * kWarps) {
    const int64_t key = k0 + lane;
    float s = -INFINITY;
    if (key < end) {
      const uint4* kr = reinterpret_cast<const uint4*>(a.k + key * a.k_width + g * a.d);
      float dot = 0.0f;
      for (int i = 0; i < a.d / 8; ++i) {
        const uint4 u = kr[i];
        const __half2* hp = reinterpret_cast<const __half2*>(&u);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float2 f = __half22float2(hp[j]);
          dot = fmaf(q_s[8 * i + 2 * j], f.x, dot);
          dot = fmaf(q_s[8 * i + 2 * j + 1], f.y, dot);
        }
      }
      s = a.softcap > 0.0f ? a.softcap * tanhf(dot / a.softcap) : dot;
    }
    const float m_tile = WarpMax(s);
    const float m_new = fmaxf(m, m_tile);
    const float corr = expf(m - m_new);  // 0 on the first tile (m = -inf)
    const float p = key < end ? expf(s - m_new) : 0.0f;
    l = l * corr + WarpSum(p);
    m = m_new;
#pragma unroll
    for (int i = 0; i < kVPerLane; ++i) acc[i].x *= corr, acc[i].y *= corr;
    const int n_valid = end - k0 < 32 ? static_cast<int>(end - k0) : 32;
    for (int j = 0; j < n_valid; ++j) {
      const float pj = __shfl_sync(0xffffffffu, p, j);
      const __half2* vr = reinterpret_cast<const __half2*>(a.v + (k0 + j) * a.v_width + g * a.dv);
#pragma unroll
      for (int i = 0; i < kVPerLane; ++i) {
        const int dim = 2 * lane + 64 * i;
        if (dim < a.dv) {
          const float2 f = __half22float2(vr[dim / 2]);
          acc[i].x = fmaf(pj, f.x, acc[i].x);
          acc[i].y = fmaf(pj, f.y, acc[i].y);
        }
      }
    }
  }

  // Merge the warps: rescale each to the block's max.
  if (lane == 0) m_s[warp] = m, l_s[warp] = l;
  __syncthreads();
  float mb = -INFINITY;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) mb = fmaxf(mb, m_s[w]);
  const float f = mb == -INFINITY ? 0.0f : expf(m - mb);
#pragma unroll
  for (int i = 0; i < kVPerLane; ++i) {
    const int dim = 2 * lane + 64 * i;
    if (dim < a.dv) acc_s[warp][dim] = acc[i].x * f, acc_s[warp][dim + 1] = acc[i].y * f;
  }
  __syncthreads();
  float lb = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) lb += mb == -INFINITY ? 0.0f : l_s[w] * expf(m_s[w] - mb);
  const int64_t row = t * a.n_head + h;
  if (a.n_splits == 1) {
    float* o = a.out + row * a.dv;
    const float inv = lb > 0.0f ? 1.0f / lb : 0.0f;
    for (int i = threadIdx.x; i < a.dv; i += blockDim.x) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) sum += acc_s[w][i];
      o[i] = sum * inv;
    }
  } else {
    float* pr = a.partial + (row * a.n_splits + split) * (a.dv + 2);
    if (threadIdx.x == 0) pr[0] = mb, pr[1] = lb;
    for (int i = threadIdx.x; i < a.dv; i += blockDim.x) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) sum += acc_s[w][i];
      pr[2 + i] = sum;
    }
  }
}

// One block per (token, head): out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M).
__global__ void MergeSplitsKernel(const float* __restrict__ partial, int n_splits, int dv,
                                  float* __restrict__ out) {
  const int64_t row = blockIdx.x;
  const float* pr = partial + row * n_splits * (dv + 2);
  float mx = -INFINITY;
  for (int s = 0; s < n_splits; ++s) mx = fmaxf(mx, pr[s * (dv + 2)]);
  float l = 0.0f;
  for (int s = 0; s < n_splits; ++s) {
    const float ms = pr[s * (dv + 2)];
    if (ms != -INFINITY) l += pr[s * (dv + 2) + 1] * expf(ms - mx);
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int i = threadIdx.x; i < dv; i += blockDim.x) {
    float sum = 0.0f;
    for (int s = 0; s < n_splits; ++s) {
      const float ms = pr[s * (dv + 2)];
      if (ms != -INFINITY) sum += pr[s * (dv + 2) + 2 + i] * expf(ms - mx);
    }
    out[row * dv + i] = sum * inv;
  }
}

// Enough blocks to fill a large GPU (~2 per SM on 132 SMs) with at least 64 keys per chunk.
int ChooseSplits(const AttentionShape& s, int64_t n_tokens, int64_t n_keys) {
  const int64_t blocks = n_tokens * s.n_head;
  if (blocks >= 256 || n_keys <= 64) return 1;
  int64_t splits = CeilDiv(256, blocks);
  const int64_t by_len = CeilDiv(n_keys, 64);
  if (splits > by_len) splits = by_len;
  if (splits > kMaxSplits) splits = kMaxSplits;
  return static_cast<int>(splits < 1 ? 1 : splits);
}

}  // namespace

void StoreKv(const KvLayerView& kv, const int32_t* pos, int64_t n_tokens, const float* k,
             const float* v, cudaStream_t stream) {
  if (n_tokens <= 0) return;
  const int64_t nk = n_tokens * kv.k_width, nv = n_tokens * kv.v_width;
  StoreKvKernel<<<static_cast<unsigned>(CeilDiv(nk, 256)), 256, 0, stream>>>(kv.k, kv.k_width, kv.n_ctx,
                                                                            pos, k, nk);
  CUDA_CHECK_LAUNCH();
  StoreKvKernel<<<static_cast<unsigned>(CeilDiv(nv, 256)), 256, 0, stream>>>(kv.v, kv.v_width, kv.n_ctx,
                                                                            pos, v, nv);
  CUDA_CHECK_LAUNCH();
}

int64_t AttentionScratchFloats(const AttentionShape& s, int64_t /*n_tokens*/, int64_t /*n_ctx*/) {
  // Splits happen only below 256 (token, head) blocks, and then blocks * splits < 512. The
  // buffer serves every later call too, and a single token (n_head blocks) splits the most: a
  // buffer sized by a 512-token prompt's 1 float took a decode step's 68 KB of partial sums.
  return s.n_head >= 256 ? 1 : 512 * (s.head_dim_v + 2);
}

void Attention(const KvLayerView& kv, const int32_t* pos, int64_t n_tokens, int64_t max_keys,
               const float* q, const AttentionShape& s, float* out, float* partial,
               cudaStream_t stream) {
  if (n_tokens <= 0) return;
  if (s.head_dim > kMaxDim || s.head_dim_v > kMaxDim || s.head_dim % 8 != 0 ||
      s.head_dim_v % 2 != 0 || kv.k_width % 8 != 0 || kv.v_width % 2 != 0) {
    KernelFail(__FILE__, __LINE__, "Attention: head dims must be even, at most 256, K's a multiple of 8");
  }
  if (s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0) KernelFail(__FILE__, __LINE__, "Attention: n_head % n_head_kv");
  if (max_keys > kv.n_ctx) KernelFail(__FILE__, __LINE__, "Attention: past n_ctx");
  if (n_tokens > 65535) KernelFail(__FILE__, __LINE__, "Attention: more than 65535 tokens in one call");
  int64_t n_keys = max_keys;
  if (s.window > 0 && n_keys > s.window) n_keys = s.window;
  const int n_splits = ChooseSplits(s, n_tokens, n_keys);
  AttnArgs a{};
  a.k = reinterpret_cast<const __half*>(kv.k);
  a.v = reinterpret_cast<const __half*>(kv.v);
  a.k_width = kv.k_width;
  a.v_width = kv.v_width;
  a.pos = pos;
  a.q = q;
  a.out = out;
  a.partial = partial;
  a.n_head = static_cast<int>(s.n_head);
  a.group = static_cast<int>(s.n_head / s.n_head_kv);
  a.d = static_cast<int>(s.head_dim);
  a.dv = static_cast<int>(s.head_dim_v);
  a.n_splits = n_splits;
  a.scale = s.scale;
  a.softcap = s.softcap;
  a.window = s.window;
  const dim3 grid(static_cast<unsigned>(s.n_head), static_cast<unsigned>(n_tokens),
                  static_cast<unsigned>(n_splits));
  AttnKernel<<<grid, kWarps * 32, 0, stream>>>(a);
  CUDA_CHECK_LAUNCH();
  if (n_splits > 1) {
    MergeSplitsKernel<<<static_cast<unsigned>(n_tokens * s.n_head), 128, 0, stream>>>(
        partial, n_splits, a.dv, out);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace ember::cuda
