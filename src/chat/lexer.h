// Lexer of the Jinja subset, with Jinja2's whitespace rules as Hugging Face configures them.
//
// Spec (Jinja2 3.1 lexer, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False):
// - Source: "\r\n" and "\r" become "\n"; one trailing "\n" at the very end is dropped.
// - Text runs until the first "{{", "{%" or "{#". A tag opener may carry a sign: "{%-" strips all
//   whitespace before it (Python str.rstrip), "{%+" disables lstrip for it. Without a sign,
//   "{%" and "{#" (not "{{") remove the spaces/tabs between the start of their line and the tag when
//   nothing else is on that line before the tag (lstrip_blocks).
// - "-%}" / "-}}" / "-#}" strip all whitespace after the tag; a plain "%}" or "#}" eats one "\n"
//   right after it (trim_blocks); "+%}" keeps it; "}}" never eats anything.
// - Inside "{{ }}" and "{% %}": names, integers (1_000, 0x1f), floats, strings ('..' or "..",
//   Python escapes), operators. The closing delimiter only counts when brackets are balanced.
// - "{% raw %}...{% endraw %}" is text; "{# ... #}" is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::jinja {

enum class TokenKind { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEnd };

struct Token {
  TokenKind kind;
  std::string text;  // text data, name, decoded string literal, or operator
  int64_t int_value = 0;
  double float_value = 0.0;
  size_t offset = 0;  // byte offset in the normalized source, for line:column in errors
};

// Line and column (1-based; column counts bytes) of a byte offset, for error messages.
struct SourcePosition {
  size_t line;
  size_t column;
};
SourcePosition PositionOf(std::string_view source, size_t offset);

// Applies Jinja2's newline normalization and trailing-newline rule.
std::string NormalizeSource(std::string_view source);

// Tokenizes a normalized source. Throws ember::Error "line L, column C: ..." on lexical errors.
std::vector<Token> Tokenize(const std::string& source);

}  // namespace ember::jinja
