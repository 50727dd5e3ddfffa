#!/usr/bin/env python3
"""Golden data for ember's GGUF reader and writer, made with the reference reader (PyPI `gguf`).

Writes into tests/data/gguf/ (the tests read these; they never need this script or its python):
  <model stem>.json          for each real model found: header, every metadata key (type, value;
                             long arrays as length + sha256 + first/last items), every tensor (name,
                             type, shape ne[0]-first, offset, n_bytes, sha256 of its data).
  ggml_types.json            every ggml type id the reference knows: name, block size, block bytes.
  writer_fixture.gguf        a small file written by ember's GgufWriter (every value type, nested
                             and empty arrays, tensors of several types), made by the test-side
                             generator `make_gguf_fixtures` (build it first: ninja make_gguf_fixtures).
  writer_fixture.python.json the reference reader's reading of that file, in the same format, with
                             a "verdict": the test checks that ember reads the same file identically.

Array hashes: sha256 over the array's items in their GGUF encoding (strings as u64 length + bytes,
scalars little-endian, nested arrays with their u32 type + u64 count header): exactly the bytes
that follow the array's count in the file.

Usage: EMBER_ORACLE_PY=... $EMBER_ORACLE_PY scripts/golden/make_gguf_golden.py [--build DIR]
  (default oracle: /root/.cache/ember/oracle-venv/bin/python; models from $EMBER_MODELS or models/)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ORACLE_PY = os.environ.get("EMBER_ORACLE_PY", "/root/.cache/ember/oracle-venv/bin/python")
if sys.executable != ORACLE_PY and not os.environ.get("EMBER_GOLDEN_REEXEC") and os.path.exists(ORACLE_PY):
    os.environ["EMBER_GOLDEN_REEXEC"] = "1"  # run under the oracle python, once
    os.execv(ORACLE_PY, [ORACLE_PY, *sys.argv])

import gguf  # noqa: E402
import numpy as np  # noqa: E402
from gguf import GGUFReader, GGUFValueType
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "gguf"
MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]
SHORT_ARRAY = 16  # arrays up to this length are stored whole
EDGE_ITEMS = 3    # longer arrays: this many items from each end

TYPE_NAMES = {
    GGUFValueType.UINT8: "u8", GGUFValueType.INT8: "i8", GGUFValueType.UINT16: "u16",
    GGUFValueType.INT16: "i16", GGUFValueType.UINT32: "u32", GGUFValueType.INT32: "i32",
    GGUFValueType.FLOAT32: "f32", GGUFValueType.BOOL: "bool", GGUFValueType.STRING: "str",
    GGUFValueType.ARRAY: "arr", GGUFValueType.UINT64: "u64", GGUFValueType.INT64: "i64",
    GGUFValueType.FLOAT64: "f64",
}


def json_scalar(x):
    """A numpy scalar as JSON: ints exact, floats exact (repr round-trips), non-finite as text."""
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.floating, float)):
        f = float(x)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return int(x)


def json_string(raw: bytes):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": raw.hex()}


def decode(parts, i: int, vtype: int):
    """Rebuilds one value from a ReaderField's parts (GGUFReader flattens nested arrays).

    Returns (json value, raw item bytes, next part index)."""
    vtype = GGUFValueType(int(vtype))
    if vtype == GGUFValueType.STRING:
        raw = parts[i].tobytes() + parts[i + 1].tobytes()
        return json_string(parts[i + 1].tobytes()), raw, i + 2
    if vtype != GGUFValueType.ARRAY:
        return json_scalar(parts[i][0]), parts[i].tobytes(), i + 1
    elem = GGUFValueType(int(parts[i][0]))
    count = int(parts[i + 1][0])
    header = parts[i].tobytes() + parts[i + 1].tobytes()
    i += 2
    items, raws = [], []
    for _ in range(count):
        v, raw, i = decode(parts, i, elem)
        items.append(v)
        raws.append(raw)
    body = b"".join(raws)
    out = {"elem_type": TYPE_NAMES[elem], "length": count,
           "sha256": hashlib.sha256(body).hexdigest()}
    if count <= SHORT_ARRAY:
        out["items"] = items
    else:
        out["head"] = items[:EDGE_ITEMS]
        out["tail"] = items[-EDGE_ITEMS:]
    return out, header + body, i


def describe(path: Path, name: str) -> dict:
    r = GGUFReader(str(path))
    meta = []
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue  # the reader's pseudo-fields for the header
        vtype = GGUFValueType(int(field.parts[2][0]))
        value, _, end = decode(field.parts, 3, vtype)
        assert end == len(field.parts), key
        meta.append({"key": key, "type": TYPE_NAMES[vtype], "value": value})
    tensors = []
    for t in r.tensors:
        raw_offset = int(t.field.parts[5][0])
        data = np.ascontiguousarray(t.data).tobytes()
        assert len(data) == t.n_bytes, t.name
        tensors.append({
            "name": t.name,
            "type": GGMLQuantizationType(int(t.tensor_type)).name,
            "type_id": int(t.tensor_type),
            "shape": [int(d) for d in t.shape],
            "offset": raw_offset,
            "n_bytes": int(t.n_bytes),
            "data_sha256": hashlib.sha256(data).hexdigest(),
        })
    fields = r.fields
    return {
        "file": name,
        "made_by": f"scripts/golden/make_gguf_golden.py with gguf {gguf_version()}",
        "file_size": int(path.stat().st_size),
        "version": int(fields["GGUF.version"].parts[0][0]),
        "tensor_count": int(fields["GGUF.tensor_count"].parts[0][0]),
        "kv_count": int(fields["GGUF.kv_count"].parts[0][0]),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "metadata": meta,
        "tensors": tensors,
    }


def gguf_version() -> str:
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:  # noqa: BLE001
        return "unknown"


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=str(REPO / "build"),
                    help="ember build folder holding bin/make_gguf_fixtures")
    ap.add_argument("--models", default=os.environ.get("EMBER_MODELS", str(REPO / "models")))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    write_json(OUT / "ggml_types.json", {
        "made_by": f"gguf {gguf_version()} GGML_QUANT_SIZES",
        "types": [{"id": int(t), "name": t.name, "block_size": bs, "bytes_per_block": ts}
                  for t, (bs, ts) in sorted(GGML_QUANT_SIZES.items())],
    })

    for name in MODELS:
        path = Path(args.models) / name
        if not path.exists():
            print(f"skipping {name}: not in {args.models} (run scripts/fetch-models)")
            continue
        write_json(OUT / (Path(name).stem + ".json"), describe(path, name))

    # The writer check: ember writes the fixture, the reference reads it.
    tool = Path(args.build) / "bin" / "make_gguf_fixtures"
    fixture = OUT / "writer_fixture.gguf"
    if tool.exists():
        subprocess.run([str(tool), "--fixture", str(fixture)], check=True)
    elif not fixture.exists():
        print(f"error: {tool} not built and no {fixture}", file=sys.stderr)
        return 1
    try:
        d = describe(fixture, fixture.name)
        d["verdict"] = "ok: the gguf package read the file without error"
    except Exception as e:  # noqa: BLE001  (the verdict records any failure)
        d = {"file": fixture.name, "verdict": f"error: {type(e).__name__}: {e}"}
    d["fixture_sha256"] = hashlib.sha256(fixture.read_bytes()).hexdigest()
    write_json(OUT / "writer_fixture.python.json", d)
    return 0 if d["verdict"].startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
