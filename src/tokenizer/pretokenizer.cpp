// Pre-tokenizer regex tables (per tokenizer.ggml.pre) and the PCRE2 split; see pretokenizer.h.
#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 32
#include <pcre2.h>

#include <algorithm>
#include <initializer_list>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace ember {
namespace {

// The regexes, as llama.cpp's llm_tokenizer_bpe writes them (the "adapted" forms: (?i:'s|..)
// spelled with classes).
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kPoro = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDeepseek3Main =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreEntry {
  std::vector<std::string> names;
  PreTokenizerConfig config;
};

const std::vector<PreEntry>& PreTable() {
  static const std::vector<PreEntry> table = {
      {{"default"},
       {{R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, true, false}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano"},
       {{kLlama3}, true, true, true}},
      {{"dbrx", "smaug-bpe"}, {{kLlama3}, true, false}},
      {{"deepseek-llm"},
       {{"[\r\n]",
         "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
         "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", R"(\p{N}+)"},
        false, false}},
      {{"deepseek-coder"},
       {{"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", "[一-龥ࠀ-一가-퟿]+", R"(\p{N})"}, false, false}},
      {{"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"},
       {{R"(\p{N}{1,3})", "[一-龥぀-ゟ゠-ヿ]+", kDeepseek3Main}, false, false}},
      {{"falcon"},
       {{R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}, true, false}},
      {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"},
       {{R"(\p{N})", kGpt2}, true, false}},
      {{"command-r", "smollm"}, {{R"(\p{N})", kGpt2}, false, false}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
        "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "jina-v1-en", "jina-v2-code",
        "roberta-bpe"},
       {{kGpt2}, true, false}},
      {{"trillion", "granite-docling"}, {{kGpt2}, false, false}},
      {{"stablelm2", "megrez"}, {{kQwen2}, true, false}},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"},
       {{kQwen2}, false, false}},
      {{"qwen35"}, {{kQwen35}, false, false}},
      {{"bloom", "gpt3-finnish"}, {{kPoro}, true, false}},
      {{"poro-chat"}, {{kPoro}, false, false}},
      {{"viking"}, {{kPoro, R"(\p{N})"}, false, false}},
      {{"chatglm-bpe"}, {{kLlama3}, true, false, false, true}},
      {{"glm4", "glm5"}, {{kLlama3}, true, true, false, true}},
      {{"tekken"}, {{kTekken}, false, true, true}},
      {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {{kGpt4o}, false, false}},
      {{"seed-coder"},
       {{R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"},
        false, false}},
      {{"ufakzeka"},
       {{R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
        false, false}},
      {{"grok-2"}, {{kQwen2}, false, false}},
      {{"bailingmoe", "bailingmoe2", "llada-moe"},
       {{R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"},
        false, false}},
      {{"minicpm5"},
       {{R"(\p{N}{1,3})",
         R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
        true, true}},
      {{"exaone-moe"},
       {{R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+)"},
        true, false}},
      {{"jais-2"},
       {{R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1})"},
        true, false}},
  };
  return table;
}

// Pre-tokenizers llama.cpp implements with code that is not a regex; ember does not (yet).
constexpr const char* kUnsupported[] = {"kimi-k2", "afmoe", "tiny_aya", "cohere2moe", "superbpe",
                                        "gemma4", "granite-embed-multi-311m", "sarvam-moe",
                                        "whitespace", "laguna", "spark2_5", "youtu", "chameleon",
                                        "granite-embed-multi-97m"};

// The category properties llama.cpp recognises, and the unit each collapses to.
struct CategoryToken {
  const char* name;
  uint32_t unit;
  const char* ascii;  // the ASCII members, as a class body
};
constexpr CategoryToken kCategoryTokens[] = {
    {R"(\p{N})", 0xD1, "0-9"},
    {R"(\p{L})", 0xD2, "A-Za-z"},
    {R"(\p{P})", 0xD3, R"(!-#%-*,-/:-;?-@\[-\]_\{\})"},
    {R"(\p{M})", 0xD4, ""},
    {R"(\p{S})", 0xD5, R"(\$\+<->^`\|\~)"},
    {R"(\p{Lu})", 0xD2, "A-Za-z"},
    {R"(\p{Ll})", 0xD2, "A-Za-z"},
    {R"(\p{Lt})", 0xD2, "A-Za-z"},
    {R"(\p{Lm})", 0xD2, "A-Za-z"},
    {R"(\p{Lo})", 0xD2, "A-Za-z"},
};

bool UsesCategories(const std::string& re) {
  for (const auto& c : kCategoryTokens) {
    if (re.find(c.name) != std::string::npos) return true;
  }
  return false;
}

void AppendAscii(std::u32string& out, std::string_view s) {
  for (char c : s) out.push_back(static_cast<unsigned char>(c));
}

// llama.cpp's rewrite of \p{X} into a class over the collapsed text (same bracket tracking).
std::u32string CollapseRegex(const std::string& re) {
  std::u32string out;
  bool inside = false;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '[' && (i == 0 || re[i - 1] != '\\')) {
      out.push_back('[');
      inside = true;
      continue;
    }
    if (inside && re[i] == ']' && re[i - 1] != '\\') {
      out.push_back(']');
      inside = false;
      continue;
    }
    if (re[i] == '\\' && i + 3 < re.size() && re[i + 1] == 'p' && re[i + 2] == '{') {
      const size_t close = re.find('}', i + 3);
      if (close != std::string::npos && close <= i + 10) {
        const std::string pat = re.substr(i, close - i + 1);
        const CategoryToken* found = nullptr;
        for (const auto& c : kCategoryTokens) {
          if (pat == c.name) found = &c;
        }
        if (found) {
          if (!inside) out.push_back('[');
          out.push_back(found->unit);
          AppendAscii(out, found->ascii);
          if (!inside) out.push_back(']');
          i = close;
          continue;
        }
      }
    }
    out.push_back(static_cast<unsigned char>(re[i]));
  }
  return out;
}

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};

}  // namespace

