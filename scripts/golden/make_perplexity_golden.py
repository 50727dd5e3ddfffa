#!/usr/bin/env python3
"""Golden data for `ember perplexity`: llama.cpp's perplexity and KL divergence of SmolLM2 on the
GPL-3 text (tests/data/diag/GPL-3.txt, a copy of Debian's /usr/share/common-licenses/GPL-3).

The oracle is llama.cpp through llama-cpp-python (EMBER_ORACLE_PY, default the oracle venv), run
with llama-perplexity's method: tokenize with BOS per the vocabulary, chunks of n_ctx tokens with
the first replaced by BOS if the vocabulary adds one, logits of the second half scored, PPL =
exp(mean NLL) +/- PPL * sqrt(var / (count - 1)). When the llama-perplexity binary exists
(LLAMA_CPP_BIN), its "Final estimate" is recorded too, twice: with its default settings
(flash attention "auto", which is on for the CPU) and with -fa off. The flash-attention kernel
rounds through F16, which moves SmolLM2 Q4_1's perplexity by 0.2% (c=512) to 0.6% (c=128); with
-fa off llama-perplexity prints the same figures as llama-cpp-python (whose default is off) and
ember.

KL divergence: an F16 copy of SmolLM2 (every 2-D weight dequantized with gguf.quants, stored F16;
the same values `ember quantize`/the tests' copier produce) is the base; llama-perplexity's
--kl-divergence statistics are computed from both models' logits with its formulas (16-bit
quantized base log-probabilities), and llama-perplexity's own --kl-divergence report (F16 copy as
the base, -fa off) is recorded beside them.

  $EMBER_ORACLE_PY scripts/golden/make_perplexity_golden.py
Writes tests/data/diag/perplexity_golden.json.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp
import gguf
from gguf import GGUFReader, GGUFWriter, GGUFValueType
from gguf.quants import dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
TEXT = os.path.join(ROOT, "tests", "data", "diag", "GPL-3.txt")
OUT = os.path.join(ROOT, "tests", "data", "diag", "perplexity_golden.json")
BIN = os.environ.get(
    "LLAMA_CPP_BIN",
    "/root/.cache/ember/llama.cpp/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin")

# (name, n_ctx, n_chunks or -1): the short run is what the regular test checks; the full one is slow.
RUNS = [("gpl3_c128_4chunks", 128, 4), ("gpl3_c512_all", 512, -1)]
KL_RUN = ("gpl3_c128_4chunks", 128, 4)


def make_f16_copy(src, dst):
    r = GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = GGUFWriter(dst, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == GGUFValueType.ARRAY else None
        val = 1 if name == "general.file_type" else f.contents()
        w.add_key_value(name, val, vtype, sub_type=sub)
    for t in r.tensors:
        shape = [int(x) for x in reversed(t.shape)]  # numpy order: ne reversed
        data = dequantize(t.data, t.tensor_type).reshape(shape)
        if len(shape) >= 2:
            w.add_tensor(t.name, data.astype(np.float16))
        else:
            w.add_tensor(t.name, data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_perplexity(args):
    """Runs the llama-perplexity binary; returns its output, or None when it is not built."""
    exe = os.path.join(BIN, "llama-perplexity")
    if not os.path.exists(exe):
        return None
    out = subprocess.run([exe] + args, capture_output=True, text=True)
    return out.stdout + out.stderr


def final_estimate(text):
    m = re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)", text or "")
    return (float(m.group(1)), float(m.group(2))) if m else None


def kl_report(text):
    """The figures of llama-perplexity's --kl-divergence report."""
    pats = {"ppl_q": r"Mean PPL\(Q\)\s*:\s*([\d.]+)", "ppl_base": r"Mean PPL\(base\)\s*:\s*([\d.]+)",
            "ppl_ratio": r"Mean PPL\(Q\)/PPL\(base\)\s*:\s*([\d.]+)",
            "kld_mean": r"Mean\s+KLD:\s*([\d.]+)", "kld_median": r"Median\s+KLD:\s*([\d.]+)",
            "kld_max": r"Maximum KLD:\s*([\d.]+)", "p_diff_rms_percent": r"RMS .p\s*:\s*([\d.]+)",
            "same_top_percent": r"Same top p:\s*([\d.]+)"}
    res = {}
    for k, pat in pats.items():
        m = re.search(pat, text or "")
        if m:
            res[k] = float(m.group(1))
    return res


