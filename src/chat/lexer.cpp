// Lexer of the Jinja subset (see lexer.h for the whitespace rules it reproduces).
#include "chat/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "chat/value.h"
#include "core/error.h"

namespace ember::jinja {

SourcePosition PositionOf(std::string_view source, size_t offset) {
  offset = std::min(offset, source.size());
  size_t line = 1 + static_cast<size_t>(std::count(source.begin(), source.begin() + offset, '\n'));
  size_t line_start = source.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
  if (offset > 0 && source[offset - 1] == '\n') line_start = offset;
  return {line, offset - line_start + 1};
}

std::string NormalizeSource(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

[[noreturn]] void LexFail(const std::string& source, size_t offset, const std::string& message) {
  SourcePosition p = PositionOf(source, offset);
  Fail("template syntax error at line {}, column {}: {}", p.line, p.column, message);
}

// Length of the UTF-8 sequence of Python whitespace starting at `pos`, or 0.
size_t SpaceLengthAt(std::string_view s, size_t pos) {
  auto b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) return IsPythonSpace(b) ? 1 : 0;
  size_t len = (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 1;
  if (pos + len > s.size()) return 0;
  std::u32string cp = DecodeUtf8(s.substr(pos, len));
  return (cp.size() == 1 && IsPythonSpace(cp[0])) ? len : 0;
}

size_t SkipSpaces(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t n = SpaceLengthAt(s, pos);
    if (n == 0) break;
    pos += n;
  }
  return pos;
}

// Python str.rstrip(): drops trailing Unicode whitespace.
std::string_view RStrip(std::string_view s) {
  std::u32string cps = DecodeUtf8(s);
  size_t keep = cps.size();
  while (keep > 0 && IsPythonSpace(cps[keep - 1])) --keep;
  if (keep == cps.size()) return s;
  return s.substr(0, EncodeUtf8(std::u32string_view(cps).substr(0, keep)).size());
}

bool AllSpaces(std::string_view s) {
  if (s.empty()) return false;  // the regex is \s+: needs one character
  return SkipSpaces(s, 0) == s.size();
}

// Applies "{%-" / lstrip_blocks to the text before a tag.
std::string_view StripBeforeTag(std::string_view text, char sign, bool is_variable, bool line_starting) {
  if (sign == '-') return RStrip(text);
  if (sign != '+' && !is_variable) {
    size_t nl = text.rfind('\n');
    size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting) && AllSpaces(text.substr(l_pos))) return text.substr(0, l_pos);
  }
  return text;
}

