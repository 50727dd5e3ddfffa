#!/usr/bin/env python3
"""Dump llama.cpp's intermediate tensors for a token sequence (the per-layer oracle).

Runs the model through llama-cpp-python with an eval callback (llama.cpp's cb_eval) and saves
every F32 tensor of the compute graph whose name matches, as an .npz of arrays shaped
(tokens, width) -- ggml's ne[0] is the row. Compare with `ember` traces to find the first layer
where two implementations part:

  EMBER_ORACLE_PY=... scripts/golden/trace_llama_cpp.py MODEL --tokens 1,2,3 --out trace.npz
"""
import argparse
import ctypes
import re
import sys

import numpy as np
import llama_cpp

GGML_MAX_DIMS, GGML_MAX_SRC, GGML_MAX_OP_PARAMS, GGML_MAX_NAME = 4, 10, 64, 64


class GgmlTensor(ctypes.Structure):
    # Layout of struct ggml_tensor (ggml/include/ggml.h of the vendored llama.cpp).
    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * (GGML_MAX_OP_PARAMS // 4)),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * GGML_MAX_SRC),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * GGML_MAX_NAME),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True)
    ap.add_argument("--match", default=r".*", help="regex on tensor names (e.g. 'l_out|ffn_inp')")
    ap.add_argument("--kv-f32", action="store_true")
    args = ap.parse_args()
    tokens = [int(t) for t in args.tokens.split(",")]
    pattern = re.compile(args.match)
    captured = {}

    @llama_cpp.ggml_backend_sched_eval_callback
    def callback(tensor_ptr, ask, user_data):
        t = ctypes.cast(tensor_ptr, ctypes.POINTER(GgmlTensor)).contents
        name = t.name.decode(errors="replace")
        if ask:
            return bool(pattern.search(name))
        if t.type != 0 or not t.data:  # F32 only
            return True
        ne = list(t.ne)
        nb = list(t.nb)
        n = ne[0] * ne[1] * ne[2] * ne[3]
        # Walk the strides: views (permutes) are not contiguous.
        max_off = sum((ne[i] - 1) * nb[i] for i in range(4)) + 4
        buf = (ctypes.c_char * max_off).from_address(t.data)
        raw = np.frombuffer(buf, dtype=np.uint8)
        arr = np.lib.stride_tricks.as_strided(
            raw.view(np.float32) if all(s % 4 == 0 for s in nb) else raw,
            shape=tuple(reversed(ne)), strides=tuple(reversed(nb)))
        captured[name] = np.array(arr, dtype=np.float32).reshape(-1, ne[0]) if n else np.zeros(0)
        return True

    kw = {"type_k": 0, "type_v": 0} if args.kv_f32 else {}
    llm = llama_cpp.Llama(model_path=args.model, n_threads=2, n_ctx=max(512, len(tokens)),
                          n_batch=max(512, len(tokens)), n_ubatch=max(512, len(tokens)),
                          logits_all=True, verbose=bool(__import__("os").environ.get("TRACE_VERBOSE")), **kw)
    # Install the callback on a fresh context built with the same parameters.
    params = llm.context_params
    params.cb_eval = callback
    params.cb_eval_user_data = None
    ctx = llama_cpp.llama_init_from_model(llm.model, params)
    token_array = (llama_cpp.llama_token * len(tokens))(*tokens)  # must outlive the decode
    batch = llama_cpp.llama_batch_get_one(token_array, len(tokens))
    rc = llama_cpp.llama_decode(ctx, batch)
    if rc != 0:
        sys.exit(f"llama_decode failed: {rc}")
    llama_cpp.llama_free(ctx)
    np.savez(args.out, **captured)
    print(f"{len(captured)} tensors -> {args.out}")


if __name__ == "__main__":
    main()
