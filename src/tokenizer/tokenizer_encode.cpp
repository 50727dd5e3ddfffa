// Text -> ids: special-token partition, then SentencePiece-style merges (SPM) or byte-level BPE on
// each raw fragment, as llama.cpp's llama_vocab::impl::tokenize.
//
// SPM: the fragment (with "▁" for spaces) starts as one symbol per UTF-8 character; the adjacent
// pair whose concatenation is a token with the highest score merges first (ties: leftmost), until
// no pair is a token; symbols that are not tokens become <0xXX> byte tokens.
// BPE: each pre-tokenizer word (in the GPT-2 byte alphabet) starts as one symbol per character; the
// pair with the lowest merge rank merges first (ties: leftmost).
#include <algorithm>
#include <cctype>
#include <queue>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace ember {
namespace {

struct Symbol {
  int32_t prev;
  int32_t next;
  size_t offset;  // into the fragment
  size_t n;       // bytes; 0 once merged away
};

// Splits into one symbol per UTF-8 character by lead byte (clipped at the end), as llama.cpp.
std::vector<Symbol> CharSymbols(std::string_view s) {
  std::vector<Symbol> symbols;
  symbols.reserve(s.size());
  size_t offs = 0;
  int32_t index = 0;
  while (offs < s.size()) {
    const size_t len = std::min(unicode::Utf8SeqLen(s[offs]), s.size() - offs);
    Symbol sym{index - 1, 0, offs, len};
    offs += len;
    sym.next = offs == s.size() ? -1 : index + 1;
    ++index;
    symbols.push_back(sym);
  }
  return symbols;
}

struct SpmBigram {
  int32_t left, right;
  float score;
  size_t size;
};
struct SpmOrder {  // highest score first, then leftmost
  bool operator()(const SpmBigram& l, const SpmBigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

struct BpeBigram {
  int32_t left, right;
  int32_t rank;
  size_t size;
};
struct BpeOrder {  // lowest rank first, then leftmost
  bool operator()(const BpeBigram& l, const BpeBigram& r) const {
    return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
  }
};

}  // namespace

int32_t Tokenizer::Impl::ByteToTokenSpm(uint8_t byte) const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char buf[6] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
  int32_t id = Find(std::string(buf, 6));
  if (id < 0) id = Find(std::string(1, static_cast<char>(byte)));
  return id;
}

void Tokenizer::Impl::EncodeSpm(const std::string& s, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols = CharSymbols(s);
  std::priority_queue<SpmBigram, std::vector<SpmBigram>, SpmOrder> queue;
  std::string scratch;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left == -1 || right == -1) return;
    const size_t size = symbols[left].n + symbols[right].n;
    scratch.assign(s, symbols[left].offset, size);
    const int32_t id = Find(scratch);
    if (id < 0) return;
    queue.push({left, right, score[id], size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const SpmBigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  if (symbols.empty()) return;
  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& sym = symbols[i];
    scratch.assign(s, sym.offset, sym.n);
    const int32_t id = Find(scratch);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Not a token (merges only ever form tokens, so this is one character): bytes.
    for (size_t j = 0; j < sym.n; ++j) {
      const int32_t byte_id = ByteToTokenSpm(static_cast<uint8_t>(s[sym.offset + j]));
      // llama.cpp throws (and aborts) when a vocabulary lacks a byte token; ember uses <unk>.
      if (byte_id >= 0) {
        out.push_back(byte_id);
      } else if (unk >= 0) {
        out.push_back(unk);
      }
    }
  }
}

void Tokenizer::Impl::EncodeBpe(std::string_view text, std::vector<int32_t>& out) const {
  const std::vector<std::string> words = pretokenizer->Split(text, /*byte_encode=*/true);
  std::string key, scratch;
  std::vector<Symbol> symbols;
  std::priority_queue<BpeBigram, std::vector<BpeBigram>, BpeOrder> queue;
  for (const std::string& word : words) {
    if (word.empty()) continue;
    if (ignore_merges) {
      const int32_t id = Find(word);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    symbols = CharSymbols(word);
    queue = {};
    auto try_add = [&](int32_t left, int32_t right) {
      if (left == -1 || right == -1) return;
      const Symbol& l = symbols[left];
      const Symbol& r = symbols[right];
      MergeKey(key, std::string_view(word).substr(l.offset, l.n),
               std::string_view(word).substr(r.offset, r.n));
      const auto it = bpe_ranks.find(key);
      if (it == bpe_ranks.end()) return;
      queue.push({left, right, it->second, l.n + r.n});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
      const BpeBigram b = queue.top();
      queue.pop();
      Symbol& l = symbols[b.left];
      Symbol& r = symbols[b.right];
      if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[r.next].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }
    for (const Symbol& sym : symbols) {
      if (sym.n == 0) continue;
      scratch.assign(word, sym.offset, sym.n);
      const int32_t id = Find(scratch);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      // llama.cpp looks up each single byte of the symbol's (byte-alphabet) text and drops the
      // ones that are not tokens.
      for (char c : scratch) {
        const int32_t byte_id = Find(std::string(1, c));
        if (byte_id >= 0) out.push_back(byte_id);
      }
    }
  }
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  return Encode(text, add_special && impl_->add_bos, add_special && impl_->add_eos, parse_special);
}

std::vector<int32_t> Tokenizer::Encode(std::string_view raw, bool add_bos_token, bool add_eos_token,
                                       bool parse_special) const {
  return Encode(raw, add_bos_token, add_eos_token, parse_special, {});
}

std::vector<int32_t> Tokenizer::Encode(std::string_view raw, bool add_bos_token, bool add_eos_token,
                                       bool parse_special, std::span<const TextRange> plain) const {
  const Impl& v = *impl_;
  // Whether [begin, end) touches a range whose text must not become control tokens.
  auto in_plain = [&](size_t begin, size_t end) {
    for (const TextRange& r : plain) {
      if (begin < r.offset + r.length && r.offset < end) return true;
    }
    return false;
  };
  // Fragments: raw text (token == -1) or a special token.
  struct Fragment {
    int32_t token;
    size_t offset, length;
  };
  std::vector<Fragment> fragments;
  if (!raw.empty()) fragments.push_back({-1, 0, raw.size()});

  // Which special tokens occur at all (a token absent from the text cannot split any fragment).
  std::vector<uint8_t> present;
  if (!raw.empty() && !v.special_tokens.empty()) {
    present.assign(v.text.size(), 0);
    for (size_t i = 0; i < raw.size(); ++i) {
      int32_t node = 0;
      for (size_t j = i; j < raw.size(); ++j) {
        const auto& children = v.special_trie[node].children;
        const uint8_t byte = static_cast<uint8_t>(raw[j]);
        auto it = std::lower_bound(children.begin(), children.end(), byte,
                                   [](const auto& p, uint8_t b) { return p.first < b; });
        if (it == children.end() || it->first != byte) break;
        node = it->second;
        if (v.special_trie[node].token >= 0) present[v.special_trie[node].token] = 1;
      }
    }
  }

  // llama.cpp's tokenizer_st_partition: one special token at a time, longest first, each cut out of
  // every raw fragment left to right.
  std::vector<Fragment> next;
  for (int32_t id : v.special_tokens) {
    if (present.empty() || !present[id]) continue;
    const uint32_t a = v.attr[id];
    if (!parse_special && (a & (kAttrControl | kAttrUnknown))) continue;
    const std::string& tok = v.text[id];
    next.clear();
    for (const Fragment& frag : fragments) {
      if (frag.token >= 0) {
        next.push_back(frag);
        continue;
      }
      size_t base = frag.offset, len = frag.length;
      const bool parse_gated = (a & (kAttrControl | kAttrUnknown)) != 0;
      while (true) {
        size_t match = raw.substr(0, base + len).find(tok, base);
        // A control token inside the caller's plain text (a user's message) stays text.
        while (match != std::string_view::npos && parse_gated && !plain.empty() &&
               in_plain(match, match + tok.size())) {
          match = raw.substr(0, base + len).find(tok, match + 1);
        }
        if (match == std::string_view::npos) {
          next.push_back({-1, base, len});
          break;
        }
        if (match > base) {
          size_t left_len = match - base;
          if (a & kAttrLstrip) {
            while (left_len > 0 && std::isspace(static_cast<unsigned char>(raw[base + left_len - 1]))) {
              --left_len;
            }
          }
          if (left_len > 0) next.push_back({-1, base, left_len});
        }
        next.push_back({id, 0, 0});
        if (match + tok.size() < base + len) {
          size_t right_off = match + tok.size();
          size_t right_len = len - ((match - base) + tok.size());
          if (a & kAttrRstrip) {
            while (right_len > 0 && std::isspace(static_cast<unsigned char>(raw[right_off]))) {
              ++right_off;
              --right_len;
            }
          }
          if (right_len == 0) break;
          base = right_off;
          len = right_len;
        } else {
          break;
        }
      }
    }
    fragments.swap(next);
  }

  std::vector<int32_t> out;
  out.reserve(raw.size() / 3 + 4);
  if (add_bos_token) {
    if (v.bos < 0) Fail("the vocabulary has no BOS token to add");
    out.push_back(v.bos);
  }
  if (v.type == VocabType::kSpm) {
    bool prev_special = true;  // a space prefix goes before the first text
    std::string text;
    for (const Fragment& frag : fragments) {
      if (frag.token >= 0) {
        out.push_back(frag.token);
        prev_special = true;
        continue;
      }
      text.clear();
      if (v.add_space_prefix && prev_special) text = " ";
      text.append(raw.substr(frag.offset, frag.length));
      std::string escaped;
      escaped.reserve(text.size() + 16);
      for (char c : text) {
        if (c == ' ') {
          escaped += "\xE2\x96\x81";
        } else {
          escaped.push_back(c);
        }
      }
      v.EncodeSpm(escaped, out);
      prev_special = false;
    }
  } else {
    for (const Fragment& frag : fragments) {
      if (frag.token >= 0) {
        out.push_back(frag.token);
      } else {
        v.EncodeBpe(raw.substr(frag.offset, frag.length), out);
      }
    }
  }
  if (add_eos_token) {
    if (v.eos < 0) Fail("the vocabulary has no EOS token to add");
    out.push_back(v.eos);
  }
  return out;
}

}  // namespace ember
