#include "cpu/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace ember {
namespace {

// AMX-TILE and AMX-INT8 (CPUID leaf 7, EDX bits 24 and 25), enabled by the OS in XCR0 (bits 17
// and 18: tile configuration and tile data), and this process's permission to use the tile data,
// which Linux grants on request (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA; without
// it the first tile instruction kills the process). Asked once per process; the permission then
// holds for every thread.
bool AmxUsable() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    if ((edx & (1u << 24)) == 0 || (edx & (1u << 25)) == 0) return false;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & (1u << 27)) == 0) return false;  // OSXSAVE
    uint32_t xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    constexpr uint32_t kTileState = (1u << 17) | (1u << 18);
    if ((xcr0_lo & kTileState) != kTileState) return false;
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
#else
  return false;
#endif
}

// AVX-VNNI: CPUID leaf 7 sub-leaf 1, EAX bit 4.
bool AvxVnni() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) != 0 && (eax & (1u << 4)) != 0;
#else
  return false;
#endif
}

}  // namespace

bool HasAvx512Bf16() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // CPUID leaf 7 sub-leaf 1, EAX bit 5; the 256-bit form needs AVX-512 VL (part of kAvx512).
  // Read once: BF16's prompt kernels ask on every call, and CPUID traps to the hypervisor in a VM.
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return DetectIsa() >= Isa::kAvx512 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) != 0 &&
           (eax & (1u << 5)) != 0;
  }();
  return has;
#else
  return false;
#endif
}

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512: return "avx512";
    case Isa::kAmx: return "amx";
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
  if (avx2 && avx512 && AmxUsable()) return Isa::kAmx;
  if (avx2 && avx512) return Isa::kAvx512;
  if (avx2 && AvxVnni()) return Isa::kAvxVnni;
  if (avx2) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

Isa ClampIsa(Isa wanted) {
  const Isa best = DetectIsa();
  if (wanted == Isa::kAvxVnni && !AvxVnni()) wanted = Isa::kAvx2;
  return static_cast<int>(wanted) < static_cast<int>(best) ? wanted : best;
}

Isa SelectIsa() {
  const char* env = std::getenv("EMBER_CPU_ISA");
  if (env == nullptr || *env == '\0') return DetectIsa();
  const std::string v = env;
  if (v == "scalar") return ClampIsa(Isa::kScalar);
  if (v == "avx2") return ClampIsa(Isa::kAvx2);
  if (v == "avxvnni") return ClampIsa(Isa::kAvxVnni);
  if (v == "avx512") return ClampIsa(Isa::kAvx512);
  if (v == "amx") return ClampIsa(Isa::kAmx);
  Fail("EMBER_CPU_ISA='{}' is not one of scalar, avx2, avxvnni, avx512, amx", v);
}

}  // namespace ember
