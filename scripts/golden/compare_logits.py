#!/usr/bin/env python3
"""ember vs llama-cpp-python: logits at every position of 3 prompts and greedy continuations.

Usage (oracle interpreter):
  $EMBER_ORACLE_PY scripts/golden/compare_logits.py EMBER_BIN norepack|repack MODEL.gguf...
'norepack' loads llama.cpp with use_extra_bufts = false (no weight repacking); set
GGML_CPU_TILED_MM=0 to keep llama.cpp off its tiled K-quant matmul (batches >= 8 tokens) and
EMBER_NO_REPACK=1 for ember's side. Prints max |logit diff|, bit-identical rows and whether the
16-token greedy continuations agree (with llama.cpp's top-2 gap where they part). Writes nothing;
docs/performance.md's end-to-end figures for IQ4_NL/IQ4_XS/Q2_K/Q3_K/BF16 come from it, on
SmolLM2 copies made by `ember quantize ... TYPE --allow-requantize --pure`.
"""
import json, os, subprocess, sys, tempfile
import numpy as np
import llama_cpp

EMBER = sys.argv[1]
NO_REPACK = sys.argv[2] == "norepack"
MODELS = sys.argv[3:]
if NO_REPACK:  # llama.cpp's use_extra_bufts = false: no weight repacking (IQ4_NL/Q4_0/Q4_K on AVX2)
    import llama_cpp.llama_cpp as lc
    _orig = lc.llama_model_default_params
    def _patched():
        p = _orig(); p.use_extra_bufts = False; return p
    lc.llama_model_default_params = _patched
PROMPTS = [
    ("fox", "The quick brown fox jumps over the lazy dog."),
    ("chatml_capital", "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ("history", "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg, "
                "a goldsmith from Mainz, combined several existing technologies into a practical system for "
                "mass-producing books."),
]
N_GREEDY = 16

def ember_logits(model, tokens):
    with tempfile.NamedTemporaryFile(suffix=".f32") as f:
        subprocess.run([EMBER, "logits", "-m", model, "--tokens", ",".join(map(str, tokens)),
                        "--all-positions", "--dump", f.name, "-t", "2", "--top", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        return np.fromfile(f.name, dtype=np.float32)

for path in MODELS:
    llm = llama_cpp.Llama(model_path=path, logits_all=True, n_threads=2, n_threads_batch=2,
                          n_ctx=512, n_batch=512, n_ubatch=512, flash_attn=False, verbose=False)
    nv = llm.n_vocab()
    worst = 0.0; identical = 0; total = 0; greedy_agree = 0
    for name, text in PROMPTS:
        tokens = llm.tokenize(text.encode(), add_bos=True, special=True)
        llm.reset(); llm.eval(tokens)
        ref = np.array(llm.scores[: len(tokens)], dtype=np.float32)
        got = ember_logits(path, tokens).reshape(-1, nv)
        d = np.abs(got - ref)
        worst = max(worst, float(d.max()))
        identical += int((d.max(axis=1) == 0).sum()); total += len(tokens)
        # greedy: llama.cpp one token at a time; ember re-evaluates the whole sequence (prefill).
        seq = list(tokens); g_ref = []
        last = ref[-1]; gaps = []
        for _ in range(N_GREEDY):
            srt = np.sort(last)[::-1]; gaps.append(float(srt[0] - srt[1]))
            nxt = int(np.argmax(last)); g_ref.append(nxt); llm.eval([nxt])
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        out = subprocess.run([EMBER, "run", "-m", path, "--raw", "-p", text, "-n", str(N_GREEDY), "--temp", "0",
                              "--json", "-t", "2"], check=True, capture_output=True, text=True)
        j = json.loads(out.stdout)
        g_emb = j["generated_tokens"]
        same = g_emb == g_ref[: len(g_emb)] and (len(g_emb) == N_GREEDY or g_ref[len(g_emb)] == 2)
        greedy_agree += same
        print(f"  {os.path.basename(path)} {name}: {len(tokens)} tok, max|diff| {d.max():.3g} "
              f"(rows bit-identical {int((d.max(axis=1)==0).sum())}/{len(tokens)}), prompt ids equal {j['prompt_tokens']==list(tokens)}, "
              f"greedy {N_GREEDY} agree {same}" + ("" if same else f" parts at step {next(i for i in range(len(g_emb)) if g_emb[i] != g_ref[i])}, llama top-2 gap there {gaps[next(i for i in range(len(g_emb)) if g_emb[i] != g_ref[i])]:.3g}"), flush=True)
    print(f"{os.path.basename(path)}: max|logit diff| {worst:.4g}, bit-identical rows {identical}/{total}, greedy agree {greedy_agree}/{len(PROMPTS)}", flush=True)
    del llm