PreTokenizerConfig PreTokenizerConfigFor(const std::string& pre) {
  const std::string name = pre.empty() ? "default" : pre;
  for (const auto& entry : PreTable()) {
    for (const std::string& n : entry.names) {
      if (name == n) return entry.config;
    }
  }
  for (const char* n : kUnsupported) {
    if (name == n) Fail("pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported by ember yet", name);
  }
  Fail("unknown pre-tokenizer '{}' (tokenizer.ggml.pre)", name);
}

struct PreTokenizer::Impl {
  struct Pattern {
    std::unique_ptr<pcre2_code, CodeDeleter> code;
    bool collapsed;
  };
  std::vector<Pattern> patterns;
  bool any_collapsed = false;
  bool any_wide = false;
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes) : impl_(std::make_unique<Impl>()) {
  for (const auto& re : regexes) {
    const bool collapsed = UsesCategories(re);
    std::u32string pattern;
    if (collapsed) {
      pattern = CollapseRegex(re);
    } else {
      for (uint32_t c : unicode::DecodeUtf8Lenient(re)) pattern.push_back(c);
    }
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     0, &error, &offset, nullptr);
    EMBER_CHECK_MSG(code != nullptr, "pre-tokenizer regex '{}' does not compile (error {} at {})",
                    re, error, offset);
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT fails
    impl_->patterns.push_back({std::unique_ptr<pcre2_code, CodeDeleter>(code), collapsed});
    (collapsed ? impl_->any_collapsed : impl_->any_wide) = true;
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string> PreTokenizer::Split(std::string_view text, bool byte_encode) const {
  const std::vector<uint32_t> cpts = unicode::DecodeUtf8Lenient(text);
  const size_t n = cpts.size();

  // The two views of the text the regexes run on.
  std::u32string collapsed, wide;
  if (impl_->any_collapsed) {
    collapsed.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t c = cpts[i];
      if (c < 128) {
        collapsed[i] = c;
      } else if (unicode::IsWhitespace(c)) {
        collapsed[i] = 0x0B;
      } else {
        switch (unicode::CategoryOf(c)) {
          case unicode::kNumber: collapsed[i] = 0xD1; break;
          case unicode::kLetter: collapsed[i] = 0xD2; break;
          case unicode::kPunctuation: collapsed[i] = 0xD3; break;
          case unicode::kAccentMark: collapsed[i] = 0xD4; break;
          case unicode::kSymbol: collapsed[i] = 0xD5; break;
          default: collapsed[i] = 0xD0; break;
        }
      }
    }
  }
  if (impl_->any_wide) {
    wide.resize(n);
    for (size_t i = 0; i < n; ++i) {
      wide[i] = (cpts[i] > 0x7F && unicode::IsWhitespace(cpts[i])) ? 0x0B : cpts[i];
    }
  }

  // Pieces as code point counts, as llama.cpp keeps them.
  std::vector<size_t> pieces = {n};
  pcre2_match_context* mctx = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
  if (mctx && jit_stack) pcre2_jit_stack_assign(mctx, nullptr, jit_stack);
  std::vector<size_t> next;
  for (const auto& pattern : impl_->patterns) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(pattern.code.get(), nullptr);
    const std::u32string& subject_all = pattern.collapsed ? collapsed : wide;
    next.clear();
    next.reserve(pieces.size());
    size_t start = 0;
    for (size_t len : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(subject_all.data() + start);
      size_t pos = 0, prev_end = 0;
      while (pos <= len) {
        const int rc = pcre2_match(pattern.code.get(), subject, len, pos, 0, md, mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          pcre2_match_data_free(md);
          pcre2_jit_stack_free(jit_stack);
          pcre2_match_context_free(mctx);
          Fail("pre-tokenizer: regex match failed (PCRE2 error {}) on a piece of {} code points", rc,
               len);
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t m_begin = ov[0], m_end = ov[1];
        if (m_end == m_begin) {  // empty match: nothing to emit; move on one code point
          pos = m_begin + 1;
          continue;
        }
        if (m_begin > prev_end) next.push_back(m_begin - prev_end);
        next.push_back(m_end - m_begin);
        prev_end = pos = m_end;
      }
      if (prev_end < len) next.push_back(len - prev_end);
      start += len;
    }
    pcre2_match_data_free(md);
    pieces.swap(next);
  }
  pcre2_jit_stack_free(jit_stack);
  pcre2_match_context_free(mctx);

  std::vector<std::string> words;
  words.reserve(pieces.size());
  size_t start = 0;
  std::string utf8;
  for (size_t len : pieces) {
    utf8.clear();
    for (size_t i = start; i < start + len; ++i) unicode::AppendUtf8(cpts[i], utf8);
    start += len;
    if (!byte_encode) {
      words.push_back(utf8);
      continue;
    }
    std::string encoded;
    encoded.reserve(utf8.size() * 2);
    for (char c : utf8) encoded += unicode::ByteToUnicode(static_cast<uint8_t>(c));
    words.push_back(std::move(encoded));
  }
  return words;
}

}  // namespace ember
