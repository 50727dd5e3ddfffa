#!/usr/bin/env python3
"""Golden tokenizer data from llama.cpp itself (llama-cpp-python, vocab_only=True).

Writes tests/data/tokenizer/corpus.json (the test strings) and tests/data/tokenizer/<name>.json per
vocabulary: ids with (add_special=False, parse_special=False) and (True, True), llama_detokenize of
both, the special-token ids, the EOG set, and FNV-1a hashes of every token's piece.

Usage: EMBER_ORACLE_PY=... scripts/golden/make_tokenizer_golden.py  (run with the oracle python)
       Models come from $EMBER_MODELS (default <repo>/models); a missing one is skipped.
"""
import base64
import ctypes
import json
import os
import random
import sys

import llama_cpp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.environ.get("EMBER_MODELS", os.path.join(REPO, "models"))
OUT = os.path.join(REPO, "tests", "data", "tokenizer")

VOCABS = [
    ("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    ("gemma3", "gemma-3-270m-q4_k_m.gguf"),
    ("llama2", "llama2-vocab.gguf"),
]

# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------
SAMPLES = {
    "prose": [
        "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
        "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "I'm sure you'll see they've done it; we'd've known. Don't!", "IT'S ALL CAPS, ISN'T IT? YOU'LL SEE.",
        "What is the capital of France?", "The capital of France is Paris.", " leading space", "trailing space ",
        "  two leading", "a  b   c    d", "Mr. Smith went to Washington D.C. on Jan. 5th.", "e.g. i.e. etc. vs.",
        "She said \"hello\" and 'goodbye'.", "Well... maybe?! No!!", "rock 'n' roll", "the dog's bone", "O'Neil's",
    ],
    "code": [
        "def foo(x):\n    return x * 2\n", "int main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}",
        "for (int i = 0; i < n; ++i) { sum += a[i]; }", "const x = async () => { await fetch('/api'); };",
        "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }", "SELECT * FROM users WHERE id = 1;",
        "#include <stdio.h>\n", "if x != None and y >= 3:\n\tpass", "<div class=\"a\"><p>Hi</p></div>",
        "x = [1, 2, 3]; y = {'a': 1}", "    indented\n        more\n", "func (s *Server) Run() error {",
        "public static void main(String[] args) {}", "$ ls -la | grep foo && echo $HOME", "a->b; c::d; e?.f ?? g",
        "// comment\n/* block */", "#!/usr/bin/env bash\nset -euo pipefail\n", "λx. x + 1", "x**2 + y**2 == z**2",
    ],
    "whitespace": [
        " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ", " \t\n",
        "a\tb", "a\nb", "a\r\nb", "a \n b", "a  \n\n  b", "\t\tindent", "line1\nline2\n", "  \n  \n", "x\n\n\ny",
        "end with newline\n", "\u00a0", "a\u00a0b", "a\u3000b", "a\u2028b", "a\u2029b", "a\u0085b", "a\u200bb",
        "a\u2003\u2003b", " \u00a0 ", "\v\f", "a\x0bb\x0cc", "\u1680", "a\u202fb\u205fc",
    ],
    "numbers": [
        "0", "1", "12", "123", "1234", "12345", "123456789", "3.14159", "-42", "+7", "1,000,000", "1e10",
        "2024-05-01", "05/01/2024", "12:34:56", "1st 2nd 3rd 4th", "0x1F", "100%", "$9.99", "€10,50",
        "¹²³", "½ ¾", "٣٤٥", "१२३", "一二三", "①②③", "Ⅻ", "๑๒๓", "ⅷ", "1.2.3.4", "v1.0.0-rc1",
    ],
    "punctuation": [
        "!!!", "???", "...", "---", "***", "!?!?", "()[]{}", "<<>>", "@#$%^&*", "\"'`", ";;;", ":::",
        "—–-", "…", "«»", "„“", "¿¡", "、。", "，！", "·•", "§¶", "†‡", "~~~", "___", "|||", "\\\\",
        "=>", "!=", "::", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'x", "''",
    ],
    "urls": [
        "https://example.com/path?q=1&r=2#frag", "http://localhost:8080/", "ftp://files.example.org/a.tar.gz",
        "user@example.com", "www.google.com", "https://en.wikipedia.org/wiki/Tokenization_(lexical_analysis)",
        "file:///home/user/doc.txt", "mailto:a@b.c",
    ],
    "emoji": [
        "🙂", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵🇺🇸", "❤️", "✨🔥💯", "🧑‍💻", "😀 smile",
        "a🙂b", "🤖🤖🤖", "☕", "⚡️", "🫠",
    ],
    "chinese": ["你好", "你好，世界！", "中华人民共和国", "我爱自然语言处理。", "的的的", "繁體中文與简体中文",
                "𠀀𠀁", "今天天气很好，我们去公园吧。"],
    "japanese": ["こんにちは", "カタカナ", "ｶﾀｶﾅ", "ﾊﾝｶｸｶﾀｶﾅ", "漢字とひらがなとカタカナ", "東京都", "ありがとうございます。",
                 "ｱｲｳｴｵ ﾞﾟ", "ー〜"],
    "korean": ["안녕하세요", "한국어 텍스트", "대한민국", "ㄱㄴㄷ", "각"],
    "arabic": ["مرحبا بالعالم", "السلام عليكم", "العربية", "كتاب", "مُحَمَّد"],
    "hebrew": ["שלום עולם", "עברית", "בְּרֵאשִׁית"],
    "devanagari": ["नमस्ते", "हिन्दी भाषा", "संस्कृतम्", "क्षत्रिय"],
    "thai": ["สวัสดีครับ", "ภาษาไทย", "กรุงเทพมหานคร"],
    "accents": ["café", "naïve", "résumé", "Ångström", "Zürich", "São Paulo", "œuvre", "ﬁ ligature",
                "e\u0301", "n\u0303", "A\u030a", "Ç̧", "ǅ ǈ ǋ", "ß ẞ", "İstanbul", "ı i"],
    "cyrillic": ["Привет, мир!", "Русский язык", "Ёлка", "Україна", "Српски"],
    "greek": ["Γειά σου Κόσμε", "αβγδε", "Ωmega"],
    "fullwidth": ["ＡＢＣ", "ａｂｃ", "１２３", "！？", "Ｈｅｌｌｏ　Ｗｏｒｌｄ", "＠＃＄"],
    "control": ["\x00", "a\x00b", "\x01\x02\x03", "\x1b[31mred\x1b[0m", "\x7f", "\x1c\x1d\x1e\x1f", "tab\there",
                "\x08back", "\u200e\u200f", "\ufeffBOM", "\u2060", "\ufffd", "\ue000", "\U000f0000"],
    "special": [
        "<|im_start|>", "<|im_end|>", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<s>", "</s>",
        "<s>Hello</s>", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n", "<unk>", "<pad>", "<bos>",
        "<eos>", "<mask>", "<|endoftext|>", "<0x41>", "<0x0A>", "[INST] hi [/INST]", "<|im_start", "im_start|>",
        "<<s>>", "<s><s>", "< s >", "<|im_start|><|im_end|>", "<unused5>", "<unused99>", "text<|im_end|>text",
        "<repo_name>x<file_sep>y", "<|eot_id|>", "<end_of_turn>", "<start_of_image>", "[multimodal]", "<|",
        "|>", "<>", "</", "<start_of_turn", " <s> ", "\n<s>\n", "<|im_end|> trailing", "▁", "▁▁x", "▁hello",
    ],
    "mixed": ["Hello 世界 🌍 мир", "abc123def", "CamelCaseWord", "snake_case_word", "kebab-case-word", "ALLCAPS",
              "MiXeD cAsE", "x1y2z3", "e-mail", "don't-stop", "3D-printed", "H2O", "COVID-19"],
}

LONG = [
    "a" * 1000, " " * 500, "\n" * 300, "ab" * 400, "🙂" * 150, "的" * 300, "1234567890" * 50, "<s>" * 40,
    "=-" * 200, "\t" * 100, "hello " * 150, "<|im_start|>" * 20, "a " * 300, "!" * 300, ("The quick brown fox. " * 40),
    "\r\n" * 100, "  \n" * 100, "ﾊ" * 200, "é" * 300, "e\u0301" * 100,
]

INVALID = [
    b"\xff", b"\xfe\xff", b"\x80", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe4\xbd", b"\xe4\xbdx", b"\xf0\x9f\x99",
    b"\xf0\x9f", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf8\x88\x80\x80\x80", b"caf\xe9", b"\xbf\xbf",
    b"ok \xf0\x9f\x99\x82 ok", b"\x00\xff\x00", b"\xc2\xa0\xa0", b"<|im_start|>\xff<|im_end|>", b"\xef\xbb\xbf",
]


def lenient_max_cpt(b: bytes) -> int:
    """Largest code point llama.cpp's decoder produces (it aborts above U+10FFFF)."""
    i, m = 0, 0
    cont = lambda k: k < len(b) and (b[k] & 0xC0) == 0x80
    while i < len(b):
        c = b[i]
        if c < 0x80:
            cp, n = c, 1
        elif not c & 0x40:
            cp, n = 0xFFFD, 1
        elif not c & 0x20:
            cp, n = ((c & 0x1F) << 6 | (b[i + 1] & 0x3F), 2) if cont(i + 1) else (0xFFFD, 1)
        elif not c & 0x10:
            cp, n = (0, 3) if cont(i + 1) and cont(i + 2) else (0xFFFD, 1)
        elif not c & 0x08:
            if cont(i + 1) and cont(i + 2) and cont(i + 3):
                cp = (c & 7) << 18 | (b[i + 1] & 0x3F) << 12 | (b[i + 2] & 0x3F) << 6 | (b[i + 3] & 0x3F)
                n = 4
            else:
                cp, n = 0xFFFD, 1
        else:
            cp, n = 0xFFFD, 1
        m = max(m, cp)
        i += n
    return m


def build_corpus():
    rng = random.Random(4)
    corpus = []
    for cat in SAMPLES.values():
        corpus.extend(s.encode() for s in cat)
    corpus.extend(s.encode() for s in LONG)
    corpus.extend(INVALID)
    flat = [s for cat in SAMPLES.values() for s in cat]
    seps = [" ", "", "\n", "\t", "\r\n", "  ", " \n", "\n\n", ", ", ". ", "\u3000"]
    while len(corpus) < 900:
        parts = rng.sample(flat, rng.randint(2, 4))
        text = parts[0]
        for p in parts[1:]:
            text += rng.choice(seps) + p
        corpus.append(text.encode())
    # Random code points from the ranges tokenizers find hard.
    ranges = [(0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
              (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF),
              (0x2000, 0x206F), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF),
              (0x1F300, 0x1FAFF), (0x20000, 0x2A6DF), (0x30000, 0x3134F), (0x31350, 0x323AF), (0x11F00, 0x11F5F),
              (0x1E4D0, 0x1E4FF), (0xE0000, 0xE007F), (0x0, 0x1F)]
    while len(corpus) < 1150:
        n = rng.randint(1, 24)
        chars = []
        for _ in range(n):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        corpus.append("".join(chars).encode("utf-8", "surrogatepass"))
    while len(corpus) < 1200:
        b = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 20)))
        if lenient_max_cpt(b) <= 0x10FFFF:
            corpus.append(b)
    return corpus


