#include "model/cpu_backend.h"

#include <fmt/format.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "cpu/dot.h"
#include "cpu/ops.h"
#include "cpu/repack.h"
#include "quant/quant.h"

namespace ember {

CpuBackend::CpuBackend(int n_threads, Isa isa, int n_threads_batch)
    : isa_(ClampIsa(isa)),
      n_threads_(n_threads <= 0 ? ThreadPool::PhysicalCores() : n_threads),
      n_threads_batch_(n_threads_batch <= 0 ? n_threads_ : n_threads_batch),
      pool_(std::max(n_threads_, n_threads_batch_)) {}

std::string CpuBackend::name() const {
  if (n_threads_batch_ != n_threads_) {
    return fmt::format("cpu ({}, {} threads, {} for batches)", IsaName(isa_), n_threads_,
                       n_threads_batch_);
  }
  return fmt::format("cpu ({}, {} threads)", IsaName(isa_), n_threads_);
}

void CpuBackend::UseThreadsFor(int64_t n_tokens) {
  pool_.set_active(n_tokens > 1 ? n_threads_batch_ : n_threads_);
}

namespace {

// Asks the kernel to drop the pages of a matrix that now lives in its repacked copy, so that
// resident memory stays near the file size. MADV_PAGEOUT (Linux 5.4+) never loses data: the
// file-backed pages are read again if ever touched (the tied embedding's lookups), memory from
// GgufFile::Parse is swapped rather than zeroed. A failure changes nothing but the memory use.
void ReleasePages(const uint8_t* data, uint64_t n) {
#if defined(MADV_PAGEOUT)
  const auto page = static_cast<uintptr_t>(4096);
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + n) / page * page;
  if (end > begin) {
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
  }
#else
  (void)data, (void)n;
#endif
}

}  // namespace

const uint8_t* CpuBackend::Packed(const WeightView& w) {
  if (!w.pack) return nullptr;
  const cpu::RepackLayout layout = cpu::ChooseRepack(w.type, w.n_out, w.n_in, isa_);
  if (layout == cpu::RepackLayout::kNone) return nullptr;
  WeightPack& p = *w.pack;
  if (!p.ready.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(p.mu);
    if (!p.ready.load(std::memory_order_relaxed)) {
      p.bytes.reset(new uint8_t[cpu::RepackedBytes(layout, w.n_out, w.n_in)]);
      cpu::Repack(pool_, layout, w.data, w.row_bytes, w.n_out, w.n_in, p.bytes.get());
      p.source = w.data;
      p.layout = static_cast<int>(layout);
      p.ready.store(true, std::memory_order_release);
      ReleasePages(w.data, w.bytes());
    }
  }
  if (p.source != w.data || p.layout != static_cast<int>(layout)) return nullptr;
  return p.bytes.get();
}

void CpuBackend::PrepareWeights(const Weights& w) {
  UseThreadsFor(2);  // the batch thread count: repacking is bulk work
  for (const WeightView* m : w.Matrices()) Packed(*m);
  // A tied output matrix is token_embd itself; it is repacked too when its layout applies.
  if (w.output.valid() && w.output.data == w.token_embd.data) Packed(w.output);
}

void CpuBackend::MatMul(const WeightView& w, const float* x, int64_t n_tokens, float* y) {
  UseThreadsFor(n_tokens);
  if (const uint8_t* packed = Packed(w)) {
    cpu::MatMulRepacked(pool_, cpu::ChooseRepack(w.type, w.n_out, w.n_in, isa_), packed, w.n_out,
                        w.n_in, x, n_tokens, y, act_scratch_, isa_);
    return;
  }
  const cpu::MatrixRef m{w.type, w.n_in, w.n_out, w.row_bytes, w.data};
  cpu::MatMul(pool_, isa_, m, x, n_tokens, y, act_scratch_);
}

void CpuBackend::MatMulShared(std::span<const WeightView* const> ws, const float* x,
                              int64_t n_tokens, std::span<float* const> ys) {
  if (n_tokens != 1) {
    for (size_t i = 0; i < ws.size(); ++i) MatMul(*ws[i], x, n_tokens, ys[i]);
    return;
  }
  UseThreadsFor(1);
  std::vector<cpu::MatVecJob> jobs;
  for (size_t i = 0; i < ws.size(); ++i) {
    const WeightView& w = *ws[i];
    if (Packed(w) != nullptr) {
      MatMul(w, x, 1, ys[i]);
    } else {
      jobs.push_back({cpu::MatrixRef{w.type, w.n_in, w.n_out, w.row_bytes, w.data}, ys[i]});
    }
  }
  cpu::MatVecShared(pool_, isa_, jobs, x, act_scratch_);
}

void CpuBackend::GetRows(const WeightView& w, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(ids[i] >= 0 && ids[i] < w.n_out);
    DequantizeRow(w.type, w.Row(ids[i]), out + i * w.n_in, w.n_in);
  }
}

// The element-wise steps of a prompt batch run on the pool too: on the calling thread alone they
// took ~4% of Gemma 3's pp512 time at -t 1 (RmsNorm 2.3, GeGLU 0.9, RoPE 0.7) and, at -t 2, twice
// that share of the wall time with the other core waiting. Every row / element is computed as
// before, so the same bits. Fewer than 8 rows (a single token's norm, or the per-head norms of a
// model with few heads) or 32K elements stay on the calling thread: a join costs more there.
namespace {
constexpr int64_t kMinParallelRows = 8;
constexpr int64_t kMinParallelElems = 1 << 15;
}  // namespace

