// Choice of layout and the driver around the per-layout kernels (repack_q4_0.cpp, repack_q4k.cpp).
#include "cpu/repack.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "cpu/dot.h"
#include "cpu/gemm.h"
#include "quant/blocks.h"

namespace ember::cpu {
namespace {

bool RepackDisabled() {
  static const bool disabled = [] {
    const char* v = std::getenv("EMBER_NO_REPACK");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return disabled;
}

// Bytes of one activation row as the layout's kernels read it. q4_0x8 appends, per block, 8 x
// its code sum (int32) and its scale as a float: the kernel multiplies unsigned codes 0..15 and
// subtracts the first, which gives the same exact integer as signed codes -8..7, and both are
// then plain broadcast loads in the inner loop (no F16 conversion or widening per token).
// iq4_nlx8 is the same with 128 x the sum (its unsigned codes are the levels + 128).
uint64_t ActBytes(RepackLayout l, int64_t n_in) {
  switch (l) {
    case RepackLayout::kQ4_0x8:
    case RepackLayout::kIQ4NLx8:
      return static_cast<uint64_t>(n_in / kQK8_0) * (sizeof(BlockQ8_0) + sizeof(int32_t) + sizeof(float));
    case RepackLayout::kQ4Kx8:
      return static_cast<uint64_t>(n_in / kQK_K) * sizeof(BlockQ8K);
    case RepackLayout::kNone: break;
  }
  Fail("repack: no layout");
}

void QuantizeActRow(RepackLayout l, Isa isa, const float* x, int64_t n_in, uint8_t* out) {
  if (l == RepackLayout::kQ4_0x8 || l == RepackLayout::kIQ4NLx8) {
    const int32_t factor = l == RepackLayout::kQ4_0x8 ? 8 : 128;
    GetDotKernel(GgmlType::Q4_0, isa).quantize(x, out, n_in);
    const int64_t nb = n_in / kQK8_0;
    const auto* blocks = reinterpret_cast<const BlockQ8_0*>(out);
    uint8_t* side = out + static_cast<uint64_t>(nb) * sizeof(BlockQ8_0);
    for (int64_t b = 0; b < nb; ++b) {
      int32_t s = 0;
      for (int i = 0; i < kQK8_0; ++i) s += blocks[b].qs[i];
      const int32_t offset = factor * s;
      const float d = HalfToFloat(blocks[b].d);
      std::memcpy(side + 4 * b, &offset, 4);
      std::memcpy(side + 4 * (nb + b), &d, 4);
    }
    return;
  }
  GetDotKernel(GgmlType::Q4_K, isa).quantize(x, out, n_in);
}

// The per-layout kernels (repack.h).
void RepackGroups(RepackLayout l, const uint8_t* src, uint64_t row_bytes, int64_t n_in,
                  int64_t g0, int64_t g1, uint8_t* dst) {
  switch (l) {
    case RepackLayout::kQ4_0x8: return q4_0x8::RepackGroups(src, row_bytes, n_in, g0, g1, dst);
    case RepackLayout::kQ4Kx8: return q4kx8::RepackGroups(src, row_bytes, n_in, g0, g1, dst);
    case RepackLayout::kIQ4NLx8: return iq4nlx8::RepackGroups(src, row_bytes, n_in, g0, g1, dst);
    default: Fail("repack: layout {} is not built", RepackLayoutName(l));
  }
}

void Groups(RepackLayout l, const uint8_t* packed, int64_t n_in, int64_t g0, int64_t g1,
            const uint8_t* act, uint64_t act_bytes, int64_t n_tok, float* y, int64_t ldy, Isa isa) {
  switch (l) {
    case RepackLayout::kQ4_0x8: return q4_0x8::Groups(packed, n_in, g0, g1, act, act_bytes, n_tok, y, ldy, isa);
    case RepackLayout::kQ4Kx8: return q4kx8::Groups(packed, n_in, g0, g1, act, act_bytes, n_tok, y, ldy, isa);
    case RepackLayout::kIQ4NLx8: return iq4nlx8::Groups(packed, n_in, g0, g1, act, act_bytes, n_tok, y, ldy, isa);
    default: Fail("repack: layout {} is not built", RepackLayoutName(l));
  }
}

}  // namespace

DecodeWalk DecodeWalkFor(Isa isa) {
  return isa >= Isa::kAvx512 ? DecodeWalk::kSpread : DecodeWalk::kAdjacent;
}

const char* RepackLayoutName(RepackLayout l) {
  switch (l) {
    case RepackLayout::kNone: return "none";
    case RepackLayout::kQ4_0x8: return "q4_0x8";
    case RepackLayout::kQ4Kx8: return "q4_Kx8";
    case RepackLayout::kIQ4NLx8: return "iq4_nlx8";
  }
  return "?";
}

RepackLayout ChooseRepack(GgmlType type, int64_t n_out, int64_t n_in, Isa isa) {
  if (isa == Isa::kScalar || !avx2::Compiled() || RepackDisabled() || n_out % 8 != 0) {
    return RepackLayout::kNone;
  }
  if (type == GgmlType::Q4_0 && n_in % kQK4_0 == 0) return RepackLayout::kQ4_0x8;
  if (type == GgmlType::Q4_K && n_in % kQK_K == 0) return RepackLayout::kQ4Kx8;
  // IQ4_NL's codes need the VNNI steps (repack_q4_0.cpp); below them only the tests' models.
  if (type == GgmlType::IQ4_NL && n_in % kQK4_NL == 0 &&
      (isa >= Isa::kAvxVnni || VnniModelForTests() || AmxModelForTests())) {
    return RepackLayout::kIQ4NLx8;
  }
  return RepackLayout::kNone;
}

uint64_t RepackedBytes(RepackLayout l, int64_t n_out, int64_t n_in) {
  const auto rows = static_cast<uint64_t>(n_out);
  switch (l) {
    case RepackLayout::kQ4_0x8:
    case RepackLayout::kIQ4NLx8: return rows * static_cast<uint64_t>(n_in / kQK4_0) * sizeof(BlockQ4_0);
    // 8 rows' blocks (1152 bytes) plus 32 for the scales and mins stored a byte each.
    case RepackLayout::kQ4Kx8: return rows / 8 * static_cast<uint64_t>(n_in / kQK_K) * (8 * sizeof(BlockQ4K) + 32);
    case RepackLayout::kNone: break;
  }
  Fail("repack: no layout");
}

void Repack(ThreadPool& pool, RepackLayout l, const uint8_t* src, uint64_t row_bytes,
            int64_t n_out, int64_t n_in, uint8_t* dst) {
  EMBER_CHECK(l != RepackLayout::kNone && n_out % 8 == 0);
  const int64_t n_groups = n_out / 8;
  pool.ParallelFor(n_groups, std::max<int64_t>(1, n_groups / (4 * pool.size())),
                   [&](int64_t g0, int64_t g1) {
                     RepackGroups(l, src, row_bytes, n_in, g0, g1, dst);
                   });
}

void MatMulRepacked(ThreadPool& pool, RepackLayout l, const uint8_t* packed, int64_t n_out,
                    int64_t n_in, const float* x, int64_t n_tokens, float* y,
                    std::vector<uint8_t>& scratch, Isa isa) {
  EMBER_CHECK(l != RepackLayout::kNone && n_out % 8 == 0 && isa >= Isa::kAvx2);
  const uint64_t act_bytes = ActBytes(l, n_in);
  scratch.resize(act_bytes * static_cast<uint64_t>(n_tokens));
  uint8_t* act = scratch.data();
  pool.ParallelFor(n_tokens, std::max<int64_t>(1, n_tokens / (4 * pool.size())),
                   [&](int64_t t0, int64_t t1) {
                     for (int64_t t = t0; t < t1; ++t) {
                       QuantizeActRow(l, isa, x + t * n_in, n_in, act + static_cast<uint64_t>(t) * act_bytes);
                     }
                   });
  // Several groups per task so that a core slowed by other work still balances.
  const int64_t n_groups = n_out / 8;
  int64_t grain = std::max<int64_t>(1, n_groups / (8 * pool.size()));
  // Decode: tasks whole multiples of 4 (the walks take 8, 4, 2 and 1 adjacent groups, or 4
  // spread a quarter of the task apart). The spread walk gets 4 tasks per thread, not 8, for
  // longer streams. 40 repacked 5632 x 2048 matrices in turn, -t 2, 12 alternating passes
  // (2026-11-29): 2 tasks per thread gave 35.8 and 37.1 GB/s against 35.1 and 36.2 for 8 (Q4_K,
  // Q4_0); in a slower minute 2, 4 and 8 read 29.5-31.0 alike; 32 per thread lost 15%.
  if (n_tokens == 1) {
    const int per_thread = DecodeWalkFor(isa) == DecodeWalk::kSpread ? 4 : 8;
    grain = std::max<int64_t>(4, n_groups / (per_thread * pool.size()) / 4 * 4);
  }
  // The AMX tile takes 4 groups (32 rows) per panel: keep tasks whole panels.
  if ((l == RepackLayout::kQ4_0x8 && q4_0x8::UsesAmx(n_tokens, isa)) ||
      (l == RepackLayout::kIQ4NLx8 && iq4nlx8::UsesAmx(n_tokens, isa)) ||
      (l == RepackLayout::kQ4Kx8 && q4kx8::UsesAmx(n_tokens, isa))) {
    grain = std::max<int64_t>(4, grain / 4 * 4);
  }
  pool.ParallelFor(n_groups, grain, [&](int64_t g0, int64_t g1) {
    Groups(l, packed, n_in, g0, g1, act, act_bytes, n_tokens, y, n_out, isa);
  });
}

}  // namespace ember::cpu
