#!/usr/bin/env python3
"""Checks that llama.cpp loads and runs a model made by `ember quantize` (a manual check, not a
test: it needs the oracle). Greedy-decodes a ChatML question and prints the answer.

Run: ${EMBER_ORACLE_PY:-~/.cache/ember/oracle-venv/bin/python} scripts/golden/check_quantize_with_llama.py OUT.gguf
"""
import os
import subprocess
import sys

ORACLE_PY = os.environ.get("EMBER_ORACLE_PY", os.path.expanduser("~/.cache/ember/oracle-venv/bin/python"))
try:
    import llama_cpp
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(ORACLE_PY) and os.path.exists(ORACLE_PY):
        sys.exit(subprocess.call([ORACLE_PY] + sys.argv))
    raise


def main():
    path = sys.argv[1]
    llm = llama_cpp.Llama(model_path=path, n_ctx=256, n_threads=2, verbose=False)
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    out = llm(prompt, max_tokens=24, temperature=0.0, top_k=1)
    print(f"{path}: {out['choices'][0]['text']!r}")


if __name__ == "__main__":
    main()
