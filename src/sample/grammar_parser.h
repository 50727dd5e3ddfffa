// GBNF, llama.cpp's grammar format, parsed into rules of flat elements.
//
// Format (llama.cpp grammars/README.md):
//   grammar   ::= (rule)*                     rules are "name ::= alternates", one per line
//   alternates ::= sequence ("|" sequence)*   newlines allowed after "|" and inside ( )
//   sequence  ::= item*                       item = "literal" | [class] | [^class] | name |
//                                               ( alternates ) | . | <[token-id]> | <token> |
//                                               !<token> , each optionally followed by
//                                               * + ? {m} {m,} {m,n}
//   escapes   \x.. \u.... \U........ \t \r \n \\ \" \[ \] \-      comments: # to end of line
// Names are [a-zA-Z0-9-]+. Repetition is rewritten into helper rules exactly as llama.cpp does
// (S{m,n} -> S..S S'(n-m) with S'(x) ::= S S'(x-1) |), so rule ids match llama.cpp's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

enum class GrammarElementType : uint8_t {
  kEnd,           // end of a rule definition
  kAlt,           // start of an alternate definition
  kRuleRef,       // value = rule id
  kChar,          // value = code point
  kCharNot,       // [^...]: first char of an inverse class
  kCharRngUpper,  // makes the preceding char an inclusive range
  kCharAlt,       // another char of the same class
  kCharAny,       // .
  kToken,         // value = token id
  kTokenNot,      // any token but value
};

struct GrammarElement {
  GrammarElementType type;
  uint32_t value;
  bool operator==(const GrammarElement&) const = default;
};

using GrammarRule = std::vector<GrammarElement>;

struct ParsedGrammar {
  std::vector<GrammarRule> rules;              // indexed by rule id, each ends with kEnd
  std::map<std::string, uint32_t> symbol_ids;  // rule name -> id
};

// Parses GBNF text. `pieces` (optional) resolves <token> references by exact token text.
// Throws ember::Error "grammar line L, column C: ..." for malformed input, undefined rules,
// a missing root rule is checked by the caller (Grammar).
ParsedGrammar ParseGbnf(std::string_view text, const std::vector<std::string>* pieces = nullptr);

}  // namespace ember
