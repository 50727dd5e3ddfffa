// Parser of the Jinja subset: tokens to a syntax tree, with Jinja2's grammar and precedence.
//
// Expressions, lowest precedence first: `a if b else c`; `or`; `and`; `not`; comparisons
// (== != < > <= >= in, not in; chained like Python); + -; ~; * / // %; **; unary - +; postfix
// (.attr, [index], [a:b:c], call(...)), then filters (|f(...)) and tests (is [not] t(...)).
// Statements: if/elif/else, for (targets, `if` filter, else), set (tuple, ns.attr, block form),
// macro, call, filter, with, break, continue, raw (in the lexer), generation (HF extension).
// Unknown tags, filters and tests fail at compile time, as in Jinja2.
#pragma once

#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace ember::jinja {

// Throws ember::Error "template syntax error at line L, column C: ..." on bad syntax. Nesting is
// bounded so a hostile template cannot exhaust the stack.
Body Parse(const std::string& source, const std::vector<Token>& tokens);

}  // namespace ember::jinja