// Decodes a Python string literal body (Jinja applies Python's unicode-escape to it).
std::string DecodeStringLiteral(const std::string& source, size_t offset, std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    auto hex = [&](size_t digits) -> char32_t {
      char32_t v = 0;
      for (size_t k = 1; k <= digits; ++k) {
        if (i + k >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + k]))) {
          LexFail(source, offset, "truncated escape sequence in string literal");
        }
        char h = static_cast<char>(std::tolower(static_cast<unsigned char>(body[i + k])));
        v = v * 16 + static_cast<char32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
      }
      i += digits;
      return v;
    };
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
      case '\'':
      case '"':
        out += e;
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
        AppendUtf8(out, hex(2));
        break;
      case 'u':
        AppendUtf8(out, hex(4));
        break;
      case 'U': {
        char32_t v = hex(8);
        if (v > 0x10ffff) LexFail(source, offset, "illegal Unicode character in string literal");
        AppendUtf8(out, v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          char32_t v = static_cast<char32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            v = v * 8 + static_cast<char32_t>(body[++i] - '0');
          }
          AppendUtf8(out, v);
        } else {
          out += '\\';  // Python keeps unknown escapes as they are
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(const std::string& source) : src_(source) {}

  std::vector<Token> Run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t tag = FindTagStart(pos);
      if (tag == std::string::npos) {
        Emit(TokenKind::kText, src_.substr(pos), pos);
        break;
      }
      char kind = src_[tag + 1];
      size_t after = tag + 2;
      char sign = (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) ? src_[after] : 0;
      if (sign) ++after;
      std::string_view text = std::string_view(src_).substr(pos, tag - pos);
      Emit(TokenKind::kText, std::string(StripBeforeTag(text, sign, kind == '{', line_starting)), pos);
      if (kind == '#') {
        pos = LexComment(tag, after, &line_starting);
      } else if (kind == '%' && IsRawBegin(after, &pos)) {
        pos = LexRaw(tag, pos, &line_starting);
      } else {
        pos = LexTag(kind, tag, after, &line_starting);
      }
    }
    tokens_.push_back(Token{TokenKind::kEnd, "", 0, 0.0, src_.size()});
    return std::move(tokens_);
  }

 private:
  void Emit(TokenKind kind, std::string text, size_t offset) {
    if (kind == TokenKind::kText && text.empty()) return;
    tokens_.push_back(Token{kind, std::move(text), 0, 0.0, offset});
  }

  size_t FindTagStart(size_t pos) const {
    while (true) {
      size_t p = src_.find('{', pos);
      if (p == std::string::npos || p + 1 >= src_.size()) return std::string::npos;
      char n = src_[p + 1];
      if (n == '{' || n == '%' || n == '#') return p;
      pos = p + 1;
    }
  }

  bool StartsWith(size_t pos, std::string_view s) const {
    return src_.compare(pos, s.size(), s) == 0 && pos + s.size() <= src_.size();
  }

  // After a tag end: "-X}" strips all whitespace, "+X}" nothing, plain "X}" one newline when
  // `trim` (trim_blocks applies to blocks and comments). Returns the new position.
  size_t AfterTagEnd(size_t end_pos, char sign, bool trim, bool* line_starting) const {
    size_t pos = end_pos;
    if (sign == '-') {
      pos = SkipSpaces(src_, pos);
    } else if (sign == 0 && trim && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    *line_starting = pos > 0 && src_[pos - 1] == '\n';
    return pos;
  }

  size_t LexComment(size_t tag, size_t pos, bool* line_starting) {
    size_t end = src_.find("#}", pos);
    if (end == std::string::npos) LexFail(src_, tag, "missing end of comment tag");
    char sign = 0;
    if (end > pos && (src_[end - 1] == '-' || src_[end - 1] == '+')) sign = src_[end - 1];
    return AfterTagEnd(end + 2, sign, true, line_starting);
  }

  // Matches "\s*raw\s*(-%}\s*|%})" after "{%[-+]"; sets *body_start past it.
  bool IsRawBegin(size_t pos, size_t* body_start) const {
    size_t p = SkipSpaces(src_, pos);
    if (!StartsWith(p, "raw")) return false;
    p = SkipSpaces(src_, p + 3);
    if (StartsWith(p, "-%}")) {
      *body_start = SkipSpaces(src_, p + 3);
      return true;
    }
    if (StartsWith(p, "%}")) {
      *body_start = p + 2;
      return true;
    }
    return false;
  }

  size_t LexRaw(size_t tag, size_t body_start, bool* line_starting) {
    *line_starting = body_start > 0 && src_[body_start - 1] == '\n';
    size_t search = body_start;
    while (true) {
      size_t open = src_.find("{%", search);
      if (open == std::string::npos) LexFail(src_, tag, "missing end of raw directive");
      size_t p = open + 2;
      char sign = (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ? src_[p] : 0;
      if (sign) ++p;
      p = SkipSpaces(src_, p);
      if (StartsWith(p, "endraw")) {
        p = SkipSpaces(src_, p + 6);
        char end_sign = 0;
        if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) end_sign = src_[p++];
        if (StartsWith(p, "%}")) {
          std::string_view body = std::string_view(src_).substr(body_start, open - body_start);
          Emit(TokenKind::kText, std::string(StripBeforeTag(body, sign, false, *line_starting)),
               body_start);
          return AfterTagEnd(p + 2, end_sign, true, line_starting);
        }
      }
      search = open + 2;
    }
  }

  size_t LexTag(char kind, size_t tag, size_t pos, bool* line_starting) {
    Emit(kind == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin, "", tag);
    char close = kind == '{' ? '}' : '%';
    std::vector<char> balance;
    while (true) {
      if (pos >= src_.size()) LexFail(src_, tag, "unexpected end of template, the tag is not closed");
      if (balance.empty()) {
        char c = src_[pos];
        const std::string end2{close, '}'};
        bool minus = c == '-' && src_.compare(pos + 1, 2, end2) == 0;
        bool plus = kind == '%' && c == '+' && src_.compare(pos + 1, 2, "%}") == 0;
        if (minus || plus || src_.compare(pos, 2, end2) == 0) {
          Emit(kind == '{' ? TokenKind::kVarEnd : TokenKind::kBlockEnd, "", pos);
          size_t end = pos + ((minus || plus) ? 3 : 2);
          return AfterTagEnd(end, minus ? '-' : plus ? '+' : 0, kind == '%', line_starting);
        }
      }
      pos = LexToken(pos, &balance);
    }
  }

  size_t LexToken(size_t pos, std::vector<char>* balance) {
    size_t space = SkipSpaces(src_, pos);
    if (space != pos) return space;
    char c = src_[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) return LexNumber(pos);
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      Emit(TokenKind::kName, src_.substr(pos, end - pos), pos);
      return end;
    }
    if (c == '\'' || c == '"') {
      size_t end = pos + 1;
      while (end < src_.size() && src_[end] != c) end += src_[end] == '\\' ? 2 : 1;
      if (end >= src_.size()) LexFail(src_, pos, "unterminated string literal");
      std::string body = src_.substr(pos + 1, end - pos - 1);
      tokens_.push_back(Token{TokenKind::kString, DecodeStringLiteral(src_, pos, body), 0, 0.0, pos});
      return end + 1;
    }
    static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~",
                                       "[",  "]",  "(",  ")",  "{",  "}",  "<", ">", "=", ".", ":", "|",
                                       ",",  ";"};
    for (const char* op : kOps) {
      std::string_view sv(op);
      if (src_.compare(pos, sv.size(), sv) != 0) continue;
      if (sv == "(" || sv == "[" || sv == "{") {
        if (balance->size() > 256) LexFail(src_, pos, "brackets nested too deeply");
        balance->push_back(sv == "(" ? ')' : sv == "[" ? ']' : '}');
      } else if (sv == ")" || sv == "]" || sv == "}") {
        if (balance->empty() || balance->back() != sv[0]) LexFail(src_, pos, "unexpected '" + std::string(sv) + "'");
        balance->pop_back();
      }
      Emit(TokenKind::kOp, std::string(sv), pos);
      return pos + sv.size();
    }
    LexFail(src_, pos, "unexpected character '" + std::string(1, c) + "'");
  }

  size_t LexNumber(size_t pos) {
    auto digits = [&](size_t p, auto pred) {
      size_t q = p;
      while (q < src_.size() && (pred(static_cast<unsigned char>(src_[q])) ||
                                 (src_[q] == '_' && q + 1 < src_.size() && pred(static_cast<unsigned char>(src_[q + 1])) && q > p))) {
        ++q;
      }
      return q;
    };
    auto dec = [](unsigned char ch) { return std::isdigit(ch) != 0; };
    auto strip = [](std::string s) {
      s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
      return s;
    };
    if (src_[pos] == '0' && pos + 1 < src_.size() && (src_[pos + 1] == 'x' || src_[pos + 1] == 'X' ||
                                                       src_[pos + 1] == 'b' || src_[pos + 1] == 'B' ||
                                                       src_[pos + 1] == 'o' || src_[pos + 1] == 'O')) {
      char base_char = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[pos + 1])));
      int base = base_char == 'x' ? 16 : base_char == 'b' ? 2 : 8;
      size_t end = pos + 2;
      while (end < src_.size() && (std::isxdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      std::string body = strip(src_.substr(pos + 2, end - pos - 2));
      if (body.empty()) LexFail(src_, pos, "invalid integer literal");
      errno = 0;
      char* parse_end = nullptr;
      long long v = std::strtoll(body.c_str(), &parse_end, base);
      if (errno != 0 || *parse_end != '\0') LexFail(src_, pos, "invalid or too large integer literal");
      Token t{TokenKind::kInt, src_.substr(pos, end - pos), v, 0.0, pos};
      tokens_.push_back(t);
      return end;
    }
    size_t end = digits(pos, dec);
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && dec(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      end = digits(end + 1, dec);
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t p = end + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && dec(static_cast<unsigned char>(src_[p]))) {
        is_float = true;
        end = digits(p, dec);
      }
    }
    std::string literal = strip(src_.substr(pos, end - pos));
    Token t{is_float ? TokenKind::kFloat : TokenKind::kInt, literal, 0, 0.0, pos};
    if (is_float) {
      t.float_value = std::strtod(literal.c_str(), nullptr);
    } else {
      errno = 0;
      t.int_value = std::strtoll(literal.c_str(), nullptr, 10);
      if (errno == ERANGE) LexFail(src_, pos, "integer literal too large");
    }
    tokens_.push_back(std::move(t));
    return end;
  }

  const std::string& src_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(const std::string& source) { return Lexer(source).Run(); }

}  // namespace ember::jinja