class Runner:
    def __init__(self, path, n_ctx):
        self.llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                                   logits_all=True, n_threads=2, verbose=False)
        self.n_ctx = n_ctx
        self.add_bos = self.llm._model.add_bos_token() if hasattr(self.llm._model, "add_bos_token") else None

    def chunk_logits(self, chunk, bos, add_bos):
        toks = list(chunk)
        if add_bos:
            toks[0] = bos
        self.llm.reset()
        self.llm.eval(toks)
        return np.array(self.llm.scores[: len(toks)], dtype=np.float32)


def log_softmax_nll(logits, tok):
    # float32 exponentials, float64 sum, like llama.cpp's log_softmax
    mx = logits.max()
    sum_exp = np.exp((logits - mx).astype(np.float32)).astype(np.float64).sum()
    return -(float(logits[tok]) - float(mx) - np.log(sum_exp))


def quantized_logprobs(logits):
    mx = np.float32(logits.max())
    mn = np.float32(max(logits.min(), mx - 16))
    sum_exp = np.exp((logits - mx).astype(np.float32)).astype(np.float64).sum()
    lse = np.float32(np.log(sum_exp))
    min_lp = np.float32(mn - mx - lse)
    scale = np.float32((mx - mn) / np.float32(65535))
    q = np.where(logits > mn, np.rint(np.float32(1) / scale * (logits - mn)), 0).astype(np.uint16)
    return scale, min_lp, q


