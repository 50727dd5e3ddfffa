// Interpreter of the Jinja subset: walks a parsed template over variables and produces text.
//
// Scoping follows Jinja2: the template's top level is one scope (render variables and globals
// below it); each for loop, macro call and with block opens a child scope, so a `set` inside a
// loop is not seen after it (that is what namespace() is for). Work is bounded so a hostile
// template fails with an error instead of hanging or exhausting memory: a step budget (loop
// iterations, calls, filters), a size limit on every string and list built, and a depth limit on
// macro recursion.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/value.h"
#include "core/error.h"

namespace ember::jinja {

struct RenderLimits {
  size_t max_string_bytes = size_t{64} << 20;  // any string built, the output included
  size_t max_list_items = size_t{1} << 20;
  uint64_t max_steps = 5'000'000;
  int max_call_depth = 100;
};

struct RenderOptions {
  // What strftime_now() sees; the current local time when empty.
  std::optional<std::tm> now;
  RenderLimits limits;
};

// A failure raised by the template itself through raise_exception(message).
class TemplateRaised : public Error {
 public:
  using Error::Error;
};

class Interpreter {
 public:
  Interpreter(const std::string& source, const RenderOptions& options);

  // Renders `body` with `variables` (a dict) over the built-in globals.
  std::string Render(const Body& body, const Value& variables);

  // Services for built-in filters, tests and globals.
  Value CallValue(const Value& fn, CallArgs& args);
  void Tick(uint64_t n = 1) {
    steps_ += n;
    if (steps_ > options_.limits.max_steps) FailBudget();
  }
  void CheckString(size_t bytes) const {
    if (bytes > options_.limits.max_string_bytes) FailStringSize();
  }
  void CheckItems(size_t n) const {
    if (n > options_.limits.max_list_items) FailListSize();
  }
  const RenderOptions& options() const { return options_; }

 private:
  struct Scope {
    Scope* parent = nullptr;
    std::unordered_map<std::string, Value> vars;
    Value Lookup(const std::string& name) const;
  };
  enum class Flow { kNormal, kBreak, kContinue };

  Flow ExecBody(const Body& body, Scope& scope, std::string& out);
  Flow ExecStmt(const Stmt& s, Scope& scope, std::string& out);
  Flow ExecFor(const Stmt& s, Scope& scope, std::string& out);
  Value Eval(const Expr& e, Scope& scope);
  Value EvalImpl(const Expr& e, Scope& scope);
  Value EvalBinary(const Expr& e, Scope& scope);
  Value EvalCompare(const Expr& e, Scope& scope);
  CallArgs EvalArgs(const Expr& e, size_t first, Scope& scope);
  Value CallMacro(const Stmt& macro, CallArgs& args);
  void Assign(const Stmt& s, Scope& scope, Value value);
  Value ApplyFilters(const std::vector<ExprPtr>& filters, Value value, Scope& scope);
  void Append(std::string& out, std::string_view text) const;
  [[noreturn]] void Rethrow(size_t offset, const Error& e) const;

  [[noreturn]] void FailBudget() const;
  [[noreturn]] void FailStringSize() const;
  [[noreturn]] void FailListSize() const;

  const std::string& source_;
  const RenderOptions& options_;
  Scope* root_ = nullptr;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

// Python arithmetic on values (+ - * / // % **), with int64 overflow reported as an error.
Value Arithmetic(Interpreter& in, const std::string& op, const Value& a, const Value& b);
// Python `item in container`.
bool Contains(const Value& container, const Value& item);

}  // namespace ember::jinja
