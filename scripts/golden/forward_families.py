#!/usr/bin/env python3
"""Golden logits from llama.cpp for the model families beyond Llama (tests/model/).

Gemma 3 270M (the packaged base model, Q4_K_M): prompts of 1 to ~700 tokens -- the longest runs
past the 512-token sliding window of its local layers -- with the top-K logits at every recorded
position and a 64-token greedy continuation with the top-2 gap at every step. Long prompts record
positions from `first` on only (the JSON stays small; ember evaluates the earlier tokens without
logits).

Synthetic models written by `ember synth --arch ...` (random weights in each family's layout and
metadata, few layers): qwen2 (Q/K/V biases, NeoX RoPE, base 1e6), phi3 (fused QKV and gate/up),
gemma3 with a 16-token sliding window, and a llama file carrying a 16-token window (which
llama.cpp does not apply) -- prompts longer than the window.

Same oracle settings as forward_logits.py (llama-cpp-python, 2 threads, F16 KV cache, no flash
attention, one batch per prompt, greedy one token at a time). Run with the oracle interpreter:
  $EMBER_ORACLE_PY scripts/golden/forward_families.py --ember build/bin/ember [--only gemma3|synth]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward_logits import (CODE, LONG_HISTORY, PHOTOSYNTHESIS, ROOT, SMOLLM2,  # noqa: E402
                            file_checksum, row_record)

GEMMA3 = os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf")

# name, text, first recorded position (None: all)
GEMMA3_PROMPTS = [
    ("capital", "The capital of France is", None),
    ("fox", "The quick brown fox jumps over the lazy dog.", None),
    ("code", CODE, None),
    ("multilingual", "Bonjour, je m'appelle Marie. Guten Tag, wie geht es Ihnen? 你好，世界！ Hola, ¿qué tal? Привет, мир.", None),
    ("counting", ", ".join(str(i) for i in range(1, 61)) + ",", None),
    # ~900 tokens: positions past 512 see a window that no longer reaches the start.
    ("beyond_window", LONG_HISTORY + "\n\n" + PHOTOSYNTHESIS * 2 + CODE + LONG_HISTORY, 560),
    ("single_token", "Hello", None),
]

SYNTH_PROMPTS = [
    ("fox", "The quick brown fox jumps over the lazy dog.", None),
    ("history_long", LONG_HISTORY, None),
]

# name, `ember synth` arguments (vocabulary from SmolLM2).
SYNTH_MODELS = [
    ("qwen2_biases", ["--arch", "qwen2", "--type", "q8_0", "--embd", "256", "--heads", "4",
                      "--kv-heads", "2", "--ff", "512", "--layers", "2", "--rope-base", "1000000"]),
    ("phi3_fused", ["--arch", "phi3", "--type", "f16", "--embd", "256", "--heads", "4",
                    "--kv-heads", "4", "--ff", "512", "--layers", "2"]),
    # 6 layers: 0-4 local (16-token window), 5 global.
    ("gemma3_window16", ["--arch", "gemma3", "--type", "q8_0", "--embd", "256", "--heads", "4",
                         "--kv-heads", "1", "--head-dim", "64", "--ff", "512", "--layers", "6",
                         "--window", "16", "--rope-base", "1000000"]),
    # llama.cpp does not apply llama.attention.sliding_window (Mistral files carry it): full attention.
    ("mistral_window16", ["--arch", "llama", "--type", "q8_0", "--embd", "256", "--heads", "4",
                          "--kv-heads", "1", "--ff", "512", "--layers", "2", "--window", "16"]),
    # YaRN: factor 4 over an original context of 64, so the ramp lies inside the 64 dimensions.
    ("llama_yarn4", ["--arch", "llama", "--type", "f16", "--embd", "256", "--heads", "4",
                     "--kv-heads", "2", "--ff", "512", "--layers", "2", "--rope-base", "10000",
                     "--rope-yarn", "4", "--yarn-orig-ctx", "64", "--ctx", "256"]),
]


def run_model(path, prompts, top_k, n_greedy):
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_threads=2, n_threads_batch=2,
                          n_ctx=2048, n_batch=2048, n_ubatch=2048, flash_attn=False,
                          verbose=False)
    out = []
    for name, text, first in prompts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        first = first or 0
        llm.reset()
        llm.eval(tokens)
        scores = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        positions = [row_record(scores[i], top_k) for i in range(first, len(tokens))]
        greedy, gaps = [], []
        last = scores[-1]
        for _ in range(n_greedy):
            s = np.sort(last)[::-1]
            gaps.append(float(s[0] - s[1]))
            nxt = int(np.argmax(last))
            greedy.append(nxt)
            llm.eval([nxt])
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        out.append({"name": name, "text": text, "tokens": [int(t) for t in tokens], "first": first,
                    "positions": positions, "greedy": greedy, "greedy_gaps": gaps,
                    "greedy_text": llm.detokenize(greedy).decode("utf-8", "replace")})
        print(f"  {name}: {len(tokens)} tokens, greedy {llm.detokenize(greedy)[:70]!r}", file=sys.stderr)
    del llm
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", default=os.path.join(ROOT, "build", "bin", "ember"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "model"))
    ap.add_argument("--only", choices=["gemma3", "synth"], default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    common = {"oracle": f"llama-cpp-python {llama_cpp.__version__}", "threads": 2,
              "kv_cache": "f16", "flash_attn": False}

    if args.only in (None, "gemma3"):
        print("Gemma 3 270M Q4_K_M", file=sys.stderr)
        doc = dict(common, model=os.path.basename(GEMMA3), model_size=os.path.getsize(GEMMA3),
                   top_k=10, prompts=run_model(GEMMA3, GEMMA3_PROMPTS, 10, 64))
        with open(os.path.join(args.out, "forward_gemma3.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))

    if args.only in (None, "synth"):
        models = []
        with tempfile.TemporaryDirectory() as tmp:
            for name, synth_args in SYNTH_MODELS:
                path = os.path.join(tmp, name + ".gguf")
                cmd = [args.ember, "synth", "-o", path, "--vocab-from", SMOLLM2, "--seed", "7"] + synth_args
                subprocess.run(cmd, check=True)
                print(name, file=sys.stderr)
                models.append({"name": name, "synth_args": synth_args + ["--seed", "7"],
                               "file_size": os.path.getsize(path), "file_checksum": file_checksum(path),
                               "prompts": run_model(path, SYNTH_PROMPTS, 10, 32)})
        doc = dict(common, vocab_from=os.path.basename(SMOLLM2), top_k=10, models=models)
        with open(os.path.join(args.out, "forward_families_synth.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
