// Which SIMD instruction set the CPU kernels use, chosen once at start-up from the CPU's features.
// EMBER_CPU_ISA=scalar|avx2|avxvnni|avx512|amx forces a lower path (never a higher one than the
// CPU has), so tests can run every path the machine supports. kAvxVnni means AVX2 plus AVX-VNNI
// (the VEX-encoded vpdpbusd of Alder Lake and later client CPUs, which have no AVX-512): the
// 32-element formats' and Q4_K's prompt tiles take the VNNI step, everything else is kAvx2.
// kAvx512 means AVX-512 F, BW, VL and VNNI (the EVEX vpdpbusd; AVX-512 CPUs before Sapphire
// Rapids lack AVX-VNNI, so kAvxVnni is not implied by kAvx512 and ClampIsa checks it apart);
// where a kernel has no AVX-512 variant, kAvx512 runs its AVX2 one. kAmx means kAvx512 plus
// AMX-TILE and AMX-INT8 with the operating system's permission to use them (Linux 5.16 or later
// grants it through arch_prctl); kernels without an AMX variant run their AVX-512 or AVX2 one.
#pragma once

#include <string_view>

namespace ember {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvxVnni = 2, kAvx512 = 3, kAmx = 4 };

std::string_view IsaName(Isa isa);
// The best ISA this CPU supports (and ember has kernels for).
Isa DetectIsa();
// DetectIsa() lowered by EMBER_CPU_ISA when set; an unknown value is an ember::Error.
Isa SelectIsa();
// AVX-512 BF16 (vdpbf16ps) with the AVX-512 level above: BF16 weights' row dots (dot.cpp) and
// prompt tile (gemm_float_avx2.cpp) take it where the selected ISA is kAvx512 or higher.
bool HasAvx512Bf16();
// The lower of `wanted` and what the CPU supports (kAvxVnni on a CPU without AVX-VNNI: kAvx2 or
// lower).
Isa ClampIsa(Isa wanted);

}  // namespace ember
