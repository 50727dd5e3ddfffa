#!/usr/bin/env python3
"""Tokenizer throughput: ember against llama.cpp (llama-cpp-python) on ~1 MB of mixed-language text.

Both tokenize the same bytes with the same vocabulary (no BOS, special tokens parsed), best of
--repeat runs. ember is timed through `ember tokenize --ids -f FILE`, minus the time of the same
command on an empty file (process start and vocabulary load); llama.cpp in-process, after loading.
The two must also agree on every id. Prints tokens/s for each and the ratio ember / llama.cpp.

Usage: bench/tokenizer_vs_llama.py [--ember build/bin/ember] [--model models/X.gguf] [--mb 1]
Run it with the oracle python (scripts/oracle-env), which has llama_cpp.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog. It's 2024-05-01 and the price is $9.99 (or €10,50).\n",
    "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text if c.isprintable()]\n\n",
    "自然语言处理是人工智能的一个重要领域。今天天气很好，我们去公园吧。\n",
    "こんにちは、世界！カタカナとひらがな、ﾊﾝｶｸｶﾀｶﾅも混ざります。\n",
    "안녕하세요, 세계! 한국어 텍스트입니다.\n",
    "Привет, мир! Это русский текст с цифрами 12345 и знаками препинания.\n",
    "مرحبا بالعالم! هذا نص عربي.\n", "שלום עולם! זה טקסט בעברית.\n", "नमस्ते दुनिया! यह हिन्दी पाठ है।\n",
    "สวัสดีชาวโลก นี่คือข้อความภาษาไทย\n", "Emoji: 🙂👍🏽👨‍👩‍👧‍👦🇫🇷✨🔥 and URLs https://example.com/a?b=c#d\n",
    "Ｆｕｌｌｗｉｄｔｈ　ｆｏｒｍｓ　１２３！\tTabs\tand   spaces   \r\n",
    "Café naïve résumé Zürich São Paulo Ångström œuvre.\n",
]


def make_text(mb: float) -> bytes:
    rng = random.Random(1)
    out = []
    size = 0
    while size < mb * 1_000_000:
        p = rng.choice(PARAGRAPHS)
        out.append(p)
        size += len(p.encode())
    return "".join(out).encode()


def time_ember(ember, model, path, repeat):
    best = float("inf")
    ids = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run([ember, "tokenize", "-m", model, "--no-bos", "--ids", "-f", path],
                           check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
        ids = json.loads(r.stdout)
    return best, ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ember", default=os.path.join(REPO, "build", "bin", "ember"))
    ap.add_argument("--model", default=os.path.join(REPO, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--mb", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import llama_cpp

    text = make_text(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "text.txt")
        empty = os.path.join(tmp, "empty.txt")
        open(path, "wb").write(text)
        open(empty, "wb").close()
        t_full, ember_ids = time_ember(args.ember, args.model, path, args.repeat)
        t_empty, _ = time_ember(args.ember, args.model, empty, args.repeat)
    t_ember = max(1e-9, t_full - t_empty)

    llm = llama_cpp.Llama(args.model, vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    best = float("inf")
    for _ in range(args.repeat):
        n = len(text) + 16
        buf = (llama_cpp.llama_token * n)()
        t0 = time.perf_counter()
        r = llama_cpp.llama_tokenize(vocab, text, len(text), buf, n, False, True)
        best = min(best, time.perf_counter() - t0)
    llama_ids = list(buf[:r])
    same = llama_ids == ember_ids
    n_tok = len(llama_ids)
    print(f"text: {len(text)} bytes, {n_tok} tokens ({os.path.basename(args.model)})")
    print(f"ember:     {t_ember * 1e3:8.1f} ms  {n_tok / t_ember / 1e6:6.2f} M tokens/s "
          f"(process {t_full * 1e3:.0f} ms, of which start+load {t_empty * 1e3:.0f} ms)")
    print(f"llama.cpp: {best * 1e3:8.1f} ms  {n_tok / best / 1e6:6.2f} M tokens/s")
    print(f"ratio ember/llama.cpp throughput: {best / t_ember:.2f}x   ids identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
