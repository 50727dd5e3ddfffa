// Interpreter of the Jinja subset: statements, expressions, scoping, macros and limits.
#include "chat/interpreter.h"

#include <cmath>
#include <limits>

#include "chat/builtins.h"
#include "chat/lexer.h"

namespace ember::jinja {
namespace {

// An error whose message already names the template line and column.
class Located : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void FailUndefined(const Value& v) {
  Fail("{}", v.str().empty() ? std::string("value is undefined") : v.str());
}

}  // namespace

Value Interpreter::Scope::Lookup(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return it->second;
  }
  return Value::Undefined("'" + name + "' is undefined");
}

Interpreter::Interpreter(const std::string& source, const RenderOptions& options)
    : source_(source), options_(options) {}

std::string Interpreter::Render(const Body& body, const Value& variables) {
  Scope globals;
  AddGlobals(globals.vars);
  Scope top;
  top.parent = &globals;
  if (variables.is_dict()) {
    for (const auto& [k, v] : variables.dict().items) {
      if (k.is_string()) top.vars[k.str()] = v;
    }
  }
  root_ = &top;
  std::string out;
  ExecBody(body, top, out);
  root_ = nullptr;
  return out;
}

void Interpreter::FailBudget() const {
  Fail("template exceeded its evaluation budget of {} steps (endless loop?)", options_.limits.max_steps);
}
void Interpreter::FailStringSize() const {
  Fail("template built a string over the limit of {} bytes", options_.limits.max_string_bytes);
}
void Interpreter::FailListSize() const {
  Fail("template built a list over the limit of {} items", options_.limits.max_list_items);
}

void Interpreter::Append(std::string& out, std::string_view text) const {
  CheckString(out.size() + text.size());
  out.append(text);
}

void Interpreter::Rethrow(size_t offset, const Error& e) const {
  SourcePosition p = PositionOf(source_, offset);
  if (dynamic_cast<const TemplateRaised*>(&e) != nullptr) {
    throw Located(fmt::format("template raised an exception at line {}, column {}: {}", p.line, p.column, e.what()));
  }
  throw Located(fmt::format("template error at line {}, column {}: {}", p.line, p.column, e.what()));
}