def main():
    text = open(TEXT, "rb").read()
    vocab = llama_cpp.Llama(model_path=MODEL, vocab_only=True, verbose=False)
    tokens = vocab.tokenize(text, add_bos=True, special=False)
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(vocab.model)))
    bos = vocab.token_bos()
    result = {"model": os.path.basename(MODEL), "text": "tests/data/diag/GPL-3.txt",
              "n_tokens": len(tokens), "add_bos": add_bos, "oracle": "llama-cpp-python 0.3.36",
              "runs": {}}
    for name, n_ctx, n_chunks in RUNS:
        runner = Runner(MODEL, n_ctx)
        n_chunk = len(tokens) // n_ctx if n_chunks < 0 else min(n_chunks, len(tokens) // n_ctx)
        first = n_ctx // 2
        nll = nll2 = 0.0
        count = 0
        running = []
        for c in range(n_chunk):
            chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
            lg = runner.chunk_logits(chunk, bos, add_bos)
            for j in range(first, n_ctx - 1):
                v = log_softmax_nll(lg[j], chunk[j + 1])
                nll += v
                nll2 += v * v
                count += 1
            running.append(float(np.exp(nll / count)))
        mean = nll / count
        ppl = float(np.exp(mean))
        err = float(np.sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl)
        result["runs"][name] = {"n_ctx": n_ctx, "n_chunks": n_chunk, "count": count, "ppl": ppl,
                                "ppl_error": err, "running": running}
        print(f"{name}: PPL = {ppl:.4f} +/- {err:.5f}", file=sys.stderr)
        base_args = ["-m", MODEL, "-f", TEXT, "-c", str(n_ctx), "-t", "2"]
        if n_chunks > 0:
            base_args += ["--chunks", str(n_chunks)]
        for key, extra in (("llama_perplexity_binary", []),
                           ("llama_perplexity_binary_fa_off", ["-fa", "off"])):
            est = final_estimate(llama_perplexity(base_args + extra))
            if est:
                result["runs"][name][key] = {
                    "ppl": est[0], "ppl_error": est[1],
                    "command": " ".join(["llama-perplexity"] + base_args + extra)
                    .replace(MODEL, "MODEL").replace(TEXT, "TEXT")}
                print(f"{name}: llama-perplexity {' '.join(extra) or '(defaults)'}: PPL = {est[0]} +/- {est[1]}",
                      file=sys.stderr)
        del runner

    # KL divergence of Q4_1 against the F16 copy.
    name, n_ctx, n_chunks = KL_RUN
    with tempfile.TemporaryDirectory() as tmp:
        f16 = os.path.join(tmp, "smollm2-f16.gguf")
        make_f16_copy(MODEL, f16)
        base_runner = Runner(f16, n_ctx)
        q_runner = Runner(MODEL, n_ctx)
        first = n_ctx // 2
        s = dict(nll=0.0, nll2=0.0, nb=0.0, nb2=0.0, nnb=0.0, kld=0.0, kld2=0.0, same=0, count=0,
                 pd2=0.0, pd4=0.0)
        klds = []
        for c in range(n_chunks):
            chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
            lb = base_runner.chunk_logits(chunk, bos, add_bos)
            lq = q_runner.chunk_logits(chunk, bos, add_bos)
            for j in range(first, n_ctx - 1):
                tok = chunk[j + 1]
                scale, min_lp, q = quantized_logprobs(lb[j])
                lp_base = (scale * q.astype(np.float32) + min_lp).astype(np.float32)
                x = lq[j]
                mx = np.float32(x.max())
                lse = np.float32(np.log(np.exp((x - mx).astype(np.float32)).astype(np.float64).sum()))
                nll = float(mx + lse - x[tok])
                nll_base = float(-lp_base[tok])
                mask = lp_base > -16
                pb = np.exp(lp_base[mask]).astype(np.float32)
                kld = float((pb.astype(np.float64) * (lp_base[mask] - x[mask] + (mx + lse))).sum())
                s["nll"] += nll; s["nll2"] += nll * nll
                s["nb"] += nll_base; s["nb2"] += nll_base * nll_base; s["nnb"] += nll * nll_base
                s["kld"] += kld; s["kld2"] += kld * kld
                s["same"] += int(np.argmax(x) == np.argmax(lp_base))
                pd = float(np.exp(-nll) - np.exp(-nll_base))
                s["pd2"] += pd * pd; s["pd4"] += pd ** 4
                s["count"] += 1
                klds.append(kld)
        n = s["count"]
        mean_nll, mean_nb = s["nll"] / n, s["nb"] / n
        kld_mean = s["kld"] / n
        kld_err = float(np.sqrt(max(s["kld2"] / n - kld_mean ** 2, 0) / (n - 1)))
        result["kl_divergence"] = {
            "run": name, "n_ctx": n_ctx, "n_chunks": n_chunks, "count": n,
            "base": "F16 copy of the Q4_1 model (2-D weights dequantized, stored as F16)",
            "ppl_q": float(np.exp(mean_nll)), "ppl_base": float(np.exp(mean_nb)),
            "ppl_ratio": float(np.exp(mean_nll - mean_nb)),
            "kld_mean": kld_mean, "kld_error": kld_err, "kld_median": float(np.median(klds)),
            "same_top": s["same"] / n, "p_diff_rms": float(np.sqrt(s["pd2"] / n))}
        kld_file = os.path.join(tmp, "base.kld")
        common = ["-c", str(n_ctx), "--chunks", str(n_chunks), "-t", "2", "-fa", "off"]
        if llama_perplexity(["-m", f16, "-f", TEXT, "--kl-divergence-base", kld_file] + common):
            rep = kl_report(llama_perplexity(["-m", MODEL, "--kl-divergence-base", kld_file,
                                              "--kl-divergence"] + common))
            rep["commands"] = [
                " ".join(["llama-perplexity", "-m", "F16", "-f", "TEXT", "--kl-divergence-base", "BASE"] + common),
                " ".join(["llama-perplexity", "-m", "MODEL", "--kl-divergence-base", "BASE", "--kl-divergence"] + common)]
            result["kl_divergence"]["llama_perplexity_binary"] = rep
        print(json.dumps(result["kl_divergence"], indent=1), file=sys.stderr)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
