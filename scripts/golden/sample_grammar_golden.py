#!/usr/bin/env python3
"""Golden verdicts of llama.cpp's grammar engine on byte strings, for ember's GBNF matcher.

For each grammar (GBNF text, or a JSON Schema converted by llama.cpp's converter) and each test
string, llama.cpp's grammar sampler (SmolLM2 vocabulary) is fed the string's tokens one by one;
the verdict is "reject" if some token is masked, "complete" if end-of-generation is then allowed,
"prefix" otherwise. ember's test (tests/sample/grammar_test.cpp) replays the strings on its
own matcher (and, for schemas, its own converter) and must give the same verdicts.

Run: ${EMBER_ORACLE_PY:-/root/.cache/ember/oracle-venv/bin/python} scripts/golden/sample_grammar_golden.py
"""
import ctypes
import json
import os
import subprocess

import llama_cpp as L
from llama_cpp.llama_grammar import json_schema_to_gbnf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(os.environ.get("EMBER_MODELS", os.path.join(ROOT, "models")),
                     "SmolLM2-135M-Instruct.Q4_1.gguf")
SDIST_GRAMMARS = "/tmp/llsrc/llama_cpp_python-0.3.36/vendor/llama.cpp/grammars"

ARITH = r'''root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= number | "(" expr ")"
number ::= [0-9]+ ("." [0-9]+)?
'''

ARITH_STRINGS = ["1+2", "(3*4)-5", "1+", "((1)", "12/4*(2-1)", "", "a", "1 + 2", "3.25*(7-0.5)",
                 "((((9))))", "1..2", "2*", "(1+2)*(3+4)/5", ")", "007", "1.", "10-(2"]

JSON_STRINGS = ['{}', '{"a": 1}', '{"a":1,"b":[true,false,null]}', '{"a": "x\\"y"}', '{"a"}',
                '[1,2]', '{"k": "日本語 é"}', '{"n": -0.5e10}', '{"n": 01}', '{"a": {"b": {"c": []}}}',
                '{"a": 1,}', '{"a": "\\u00e9"}', '{"a": "tab\there"}', '{', '{"a": tru',
                '{"a": 1}  ', '{"a":\n  1\n}']

SCHEMAS = [
    ("person", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 12},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "role": {"enum": ["admin", "user", "guest"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
            "address": {"type": "object",
                        "properties": {"city": {"type": "string"}, "zip": {"type": "string", "maxLength": 5}},
                        "required": ["city"]},
            "score": {"type": "number"},
        },
        "required": ["name", "age", "role"],
    }, ['{"name": "Ann", "age": 31, "role": "admin"}',
        '{"name":"Bo","age":0,"role":"guest","tags":["a","b"],"address":{"city":"Oslo"},"score":1.5}',
        '{"name": "Ann", "age": 151, "role": "admin"}',
        '{"name": "", "age": 3, "role": "user"}',
        '{"name": "Ann", "role": "admin"}',
        '{"name": "Ann", "age": 31, "role": "root"}',
        '{"name": "Ann", "age": 31, "role": "user", "tags": []}',
        '{"name": "Ann", "age": 31, "role": "user", "tags": ["a","b","c","d"]}',
        '{"name": "Ann", "age": 31, "role": "user", "address": {"zip": "1"}}',
        '{"name": "Ann", "age": 31, "role": "user", "extra": 1}',
        '{"name": "Ann", "age": 31, "role": "user", "score": -2.5e3}',
        '{"name": "Ann", "age": 31',
        '{"age": 31, "name": "Ann", "role": "user"}',
        '{"name": "Averyveryverylongname", "age": 1, "role": "user"}']),
    ("refs_oneof", {
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                            "required": ["x", "y"]}},
        "type": "object",
        "properties": {
            "shape": {"oneOf": [{"const": "circle"}, {"const": "square"}]},
            "center": {"$ref": "#/$defs/point"},
            "points": {"type": "array", "items": {"$ref": "#/$defs/point"}, "maxItems": 2},
            "id": {"type": "integer", "minimum": -5, "maximum": 1000},
            "flag": {"type": ["boolean", "null"]},
        },
        "required": ["shape", "center"],
    }, ['{"shape": "circle", "center": {"x": 1, "y": 2}}',
        '{"shape": "square", "center": {"x": 1.5, "y": -2}, "points": [{"x": 0, "y": 0}], "id": -5}',
        '{"shape": "triangle", "center": {"x": 1, "y": 2}}',
        '{"shape": "circle", "center": {"x": 1}}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "id": 1001}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "id": -6}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "id": 999}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "flag": null}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "flag": true}',
        '{"shape": "circle", "center": {"x": 1, "y": 2}, "points": [{"x":0,"y":0},{"x":0,"y":0},{"x":0,"y":0}]}']),
    ("list_of_ints", {"type": "array", "items": {"type": "integer", "minimum": 10, "maximum": 99},
                      "minItems": 2},
     ['[10, 99]', '[10]', '[9, 10]', '[10, 100]', '[55,56,57,58]', '[]', '[10, 20']),
]