Interpreter::Flow Interpreter::ExecBody(const Body& body, Scope& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = ExecStmt(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::ExecStmt(const Stmt& s, Scope& scope, std::string& out) {
  try {
    switch (s.kind) {
      case Stmt::Kind::kText:
        Append(out, s.text);
        return Flow::kNormal;
      case Stmt::Kind::kOutput: {
        Value v = Eval(*s.expr, scope);
        Append(out, v.ToString());
        return Flow::kNormal;
      }
      case Stmt::Kind::kIf:
        Tick();
        for (size_t i = 0; i < s.conditions.size(); ++i) {
          if (Eval(*s.conditions[i], scope).Truthy()) return ExecBody(s.bodies[i], scope, out);
        }
        return ExecBody(s.else_body, scope, out);
      case Stmt::Kind::kFor:
        return ExecFor(s, scope, out);
      case Stmt::Kind::kSet:
        Assign(s, scope, Eval(*s.expr, scope));
        return Flow::kNormal;
      case Stmt::Kind::kSetBlock: {
        std::string captured;
        ExecBody(s.body, scope, captured);
        Assign(s, scope, ApplyFilters(s.filters, Value::String(std::move(captured)), scope));
        return Flow::kNormal;
      }
      case Stmt::Kind::kMacro: {
        const Stmt* macro = &s;
        scope.vars[s.text] = Value::Function(s.text, [macro](Interpreter& in, CallArgs& args) {
          return in.CallMacro(*macro, args);
        });
        return Flow::kNormal;
      }
      case Stmt::Kind::kCallBlock: {
        const Stmt* block = &s;
        Scope* caller_scope = &scope;
        Value caller = Value::Function("caller", [block, caller_scope](Interpreter& in, CallArgs& args) {
          Scope inner;
          inner.parent = caller_scope;
          for (size_t i = 0; i < block->params.size(); ++i) {
            const MacroParam& p = block->params[i];
            if (i < args.positional.size()) {
              inner.vars[p.name] = args.positional[i];
            } else if (p.default_value) {
              inner.vars[p.name] = in.Eval(*p.default_value, inner);
            }
          }
          std::string captured;
          in.ExecBody(block->body, inner, captured);
          return Value::String(std::move(captured));
        });
        const Expr& call = *s.expr;
        Value callee = Eval(*call.children[0], scope);
        CallArgs args = EvalArgs(call, 1, scope);
        args.keyword.emplace_back("caller", caller);
        Append(out, CallValue(callee, args).ToString());
        return Flow::kNormal;
      }
      case Stmt::Kind::kFilterBlock: {
        std::string captured;
        ExecBody(s.body, scope, captured);
        Append(out, ApplyFilters(s.filters, Value::String(std::move(captured)), scope).ToString());
        return Flow::kNormal;
      }
      case Stmt::Kind::kWith: {
        Scope inner;
        inner.parent = &scope;
        for (size_t i = 0; i < s.targets.size(); ++i) inner.vars[s.targets[i]] = Eval(*s.values[i], scope);
        return ExecBody(s.body, inner, out);
      }
      case Stmt::Kind::kBreak:
        return Flow::kBreak;
      case Stmt::Kind::kContinue:
        return Flow::kContinue;
      case Stmt::Kind::kGeneration:
        return ExecBody(s.body, scope, out);
    }
  } catch (const Located&) {
    throw;
  } catch (const Error& e) {
    Rethrow(s.offset, e);
  }
  return Flow::kNormal;
}

Value Interpreter::ApplyFilters(const std::vector<ExprPtr>& filters, Value value, Scope& scope) {
  for (const auto& f : filters) {
    CallArgs args = EvalArgs(*f, 1, scope);
    Tick();
    value = ApplyFilter(*this, f->builtin_index, value, args);
  }
  return value;
}

void Interpreter::Assign(const Stmt& s, Scope& scope, Value value) {
  if (!s.ns_attr.empty()) {
    Value ns = scope.Lookup(s.targets[0]);
    if (!ns.is_namespace()) Fail("cannot assign attribute on non-namespace object '{}'", s.targets[0]);
    auto& items = ns.mutable_namespace().items;
    for (auto& [k, v] : items) {
      if (k.is_string() && k.str() == s.ns_attr) {
        v = std::move(value);
        return;
      }
    }
    items.emplace_back(Value::String(s.ns_attr), std::move(value));
    return;
  }
  if (s.targets.size() == 1) {
    scope.vars[s.targets[0]] = std::move(value);
    return;
  }
  ValueList items = Iterate(value);
  if (items.size() != s.targets.size()) {
    Fail("cannot unpack {} values into {} names", items.size(), s.targets.size());
  }
  for (size_t i = 0; i < items.size(); ++i) scope.vars[s.targets[i]] = std::move(items[i]);
}

Interpreter::Flow Interpreter::ExecFor(const Stmt& s, Scope& scope, std::string& out) {
  Value iterable = Eval(*s.expr, scope);
  if (!iterable.is_undefined() && !iterable.is_list() && !iterable.is_dict() && !iterable.is_string()) {
    Fail("'{}' object is not iterable", iterable.TypeName());
  }
  ValueList items = Iterate(iterable);
  Scope loop_scope;
  loop_scope.parent = &scope;
  auto bind = [&](Scope& target, const Value& item) {
    if (s.targets.size() == 1) {
      target.vars[s.targets[0]] = item;
      return;
    }
    ValueList parts = Iterate(item);
    if (parts.size() != s.targets.size()) {
      Fail("cannot unpack {} values into {} loop variables", parts.size(), s.targets.size());
    }
    for (size_t i = 0; i < parts.size(); ++i) target.vars[s.targets[i]] = parts[i];
  };
  if (s.filter) {
    ValueList kept;
    for (auto& item : items) {
      Tick();
      Scope probe;
      probe.parent = &scope;
      bind(probe, item);
      if (Eval(*s.filter, probe).Truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return ExecBody(s.else_body, loop_scope, out);
  // Each iteration starts from a fresh scope: in Jinja2 a `set` in the body lasts one iteration.
  const int64_t n = static_cast<int64_t>(items.size());
  auto items_ptr = std::make_shared<const ValueList>(std::move(items));
  auto last_changed = std::make_shared<std::optional<ValueList>>();
  for (int64_t i = 0; i < n; ++i) {
    Tick();
    const Value& item = (*items_ptr)[static_cast<size_t>(i)];
    loop_scope.vars.clear();
    bind(loop_scope, item);
    std::vector<std::pair<Value, Value>> loop;
    loop.reserve(14);
    auto put = [&](const char* k, Value v) { loop.emplace_back(Value::String(k), std::move(v)); };
    put("index", Value::Int(i + 1));
    put("index0", Value::Int(i));
    put("revindex", Value::Int(n - i));
    put("revindex0", Value::Int(n - i - 1));
    put("first", Value::Bool(i == 0));
    put("last", Value::Bool(i == n - 1));
    put("length", Value::Int(n));
    put("depth", Value::Int(1));
    put("depth0", Value::Int(0));
    if (i > 0) put("previtem", (*items_ptr)[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) put("nextitem", (*items_ptr)[static_cast<size_t>(i + 1)]);
    put("cycle", Value::Function("cycle", [i](Interpreter&, CallArgs& args) {
          if (args.positional.empty()) Fail("no items for cycling given");
          return args.positional[static_cast<size_t>(i) % args.positional.size()];
        }));
    put("changed", Value::Function("changed", [last_changed](Interpreter&, CallArgs& args) {
          if (last_changed->has_value()) {
            const ValueList& prev = **last_changed;
            bool same = prev.size() == args.positional.size();
            for (size_t k = 0; same && k < prev.size(); ++k) same = Equals(prev[k], args.positional[k]);
            if (same) return Value::Bool(false);
          }
          *last_changed = args.positional;
          return Value::Bool(true);
        }));
    loop_scope.vars["loop"] = Value::Dict(std::move(loop));
    Flow f = ExecBody(s.body, loop_scope, out);
    if (f == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

Value Interpreter::CallMacro(const Stmt& macro, CallArgs& args) {
  if (call_depth_ >= options_.limits.max_call_depth) {
    Fail("macro '{}' recursed deeper than {} calls", macro.text, options_.limits.max_call_depth);
  }
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(depth) { ++d; }
    ~DepthGuard() { --d; }
  } guard(call_depth_);
  Scope scope;
  scope.parent = root_;
  std::vector<bool> used(args.keyword.size(), false);
  for (size_t i = 0; i < macro.params.size(); ++i) {
    const MacroParam& p = macro.params[i];
    bool bound = false;
    if (i < args.positional.size()) {
      scope.vars[p.name] = args.positional[i];
      bound = true;
    }
    for (size_t k = 0; k < args.keyword.size(); ++k) {
      if (args.keyword[k].first != p.name) continue;
      if (bound) Fail("macro '{}' got multiple values for argument '{}'", macro.text, p.name);
      scope.vars[p.name] = args.keyword[k].second;
      used[k] = true;
      bound = true;
    }
    if (!bound) {
      scope.vars[p.name] = p.default_value ? Eval(*p.default_value, scope)
                                           : Value::Undefined("parameter '" + p.name + "' was not provided");
    }
  }
  ValueList varargs;
  for (size_t i = macro.params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
  std::vector<std::pair<Value, Value>> kwargs;
  for (size_t k = 0; k < args.keyword.size(); ++k) {
    if (used[k]) continue;
    if (args.keyword[k].first == "caller") {
      scope.vars["caller"] = args.keyword[k].second;
    } else {
      kwargs.emplace_back(Value::String(args.keyword[k].first), args.keyword[k].second);
    }
  }
  scope.vars["varargs"] = Value::List(std::move(varargs), true);
  scope.vars["kwargs"] = Value::Dict(std::move(kwargs));
  std::string out;
  ExecBody(macro.body, scope, out);
  return Value::String(std::move(out));
}

Value Interpreter::CallValue(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) FailUndefined(fn);
  if (!fn.is_callable()) Fail("'{}' object is not callable", fn.TypeName());
  Tick();
  return fn.callable().fn(*this, args);
}

CallArgs Interpreter::EvalArgs(const Expr& e, size_t first, Scope& scope) {
  CallArgs args;
  for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(Eval(*e.children[i], scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, Eval(*v, scope));
  return args;
}

Value Interpreter::Eval(const Expr& e, Scope& scope) {
  try {
    return EvalImpl(e, scope);
  } catch (const Located&) {
    throw;
  } catch (const Error& err) {
    Rethrow(e.offset, err);
  }
}

Value Interpreter::EvalImpl(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case Expr::Kind::kConst:
      return e.constant;
    case Expr::Kind::kName:
      return scope.Lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      ValueList items;
      items.reserve(e.children.size());
      for (const auto& c : e.children) items.push_back(Eval(*c, scope));
      return Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      std::vector<std::pair<Value, Value>> items;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value k = Eval(*e.children[i], scope);
        if (k.is_list() && !k.list().is_tuple) Fail("unhashable type: 'list'");
        if (k.is_dict()) Fail("unhashable type: 'dict'");
        items.emplace_back(std::move(k), Eval(*e.children[i + 1], scope));
      }
      return Value::Dict(std::move(items));
    }
    case Expr::Kind::kGetAttr: {
      Value obj = Eval(*e.children[0], scope);
      if (obj.is_undefined()) FailUndefined(obj);
      return GetAttribute(obj, e.name);
    }
    case Expr::Kind::kGetItem: {
      Value obj = Eval(*e.children[0], scope);
      Value key = Eval(*e.children[1], scope);
      if (obj.is_undefined()) FailUndefined(obj);
      return GetItem(obj, key);
    }
    case Expr::Kind::kSlice: {
      Value obj = Eval(*e.children[0], scope);
      if (obj.is_undefined()) FailUndefined(obj);
      auto bound = [&](size_t i) { return e.children[i] ? Eval(*e.children[i], scope) : Value::None(); };
      Value start = bound(1), stop = bound(2), step = bound(3);
      return Slice(*this, obj, start, stop, step);
    }
    case Expr::Kind::kCall: {
      Value fn = Eval(*e.children[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      return CallValue(fn, args);
    }
    case Expr::Kind::kFilter: {
      Value input = Eval(*e.children[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      Tick();
      return ApplyFilter(*this, e.builtin_index, input, args);
    }
    case Expr::Kind::kTest: {
      Value input = Eval(*e.children[0], scope);
      CallArgs args = EvalArgs(e, 1, scope);
      Tick();
      bool r = ApplyTest(*this, e.builtin_index, input, args);
      return Value::Bool(e.negated ? !r : r);
    }
    case Expr::Kind::kUnary: {
      Value v = Eval(*e.children[0], scope);
      if (e.name == "not") return Value::Bool(!v.Truthy());
      if (v.is_undefined()) FailUndefined(v);
      if (!v.is_numeric()) Fail("bad operand type for unary {}: '{}'", e.name, v.TypeName());
      if (e.name == "+") return v.is_bool() ? Value::Int(v.as_int()) : v;
      if (v.is_float()) return Value::Float(-v.as_double());
      if (v.as_int() == std::numeric_limits<int64_t>::min()) Fail("integer overflow");
      return Value::Int(-v.as_int());
    }
    case Expr::Kind::kBinary:
      return EvalBinary(e, scope);
    case Expr::Kind::kCompare:
      return EvalCompare(e, scope);
    case Expr::Kind::kCondExpr: {
      if (Eval(*e.children[0], scope).Truthy()) return Eval(*e.children[1], scope);
      if (e.children[2]) return Eval(*e.children[2], scope);
      return Value::Undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Value();
}

Value Interpreter::EvalBinary(const Expr& e, Scope& scope) {
  const std::string& op = e.name;
  Value a = Eval(*e.children[0], scope);
  if (op == "and") return a.Truthy() ? Eval(*e.children[1], scope) : a;
  if (op == "or") return a.Truthy() ? a : Eval(*e.children[1], scope);
  Value b = Eval(*e.children[1], scope);
  if (op == "~") {
    std::string sa = a.ToString(), sb = b.ToString();
    CheckString(sa.size() + sb.size());
    return Value::String(sa + sb);
  }
  return Arithmetic(*this, op, a, b);
}

Value Interpreter::EvalCompare(const Expr& e, Scope& scope) {
  Value left = Eval(*e.children[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = Eval(*e.children[i + 1], scope);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = Equals(left, right);
    } else if (op == "!=") {
      r = !Equals(left, right);
    } else if (op == "in") {
      r = Contains(right, left);
    } else if (op == "not in") {
      r = !Contains(right, left);
    } else {
      if (left.is_undefined()) FailUndefined(left);
      if (right.is_undefined()) FailUndefined(right);
      if (op == "<") {
        r = Less(left, right);
      } else if (op == ">") {
        r = Less(right, left);
      } else if (op == "<=") {
        r = !Less(right, left);
      } else {
        r = !Less(left, right);
      }
    }
    if (!r) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string()) Fail("'in <string>' requires string as left operand, not {}", item.TypeName());
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const auto& v : container.list().items) {
        if (Equals(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return container.dict().Find(item) != nullptr;
    default:
      Fail("argument of type '{}' is not iterable", container.TypeName());
  }
}

namespace {

// Python ints never overflow; ember's are int64 and report it instead of wrapping.
template <typename Op>
int64_t Checked(Op op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op(a, b, &r)) Fail("integer overflow");
  return r;
}
bool AddOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool SubOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool MulOverflow(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

int64_t FloorDiv(int64_t a, int64_t b) {
  if (a == std::numeric_limits<int64_t>::min() && b == -1) Fail("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value Repeat(Interpreter& in, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (!seq.str().empty()) in.CheckString(static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)) * seq.str().size());
    std::string out;
    for (int64_t i = 0; i < n && !seq.str().empty(); ++i) out += seq.str();
    return Value::String(std::move(out));
  }
  const ValueList& items = seq.list().items;
  if (!items.empty()) in.CheckItems(static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)) * items.size());
  ValueList out;
  for (int64_t i = 0; i < n && !items.empty(); ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::List(std::move(out), seq.list().is_tuple);
}

// printf-style `"%s" % value`, the subset templates use: %s %r %d %i %f %%.
Value PercentFormat(Interpreter& in, const std::string& fmt_str, const Value& arg) {
  ValueList args = (arg.is_list() && arg.list().is_tuple) ? arg.list().items : ValueList{arg};
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    if (fmt_str[i] != '%') {
      out += fmt_str[i];
      continue;
    }
    if (++i >= fmt_str.size()) Fail("incomplete format");
    char c = fmt_str[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) Fail("not enough arguments for format string");
    const Value& v = args[next++];
    if (c == 's') {
      out += v.ToString();
    } else if (c == 'r') {
      out += v.Repr();
    } else if (c == 'd' || c == 'i') {
      if (!v.is_numeric()) Fail("%{} format: a number is required, not {}", c, v.TypeName());
      out += std::to_string(v.is_float() ? static_cast<int64_t>(v.as_double()) : v.as_int());
    } else if (c == 'f') {
      if (!v.is_numeric()) Fail("%f format: a number is required, not {}", v.TypeName());
      out += fmt::format("{:.6f}", v.as_double());
    } else {
      Fail("unsupported format character '{}'", c);
    }
    in.CheckString(out.size());
  }
  if (next < args.size()) Fail("not all arguments converted during string formatting");
  return Value::String(std::move(out));
}

}  // namespace

Value Arithmetic(Interpreter& in, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) FailUndefined(a);
  if (b.is_undefined()) FailUndefined(b);
  auto unsupported = [&]() -> Value {
    Fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.TypeName(), b.TypeName());
  };
  if (a.is_numeric() && b.is_numeric()) {
    bool ints = a.is_integral() && b.is_integral();
    int64_t x = a.as_int(), y = b.as_int();
    double fx = a.as_double(), fy = b.as_double();
    if (op == "+") return ints ? Value::Int(Checked(AddOverflow, x, y)) : Value::Float(fx + fy);
    if (op == "-") return ints ? Value::Int(Checked(SubOverflow, x, y)) : Value::Float(fx - fy);
    if (op == "*") return ints ? Value::Int(Checked(MulOverflow, x, y)) : Value::Float(fx * fy);
    if (op == "/") {
      if (fy == 0.0) Fail("division by zero");
      return Value::Float(fx / fy);
    }
    if (op == "//" || op == "%") {
      if ((ints && y == 0) || (!ints && fy == 0.0)) Fail("{} by zero", op == "%" ? "modulo" : "integer division");
      if (ints) {
        int64_t q = FloorDiv(x, y);
        return op == "//" ? Value::Int(q) : Value::Int(x - q * y);
      }
      double m = std::fmod(fx, fy);
      if (m != 0.0 && ((m < 0) != (fy < 0))) m += fy;
      return op == "//" ? Value::Float(std::floor((fx - m) / fy)) : Value::Float(m);
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t result = 1, base = x;
        for (int64_t e = y; e > 0; e >>= 1) {
          if (e & 1) result = Checked(MulOverflow, result, base);
          if (e > 1) base = Checked(MulOverflow, base, base);
        }
        return Value::Int(result);
      }
      return Value::Float(std::pow(fx, fy));
    }
    return unsupported();
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      in.CheckString(a.str().size() + b.str().size());
      return Value::String(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
      in.CheckItems(a.list().items.size() + b.list().items.size());
      ValueList items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::List(std::move(items), a.list().is_tuple);
    }
    return unsupported();
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_integral()) return Repeat(in, a, b.as_int());
    if ((b.is_string() || b.is_list()) && a.is_integral()) return Repeat(in, b, a.as_int());
    return unsupported();
  }
  if (op == "%" && a.is_string()) return PercentFormat(in, a.str(), b);
  return unsupported();
}

}  // namespace ember::jinja
