#!/usr/bin/env python3
"""Makes the golden data of ember's quantization tests (tests/data/quant/).

Oracles (never linked into ember):
  * PyPI gguf 0.19.0, gguf.quants: dequantization of every format it implements, and the
    quantizers it implements (BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0; F16 is numpy's float16 cast).
  * llama.cpp's libggml as built by llama-cpp-python 0.3.36: ggml_quantize_chunk (what
    llama-quantize runs without an importance matrix) for the K-quants and IQ4_NL / IQ4_XS,
    quantize_row_q8_1_ref / quantize_row_q8_K_ref, and dequantize_row_q8_K.
Q8_1 has no dequantizer in either oracle (ggml never dequantizes it; gguf 0.19 even lists it with
an obsolete 40-byte size), so its golden values are d * q computed here.

Each file is little-endian: b"EMQG", u32 version (1), u32 ggml type id, u32 element count,
u32 byte count, then
  dequant_<TYPE>.bin: the quantized bytes, then the float32 values they decode to;
  quant_<TYPE>.bin:   the float32 inputs, then the quantized bytes the oracle made.
manifest.json says, per file, which oracle made it and what the test may expect of ember
(bit-exact, or an RMSE no worse than llama.cpp's), with llama.cpp's RMSE on real weights.

Run: ${EMBER_ORACLE_PY:-~/.cache/ember/oracle-venv/bin/python} scripts/golden/make_quant_golden.py
"""
import ctypes
import glob
import json
import os
import struct
import subprocess
import sys

ORACLE_PY = os.environ.get("EMBER_ORACLE_PY", os.path.expanduser("~/.cache/ember/oracle-venv/bin/python"))
try:
    import numpy as np
    import gguf
    import gguf.quants as gq
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(ORACLE_PY) and os.path.exists(ORACLE_PY):
        sys.exit(subprocess.call([ORACLE_PY] + sys.argv))
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "quant")
T = gguf.GGMLQuantizationType
QK_K = 256

# Element counts: enough blocks of every kind, small enough to commit.
N_DEQUANT = 4096
N_QUANT = 8192

# ggml's block sizes and byte sizes (ember's ggml_type.cpp); Q8_1 is 36 bytes in ggml.
SIZES = {
    T.F16: (1, 2), T.BF16: (1, 2), T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q5_0: (32, 22),
    T.Q5_1: (32, 24), T.Q8_0: (32, 34), T.Q8_1: (32, 36), T.Q2_K: (256, 84), T.Q3_K: (256, 110),
    T.Q4_K: (256, 144), T.Q5_K: (256, 176), T.Q6_K: (256, 210), T.Q8_K: (256, 292),
    T.IQ4_NL: (32, 18), T.IQ4_XS: (256, 136),
}
# Byte offsets of the f16 scale fields inside a block.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.Q8_1: [0, 2],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0],
}
# Half-precision bit patterns that break careless code: subnormals (both signs), signed zeros,
# the largest finite values, one, infinities.
AWKWARD_HALVES = [0x0001, 0x03FF, 0x0200, 0x8001, 0x83FF, 0x0000, 0x8000, 0x7BFF, 0xFBFF,
                  0x3C00, 0xBC00, 0x0400, 0x8400, 0x7C00, 0xFC00]