def encode_str(b: bytes):
    try:
        return {"text": b.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(b).decode()}


# --------------------------------------------------------------------------------------------
# llama.cpp calls
# --------------------------------------------------------------------------------------------
def tokenize(vocab, b: bytes, add_special: bool, parse_special: bool):
    n = len(b) + 8
    buf = (llama_cpp.llama_token * n)()
    r = llama_cpp.llama_tokenize(vocab, b, len(b), buf, n, add_special, parse_special)
    if r < 0:
        n = -r
        buf = (llama_cpp.llama_token * n)()
        r = llama_cpp.llama_tokenize(vocab, b, len(b), buf, n, add_special, parse_special)
    assert r >= 0
    return list(buf[:r])


def detokenize(vocab, ids, remove_special: bool, unparse_special: bool) -> bytes:
    arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
    size = 64 + 16 * len(ids)
    out = ctypes.create_string_buffer(size)
    r = llama_cpp.llama_detokenize(vocab, arr, len(ids), out, size, remove_special, unparse_special)
    if r < 0:
        size = -r
        out = ctypes.create_string_buffer(size)
        r = llama_cpp.llama_detokenize(vocab, arr, len(ids), out, size, remove_special, unparse_special)
    return out.raw[:r]


def piece(vocab, token: int, special: bool) -> bytes:
    buf = ctypes.create_string_buffer(256)
    r = llama_cpp.llama_token_to_piece(vocab, token, buf, 256, 0, special)
    if r < 0:
        buf = ctypes.create_string_buffer(-r)
        r = llama_cpp.llama_token_to_piece(vocab, token, buf, -r, 0, special)
    return buf.raw[:r]


