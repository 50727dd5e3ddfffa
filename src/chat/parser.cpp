// Parser of the Jinja subset (grammar in parser.h), a recursive-descent port of Jinja2's parser.
#include "chat/parser.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "chat/builtins.h"
#include "core/error.h"

namespace ember::jinja {
namespace {

constexpr int kMaxNesting = 256;     // statements and parentheses nested in the source
constexpr int kMaxExprDepth = 512;   // height of one expression tree (long operator chains)

class Parser {
 public:
  Parser(const std::string& source, const std::vector<Token>& tokens) : src_(source), toks_(tokens) {}

  Body ParseTemplate() { return ParseBody({}); }

 private:
  struct Nest {
    explicit Nest(Parser* p) : parser(p) {
      if (++parser->nesting_ > kMaxNesting) parser->FailHere("template nested too deeply");
    }
    ~Nest() { --parser->nesting_; }
    Parser* parser;
  };

  const Token& Cur() const { return toks_[pos_]; }
  const Token& Peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  void Next() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool IsOp(std::string_view op) const { return Cur().kind == TokenKind::kOp && Cur().text == op; }
  bool IsName(std::string_view n) const { return Cur().kind == TokenKind::kName && Cur().text == n; }
  bool IsBlockEnd() const { return Cur().kind == TokenKind::kBlockEnd; }

  [[noreturn]] void FailAt(size_t offset, const std::string& message) const {
    SourcePosition p = PositionOf(src_, offset);
    Fail("template syntax error at line {}, column {}: {}", p.line, p.column, message);
  }
  [[noreturn]] void FailHere(const std::string& message) const { FailAt(Cur().offset, message); }

  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::kText:
        return "text";
      case TokenKind::kVarBegin:
        return "'{{'";
      case TokenKind::kVarEnd:
        return "'}}'";
      case TokenKind::kBlockBegin:
        return "'{%'";
      case TokenKind::kBlockEnd:
        return "'%}'";
      case TokenKind::kName:
        return "name '" + t.text + "'";
      case TokenKind::kString:
        return "string";
      case TokenKind::kInt:
      case TokenKind::kFloat:
        return "number";
      case TokenKind::kOp:
        return "'" + t.text + "'";
      case TokenKind::kEnd:
        return "end of template";
    }
    return "token";
  }

  void ExpectOp(std::string_view op) {
    if (!IsOp(op)) FailHere("expected '" + std::string(op) + "', got " + Describe(Cur()));
    Next();
  }
  std::string ExpectName() {
    if (Cur().kind != TokenKind::kName) FailHere("expected a name, got " + Describe(Cur()));
    std::string n = Cur().text;
    Next();
    return n;
  }
  void ExpectNameToken(std::string_view n) {
    if (!IsName(n)) FailHere("expected '" + std::string(n) + "', got " + Describe(Cur()));
    Next();
  }
  void ExpectBlockEnd() {
    if (!IsBlockEnd()) FailHere("expected end of statement '%}', got " + Describe(Cur()));
    Next();
  }

  ExprPtr NewExpr(Expr::Kind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }
  // Computes the subtree height once children are attached, and bounds it.
  ExprPtr Seal(ExprPtr e) {
    int d = 0;
    for (const auto& c : e->children) {
      if (c) d = std::max(d, c->depth);
    }
    for (const auto& [k, c] : e->kwargs) d = std::max(d, c->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) FailAt(e->offset, "expression nested too deeply");
    return e;
  }
  ExprPtr Binary(std::string op, ExprPtr l, ExprPtr r, size_t offset) {
    auto e = NewExpr(Expr::Kind::kBinary, offset);
    e->name = std::move(op);
    e->children.push_back(std::move(l));
    e->children.push_back(std::move(r));
    return Seal(std::move(e));
  }

  // ---- statements ----