def find_libggml():
    import llama_cpp
    libdir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    lib = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    for name in ("quantize_row_q8_1_ref", "quantize_row_q8_K_ref", "dequantize_row_q8_K"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        getattr(lib, name).restype = None
    return lib


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def ggml_quantize(lib, qtype, x):
    """llama-quantize's path: ggml_quantize_chunk without importance matrix, rows of len(x)."""
    block, size = SIZES[qtype]
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(x.size // block * size, dtype=np.uint8)
    if qtype == T.Q8_1:
        lib.quantize_row_q8_1_ref(ptr(x), ptr(out), x.size)
    elif qtype == T.Q8_K:
        lib.quantize_row_q8_K_ref(ptr(x), ptr(out), x.size)
    else:
        n_per_row = 1024 if x.size % 1024 == 0 else x.size
        lib.ggml_quantize_chunk(int(qtype), ptr(x), ptr(out), 0, x.size // n_per_row, n_per_row, None)
    return out


def dequant_q8_1(raw):
    blocks = raw.reshape(-1, 36)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 4:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


def dequant_q8_k(lib, raw):
    out = np.zeros(raw.size // 292 * 256, dtype=np.float32)
    lib.dequantize_row_q8_K(ptr(raw), ptr(out), out.size)
    return out


def save(name, qtype, n, raw, floats, floats_first):
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    floats = np.ascontiguousarray(floats, dtype=np.float32)
    assert floats.size == n
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"EMQG" + struct.pack("<IIII", 1, int(qtype), n, raw.size))
        if floats_first:
            f.write(floats.tobytes())
            f.write(raw.tobytes())
        else:
            f.write(raw.tobytes())
            f.write(floats.tobytes())


def awkward_blocks(rng, qtype, n):
    """Random quantized bytes with awkward scales, all-zero and all-ones blocks."""
    block, size = SIZES[qtype]
    nb = n // block
    if qtype in (T.F16, T.BF16):
        raw = rng.integers(0, 1 << 16, size=n, dtype=np.uint16)
        if qtype == T.F16:
            raw[: len(AWKWARD_HALVES)] = AWKWARD_HALVES
            raw[len(AWKWARD_HALVES)] = 0x7E01  # a NaN with a payload
        else:
            raw[:8] = [0x0001, 0x8001, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x0000, 0x8000]
        return raw.view(np.uint8)
    raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
    if qtype == T.Q8_K:
        d = (rng.standard_normal(nb) * 0.01).astype(np.float32)
        d[0:4] = [np.float32(1e-45), np.float32(-1e-40), np.float32(0.0), np.float32(3e38)]
        raw[:, 0:4] = d.view(np.uint8).reshape(nb, 4)
    else:
        for off in HALF_FIELDS[qtype]:
            halves = (rng.standard_normal(nb) * 0.02).astype(np.float16).view(np.uint16)
            pick = rng.random(nb) < 0.3
            halves[pick] = rng.choice(AWKWARD_HALVES, size=int(pick.sum()))
            # The first blocks walk through every awkward value in order.
            k = min(nb, len(AWKWARD_HALVES))
            halves[:k] = AWKWARD_HALVES[:k]
            raw[:, off:off + 2] = halves.view(np.uint8).reshape(nb, 2)
    raw[nb - 1, :] = 0          # all-zero block
    raw[nb - 2, :] = 0xFF       # all-ones block (negative NaN scales for half fields)
    return raw.reshape(-1)


def awkward_inputs(rng, n):
    """Float rows that exercise the quantizers: normal and heavy-tailed weights, zeros, ties."""
    x = (rng.standard_normal(n) * 0.05).astype(np.float32)
    seg = 256
    parts = [
        np.zeros(seg),                                          # all zero
        np.full(seg, 0.125),                                    # constant
        np.where(np.arange(seg) == 7, 40.0, rng.standard_normal(seg) * 0.01),  # one outlier
        rng.standard_normal(seg) * 1e-30,                       # below f16 range: d underflows
        rng.standard_t(2.5, seg) * 0.03,                        # heavy tails, like real weights
        rng.laplace(0, 0.02, seg),
        np.round(rng.standard_normal(seg) * 4) / 8,             # many exact ties
        np.abs(rng.standard_normal(seg)),                       # all positive
        -np.abs(rng.standard_normal(seg)) * 3,                  # all negative
        rng.uniform(-60000, 60000, seg),                        # near the f16 limit
        np.linspace(-1, 1, seg),
        (rng.standard_normal(seg) * 0.05 + 0.3),                # offset (asymmetric formats)
    ]
    off = 0
    for p in parts:
        x[off:off + seg] = np.asarray(p, dtype=np.float32)
        off += seg
    x[off:off + 32] = -x[off:off + 32].max() - 1.0               # signed max is negative
    return x.astype(np.float32)


def real_rows():
    """Rows of real weights: dequantized tensors of the test models (if present)."""
    models = os.environ.get("EMBER_MODELS", os.path.join(ROOT, "models"))
    rows = {}
    for fname, tname, nrows in [("SmolLM2-135M-Instruct.Q4_1.gguf", "token_embd.weight", 32),
                                ("gemma-3-270m-q4_k_m.gguf", "blk.0.ffn_down.weight", 16)]:
        path = os.path.join(models, fname)
        if not os.path.exists(path):
            continue
        r = gguf.GGUFReader(path)
        t = next(t for t in r.tensors if t.name == tname)
        data = gq.dequantize(np.asarray(t.data), t.tensor_type)
        rows[f"{fname}:{tname}:rows0-{nrows - 1}"] = data[:nrows].astype(np.float32)
    return rows


def rmse(a, b):
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    lib = find_libggml()
    manifest = {"generator": "scripts/golden/make_quant_golden.py",
                "oracles": {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                            "llama-cpp-python": "0.3.36"},
                "files": {}}

    # Dequantization: every format, bit-exact.
    for qtype in SIZES:
        raw = awkward_blocks(rng, qtype, N_DEQUANT)
        with np.errstate(all="ignore"):
            if qtype == T.Q8_1:
                vals, src = dequant_q8_1(raw), "d * q (no oracle implements Q8_1 dequantization)"
            elif qtype == T.Q8_K:
                vals, src = dequant_q8_k(lib, raw), "libggml dequantize_row_q8_K"
            else:
                vals, src = gq.dequantize(raw, qtype).reshape(-1), "gguf.quants"
        name = f"dequant_{qtype.name}.bin"
        save(name, qtype, N_DEQUANT, raw, vals, floats_first=False)
        manifest["files"][name] = {"oracle": src, "expect": "bit-exact (NaN matches any NaN)"}

    # Quantization.
    x = awkward_inputs(rng, N_QUANT)
    real = real_rows()
    for qtype in SIZES:
        if qtype in (T.F16,):
            out, src, expect = x.astype(np.float16).view(np.uint8), "numpy float16 cast", "bit-exact"
        elif qtype in (T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
            out, src, expect = gq.quantize(x, qtype).reshape(-1), "gguf.quants", "bit-exact"
            # Sanity: llama.cpp's reference quantizer agrees with gguf.quants.
            if qtype != T.BF16:
                same = np.array_equal(ggml_quantize(lib, qtype, x), out)
                print(f"{qtype.name}: libggml == gguf.quants: {same}")
        elif qtype in (T.Q8_1, T.Q8_K):
            out, src, expect = ggml_quantize(lib, qtype, x), "libggml quantize_row_*_ref", "bit-exact"
        else:
            out, src, expect = ggml_quantize(lib, qtype, x), "libggml ggml_quantize_chunk", "rmse-no-worse"
        entry = {"oracle": src, "expect": expect}
        if expect == "rmse-no-worse":
            with np.errstate(all="ignore"):
                entry["llama_rmse_random"] = rmse(gq.dequantize(out, qtype).reshape(-1), x)
                entry["llama_rmse_real"] = {}
                for key, rows in real.items():
                    q = ggml_quantize(lib, qtype, rows.reshape(-1))
                    entry["llama_rmse_real"][key] = rmse(gq.dequantize(q, qtype).reshape(-1), rows.reshape(-1))
        name = f"quant_{qtype.name}.bin"
        save(name, qtype, N_QUANT, out, x, floats_first=True)
        manifest["files"][name] = entry
        print(name, entry)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