void CpuBackend::RmsNorm(const float* x, const float* weight, int64_t n_tokens, int64_t n,
                         float eps, float* y) {
  if (n_tokens < kMinParallelRows) {
    cpu::RmsNorm(x, weight, n_tokens, n, eps, y);
    return;
  }
  UseThreadsFor(n_tokens);
  pool_.ParallelFor(n_tokens, std::max<int64_t>(1, n_tokens / (4 * pool_.size())), [&](int64_t r0, int64_t r1) {
    cpu::RmsNorm(x + r0 * n, weight, r1 - r0, n, eps, y + r0 * n);
  });
}

void CpuBackend::Rope(float* x, int64_t n_tokens, int64_t n_heads, const int32_t* pos,
                      const RopeParams& p) {
  const cpu::RopeArgs a{p.head_dim, p.n_dims, p.freq_base, p.freq_scale,
                        p.style == RopeStyle::kNeox, p.freq_factors,
                        p.ext_factor, p.attn_factor, p.n_ctx_orig, p.beta_fast, p.beta_slow};
  if (n_tokens < kMinParallelRows) {
    cpu::Rope(x, n_tokens, n_heads, pos, a);
    return;
  }
  UseThreadsFor(n_tokens);
  const int64_t row = n_heads * p.head_dim;
  pool_.ParallelFor(n_tokens, std::max<int64_t>(1, n_tokens / (4 * pool_.size())), [&](int64_t t0, int64_t t1) {
    cpu::Rope(x + t0 * row, t1 - t0, n_heads, pos + t0, a);
  });
}

void CpuBackend::StoreKv(KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens,
                         const float* k, const float* v) {
  const int64_t kw = cache.k_width(), vw = cache.v_width();
  for (int64_t t = 0; t < n_tokens; ++t) {
    uint8_t* kd = cache.K(layer, pos0 + t);
    uint8_t* vd = cache.V(layer, pos0 + t);
    if (cache.type() == GgmlType::F16) {
      auto* k16 = reinterpret_cast<uint16_t*>(kd);
      auto* v16 = reinterpret_cast<uint16_t*>(vd);
      if (isa_ != Isa::kScalar && avx2::Compiled()) {  // F16C: the same bits, 8 at a time
        avx2::FloatsToHalves(k + t * kw, k16, kw);
        avx2::FloatsToHalves(v + t * vw, v16, vw);
      } else {
        for (int64_t i = 0; i < kw; ++i) k16[i] = FloatToHalf(k[t * kw + i]);
        for (int64_t i = 0; i < vw; ++i) v16[i] = FloatToHalf(v[t * vw + i]);
      }
    } else {
      std::memcpy(kd, k + t * kw, static_cast<size_t>(kw) * 4);
      std::memcpy(vd, v + t * vw, static_cast<size_t>(vw) * 4);
    }
  }
}

void CpuBackend::Attention(const KvCache& cache, int64_t layer, int64_t pos0, int64_t n_tokens,
                           const float* q, const AttentionParams& p, float* out) {
  UseThreadsFor(n_tokens);
  cpu::AttentionArgs a;
  a.n_head = p.n_head;
  a.n_head_kv = p.n_head_kv;
  a.head_dim = p.head_dim;
  a.scale = p.scale;
  a.softcap = p.softcap;
  a.window = p.window;
  a.k = cache.K(layer, 0);
  a.v = cache.V(layer, 0);
  a.k_stride = static_cast<uint64_t>(cache.k_width()) * cache.elem_size();
  a.v_stride = static_cast<uint64_t>(cache.v_width()) * cache.elem_size();
  a.f16 = cache.type() == GgmlType::F16;
  cpu::Attention(pool_, isa_, q, n_tokens, pos0, a, out);
}

void CpuBackend::SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  if (n < kMinParallelElems) {
    cpu::SwiGlu(gate, up, n, out);
    return;
  }
  UseThreadsFor(2);
  pool_.ParallelFor(n / 64, std::max<int64_t>(1, n / 64 / (4 * pool_.size())), [&](int64_t c0, int64_t c1) {
    const int64_t e1 = c1 == n / 64 ? n : 64 * c1;  // the last chunk takes the remainder
    cpu::SwiGlu(gate + 64 * c0, up + 64 * c0, e1 - 64 * c0, out + 64 * c0);
  });
}

void CpuBackend::GeGlu(const float* gate, const float* up, int64_t n, float* out) {
  if (n < kMinParallelElems) {
    cpu::GeGlu(gate, up, n, out);
    return;
  }
  UseThreadsFor(2);
  pool_.ParallelFor(n / 64, std::max<int64_t>(1, n / 64 / (4 * pool_.size())), [&](int64_t c0, int64_t c1) {
    const int64_t e1 = c1 == n / 64 ? n : 64 * c1;
    cpu::GeGlu(gate + 64 * c0, up + 64 * c0, e1 - 64 * c0, out + 64 * c0);
  });
}

void CpuBackend::Add(float* x, const float* y, int64_t n) { cpu::Add(x, y, n); }

void CpuBackend::AddRow(float* x, const float* b, int64_t rows, int64_t n) {
  cpu::AddRow(x, b, rows, n);
}

void CpuBackend::Scale(float* x, int64_t n, float s) { cpu::Scale(x, n, s); }

void CpuBackend::SoftCap(float* x, int64_t n, float cap) { cpu::SoftCap(x, n, cap); }

void CpuBackend::CopyColumns(const float* src, int64_t src_cols, int64_t col0, int64_t rows,
                             int64_t n, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * n, src + r * src_cols + col0, static_cast<size_t>(n) * sizeof(float));
  }
}

}  // namespace ember