def fnv1a(data: bytes, h: int) -> int:
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def main():
    os.makedirs(OUT, exist_ok=True)
    corpus = build_corpus()
    with open(os.path.join(OUT, "corpus.json"), "w") as f:
        json.dump({"source": "scripts/golden/make_tokenizer_golden.py", "strings": [encode_str(b) for b in corpus]},
                  f, ensure_ascii=True, indent=0)
    print(f"corpus: {len(corpus)} strings")
    for name, file in VOCABS:
        path = os.path.join(MODELS, file)
        if not os.path.exists(path):
            print(f"{name}: skipped ({path} not found)")
            continue
        llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
        vocab = llm._model.vocab
        n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        cases = []
        for b in corpus:
            plain = tokenize(vocab, b, False, False)
            full = tokenize(vocab, b, True, True)
            cases.append({
                "plain": plain,
                "full": full,
                "detok_plain": b64(detokenize(vocab, plain, False, False)),
                "detok_full": b64(detokenize(vocab, full, True, True)),
                "detok_full_keep": b64(detokenize(vocab, full, False, False)),
            })
        # Token pieces: FNV-1a 64 over (u32 length, bytes) of each piece, one hash per 1024 ids.
        chunks = {"special": [], "plain": []}
        for special, key in ((True, "special"), (False, "plain")):
            for start in range(0, n_vocab, 1024):
                h = 0xCBF29CE484222325
                for t in range(start, min(n_vocab, start + 1024)):
                    p = piece(vocab, t, special)
                    h = fnv1a(len(p).to_bytes(4, "little") + p, h)
                chunks[key].append(format(h, "016x"))
        eog = [t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)]
        info = {
            "n_vocab": n_vocab,
            "bos": llama_cpp.llama_vocab_bos(vocab),
            "eos": llama_cpp.llama_vocab_eos(vocab),
            "eot": llama_cpp.llama_vocab_eot(vocab),
            "nl": llama_cpp.llama_vocab_nl(vocab),
            "pad": llama_cpp.llama_vocab_pad(vocab),
            "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
            "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(vocab)),
            "eog": eog,
        }
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump({"model": file, "llama_cpp_python": llama_cpp.__version__, "info": info,
                       "piece_hashes": chunks, "cases": cases}, f, separators=(",", ":"))
        print(f"{name}: {len(cases)} cases, {os.path.getsize(os.path.join(OUT, name + '.json'))} bytes")


if __name__ == "__main__":
    main()