  Body ParseBody(std::initializer_list<std::string_view> ends) {
    Nest nest(this);
    Body body;
    while (true) {
      const Token& t = Cur();
      switch (t.kind) {
        case TokenKind::kText: {
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kText;
          s->offset = t.offset;
          s->text = t.text;
          body.push_back(std::move(s));
          Next();
          break;
        }
        case TokenKind::kVarBegin: {
          Next();
          auto s = std::make_unique<Stmt>();
          s->kind = Stmt::Kind::kOutput;
          s->offset = Cur().offset;
          if (Cur().kind == TokenKind::kVarEnd) FailHere("expected an expression, got '}}'");
          s->expr = ParseTuple(false, true, {}, false);
          if (Cur().kind != TokenKind::kVarEnd) FailHere("expected end of print statement '}}', got " + Describe(Cur()));
          Next();
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kBlockBegin: {
          Next();
          if (Cur().kind == TokenKind::kName &&
              std::find(ends.begin(), ends.end(), std::string_view(Cur().text)) != ends.end()) {
            return body;
          }
          body.push_back(ParseStatement());
          break;
        }
        case TokenKind::kEnd: {
          if (ends.size() != 0) {
            std::string expected;
            for (auto e : ends) expected += (expected.empty() ? "'" : " or '") + std::string(e) + "'";
            FailHere("unexpected end of template, expected " + expected);
          }
          return body;
        }
        default:
          FailHere("unexpected " + Describe(t));
      }
    }
  }

  StmtPtr NewStmt(Stmt::Kind kind) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->offset = Cur().offset;
    return s;
  }

