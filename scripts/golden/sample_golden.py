#!/usr/bin/env python3
"""Golden data for ember's sampler chain, from llama.cpp itself (llama-cpp-python low-level API).

Each case applies one llama.cpp sampler (or a short chain) to a fixed logit vector built here
and records the candidates afterwards (id, logit, p) in order, plus `selected` where the
sampler draws. ember's tests (tests/sample/sampler_golden_test.cpp) replay the same cases.

Run: ${EMBER_ORACLE_PY:-/root/.cache/ember/oracle-venv/bin/python} scripts/golden/sample_golden.py
Writes tests/data/sample/sampler_golden.json and tests/data/sample/grammar_golden.json.
"""
import ctypes
import json
import os
import sys

import numpy as np
import llama_cpp as L

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "sample")
MODEL = os.path.join(os.environ.get("EMBER_MODELS", os.path.join(ROOT, "models")),
                     "SmolLM2-135M-Instruct.Q4_1.gguf")


def make_logits(n, seed, scale=1.0):
    """Distinct float32 logits from integer arithmetic and + - * in double, so the C++ test
    rebuilds them bit for bit (tests/sample/sampler_golden_test.cpp: GoldenLogits)."""
    mult = next(m for m in (7919, 104729, 1299709) if np.gcd(m, n) == 1)
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        perm = (mult * i + seed * 977) % n
        u = perm / n * 2.0 - 1.0
        out[i] = np.float32((6.0 * u * u * u + 2.0 * u) * scale)
    return out


def f32(x):
    """A float32 as the shortest decimal that reads back to it (keeps the JSON small)."""
    x = float(np.float32(x))
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    for digits in range(6, 10):
        t = float(f"{x:.{digits}g}")
        if float(np.float32(t)) == x:
            return t
    return x


class Arr:
    def __init__(self, logits):
        n = len(logits)
        self.buf = (L.llama_token_data * n)()
        for i, x in enumerate(logits):
            self.buf[i].id = i
            self.buf[i].logit = float(x)
            self.buf[i].p = 0.0
        self.arr = L.llama_token_data_array(
            ctypes.cast(self.buf, L.llama_token_data_p), n, -1, False)

    def dump(self):
        base = ctypes.addressof(self.buf)
        ptr = ctypes.cast(self.arr.data, ctypes.c_void_p).value
        off = (ptr - base) // ctypes.sizeof(L.llama_token_data)
        ids, logits, probs = [], [], []
        for i in range(self.arr.size):
            d = self.buf[off + i]
            ids.append(int(d.id))
            logits.append(f32(d.logit))
            probs.append(f32(d.p))
        return {"offset": off, "ids": ids, "logits": logits, "p": probs,
                "selected": int(self.arr.selected), "sorted": bool(self.arr.sorted)}


def apply(smpl, logits, accept=()):
    for t in accept:
        L.llama_sampler_accept(smpl, t)
    a = Arr(logits)
    L.llama_sampler_apply(smpl, ctypes.byref(a.arr))
    return a.dump()


def chain(*samplers):
    c = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    for s in samplers:
        L.llama_sampler_chain_add(c, s)
    return c


