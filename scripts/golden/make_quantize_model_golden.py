#!/usr/bin/env python3
"""Makes the golden data of `ember quantize`: what llama.cpp's llama_model_quantize does to the
test models (tests/data/quant/quantize_model.json).

For every file type ember supports and each test model, llama.cpp's dry run gives the type it
picks for every tensor (parsed from its log). For a few file types the model is really quantized
and each output tensor's type and order-sensitive 64-bit checksum of its bytes are recorded, with the output's
metadata keys and general.file_type, so the tests can require ember's output to be the same bytes.
The test models are already quantized, so allow_requantize is set (ember needs --allow-requantize
for them too).

Oracle: llama-cpp-python 0.3.36 (llama.cpp built from source). Never linked into ember.
Run: ${EMBER_ORACLE_PY:-~/.cache/ember/oracle-venv/bin/python} scripts/golden/make_quantize_model_golden.py
"""
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile

ORACLE_PY = os.environ.get("EMBER_ORACLE_PY", os.path.expanduser("~/.cache/ember/oracle-venv/bin/python"))
try:
    import numpy as np
    import gguf
    import llama_cpp
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(ORACLE_PY) and os.path.exists(ORACLE_PY):
        sys.exit(subprocess.call([ORACLE_PY] + sys.argv))
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.environ.get("EMBER_MODELS", os.path.join(ROOT, "models"))
OUT = os.path.join(ROOT, "tests", "data", "quant", "quantize_model.json")

FTYPES = {  # name -> llama_ftype, the file types ember makes
    "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_S": 11, "Q3_K_M": 12,
    "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ4_NL": 25,
    "IQ4_XS": 30, "F16": 1, "BF16": 32, "F32": 0,
}
MODEL_FILES = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]
# Gemma 3 (rows of 640: every K-quant falls back) is checked on a subset, to keep the run short.
GEMMA_FTYPES = ["Q4_0", "Q8_0", "Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_XS", "F16"]
# llama.cpp's loader checks every tensor, so each dry run takes a while; results are cached here
# between runs of the script.
CACHE = os.path.join(tempfile.gettempdir(), "ember_quantize_model_golden_cache.json")
# Real quantizations whose bytes are recorded: (model, file type).
FULL = [("SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_K_M"), ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q8_0"),
        ("gemma-3-270m-q4_k_m.gguf", "Q4_K_M")]

LOG = []


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def log_cb(level, text, user):
    LOG.append(text.decode("utf-8", "replace"))


def wsum64(data):
    """Order-sensitive 64-bit checksum: sum of little-endian u64 words (zero-padded) times odd
    weights 2i+1, mod 2^64. Any change of one word changes it; cheap in numpy and in C++."""
    raw = bytes(data)
    raw += b"\0" * (-len(raw) % 8)
    words = np.frombuffer(raw, dtype="<u8")
    weights = np.arange(words.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        total = np.sum(words * weights, dtype=np.uint64)
    return f"{int(total):016x}"


def quantize(inp, out, ftype, dry_run):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.allow_requantize = True
    p.dry_run = dry_run
    p.nthread = 2
    LOG.clear()
    rc = llama_cpp.llama_model_quantize(inp.encode(), out.encode(), ctypes.byref(p))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({inp}, {ftype}) failed: {''.join(LOG)[-2000:]}")
    return "".join(LOG)


def parse_plan(log):
    plan = {}
    # "[   1/ 272]                    token_embd.weight - [  576, 49152,     1,     1], type =   q8_0, size = ... (q6_K)"
    for m in re.finditer(r"\[\s*\d+/\s*\d+\]\s+(\S+)\s+-\s+\[[^\]]*\], type =\s*(\S+), size =[^\n]*?(?:\((\S+)\))?\n", log):
        name, cur, new = m.group(1), m.group(2), m.group(3)
        plan[name] = (new or cur).upper()
    return plan


def main():
    llama_cpp.llama_log_set(log_cb, None)
    golden = {"generator": "scripts/golden/make_quantize_model_golden.py", "oracle": "llama-cpp-python 0.3.36",
              "hash": "wsum64: sum of little-endian u64 words (zero-padded) times 2i+1, mod 2^64", "plans": {}, "outputs": {}}
    for mf in MODEL_FILES:
        path = os.path.join(MODELS, mf)
        if not os.path.exists(path):
            sys.exit(f"missing model {path} (scripts/fetch-models)")
        golden["plans"][mf] = {}
        n_tensors = len(gguf.GGUFReader(path).tensors)
        for name, ftype in FTYPES.items():
            if mf.startswith("gemma") and name not in GEMMA_FTYPES:
                continue
            cache = json.load(open(CACHE)) if os.path.exists(CACHE) else {}
            key = f"{mf}:{name}"
            if key not in cache:
                cache[key] = parse_plan(quantize(path, "/dev/null", ftype, True))
                json.dump(cache, open(CACHE, "w"))
            plan = cache[key]
            assert len(plan) == n_tensors, (mf, name, len(plan), n_tensors)
            golden["plans"][mf][name] = plan
            print(mf, name, "planned", len(plan), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for mf, name in FULL:
            out = os.path.join(tmp, "out.gguf")
            quantize(os.path.join(MODELS, mf), out, FTYPES[name], False)
            r = gguf.GGUFReader(out)
            tensors = [{"name": t.name, "type": t.tensor_type.name, "shape": [int(x) for x in t.shape],
                        "wsum64": wsum64(np.asarray(t.data).tobytes())} for t in r.tensors]
            keys = [f.name for f in r.fields.values() if not f.name.startswith("GGUF.")]
            ft = r.fields["general.file_type"]
            golden["outputs"].setdefault(mf, {})[name] = {
                "tensors": tensors, "metadata_keys": keys,
                "file_type": int(ft.parts[ft.data[0]][0]), "size": os.path.getsize(out)}
            print(mf, name, "quantized", len(tensors), "tensors", flush=True)
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