  StmtPtr ParseStatement() {
    if (Cur().kind != TokenKind::kName) FailHere("expected a tag name, got " + Describe(Cur()));
    const std::string tag = Cur().text;
    if (tag == "if") return ParseIf();
    if (tag == "for") return ParseFor();
    if (tag == "set") return ParseSet();
    if (tag == "macro") return ParseMacro();
    if (tag == "call") return ParseCallBlock();
    if (tag == "filter") return ParseFilterBlock();
    if (tag == "with") return ParseWith();
    if (tag == "generation") return ParseSimpleBlock(Stmt::Kind::kGeneration, "endgeneration");
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) FailHere("'" + tag + "' outside of a loop");
      auto s = NewStmt(tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue);
      Next();
      ExpectBlockEnd();
      return s;
    }
    if (tag.rfind("end", 0) == 0) FailHere("unexpected '" + tag + "': no block is open that it could end");
    if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block") {
      FailHere("the '" + tag + "' tag is not supported in chat templates");
    }
    FailHere("unknown tag '" + tag + "'");
  }

  StmtPtr ParseSimpleBlock(Stmt::Kind kind, std::string_view end) {
    auto s = NewStmt(kind);
    Next();
    ExpectBlockEnd();
    s->body = ParseBody({end});
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseIf() {
    auto s = NewStmt(Stmt::Kind::kIf);
    Next();
    s->conditions.push_back(ParseTuple(false, false, {}, false));
    ExpectBlockEnd();
    s->bodies.push_back(ParseBody({"elif", "else", "endif"}));
    while (true) {
      if (IsName("elif")) {
        Next();
        s->conditions.push_back(ParseTuple(false, false, {}, false));
        ExpectBlockEnd();
        s->bodies.push_back(ParseBody({"elif", "else", "endif"}));
      } else if (IsName("else")) {
        Next();
        ExpectBlockEnd();
        s->else_body = ParseBody({"endif"});
      } else {
        Next();  // endif
        ExpectBlockEnd();
        return s;
      }
    }
  }

  // Assignment targets: `a`, `a, b`, `(a, b)`.
  std::vector<std::string> ParseTargets() {
    std::vector<std::string> names;
    bool paren = IsOp("(");
    if (paren) Next();
    while (true) {
      names.push_back(ExpectName());
      if (!IsOp(",")) break;
      Next();
      if (Cur().kind != TokenKind::kName) break;
    }
    if (paren) ExpectOp(")");
    for (const auto& n : names) {
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
        FailHere("cannot assign to constant '" + n + "'");
      }
    }
    return names;
  }

  StmtPtr ParseFor() {
    auto s = NewStmt(Stmt::Kind::kFor);
    Next();
    s->targets = ParseTargets();
    ExpectNameToken("in");
    s->expr = ParseTuple(false, false, {"recursive"}, false);
    if (IsName("if")) {
      Next();
      s->filter = ParseExpression(true);
    }
    if (IsName("recursive")) FailHere("recursive for loops are not supported");
    ExpectBlockEnd();
    ++loop_depth_;
    s->body = ParseBody({"endfor", "else"});
    --loop_depth_;
    if (IsName("else")) {
      Next();
      ExpectBlockEnd();
      s->else_body = ParseBody({"endfor"});
    }
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseSet() {
    auto s = NewStmt(Stmt::Kind::kSet);
    Next();
    if (Cur().kind == TokenKind::kName && Peek().kind == TokenKind::kOp && Peek().text == "." &&
        Peek(2).kind == TokenKind::kName) {
      s->targets.push_back(Cur().text);
      s->ns_attr = Peek(2).text;
      Next();
      Next();
      Next();
    } else {
      s->targets = ParseTargets();
    }
    if (IsOp("=")) {
      Next();
      s->expr = ParseTuple(false, true, {}, false);
      ExpectBlockEnd();
      return s;
    }
    s->kind = Stmt::Kind::kSetBlock;
    if (s->targets.size() != 1) FailHere("a block set takes exactly one target");
    while (IsOp("|")) {
      Next();
      s->filters.push_back(ParseFilter(nullptr));
    }
    ExpectBlockEnd();
    s->body = ParseBody({"endset"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  std::vector<MacroParam> ParseParams() {
    std::vector<MacroParam> params;
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!params.empty()) ExpectOp(",");
      if (IsOp(")")) break;
      MacroParam p;
      p.name = ExpectName();
      if (IsOp("=")) {
        Next();
        p.default_value = ParseExpression(true);
      } else if (!params.empty() && params.back().default_value) {
        FailHere("non-default argument follows default argument");
      }
      params.push_back(std::move(p));
    }
    Next();
    return params;
  }

  StmtPtr ParseMacro() {
    auto s = NewStmt(Stmt::Kind::kMacro);
    Next();
    s->text = ExpectName();
    s->params = ParseParams();
    ExpectBlockEnd();
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = ParseBody({"endmacro"});
    loop_depth_ = saved_loops;
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseCallBlock() {
    auto s = NewStmt(Stmt::Kind::kCallBlock);
    Next();
    if (IsOp("(")) s->params = ParseParams();
    s->expr = ParseExpression(true);
    if (s->expr->kind != Expr::Kind::kCall) FailAt(s->expr->offset, "expected a macro call after 'call'");
    ExpectBlockEnd();
    s->body = ParseBody({"endcall"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseFilterBlock() {
    auto s = NewStmt(Stmt::Kind::kFilterBlock);
    Next();
    s->filters.push_back(ParseFilter(nullptr));
    while (IsOp("|")) {
      Next();
      s->filters.push_back(ParseFilter(nullptr));
    }
    ExpectBlockEnd();
    s->body = ParseBody({"endfilter"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  StmtPtr ParseWith() {
    auto s = NewStmt(Stmt::Kind::kWith);
    Next();
    while (!IsBlockEnd()) {
      if (!s->targets.empty()) ExpectOp(",");
      s->targets.push_back(ExpectName());
      ExpectOp("=");
      s->values.push_back(ParseExpression(true));
    }
    ExpectBlockEnd();
    s->body = ParseBody({"endwith"});
    Next();
    ExpectBlockEnd();
    return s;
  }

  // ---- expressions ----

  bool IsTupleEnd(std::initializer_list<std::string_view> extra_end) const {
    TokenKind k = Cur().kind;
    if (k == TokenKind::kVarEnd || k == TokenKind::kBlockEnd || k == TokenKind::kEnd || IsOp(")")) return true;
    for (auto n : extra_end) {
      if (IsName(n)) return true;
    }
    return false;
  }

  ExprPtr ParseTuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                     bool explicit_parentheses) {
    size_t offset = Cur().offset;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) ExpectOp(",");
      if (IsTupleEnd(extra_end)) break;
      items.push_back(simplified ? ParsePrimary() : ParseExpression(with_condexpr));
      if (IsOp(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) FailHere("expected an expression, got " + Describe(Cur()));
    }
    auto e = NewExpr(Expr::Kind::kTuple, offset);
    e->children = std::move(items);
    return Seal(std::move(e));
  }

  ExprPtr ParseExpression(bool with_condexpr) {
    Nest nest(this);
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }

  ExprPtr ParseCondExpr() {
    ExprPtr expr = ParseOr();
    while (IsName("if")) {
      size_t offset = Cur().offset;
      Next();
      auto e = NewExpr(Expr::Kind::kCondExpr, offset);
      e->children.push_back(ParseOr());
      e->children.push_back(std::move(expr));
      if (IsName("else")) {
        Next();
        e->children.push_back(ParseCondExpr());
      } else {
        e->children.push_back(nullptr);
      }
      expr = Seal(std::move(e));
    }
    return expr;
  }

  ExprPtr ParseOr() {
    ExprPtr l = ParseAnd();
    while (IsName("or")) {
      size_t offset = Cur().offset;
      Next();
      l = Binary("or", std::move(l), ParseAnd(), offset);
    }
    return l;
  }

  ExprPtr ParseAnd() {
    ExprPtr l = ParseNot();
    while (IsName("and")) {
      size_t offset = Cur().offset;
      Next();
      l = Binary("and", std::move(l), ParseNot(), offset);
    }
    return l;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      Nest nest(this);
      auto e = NewExpr(Expr::Kind::kUnary, Cur().offset);
      Next();
      e->name = "not";
      e->children.push_back(ParseNot());
      return Seal(std::move(e));
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    size_t offset = Cur().offset;
    ExprPtr first = ParseMath1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      const Token& t = Cur();
      if (t.kind == TokenKind::kOp &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
        ops.push_back(t.text);
        Next();
      } else if (IsName("in")) {
        ops.push_back("in");
        Next();
      } else if (IsName("not") && Peek().kind == TokenKind::kName && Peek().text == "in") {
        ops.push_back("not in");
        Next();
        Next();
      } else {
        break;
      }
      operands.push_back(ParseMath1());
    }
    if (ops.empty()) return first;
    auto e = NewExpr(Expr::Kind::kCompare, offset);
    e->children.push_back(std::move(first));
    for (auto& o : operands) e->children.push_back(std::move(o));
    e->ops = std::move(ops);
    return Seal(std::move(e));
  }

  ExprPtr ParseMath1() {
    ExprPtr l = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      std::string op = Cur().text;
      size_t offset = Cur().offset;
      Next();
      l = Binary(op, std::move(l), ParseConcat(), offset);
    }
    return l;
  }

  ExprPtr ParseConcat() {
    ExprPtr l = ParseMath2();
    while (IsOp("~")) {
      size_t offset = Cur().offset;
      Next();
      l = Binary("~", std::move(l), ParseMath2(), offset);
    }
    return l;
  }

  ExprPtr ParseMath2() {
    ExprPtr l = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Cur().text;
      size_t offset = Cur().offset;
      Next();
      l = Binary(op, std::move(l), ParsePow(), offset);
    }
    return l;
  }

  ExprPtr ParsePow() {
    ExprPtr l = ParseUnary(true);
    while (IsOp("**")) {
      size_t offset = Cur().offset;
      Next();
      l = Binary("**", std::move(l), ParseUnary(true), offset);
    }
    return l;
  }

  ExprPtr ParseUnary(bool with_filter) {
    Nest nest(this);
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      auto e = NewExpr(Expr::Kind::kUnary, Cur().offset);
      e->name = Cur().text;
      Next();
      e->children.push_back(ParseUnary(false));
      node = Seal(std::move(e));
    } else {
      node = ParsePrimary();
    }
    node = ParsePostfix(std::move(node));
    if (with_filter) node = ParseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr ParsePrimary() {
    Nest nest(this);
    const Token& t = Cur();
    switch (t.kind) {
      case TokenKind::kName: {
        auto e = NewExpr(Expr::Kind::kConst, t.offset);
        if (t.text == "true" || t.text == "True") {
          e->constant = Value::Bool(true);
        } else if (t.text == "false" || t.text == "False") {
          e->constant = Value::Bool(false);
        } else if (t.text == "none" || t.text == "None") {
          e->constant = Value::None();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        Next();
        return e;
      }
      case TokenKind::kString: {
        auto e = NewExpr(Expr::Kind::kConst, t.offset);
        std::string s;
        while (Cur().kind == TokenKind::kString) {
          s += Cur().text;
          Next();
        }
        e->constant = Value::String(std::move(s));
        return e;
      }
      case TokenKind::kInt: {
        auto e = NewExpr(Expr::Kind::kConst, t.offset);
        e->constant = Value::Int(t.int_value);
        Next();
        return e;
      }
      case TokenKind::kFloat: {
        auto e = NewExpr(Expr::Kind::kConst, t.offset);
        e->constant = Value::Float(t.float_value);
        Next();
        return e;
      }
      case TokenKind::kOp:
        if (t.text == "(") {
          Next();
          ExprPtr e = ParseTuple(false, true, {}, true);
          ExpectOp(")");
          return e;
        }
        if (t.text == "[") {
          auto e = NewExpr(Expr::Kind::kList, t.offset);
          Next();
          while (!IsOp("]")) {
            if (!e->children.empty()) ExpectOp(",");
            if (IsOp("]")) break;
            e->children.push_back(ParseExpression(true));
          }
          Next();
          return Seal(std::move(e));
        }
        if (t.text == "{") {
          auto e = NewExpr(Expr::Kind::kDict, t.offset);
          Next();
          while (!IsOp("}")) {
            if (!e->children.empty()) ExpectOp(",");
            if (IsOp("}")) break;
            e->children.push_back(ParseExpression(true));
            ExpectOp(":");
            e->children.push_back(ParseExpression(true));
          }
          Next();
          return Seal(std::move(e));
        }
        break;
      default:
        break;
    }
    FailHere("unexpected " + Describe(t));
  }

  ExprPtr ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".") || IsOp("[")) {
        node = ParseSubscript(std::move(node));
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr node) {
    size_t offset = Cur().offset;
    if (IsOp(".")) {
      Next();
      if (Cur().kind == TokenKind::kName) {
        auto e = NewExpr(Expr::Kind::kGetAttr, offset);
        e->name = Cur().text;
        Next();
        e->children.push_back(std::move(node));
        return Seal(std::move(e));
      }
      if (Cur().kind == TokenKind::kInt) {
        auto e = NewExpr(Expr::Kind::kGetItem, offset);
        auto idx = NewExpr(Expr::Kind::kConst, Cur().offset);
        idx->constant = Value::Int(Cur().int_value);
        Next();
        e->children.push_back(std::move(node));
        e->children.push_back(std::move(idx));
        return Seal(std::move(e));
      }
      FailHere("expected an attribute name after '.', got " + Describe(Cur()));
    }
    Next();  // '['
    ExprPtr start, stop, step;
    bool is_slice = false;
    if (IsOp(":")) {
      is_slice = true;
    } else {
      start = ParseExpression(true);
      is_slice = IsOp(":");
    }
    if (is_slice) {
      Next();
      if (!IsOp("]") && !IsOp(":")) stop = ParseExpression(true);
      if (IsOp(":")) {
        Next();
        if (!IsOp("]")) step = ParseExpression(true);
      }
      ExpectOp("]");
      auto e = NewExpr(Expr::Kind::kSlice, offset);
      e->children.push_back(std::move(node));
      e->children.push_back(std::move(start));
      e->children.push_back(std::move(stop));
      e->children.push_back(std::move(step));
      return Seal(std::move(e));
    }
    if (IsOp(",")) FailHere("tuple subscripts are not supported");
    ExpectOp("]");
    auto e = NewExpr(Expr::Kind::kGetItem, offset);
    e->children.push_back(std::move(node));
    e->children.push_back(std::move(start));
    return Seal(std::move(e));
  }

  // Parses "(args)" into e (children after the first, kwargs).
  void ParseArgs(Expr* e) {
    ExpectOp("(");
    bool first = true;
    while (!IsOp(")")) {
      if (!first) ExpectOp(",");
      first = false;
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) FailHere("'*args' and '**kwargs' in calls are not supported");
      if (Cur().kind == TokenKind::kName && Peek().kind == TokenKind::kOp && Peek().text == "=") {
        std::string key = Cur().text;
        Next();
        Next();
        e->kwargs.emplace_back(std::move(key), ParseExpression(true));
      } else {
        if (!e->kwargs.empty()) FailHere("positional argument follows keyword argument");
        e->children.push_back(ParseExpression(true));
      }
    }
    Next();
  }

  ExprPtr ParseCall(ExprPtr node) {
    auto e = NewExpr(Expr::Kind::kCall, Cur().offset);
    e->children.push_back(std::move(node));
    ParseArgs(e.get());
    return Seal(std::move(e));
  }

  std::string ParseDottedName() {
    std::string name = ExpectName();
    while (IsOp(".")) {
      Next();
      name += "." + ExpectName();
    }
    return name;
  }

  ExprPtr ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        Next();
        node = ParseFilter(std::move(node));
      } else if (IsName("is")) {
        node = ParseTest(std::move(node));
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  // After '|' (or at the start of a filter block): name[(args)]. `node` may be null for blocks.
  ExprPtr ParseFilter(ExprPtr node) {
    auto e = NewExpr(Expr::Kind::kFilter, Cur().offset);
    e->name = ParseDottedName();
    e->builtin_index = FindFilter(e->name);
    if (e->builtin_index < 0) FailAt(e->offset, "no filter named '" + e->name + "'");
    e->children.push_back(std::move(node));
    if (IsOp("(")) ParseArgs(e.get());
    return Seal(std::move(e));
  }

  ExprPtr ParseTest(ExprPtr node) {
    auto e = NewExpr(Expr::Kind::kTest, Cur().offset);
    Next();  // 'is'
    if (IsName("not")) {
      e->negated = true;
      Next();
    }
    e->name = ParseDottedName();
    e->builtin_index = FindTest(e->name);
    if (e->builtin_index < 0) FailAt(e->offset, "no test named '" + e->name + "'");
    e->children.push_back(std::move(node));
    const Token& t = Cur();
    if (IsOp("(")) {
      ParseArgs(e.get());
    } else if ((t.kind == TokenKind::kName || t.kind == TokenKind::kString || t.kind == TokenKind::kInt ||
                t.kind == TokenKind::kFloat || IsOp("[") || IsOp("{")) &&
               !IsName("else") && !IsName("or") && !IsName("and")) {
      if (IsName("is")) FailHere("you cannot chain multiple tests with 'is'");
      e->children.push_back(ParsePostfix(ParsePrimary()));
    }
    return Seal(std::move(e));
  }

  const std::string& src_;
  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body Parse(const std::string& source, const std::vector<Token>& tokens) {
  return Parser(source, tokens).ParseTemplate();
}

}  // namespace ember::jinja
