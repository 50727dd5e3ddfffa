// GBNF parser; mirrors llama.cpp's llama_grammar_parser (src/llama-grammar.cpp) so the rules
// and their ids come out the same, with errors that name the line and column.
#include "sample/grammar_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace ember {
namespace {

constexpr uint64_t kMaxRepetition = 2000;  // llama.cpp's MAX_REPETITION_THRESHOLD
constexpr int kMaxNesting = 200;           // bounds recursion on hostile input
constexpr uint64_t kNoMax = std::numeric_limits<uint64_t>::max();

bool IsDigit(char c) { return '0' <= c && c <= '9'; }
bool IsWordChar(char c) {
  return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '-' || IsDigit(c);
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>* pieces)
      : text_(text), pieces_(pieces) {}

  ParsedGrammar Run() {
    const char* pos = ParseSpace(text_.c_str(), true);
    while (*pos) pos = ParseRule(pos);
    // A name used but never defined leaves a hole (or a reference past the end).
    for (const auto& [name, id] : out_.symbol_ids) {
      if (id >= out_.rules.size() || out_.rules[id].empty()) {
        Fail("grammar: undefined rule '{}'{}", name, WhereUsed(id));
      }
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void ErrorAt(const char* pos, const std::string& msg) const {
    size_t line = 1;
    size_t col = 1;
    for (const char* p = text_.c_str(); p < pos && *p; ++p) {
      if (*p == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    Fail("grammar line {}, column {}: {}", line, col, msg);
  }

  std::string Near(const char* pos) const {
    std::string s;
    for (int i = 0; i < 20 && pos[i] && pos[i] != '\n'; ++i) s += pos[i];
    return s.empty() ? "end of input" : "'" + s + "'";
  }

  std::string WhereUsed(uint32_t id) const {
    auto it = first_use_.find(id);
    if (it == first_use_.end()) return "";
    return fmt::format(" (used at line {}, column {})", it->second.first, it->second.second);
  }

  void NoteUse(uint32_t id, const char* pos) {
    if (first_use_.count(id)) return;
    size_t line = 1;
    size_t col = 1;
    for (const char* p = text_.c_str(); p < pos && *p; ++p) {
      if (*p == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    first_use_[id] = {line, col};
  }

  static const char* ParseSpace(const char* src, bool newline_ok) {
    const char* pos = src;
    while (*pos == ' ' || *pos == '\t' || *pos == '#' ||
           (newline_ok && (*pos == '\r' || *pos == '\n'))) {
      if (*pos == '#') {
        while (*pos && *pos != '\r' && *pos != '\n') pos++;
      } else {
        pos++;
      }
    }
    return pos;
  }

  const char* ParseName(const char* src) const {
    const char* pos = src;
    while (IsWordChar(*pos)) pos++;
    if (pos == src) ErrorAt(src, "expecting a rule name at " + Near(src));
    return pos;
  }

  const char* ParseInt(const char* src) const {
    const char* pos = src;
    while (IsDigit(*pos)) pos++;
    if (pos == src) ErrorAt(src, "expecting an integer at " + Near(src));
    if (pos - src > 9) ErrorAt(src, "number too large");
    return pos;
  }

  std::pair<uint32_t, const char*> ParseHex(const char* src, int size) const {
    const char* pos = src;
    const char* end = src + size;
    uint32_t value = 0;
    for (; pos < end && *pos; pos++) {
      value <<= 4;
      const char c = *pos;
      if ('a' <= c && c <= 'f') {
        value += static_cast<uint32_t>(c - 'a' + 10);
      } else if ('A' <= c && c <= 'F') {
        value += static_cast<uint32_t>(c - 'A' + 10);
      } else if ('0' <= c && c <= '9') {
        value += static_cast<uint32_t>(c - '0');
      } else {
        break;
      }
    }
    if (pos != end) ErrorAt(src, fmt::format("expecting {} hex digits", size));
    return {value, pos};
  }

  // One UTF-8 code point, stopping at the terminator (never reads past it).
  static std::pair<uint32_t, const char*> DecodeUtf8(const char* src) {
    static const int kLookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    const auto first = static_cast<uint8_t>(*src);
    const int len = kLookup[first >> 4];
    const auto mask = static_cast<uint8_t>((1 << (8 - len)) - 1);
    uint32_t value = first & mask;
    const char* end = src + len;
    const char* pos = src + 1;
    for (; pos < end && *pos; pos++) value = (value << 6) + (static_cast<uint8_t>(*pos) & 0x3F);
    return {value, pos};
  }

  std::pair<uint32_t, const char*> ParseChar(const char* src) const {
    if (*src == '\\') {
      switch (src[1]) {
        case 'x': return ParseHex(src + 2, 2);
        case 'u': return ParseHex(src + 2, 4);
        case 'U': return ParseHex(src + 2, 8);
        case 't': return {'\t', src + 2};
        case 'r': return {'\r', src + 2};
        case 'n': return {'\n', src + 2};
        case '\\':
        case '"':
        case '[':
        case ']':
        case '-': return {static_cast<uint32_t>(src[1]), src + 2};
        default: ErrorAt(src, "unknown escape at " + Near(src));
      }
    }
    if (*src) return DecodeUtf8(src);
    ErrorAt(src, "unexpected end of input");
  }

  std::pair<uint32_t, const char*> ParseToken(const char* src) const {
    const char* pos = src;
    if (*pos != '<') ErrorAt(pos, "expecting '<' at " + Near(pos));
    pos++;
    if (*pos == '[') {
      pos++;
      const char* int_end = ParseInt(pos);
      const uint32_t id = static_cast<uint32_t>(std::stoul(std::string(pos, int_end)));
      pos = int_end;
      if (*pos != ']') ErrorAt(pos, "expecting ']' at " + Near(pos));
      pos++;
      if (*pos != '>') ErrorAt(pos, "expecting '>' at " + Near(pos));
      return {id, pos + 1};
    }
    while (*pos && *pos != '>') pos++;
    if (*pos != '>') ErrorAt(pos, "expecting '>' at " + Near(pos));
    pos++;
    const std::string text(src, pos);
    if (pieces_ == nullptr) ErrorAt(src, "no vocabulary to resolve token " + text);
    for (size_t id = 0; id < pieces_->size(); ++id) {
      if ((*pieces_)[id] == text) return {static_cast<uint32_t>(id), pos};
    }
    ErrorAt(src, "token " + text + " is not a single token of the vocabulary");
  }

  uint32_t GetSymbolId(const char* src, size_t len) {
    const auto next_id = static_cast<uint32_t>(out_.symbol_ids.size());
    return out_.symbol_ids.emplace(std::string(src, len), next_id).first->second;
  }

  uint32_t GenerateSymbolId(const std::string& base_name) {
    const auto next_id = static_cast<uint32_t>(out_.symbol_ids.size());
    out_.symbol_ids[base_name + '_' + std::to_string(next_id)] = next_id;
    return next_id;
  }

  void AddRule(uint32_t rule_id, const GrammarRule& rule) {
    if (out_.rules.size() <= rule_id) out_.rules.resize(rule_id + 1);
    out_.rules[rule_id] = rule;
  }

  const char* ParseAlternates(const char* src, const std::string& rule_name, uint32_t rule_id,
                              bool is_nested) {
    if (++depth_ > kMaxNesting) ErrorAt(src, "groups nested too deeply");
    GrammarRule rule;
    const char* pos = ParseSequence(src, rule_name, rule, is_nested);
    while (*pos == '|') {
      rule.push_back({GrammarElementType::kAlt, 0});
      pos = ParseSpace(pos + 1, true);
      pos = ParseSequence(pos, rule_name, rule, is_nested);
    }
    rule.push_back({GrammarElementType::kEnd, 0});
    AddRule(rule_id, rule);
    --depth_;
    return pos;
  }

  const char* ParseSequence(const char* src, const std::string& rule_name, GrammarRule& rule,
                            bool is_nested) {
    size_t last_sym_start = rule.size();
    const char* pos = src;
    uint64_t n_prev_rules = 1;

    // S{m,n} -> S S S (m times) S'(n-m), S'(x) ::= S S'(x-1) | ; S{m,} -> S..S S', S' ::= S S' |
    auto handle_repetitions = [&](const char* at, uint64_t min_times, uint64_t max_times) {
      const bool no_max = max_times == kNoMax;
      if (last_sym_start == rule.size()) {
        ErrorAt(at, "expecting an item before the repetition operator");
      }
      const GrammarRule prev_rule(rule.begin() + static_cast<std::ptrdiff_t>(last_sym_start),
                                  rule.end());
      uint64_t total_rules = 1;
      if (!no_max && max_times > 0) {
        total_rules = max_times;
      } else if (min_times > 0) {
        total_rules = min_times;
      }
      if (n_prev_rules * total_rules > kMaxRepetition) {
        ErrorAt(at, "nested repetitions too large (more than 2000 generated rules)");
      }
      if (min_times == 0) {
        rule.resize(last_sym_start);
      } else {
        for (uint64_t i = 1; i < min_times; i++) {
          rule.insert(rule.end(), prev_rule.begin(), prev_rule.end());
        }
      }
      uint32_t last_rec_rule_id = 0;
      const uint64_t n_opt = no_max ? 1 : max_times - min_times;
      GrammarRule rec_rule(prev_rule);
      for (uint64_t i = 0; i < n_opt; i++) {
        rec_rule.resize(prev_rule.size());
        const uint32_t rec_rule_id = GenerateSymbolId(rule_name);
        if (i > 0 || no_max) {
          rec_rule.push_back({GrammarElementType::kRuleRef, no_max ? rec_rule_id : last_rec_rule_id});
        }
        rec_rule.push_back({GrammarElementType::kAlt, 0});
        rec_rule.push_back({GrammarElementType::kEnd, 0});
        AddRule(rec_rule_id, rec_rule);
        last_rec_rule_id = rec_rule_id;
      }
      if (n_opt > 0) rule.push_back({GrammarElementType::kRuleRef, last_rec_rule_id});
      n_prev_rules *= total_rules;
    };

    while (*pos) {
      if (*pos == '"') {
        const char* open = pos;
        pos++;
        last_sym_start = rule.size();
        n_prev_rules = 1;
        while (*pos != '"') {
          if (!*pos) ErrorAt(open, "unterminated string literal");
          auto [chr, next] = ParseChar(pos);
          pos = next;
          rule.push_back({GrammarElementType::kChar, chr});
        }
        pos = ParseSpace(pos + 1, is_nested);
      } else if (*pos == '[') {
        const char* open = pos;
        pos++;
        GrammarElementType start_type = GrammarElementType::kChar;
        if (*pos == '^') {
          pos++;
          start_type = GrammarElementType::kCharNot;
        }
        last_sym_start = rule.size();
        n_prev_rules = 1;
        while (*pos != ']') {
          if (!*pos) ErrorAt(open, "unterminated character class");
          auto [chr, next] = ParseChar(pos);
          pos = next;
          const GrammarElementType type =
              last_sym_start < rule.size() ? GrammarElementType::kCharAlt : start_type;
          rule.push_back({type, chr});
          if (pos[0] == '-' && pos[1] != ']') {
            if (!pos[1]) ErrorAt(open, "unterminated character class");
            auto [end_chr, end_next] = ParseChar(pos + 1);
            pos = end_next;
            rule.push_back({GrammarElementType::kCharRngUpper, end_chr});
          }
        }
        pos = ParseSpace(pos + 1, is_nested);
      } else if (*pos == '<' || *pos == '!') {
        GrammarElementType type = GrammarElementType::kToken;
        if (*pos == '!') {
          type = GrammarElementType::kTokenNot;
          pos++;
        }
        auto [token, token_end] = ParseToken(pos);
        last_sym_start = rule.size();
        n_prev_rules = 1;
        rule.push_back({type, token});
        pos = ParseSpace(token_end, is_nested);
      } else if (IsWordChar(*pos)) {
        const char* name_end = ParseName(pos);
        const uint32_t ref_rule_id = GetSymbolId(pos, static_cast<size_t>(name_end - pos));
        NoteUse(ref_rule_id, pos);
        pos = ParseSpace(name_end, is_nested);
        last_sym_start = rule.size();
        n_prev_rules = 1;
        rule.push_back({GrammarElementType::kRuleRef, ref_rule_id});
      } else if (*pos == '(') {
        const char* open = pos;
        pos = ParseSpace(pos + 1, true);
        const auto n_rules_before = static_cast<uint32_t>(out_.symbol_ids.size());
        const uint32_t sub_rule_id = GenerateSymbolId(rule_name);
        pos = ParseAlternates(pos, rule_name, sub_rule_id, true);
        n_prev_rules =
            std::max<uint64_t>(1u, static_cast<uint32_t>(out_.symbol_ids.size()) - n_rules_before);
        last_sym_start = rule.size();
        rule.push_back({GrammarElementType::kRuleRef, sub_rule_id});
        if (*pos != ')') ErrorAt(pos, "expecting ')' to close the '(' at " + Position(open));
        pos = ParseSpace(pos + 1, is_nested);
      } else if (*pos == '.') {
        last_sym_start = rule.size();
        n_prev_rules = 1;
        rule.push_back({GrammarElementType::kCharAny, 0});
        pos = ParseSpace(pos + 1, is_nested);
      } else if (*pos == '*') {
        const char* at = pos;
        pos = ParseSpace(pos + 1, is_nested);
        handle_repetitions(at, 0, kNoMax);
      } else if (*pos == '+') {
        const char* at = pos;
        pos = ParseSpace(pos + 1, is_nested);
        handle_repetitions(at, 1, kNoMax);
      } else if (*pos == '?') {
        const char* at = pos;
        pos = ParseSpace(pos + 1, is_nested);
        handle_repetitions(at, 0, 1);
      } else if (*pos == '{') {
        const char* at = pos;
        pos = ParseSpace(pos + 1, is_nested);
        if (!IsDigit(*pos)) ErrorAt(pos, "expecting an integer at " + Near(pos));
        const char* int_end = ParseInt(pos);
        const uint64_t min_times = std::stoull(std::string(pos, int_end));
        pos = ParseSpace(int_end, is_nested);
        uint64_t max_times = kNoMax;
        if (*pos == '}') {
          max_times = min_times;
          pos = ParseSpace(pos + 1, is_nested);
        } else if (*pos == ',') {
          pos = ParseSpace(pos + 1, is_nested);
          if (IsDigit(*pos)) {
            const char* max_end = ParseInt(pos);
            max_times = std::stoull(std::string(pos, max_end));
            pos = ParseSpace(max_end, is_nested);
          }
          if (*pos != '}') ErrorAt(pos, "expecting '}' at " + Near(pos));
          pos = ParseSpace(pos + 1, is_nested);
        } else {
          ErrorAt(pos, "expecting ',' or '}' at " + Near(pos));
        }
        if (min_times > kMaxRepetition) ErrorAt(at, "repetition count above 2000");
        if (max_times != kNoMax && max_times < min_times) {
          ErrorAt(at, "repetition maximum below its minimum");
        }
        if (max_times != kNoMax && max_times > kMaxRepetition) max_times = kNoMax;
        handle_repetitions(at, min_times, max_times);
      } else {
        break;
      }
    }
    return pos;
  }

  std::string Position(const char* pos) const {
    size_t line = 1;
    size_t col = 1;
    for (const char* p = text_.c_str(); p < pos && *p; ++p) {
      if (*p == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    return fmt::format("line {}, column {}", line, col);
  }

  const char* ParseRule(const char* src) {
    const char* name_end = ParseName(src);
    const char* pos = ParseSpace(name_end, false);
    const auto name_len = static_cast<size_t>(name_end - src);
    const uint32_t rule_id = GetSymbolId(src, name_len);
    const std::string name(src, name_len);
    if (!(pos[0] == ':' && pos[1] == ':' && pos[2] == '=')) {
      ErrorAt(pos, "expecting '::=' after rule name '" + name + "'");
    }
    pos = ParseSpace(pos + 3, true);
    pos = ParseAlternates(pos, name, rule_id, false);
    if (*pos == '\r') {
      pos += pos[1] == '\n' ? 2 : 1;
    } else if (*pos == '\n') {
      pos++;
    } else if (*pos) {
      ErrorAt(pos, "unexpected " + Near(pos) + " (expecting newline or end of rule)");
    }
    return ParseSpace(pos, true);
  }

  std::string text_;  // NUL-terminated copy: the parser relies on the terminator
  const std::vector<std::string>* pieces_;
  ParsedGrammar out_;
  std::map<uint32_t, std::pair<size_t, size_t>> first_use_;
  int depth_ = 0;
};

}  // namespace

ParsedGrammar ParseGbnf(std::string_view text, const std::vector<std::string>* pieces) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    Fail("grammar: NUL byte at offset {}", nul);
  }
  return Parser(text, pieces).Run();
}

}  // namespace ember