def main():
    inputs = {
        "small": make_logits(64, 1),
        "large": make_logits(3000, 2),
        "peaked": make_logits(200, 3, scale=3.0),
    }
    cases = []

    def case(name, inp, smpl, params, accept=()):
        r = apply(smpl, inputs[inp], accept)
        r.update({"name": name, "input": inp, "params": params, "accept": list(accept)})
        cases.append(r)
        L.llama_sampler_free(smpl)

    for inp in ("small", "peaked", "large"):
        # the large input only for stages whose code path depends on size (partial sorts)
        big = inp == "large"
        for k in (1, 5, 40, 200):
            case(f"top_k_{k}_{inp}", inp, L.llama_sampler_init_top_k(k), {"stage": "top_k", "k": k})
        for p in (0.5, 0.9, 0.95):
            case(f"top_p_{p}_{inp}", inp, L.llama_sampler_init_top_p(p, 1), {"stage": "top_p", "p": p, "min_keep": 1})
        for p in (0.05, 0.2):
            case(f"min_p_{p}_{inp}", inp, L.llama_sampler_init_min_p(p, 1), {"stage": "min_p", "p": p, "min_keep": 1})
        if not big:
            for p in (0.3, 0.9):
                case(f"typical_{p}_{inp}", inp, L.llama_sampler_init_typical(p, 1), {"stage": "typical", "p": p, "min_keep": 1})
            for t in (0.0, 0.7, 1.5):
                case(f"temp_{t}_{inp}", inp, L.llama_sampler_init_temp(t), {"stage": "temp", "t": t})
            for (t, d, e) in ((0.8, 0.5, 1.0), (1.0, 0.9, 2.0)):
                case(f"temp_ext_{t}_{d}_{e}_{inp}", inp, L.llama_sampler_init_temp_ext(t, d, e),
                     {"stage": "temp_ext", "t": t, "delta": d, "exponent": e})
            for n in (1.0, 2.0):
                case(f"top_n_sigma_{n}_{inp}", inp, L.llama_sampler_init_top_n_sigma(n), {"stage": "top_n_sigma", "n": n})
            # probability 1 makes XTC fire on every call (the draw is <= 1), so the result is exact
            for t in (0.02, 0.1):
                case(f"xtc_{t}_{inp}", inp, L.llama_sampler_init_xtc(1.0, t, 1, 7),
                     {"stage": "xtc", "probability": 1.0, "threshold": t, "min_keep": 1, "seed": 7})
            hist = [3, 5, 3, 7, 9, 3, 5, 11, 13, 3]
            case(f"penalties_{inp}", inp, L.llama_sampler_init_penalties(len(inputs[inp]), 64, 1.3, 0.2, 0.1),
                 {"stage": "penalties", "last_n": 64, "repeat": 1.3, "freq": 0.2, "present": 0.1}, hist)
            case(f"penalties_window_{inp}", inp, L.llama_sampler_init_penalties(len(inputs[inp]), 4, 1.5, 0.0, 0.0),
                 {"stage": "penalties", "last_n": 4, "repeat": 1.5, "freq": 0.0, "present": 0.0}, hist)
            biases = (L.llama_logit_bias * 3)(L.llama_logit_bias(2, 5.0), L.llama_logit_bias(10, -3.0),
                                              L.llama_logit_bias(0, float("-inf")))
            case(f"logit_bias_{inp}", inp, L.llama_sampler_init_logit_bias(len(inputs[inp]), 3, biases),
                 {"stage": "logit_bias", "biases": [[2, 5.0], [10, -3.0], [0, "-inf"]]})
        # dist: the draw itself, on a fresh array each time (one sampler, so the RNG advances)
        d = L.llama_sampler_init_dist(1234)
        draws = []
        for _ in range(64):
            draws.append(apply(d, inputs[inp])["selected"])
        L.llama_sampler_free(d)
        cases.append({"name": f"dist_{inp}", "input": inp, "params": {"stage": "dist", "seed": 1234},
                      "draws": draws})

    # default chain (top-k 40, top-p .95, min-p .05, temp .8) + dist over varying logits
    c = chain(L.llama_sampler_init_top_k(40), L.llama_sampler_init_typical(1.0, 0),
              L.llama_sampler_init_top_p(0.95, 0), L.llama_sampler_init_min_p(0.05, 0),
              L.llama_sampler_init_temp_ext(0.8, 0.0, 1.0), L.llama_sampler_init_dist(42))
    draws = []
    for step in range(100):
        a = Arr(make_logits(3000, 1000 + step))
        L.llama_sampler_apply(c, ctypes.byref(a.arr))
        draws.append(int(a.buf[a.arr.selected].id) if a.arr.data else -1)
        ptr = ctypes.cast(a.arr.data, ctypes.c_void_p).value
        off = (ptr - ctypes.addressof(a.buf)) // ctypes.sizeof(L.llama_token_data)
        draws[-1] = int(a.buf[off + a.arr.selected].id)
    L.llama_sampler_free(c)
    cases.append({"name": "default_chain", "params": {"stage": "default_chain", "seed": 42,
                  "logit_seed_base": 1000, "n_vocab": 3000}, "draws": draws})

    for version in (1, 2):
        if version == 1:
            m = L.llama_sampler_init_mirostat(200, 99, 5.0, 0.1, 100)
        else:
            m = L.llama_sampler_init_mirostat_v2(99, 5.0, 0.1)
        draws = []
        for step in range(40):
            a = Arr(make_logits(200, 2000 + step, scale=2.0))
            L.llama_sampler_apply(m, ctypes.byref(a.arr))
            draws.append(int(a.buf[a.arr.selected].id))
        L.llama_sampler_free(m)
        cases.append({"name": f"mirostat_v{version}", "params": {"stage": "mirostat", "version": version,
                      "seed": 99, "tau": 5.0, "eta": 0.1, "logit_seed_base": 2000, "n_vocab": 200},
                      "draws": draws})

    # the same data the generator uses, so the test does not need numpy's RNG
    data = {"inputs": {"small": [64, 1, 1.0], "large": [3000, 2, 1.0], "peaked": [200, 3, 3.0]},
            "cases": cases}

    # DRY needs a vocabulary (sequence breakers are matched on token text): SmolLM2's.
    if os.path.exists(MODEL):
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        mp.vocab_only = True
        model = L.llama_model_load_from_file(MODEL.encode(), mp)
        vocab = L.llama_model_get_vocab(model)
        n_vocab = L.llama_vocab_n_tokens(vocab)
        breakers = [b"\n", b":", b"\"", b"*"]
        arr_t = ctypes.c_char_p * len(breakers)
        dry_logits = make_logits(n_vocab, 5)
        # a context with repeats: "a b c d a b c" then "x a b c", plus a newline breaker (198)
        # token texts: 1001 ' loc', 1003 ' return', 2001 ' enough', 2003 ' likely', 2004 ' record'
        hist = [1001, 1003, 2001, 2003, 1001, 1003, 2001, 2004, 1001, 1003, 2001]
        hist_breaker = [1001, 1003, 2001, 2003, 198, 1001, 1003, 2001, 2003, 1001, 1003, 2001]
        dry_cases = []
        for name, h, (mult, base, allowed, last_n) in (
                ("dry_basic", hist, (0.8, 1.75, 2, 64)),
                ("dry_breaker", hist_breaker, (0.8, 1.75, 2, 64)),
                ("dry_short_window", hist, (1.0, 2.0, 1, 6))):
            s = L.llama_sampler_init_dry(vocab, mult, base, allowed, last_n, arr_t(*breakers), len(breakers))
            r = apply(s, dry_logits, h)
            L.llama_sampler_free(s)
            changed = [[i, l] for i, l in zip(r["ids"], r["logits"])
                       if np.float32(l) != dry_logits[i]]
            dry_cases.append({"name": name, "accept": h, "multiplier": mult, "base": base,
                              "allowed_length": allowed, "last_n": last_n, "changed": changed})
        data["dry"] = {"n_vocab": n_vocab, "logit_seed": 5, "cases": dry_cases}
        L.llama_model_free(model)
    else:
        print("warning: SmolLM2 not found, DRY golden skipped", file=sys.stderr)

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "sampler_golden.json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print("wrote", len(cases), "cases")


if __name__ == "__main__":
    main()
