#!/usr/bin/env python3
"""Golden row dot products from llama.cpp's CPU kernels for tests/cpu/test_dot_golden.cpp.

For each type whose ember AVX2 dot follows ggml's AVX2 vec_dot float steps (the K-quants, IQ4_XS
and the legacy Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), calls libggml-cpu's own vec_dot (llama-cpp-python
0.3.36's build, through ctypes) on weight rows of pseudo-random bytes with pseudo-random F16
block scales (and mins), against activations quantized by ggml's from_float for the type's
vec_dot_type (Q8_K, Q8_0 or Q8_1) from pseudo-random floats. Inputs come from a 64-bit LCG
that the test reimplements, so the JSON holds only the expected float bits (and a checksum of the
activation bytes, which ember's Q8_K quantizer must reproduce).

Run with the oracle interpreter (EMBER_ORACLE_PY, default /root/.cache/ember/oracle-venv):
  $EMBER_ORACLE_PY scripts/golden/make_dot_golden.py
Writes tests/data/cpu/dot_golden.json.
"""
import ctypes
import json
import os
import struct

import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB_DIR = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")

# name, ggml type id, block bytes, elements per block, byte offsets of the F16 scales to overwrite
TYPES = [
    ("Q2_K", 10, 84, 256, [80, 82]),
    ("Q3_K", 11, 110, 256, [108]),
    ("Q4_K", 12, 144, 256, [0, 2]),
    ("Q5_K", 13, 176, 256, [0, 2]),
    ("Q6_K", 14, 210, 256, [208]),
    ("IQ4_XS", 23, 136, 256, [0]),
    ("Q4_0", 2, 18, 32, [0]),
    ("Q4_1", 3, 20, 32, [0, 2]),
    ("Q5_0", 6, 22, 32, [0]),
    ("Q5_1", 7, 24, 32, [0, 2]),
    ("Q8_0", 8, 34, 32, [0]),
]
# activation type id -> (block bytes, elements per block)
ACT_BLOCKS = {15: (292, 256), 8: (34, 32), 9: (36, 32)}
LENGTHS = [256, 768, 1280]
MASK = (1 << 64) - 1


class Lcg:
    """x <- x * 6364136223846793005 + 1442695040888963407 (mod 2^64); outputs the top bits."""

    def __init__(self, seed):
        self.x = seed

    def next(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & MASK
        return self.x

    def byte(self):
        return self.next() >> 56

    def half(self):
        # a normal F16 of either sign with magnitude in [2^-7, 2^-6): finite, mid-range scales
        v = self.next() >> 48
        return 0x2000 | (v & 0x3FF) | ((v >> 10) & 1) << 15

    def value(self):
        # an integer / 8192 in [-4, 4): exact in float32 on both sides
        return ((self.next() >> 40) & 0xFFFF) - 32768


class TraitsCpu(ctypes.Structure):
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_float), ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                           ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & MASK
    return f"{h:016x}"


def main():
    ctypes.CDLL(os.path.join(LIB_DIR, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
    cpu = ctypes.CDLL(os.path.join(LIB_DIR, "libggml-cpu.so"))
    cpu.ggml_cpu_init()
    cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(TraitsCpu)
    cases = []
    for name, type_id, block_bytes, block_elems, scale_offsets in TYPES:
        traits = cpu.ggml_get_type_traits_cpu(type_id).contents
        act_bytes, act_elems = ACT_BLOCKS[traits.vec_dot_type]
        from_float = FROM_FLOAT(cpu.ggml_get_type_traits_cpu(traits.vec_dot_type).contents.from_float)
        vec_dot = VEC_DOT(traits.vec_dot)
        for n in LENGTHS:
            rng = Lcg(type_id * 1000003 + n)
            w = bytearray(rng.byte() for _ in range(n // block_elems * block_bytes))
            for b in range(n // block_elems):
                for off in scale_offsets:
                    struct.pack_into("<H", w, b * block_bytes + off, rng.half())
            x = (ctypes.c_float * n)(*[rng.value() / 8192.0 for _ in range(n)])
            act = ctypes.create_string_buffer(n // act_elems * act_bytes)
            from_float(x, act, n)
            wbuf = ctypes.create_string_buffer(bytes(w), len(w))
            out = ctypes.c_float(0.0)
            vec_dot(n, ctypes.byref(out), 0, ctypes.cast(wbuf, ctypes.c_void_p), 0,
                    ctypes.cast(act, ctypes.c_void_p), 0, 1)
            bits = struct.unpack("<I", struct.pack("<f", out.value))[0]
            cases.append({"type": name, "n": n, "seed": type_id * 1000003 + n,
                          "act_fnv1a64": fnv1a64(act.raw), "dot": out.value, "dot_bits": bits})
    doc = {"oracle": f"llama-cpp-python {llama_cpp.__version__} libggml-cpu vec_dot (AVX2 build)",
           "lcg": "x = x * 6364136223846793005 + 1442695040888963407 mod 2^64",
           "cases": cases}
    out_dir = os.path.join(ROOT, "tests", "data", "cpu")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "dot_golden.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
