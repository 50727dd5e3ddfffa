// Syntax tree of the Jinja subset: expressions and statements, built once by the parser and
// walked by the interpreter for each render. Every node keeps the byte offset it came from, so
// errors at render time can name a line and column.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace ember::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kConst,     // constant
    kName,      // name
    kList,      // children
    kTuple,     // children
    kDict,      // children: key, value, key, value...
    kGetAttr,   // children[0].name
    kGetItem,   // children[0][children[1]]
    kSlice,     // children[0][a:b:c]; children[1..3] may be null
    kCall,      // children[0](children[1..], kwargs)
    kFilter,    // children[0] | name(children[1..], kwargs)
    kTest,      // children[0] is [not] name(children[1..], kwargs)
    kUnary,     // name in {"-", "+", "not"}
    kBinary,    // name in {"+", "-", "*", "/", "//", "%", "**", "~", "and", "or"}
    kCompare,   // children[0] ops[0] children[1] ops[1] children[2]...
    kCondExpr,  // children[1] if children[0] else children[2] (may be null)
  };
  Kind kind;
  size_t offset = 0;
  Value constant;
  std::string name;
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
  // Filters and tests are resolved when the template is compiled; -1 until then.
  int builtin_index = -1;
  int depth = 1;  // height of this subtree; bounded so evaluation cannot overflow the stack
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // conditions[i] -> bodies[i]; else_body
    kFor,          // for targets in expr [if filter] body [else else_body]
    kSet,          // set targets (or ns_name.attr) = expr
    kSetBlock,     // set targets[0] | filters ... body
    kMacro,        // macro name(params) body
    kCallBlock,    // call(params) expr body
    kFilterBlock,  // filter filters body
    kWith,         // with targets[i] = values[i] body
    kBreak,
    kContinue,
    kGeneration,   // Hugging Face's {% generation %}: renders its body unchanged
  };
  Kind kind;
  size_t offset = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // for-loop filter
  std::vector<std::string> targets;
  std::string ns_attr;  // for `set ns.attr = ...`: targets[0] is ns, this the attribute
  std::vector<ExprPtr> conditions;
  std::vector<ExprPtr> values;   // with-statement values
  std::vector<ExprPtr> filters;  // set-block / filter-block: kFilter nodes whose children[0] is null
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<MacroParam> params;
  bool recursive = false;
};

}  // namespace ember::jinja
