#include "cpu/cpu_features.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace ember {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

Isa DetectIsa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c");
  // kAvx512: the AVX-512 kernels use VNNI's vpdpbusd on 256-bit registers (so VL) and may use
  // byte and word operations (BW); everything else on such a CPU runs the AVX2 kernels.
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  if (avx2 && avx512) return Isa::kAvx512;
  if (avx2) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

Isa ClampIsa(Isa wanted) {
  const Isa best = DetectIsa();
  return static_cast<int>(wanted) < static_cast<int>(best) ? wanted : best;
}

Isa SelectIsa() {
  const char* env = std::getenv("EMBER_CPU_ISA");
  if (env == nullptr || *env == '\0') return DetectIsa();
  const std::string v = env;
  if (v == "scalar") return ClampIsa(Isa::kScalar);
  if (v == "avx2") return ClampIsa(Isa::kAvx2);
  if (v == "avx512") return ClampIsa(Isa::kAvx512);
  Fail("EMBER_CPU_ISA='{}' is not one of scalar, avx2, avx512", v);
}

}  // namespace ember
