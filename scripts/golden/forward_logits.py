#!/usr/bin/env python3
"""Golden logits from llama.cpp for ember's forward-pass tests (tests/model/).

For the default model (SmolLM2-135M-Instruct Q4_1) and for synthetic models written by
`ember synth` (random weights: F32, F16, BF16, legacy and K-quants; GQA ratios 1, 3, 5, 8; head
dims 64 and 128; tied and untied output; several RoPE bases, linear scaling, rope_freqs; odd
widths), it evaluates prompts through llama-cpp-python (logits_all, 2 threads, F16 KV cache, no
flash attention) and records, per position: the top-K token ids and logits, and the sum and sum
of squares of the whole logit row; then a greedy continuation (argmax, one token at a time, as
llama.cpp decodes) with the top-2 gap at every step.

Run with the oracle interpreter (EMBER_ORACLE_PY, default /root/.cache/ember/oracle-venv):
  $EMBER_ORACLE_PY scripts/golden/forward_logits.py --ember build/bin/ember
Writes tests/data/model/forward_smollm2.json and tests/data/model/forward_synth.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOLLM2 = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

LONG_HISTORY = (
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg, "
    "a goldsmith from Mainz, combined several existing technologies into a practical system for "
    "mass-producing books. Movable type had been invented earlier in China and Korea, but "
    "Gutenberg's contribution was a hand mould for casting metal type quickly and accurately, an "
    "oil-based ink that adhered well to metal, and a wooden press adapted from those used to make "
    "wine and olive oil. The first major book printed with this system, the Gutenberg Bible, was "
    "completed around 1455. Within fifty years, printing presses had spread to more than two "
    "hundred cities across Europe, and millions of books had been produced. The consequences were "
    "profound. Knowledge that had been confined to monasteries and universities became available "
    "to merchants, artisans and ordinary readers. The Protestant Reformation relied heavily on "
    "printed pamphlets, and the scientific revolution of the following centuries depended on the "
    "rapid, accurate reproduction of diagrams, tables and arguments. Historians still debate how "
    "quickly literacy rose, but few doubt that the press changed the way Europeans thought about "
    "authority, evidence and the written word.")
PHOTOSYNTHESIS = (
    "Photosynthesis is the process by which green plants, algae and some bacteria convert light "
    "energy into chemical energy. In plants it takes place mainly in the chloroplasts of leaf "
    "cells, which contain the green pigment chlorophyll. The overall reaction combines carbon "
    "dioxide and water, using the energy of sunlight, to produce glucose and oxygen. The process "
    "has two stages. In the light-dependent reactions, which occur in the thylakoid membranes, "
    "light is absorbed and used to split water molecules, releasing oxygen and producing the "
    "energy carriers ATP and NADPH. In the light-independent reactions, also called the Calvin "
    "cycle, which take place in the stroma, these carriers drive the fixation of carbon dioxide "
    "into sugars. ")
CODE = '''def merge_sorted(a, b):
    """Merge two sorted lists into one sorted list."""
    i, j, out = 0, 0, []
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            out.append(a[i]); i += 1
        else:
            out.append(b[j]); j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return out


def binary_search(xs, target):
    lo, hi = 0, len(xs)
    while lo < hi:
'''

SMOLLM2_PROMPTS = [
    ("chatml_capital", "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ("fox", "The quick brown fox jumps over the lazy dog."),
    ("history_long", LONG_HISTORY),
    ("code", CODE),
    ("counting_long", ", ".join(str(i) for i in range(1, 121)) + ","),
    ("multilingual", "Bonjour, je m'appelle Marie. Guten Tag, wie geht es Ihnen? 你好，世界！ Hola, ¿qué tal? Привет, мир."),
    ("chatml_poem", "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWrite a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n"),
    ("photosynthesis_long", PHOTOSYNTHESIS * 3),
    ("single_token", "Hello"),
]

# name, `ember synth` arguments. Widths are multiples of the block sizes; 'odd' ones are 320
# (5 heads of 64), 576 and 384.
SYNTH_MODELS = [
    ("f32_gqa1_hd64_tied", ["--type", "f32", "--embd", "256", "--heads", "4", "--kv-heads", "4",
                            "--ff", "512", "--layers", "2", "--rope-base", "10000"]),
    ("f16_gqa3_hd64_untied_linear", ["--type", "f16", "--embd", "384", "--heads", "6", "--kv-heads", "2",
                                     "--ff", "704", "--layers", "3", "--rope-base", "500000",
                                     "--rope-linear", "4", "--untied"]),
    ("q8_0_gqa8_hd128_untied", ["--type", "q8_0", "--embd", "1024", "--heads", "8", "--kv-heads", "1",
                                "--ff", "1024", "--layers", "2", "--rope-base", "1000000",
                                "--untied", "--output-type", "q6_k", "--embd-type", "q8_0"]),
    ("q4_0_gqa5_w320_freqs", ["--type", "q4_0", "--embd", "320", "--heads", "5", "--kv-heads", "1",
                              "--ff", "864", "--layers", "2", "--rope-base", "500000", "--rope-freqs",
                              "--embd-type", "q4_0"]),
    ("q4_1_q5_gqa3_w576", ["--type", "q5_1", "--embd", "576", "--heads", "9", "--kv-heads", "3",
                           "--ff", "1536", "--layers", "2", "--rope-base", "100000",
                           "--embd-type", "q5_0", "--untied", "--output-type", "q4_1"]),
    ("q4_k_gqa2_hd128", ["--type", "q4_k", "--embd", "512", "--heads", "4", "--kv-heads", "2",
                         "--ff", "1280", "--layers", "2", "--rope-base", "10000",
                         "--embd-type", "q8_0", "--untied", "--output-type", "q5_k"]),
    ("q6_k_q3_k_gqa1", ["--type", "q6_k", "--embd", "256", "--heads", "2", "--kv-heads", "2",
                        "--head-dim", "128", "--ff", "768", "--layers", "2", "--untied",
                        "--output-type", "q3_k", "--embd-type", "q2_k"]),
    ("bf16_gqa1_hd64", ["--type", "bf16", "--embd", "192", "--heads", "3", "--kv-heads", "3",
                        "--ff", "320", "--layers", "2", "--rope-base", "20000"]),
]

SYNTH_PROMPTS = [
    ("fox", "The quick brown fox jumps over the lazy dog."),
    ("history_long", LONG_HISTORY),
    ("chatml_capital", SMOLLM2_PROMPTS[0][1]),
]


def file_checksum(path):
    """sum over little-endian u32 words w_i of w_i * (2i + 1), mod 2^64 (tests recompute it)."""
    data = open(path, "rb").read()
    data += b"\0" * (-len(data) % 4)
    w = np.frombuffer(data, dtype="<u4").astype(np.uint64)
    k = np.arange(len(w), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        return f"{int(np.sum(w * k, dtype=np.uint64)):016x}"


def row_record(row, top_k):
    order = np.lexsort((np.arange(len(row)), -row))[:top_k]  # by logit desc, then id asc
    r64 = row.astype(np.float64)
    return {
        "top_ids": [int(i) for i in order],
        "top_logits": [float(row[i]) for i in order],
        "sum": float(r64.sum()),
        "sumsq": float((r64 * r64).sum()),
    }


def run_model(path, prompts, top_k, n_greedy):
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_threads=2, n_threads_batch=2,
                          n_ctx=2048, n_batch=2048, n_ubatch=2048, flash_attn=False,
                          verbose=False)
    out = []
    for name, text in prompts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        llm.reset()
        llm.eval(tokens)
        scores = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        positions = [row_record(scores[i], top_k) for i in range(len(tokens))]
        greedy, gaps = [], []
        last = scores[-1]
        for _ in range(n_greedy):
            s = np.sort(last)[::-1]
            gaps.append(float(s[0] - s[1]))
            nxt = int(np.argmax(last))
            greedy.append(nxt)
            llm.eval([nxt])
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        out.append({"name": name, "text": text, "tokens": [int(t) for t in tokens],
                    "positions": positions, "greedy": greedy, "greedy_gaps": gaps})
        print(f"  {name}: {len(tokens)} tokens, greedy {llm.detokenize(greedy)[:60]!r}", file=sys.stderr)
    del llm
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", default=os.path.join(ROOT, "build", "bin", "ember"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "model"))
    ap.add_argument("--only", choices=["smollm2", "synth"], default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    common = {"oracle": f"llama-cpp-python {llama_cpp.__version__}", "threads": 2,
              "kv_cache": "f16", "flash_attn": False}

    if args.only in (None, "smollm2"):
        print("SmolLM2 Q4_1", file=sys.stderr)
        doc = dict(common, model=os.path.basename(SMOLLM2), model_size=os.path.getsize(SMOLLM2),
                   top_k=20, prompts=run_model(SMOLLM2, SMOLLM2_PROMPTS, 20, 64))
        with open(os.path.join(args.out, "forward_smollm2.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))

    if args.only in (None, "synth"):
        models = []
        with tempfile.TemporaryDirectory() as tmp:
            for name, synth_args in SYNTH_MODELS:
                path = os.path.join(tmp, name + ".gguf")
                cmd = [args.ember, "synth", "-o", path, "--vocab-from", SMOLLM2, "--seed", "7"] + synth_args
                subprocess.run(cmd, check=True)
                print(f"{name}", file=sys.stderr)
                models.append({"name": name, "synth_args": synth_args + ["--seed", "7"],
                               "file_size": os.path.getsize(path), "file_checksum": file_checksum(path),
                               "prompts": run_model(path, SYNTH_PROMPTS, 10, 32)})
        doc = dict(common, vocab_from=os.path.basename(SMOLLM2), top_k=10, models=models)
        with open(os.path.join(args.out, "forward_synth.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
