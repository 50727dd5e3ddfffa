// The per-ISA dispatch tables of the row dot products.
#include "cpu/dot.h"

#include <cmath>

#include "core/error.h"
#include "core/half.h"

namespace ember {
namespace {

struct Entry {
  GgmlType type;
  GgmlType act;
  QuantizeActFn quantize;
  VecDotFn scalar;
  VecDotFn avx2;  // null: the scalar one serves
  RowDotsFn avx2_rows = nullptr;
  RowDotsFn zmm_rows = nullptr;  // Isa::kAvx512 and up, where built (avx2::ZmmRowDotsCompiled)
};

const Entry* FindEntry(GgmlType t) {
  static const Entry kEntries[] = {
      {GgmlType::F32, GgmlType::F32, QuantizeActF32, scalar::DotF32, avx2::DotF32, avx2::RowDotsF32},
      {GgmlType::F16, GgmlType::F16, QuantizeActF16, scalar::DotF16, avx2::DotF16, avx2::RowDotsF16},
      {GgmlType::BF16, GgmlType::BF16, QuantizeActBF16, scalar::DotBF16, avx2::DotBF16, avx2::RowDotsBF16},
      {GgmlType::Q4_0, GgmlType::Q8_0, QuantizeActQ8_0, scalar::DotQ4_0, avx2::DotQ4_0, avx2::RowDotsQ4_0,
       avx2::RowDotsQ4_0Zmm},
      {GgmlType::Q4_1, GgmlType::Q8_1, QuantizeActQ8_1, scalar::DotQ4_1, avx2::DotQ4_1, avx2::RowDotsQ4_1,
       avx2::RowDotsQ4_1Zmm},
      {GgmlType::Q5_0, GgmlType::Q8_0, QuantizeActQ8_0, scalar::DotQ5_0, avx2::DotQ5_0, avx2::RowDotsQ5_0,
       avx2::RowDotsQ5_0Zmm},
      {GgmlType::Q5_1, GgmlType::Q8_1, QuantizeActQ8_1, scalar::DotQ5_1, avx2::DotQ5_1, avx2::RowDotsQ5_1,
       avx2::RowDotsQ5_1Zmm},
      {GgmlType::Q8_0, GgmlType::Q8_0, QuantizeActQ8_0, scalar::DotQ8_0, avx2::DotQ8_0, avx2::RowDotsQ8_0,
       avx2::RowDotsQ8_0Zmm},
      {GgmlType::Q2_K, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotQ2K, avx2::DotQ2K},
      {GgmlType::Q3_K, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotQ3K, avx2::DotQ3K, nullptr, avx2::RowDotsQ3KZmm},
      {GgmlType::Q4_K, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotQ4K, avx2::DotQ4K},
      {GgmlType::Q5_K, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotQ5K, avx2::DotQ5K},
      {GgmlType::Q6_K, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotQ6K, avx2::DotQ6K, avx2::RowDotsQ6K},
      {GgmlType::IQ4_NL, GgmlType::Q8_0, QuantizeActQ8_0, scalar::DotIQ4NL, avx2::DotIQ4NL, avx2::RowDotsIQ4NL,
       avx2::RowDotsIQ4NLZmm},
      {GgmlType::IQ4_XS, GgmlType::Q8_K, QuantizeActQ8K, scalar::DotIQ4XS, avx2::DotIQ4XS},
  };
  for (const Entry& e : kEntries) {
    if (e.type == t) return &e;
  }
  return nullptr;
}

// Built once: one kernel per (type, ISA).
struct Tables {
  DotKernel scalar[64];
  DotKernel avx2[64];
  DotKernel avx512[64];  // avx2's, with the 512-bit row ranges where built, and BF16 by vdpbf16ps
  Tables() {
    for (uint32_t id = 0; id < 64; ++id) {
      const Entry* e = FindEntry(static_cast<GgmlType>(id));
      if (e == nullptr) continue;
      scalar[id] = {e->type, e->act, e->quantize, e->scalar};
      const bool simd = e->avx2 != nullptr && avx2::Compiled();
      QuantizeActFn quantize = e->quantize;
      if (avx2::Compiled() && e->act == GgmlType::Q8_0) quantize = avx2::QuantizeActQ8_0;
      if (avx2::Compiled() && e->act == GgmlType::Q8_1) quantize = avx2::QuantizeActQ8_1;
      if (avx2::Compiled() && e->act == GgmlType::Q8_K) quantize = avx2::QuantizeActQ8K;
      avx2[id] = {e->type, e->act, quantize, simd ? e->avx2 : e->scalar, simd ? e->avx2_rows : nullptr};
      avx512[id] = avx2[id];
      if (simd && e->zmm_rows != nullptr && avx2::ZmmRowDotsCompiled()) avx512[id].rows = e->zmm_rows;
      if (simd && e->type == GgmlType::BF16 && HasAvx512Bf16()) {
        avx512[id].dot = avx2::DotBF16Pairs;
        avx512[id].rows = avx2::RowDotsBF16Pairs;
      }
    }
  }
};

}  // namespace

bool HasDotKernel(GgmlType weight_type) { return FindEntry(weight_type) != nullptr; }

const DotKernel& GetDotKernel(GgmlType weight_type, Isa isa) {
  static const Tables kTables;
  if (!HasDotKernel(weight_type)) {
    Fail("no CPU matrix kernel for weight type {}", GgmlTypeName(weight_type));
  }
  const auto id = static_cast<uint32_t>(weight_type);
  if (isa == Isa::kScalar) return kTables.scalar[id];
  return isa >= Isa::kAvx512 ? kTables.avx512[id] : kTables.avx2[id];
}

void DotRows(const DotKernel& k, int64_t n, const uint8_t* w, uint64_t row_bytes, int64_t r0, int64_t r1,
             const void* a, float* y) {
  if (k.rows != nullptr) return k.rows(n, w, row_bytes, r0, r1, a, y + r0);
  for (int64_t r = r0; r < r1; ++r) y[r] = k.dot(n, w + static_cast<uint64_t>(r) * row_bytes, a);
}

void AxpyF16(Isa isa, int64_t n, float a, const uint16_t* x, float* y) {
  if (isa != Isa::kScalar && avx2::Compiled()) return avx2::AxpyF16(n, a, x, y);
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(HalfToFloat(x[i]), a, y[i]);
}

void AxpyF32(Isa isa, int64_t n, float a, const float* x, float* y) {
  if (isa != Isa::kScalar && avx2::Compiled()) return avx2::AxpyF32(n, a, x, y);
  for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
}

float DotF16F16(Isa isa, int64_t n, const uint16_t* x, const uint16_t* y) {
  return GetDotKernel(GgmlType::F16, isa).dot(n, x, y);
}

float DotF32F32(Isa isa, int64_t n, const float* x, const float* y) {
  return GetDotKernel(GgmlType::F32, isa).dot(n, x, y);
}

uint64_t ActRowBytes(const DotKernel& k, int64_t n) {
  return RowBytes(k.act_type, static_cast<uint64_t>(n)).value();
}

}  // namespace ember