def schema_valid(schema, strings):
    """JSON Schema validity of each string (None: not JSON), by the `jsonschema` package; run in
    the system python when the oracle venv lacks it."""
    prog = ("import json,sys,jsonschema\n"
            "d=json.load(sys.stdin)\n"
            "out=[]\n"
            "for s in d['strings']:\n"
            "  try: v=json.loads(s)\n"
            "  except Exception: out.append(None); continue\n"
            "  out.append(jsonschema.Draft202012Validator(d['schema']).is_valid(v))\n"
            "print(json.dumps(out))\n")
    for py in (os.environ.get("EMBER_ORACLE_PY", ""), "python3"):
        if not py:
            continue
        r = subprocess.run([py, "-c", prog], input=json.dumps({"schema": schema, "strings": strings}),
                           capture_output=True, text=True)
        if r.returncode == 0:
            return json.loads(r.stdout)
    raise SystemExit("need the jsonschema package (pip install jsonschema) in some python")


def main():
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.vocab_only = True
    model = L.llama_model_load_from_file(MODEL.encode(), mp)
    vocab = L.llama_model_get_vocab(model)
    eos = L.llama_vocab_eos(vocab)

    def tokenize(text):
        b = text.encode()
        buf = (L.llama_token * (len(b) + 8))()
        n = L.llama_tokenize(vocab, b, len(b), buf, len(buf), False, False)
        assert n >= 0
        return list(buf[:n])

    def allowed(smpl, tok):
        d = L.llama_token_data(tok, 1.0, 0.0)
        arr = L.llama_token_data_array(ctypes.pointer(d), 1, -1, False)
        L.llama_sampler_apply(smpl, ctypes.byref(arr))
        return d.logit != float("-inf")

    def verdict(gbnf, text):
        smpl = L.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
        assert smpl, "llama.cpp rejected the grammar"
        try:
            for t in tokenize(text):
                if not allowed(smpl, t):
                    return "reject"
                L.llama_sampler_accept(smpl, t)
            return "complete" if allowed(smpl, eos) else "prefix"
        finally:
            L.llama_sampler_free(smpl)

    out = []
    out.append({"name": "arithmetic", "gbnf": ARITH,
                "strings": [[s, verdict(ARITH, s)] for s in ARITH_STRINGS]})
    with open(os.path.join(SDIST_GRAMMARS, "json.gbnf")) as f:
        json_gbnf = f.read()
    out.append({"name": "json_gbnf", "gbnf": json_gbnf,
                "strings": [[s, verdict(json_gbnf, s)] for s in JSON_STRINGS]})
    with open(os.path.join(SDIST_GRAMMARS, "arithmetic.gbnf")) as f:
        arith2 = f.read()
    out.append({"name": "llama_arithmetic_gbnf", "gbnf": arith2,
                "strings": [[s, verdict(arith2, s)] for s in ["x=1\n", "a+b=c*2\n", "(1)=2\n1=1\n", "x=\n", "x=1", "1+=2\n"]]})
    for name, schema, strings in SCHEMAS:
        # llama-cpp-python's converter (a Python port of llama.cpp's) ignores integer bounds, so a
        # string its grammar completes but the schema rejects is labelled "reject": the expected
        # verdict is "llama.cpp's grammar accepts it AND the schema validates it".
        g = json_schema_to_gbnf(json.dumps(schema))
        valid = schema_valid(schema, strings)
        rows = []
        for s, ok in zip(strings, valid):
            v = verdict(g, s)
            if v == "complete" and ok is False:
                v = "reject"
            rows.append([s, v])
        out.append({"name": "schema_" + name, "schema": schema, "llama_gbnf": g, "strings": rows})
    L.llama_model_free(model)
    path = os.path.join(ROOT, "tests", "data", "sample", "grammar_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    for g in out:
        print(g["name"], [v for _, v in g["strings"]])


if __name__ == "__main__":
    main()
