// Built-in filters, tests and globals of the Jinja subset, as Jinja2 3.1 defines them, with
// Hugging Face's overrides: tojson is json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False) without HTML escaping, raise_exception raises, strftime_now
// formats the current (or a fixed) date, and range is capped like the sandbox's (100000 items).
#include "chat/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "chat/interpreter.h"
#include "chat/pystring.h"
#include "core/error.h"

namespace ember::jinja {

const Value* ArgAt(const CallArgs& args, size_t index, std::string_view name) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [k, v] : args.keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);

Value ArgOr(const CallArgs& a, size_t i, std::string_view name, Value fallback) {
  const Value* v = ArgAt(a, i, name);
  return v ? *v : fallback;
}

bool BoolArg(const CallArgs& a, size_t i, std::string_view name, bool fallback) {
  const Value* v = ArgAt(a, i, name);
  return v ? v->Truthy() : fallback;
}

int64_t IntArg(const CallArgs& a, size_t i, std::string_view name, int64_t fallback) {
  const Value* v = ArgAt(a, i, name);
  if (!v || v->is_none()) return fallback;
  if (!v->is_integral()) Fail("'{}' argument must be an integer, not {}", name, v->TypeName());
  return v->as_int();
}

size_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return CodePointCount(v.str());
    case Value::Kind::kList:
      return v.list().items.size();
    case Value::Kind::kDict:
      return v.dict().items.size();
    default:
      Fail("object of type '{}' has no len()", v.TypeName());
  }
}

// Jinja's make_attrgetter: "a.b.0" walks items (getitem semantics), integers as indexes.
Value GetPath(const Value& item, const std::string& path) {
  Value cur = item;
  for (const std::string& part : py::Split(path, std::string("."), -1, false)) {
    if (cur.is_undefined()) return cur;
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = numeric ? GetItem(cur, Value::Int(std::stoll(part))) : GetItem(cur, Value::String(part));
  }
  return cur;
}

Value IgnoreCase(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value::String(py::Lower(v.str())) : v;
}

// --- filters ---

Value FAbs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_float()) return Value::Float(std::fabs(v.as_double()));
  if (v.is_integral()) {
    if (v.as_int() == INT64_MIN) Fail("integer overflow");
    return Value::Int(std::llabs(v.as_int()));
  }
  Fail("bad operand type for abs(): '{}'", v.TypeName());
}

Value FAttr(Interpreter&, const Value& v, CallArgs& a) {
  const Value* name = ArgAt(a, 0, "name");
  if (!name || !name->is_string()) Fail("attr filter needs an attribute name");
  if (v.is_dict()) return Value::Undefined("'dict object' has no attribute '" + name->str() + "'");
  return GetAttribute(v, name->str());
}

Value FBatch(Interpreter& in, const Value& v, CallArgs& a) {
  int64_t n = IntArg(a, 0, "linecount", 0);
  if (n <= 0) Fail("batch size must be positive");
  const Value* fill = ArgAt(a, 1, "fill_with");
  ValueList items = Iterate(v), out, cur;
  in.Tick(items.size());
  for (auto& it : items) {
    cur.push_back(std::move(it));
    if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::List(std::move(cur))), cur.clear();
  }
  if (!cur.empty()) {
    if (fill && !fill->is_none()) {
      while (static_cast<int64_t>(cur.size()) < n) cur.push_back(*fill);
    }
    out.push_back(Value::List(std::move(cur)));
  }
  return Value::List(std::move(out));
}

Value FCapitalize(Interpreter&, const Value& v, CallArgs&) { return Value::String(py::Capitalize(v.ToString())); }

Value FCenter(Interpreter& in, const Value& v, CallArgs& a) {
  std::string s = v.ToString();
  int64_t width = IntArg(a, 0, "width", 80);
  int64_t len = static_cast<int64_t>(CodePointCount(s));
  if (width <= len) return Value::String(s);
  in.CheckString(static_cast<size_t>(width));
  int64_t pad = width - len;
  int64_t left = pad / 2 + (pad & width & 1);  // CPython's str.center rounding
  return Value::String(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(pad - left), ' '));
}

Value FLength(Interpreter&, const Value& v, CallArgs&) { return Value::Int(static_cast<int64_t>(Length(v))); }

Value FDefault(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = ArgOr(a, 0, "default_value", Value::String(""));
  if (v.is_undefined() || (BoolArg(a, 1, "boolean", false) && !v.Truthy())) return fallback;
  return v;
}

Value FDictsort(Interpreter& in, const Value& v, CallArgs& a) {
  if (!v.is_mapping()) Fail("dictsort filter needs a mapping, got {}", v.TypeName());
  bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  Value by = ArgOr(a, 1, "by", Value::String("key"));
  bool reverse = BoolArg(a, 2, "reverse", false);
  if (!by.is_string() || (by.str() != "key" && by.str() != "value")) Fail("You can only sort by either \"key\" or \"value\"");
  size_t pos = by.str() == "key" ? 0 : 1;
  ValueList items;
  for (const auto& [k, val] : v.dict().items) items.push_back(Value::List({k, val}, true));
  in.Tick(items.size());
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    Value kx = IgnoreCase(x.list().items[pos], case_sensitive), ky = IgnoreCase(y.list().items[pos], case_sensitive);
    return reverse ? Less(ky, kx) : Less(kx, ky);
  });
  return Value::List(std::move(items));
}

Value FEscape(Interpreter&, const Value& v, CallArgs&) {
  std::string out;
  for (char c : v.ToString()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value::String(out);
}

Value FFirst(Interpreter&, const Value& v, CallArgs&) {
  ValueList items = Iterate(v);
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

Value FLast(Interpreter&, const Value& v, CallArgs&) {
  ValueList items = Iterate(v);
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

std::optional<double> ParsePythonFloat(const std::string& s) {
  std::string t = py::Strip(s, std::nullopt, true, true);
  t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return d;
}

Value FFloat(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = ArgOr(a, 0, "default", Value::Float(0.0));
  if (v.is_numeric()) return Value::Float(v.as_double());
  if (v.is_string()) {
    auto d = ParsePythonFloat(v.str());
    if (d) return Value::Float(*d);
  }
  return fallback;
}

Value FInt(Interpreter&, const Value& v, CallArgs& a) {
  Value fallback = ArgOr(a, 0, "default", Value::Int(0));
  int64_t base = IntArg(a, 1, "base", 10);
  if (v.is_integral()) return Value::Int(v.as_int());
  if (v.is_float()) {
    double d = v.as_double();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value::Int(static_cast<int64_t>(d));
  }
  if (v.is_string()) {
    std::string t = py::Strip(v.str(), std::nullopt, true, true);
    t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
    if (!t.empty()) {
      errno = 0;
      char* end = nullptr;
      long long r = std::strtoll(t.c_str(), &end, static_cast<int>(base));
      if (errno == 0 && end == t.c_str() + t.size()) return Value::Int(r);
      auto d = ParsePythonFloat(v.str());  // Jinja's quirk: "42.23"|int is 42
      if (d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) return Value::Int(static_cast<int64_t>(*d));
    }
  }
  return fallback;
}

Value FFormat(Interpreter& in, const Value& v, CallArgs& a) {
  if (!a.keyword.empty() && !a.positional.empty()) Fail("can't handle positional and keyword arguments at the same time");
  Value args = a.positional.size() == 1 ? a.positional[0] : Value::List(a.positional, true);
  if (a.positional.size() == 1 && a.positional[0].is_list() && a.positional[0].list().is_tuple) {
    args = Value::List({a.positional[0]}, true);
  }
  return Arithmetic(in, "%", Value::String(v.ToString()), args);
}

Value FIndent(Interpreter& in, const Value& v, CallArgs& a) {
  Value width = ArgOr(a, 0, "width", Value::Int(4));
  bool first = BoolArg(a, 1, "first", false);
  bool blank = BoolArg(a, 2, "blank", false);
  std::string indention;
  if (width.is_string()) {
    indention = width.str();
  } else if (width.is_integral()) {
    in.CheckString(static_cast<size_t>(std::max<int64_t>(0, width.as_int())));
    indention = std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  } else {
    Fail("indent width must be an integer or a string, not {}", width.TypeName());
  }
  std::string s = v.ToString() + "\n";  // Jinja's quirk, so splitlines sees the last line
  std::vector<std::string> lines = py::SplitLines(s, false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (first) rv = indention + rv;
  in.CheckString(rv.size());
  return Value::String(rv);
}

Value FItems(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::List({});
  if (!v.is_dict()) Fail("Can only get item pairs from a mapping.");
  ValueList out;
  for (const auto& [k, val] : v.dict().items) out.push_back(Value::List({k, val}, true));
  return Value::List(std::move(out));
}

Value FJoin(Interpreter& in, const Value& v, CallArgs& a) {
  Value sep = ArgOr(a, 0, "d", Value::String(""));
  const Value* attribute = ArgAt(a, 1, "attribute");
  std::string s = sep.ToString(), out;
  bool first = true;
  for (const Value& item : Iterate(v)) {
    if (!first) out += s;
    first = false;
    out += (attribute && !attribute->is_none() ? GetPath(item, attribute->ToString()) : item).ToString();
    in.CheckString(out.size());
  }
  return Value::String(out);
}

Value FList(Interpreter&, const Value& v, CallArgs&) { return Value::List(Iterate(v)); }
Value FLower(Interpreter&, const Value& v, CallArgs&) { return Value::String(py::Lower(v.ToString())); }
Value FUpper(Interpreter&, const Value& v, CallArgs&) { return Value::String(py::Upper(v.ToString())); }
Value FSafe(Interpreter&, const Value& v, CallArgs&) { return v; }
Value FString(Interpreter&, const Value& v, CallArgs&) { return Value::String(v.ToString()); }

Value FTitle(Interpreter&, const Value& v, CallArgs&) {
  // Jinja's own title(): words start after whitespace, '-', '(', '{', '[' or '<'.
  std::string out;
  bool start = true;
  for (char32_t c : DecodeUtf8(v.ToString())) {
    bool sep = IsPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string ch = EncodeUtf8(std::u32string(1, c));
    out += sep ? ch : (start ? py::Upper(ch) : py::Lower(ch));
    start = sep;
  }
  return Value::String(out);
}

Value FMinMax(const Value& v, CallArgs& a, bool want_max) {
  bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  const Value* attribute = ArgAt(a, 1, "attribute");
  ValueList items = Iterate(v);
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) {
    return IgnoreCase(attribute && !attribute->is_none() ? GetPath(x, attribute->ToString()) : x, case_sensitive);
  };
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    if (want_max ? Less(key(items[best]), key(items[i])) : Less(key(items[i]), key(items[best]))) best = i;
  }
  return items[best];
}
Value FMax(Interpreter&, const Value& v, CallArgs& a) { return FMinMax(v, a, true); }
Value FMin(Interpreter&, const Value& v, CallArgs& a) { return FMinMax(v, a, false); }

Value FReplace(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* old_sub = ArgAt(a, 0, "old");
  const Value* new_sub = ArgAt(a, 1, "new");
  if (!old_sub || !new_sub) Fail("replace filter needs 'old' and 'new'");
  std::string r = py::Replace(v.ToString(), old_sub->ToString(), new_sub->ToString(), IntArg(a, 2, "count", -1));
  in.CheckString(r.size());
  return Value::String(std::move(r));
}

Value FReverse(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_string()) {
    std::u32string cps = DecodeUtf8(v.str());
    std::reverse(cps.begin(), cps.end());
    return Value::String(EncodeUtf8(cps));
  }
  ValueList items = Iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::List(std::move(items));
}

Value FRound(Interpreter&, const Value& v, CallArgs& a) {
  int64_t precision = IntArg(a, 0, "precision", 0);
  Value method = ArgOr(a, 1, "method", Value::String("common"));
  if (!method.is_string() || (method.str() != "common" && method.str() != "ceil" && method.str() != "floor")) {
    Fail("method must be common, ceil or floor");
  }
  if (!v.is_numeric()) Fail("round filter needs a number, not {}", v.TypeName());
  if (method.str() == "common") {
    if (v.is_integral()) return Value::Int(v.as_int());
    double d = v.as_double();
    if (!std::isfinite(d)) return v;
    if (precision == 0) return Value::Float(std::nearbyint(d));  // half to even, like Python
    std::string s = fmt::format("{:.{}f}", d, std::clamp<int64_t>(precision, 0, 300));
    return Value::Float(std::strtod(s.c_str(), nullptr));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  return Value::Float((method.str() == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

// select / reject / selectattr / rejectattr.
Value Select(Interpreter& in, const Value& v, CallArgs& a, bool by_attr, bool keep) {
  size_t next = 0;
  std::string attribute;
  if (by_attr) {
    if (a.positional.empty()) Fail("missing attribute name");
    attribute = a.positional[next++].ToString();
  }
  int test = -1;
  CallArgs test_args;
  if (next < a.positional.size()) {
    std::string name = a.positional[next++].ToString();
    test = FindTest(name);
    if (test < 0) Fail("no test named '{}'", name);
    test_args.positional.assign(a.positional.begin() + static_cast<ptrdiff_t>(next), a.positional.end());
    test_args.keyword = a.keyword;
  }
  ValueList out;
  for (const Value& item : Iterate(v)) {
    in.Tick();
    Value probe = by_attr ? GetPath(item, attribute) : item;
    CallArgs args = test_args;
    bool r = test < 0 ? probe.Truthy() : ApplyTest(in, test, probe, args);
    if (r == keep) out.push_back(item);
  }
  return Value::List(std::move(out));
}
Value FSelect(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, false, true); }
Value FReject(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, false, false); }
Value FSelectAttr(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, true, true); }
Value FRejectAttr(Interpreter& in, const Value& v, CallArgs& a) { return Select(in, v, a, true, false); }

Value FMap(Interpreter& in, const Value& v, CallArgs& a) {
  ValueList out;
  if (a.positional.empty()) {
    const Value* attribute = ArgAt(a, 99, "attribute");
    if (!attribute) Fail("map filter needs a filter name or attribute=");
    const Value* fallback = ArgAt(a, 99, "default");
    for (const Value& item : Iterate(v)) {
      in.Tick();
      Value r = GetPath(item, attribute->ToString());
      out.push_back(r.is_undefined() && fallback ? *fallback : r);
    }
    return Value::List(std::move(out));
  }
  std::string name = a.positional[0].ToString();
  int filter = FindFilter(name);
  if (filter < 0) Fail("no filter named '{}'", name);
  for (const Value& item : Iterate(v)) {
    in.Tick();
    CallArgs args;
    args.positional.assign(a.positional.begin() + 1, a.positional.end());
    args.keyword = a.keyword;
    out.push_back(ApplyFilter(in, filter, item, args));
  }
  return Value::List(std::move(out));
}

std::vector<std::string> AttributeList(const Value* attribute) {
  if (!attribute || attribute->is_none()) return {};
  std::vector<std::string> parts = py::Split(attribute->ToString(), std::string(","), -1, false);
  for (auto& p : parts) p = py::Strip(p, std::nullopt, true, true);
  return parts;
}

Value SortKey(const Value& item, const std::vector<std::string>& attributes, bool case_sensitive) {
  if (attributes.empty()) return IgnoreCase(item, case_sensitive);
  if (attributes.size() == 1) return IgnoreCase(GetPath(item, attributes[0]), case_sensitive);
  ValueList parts;
  for (const auto& at : attributes) parts.push_back(IgnoreCase(GetPath(item, at), case_sensitive));
  return Value::List(std::move(parts));
}

Value FSort(Interpreter& in, const Value& v, CallArgs& a) {
  bool reverse = BoolArg(a, 0, "reverse", false);
  bool case_sensitive = BoolArg(a, 1, "case_sensitive", false);
  std::vector<std::string> attributes = AttributeList(ArgAt(a, 2, "attribute"));
  ValueList items = Iterate(v);
  in.Tick(items.size());
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& it : items) keyed.emplace_back(SortKey(it, attributes, case_sensitive), std::move(it));
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? Less(y.first, x.first) : Less(x.first, y.first);
  });
  ValueList out;
  for (auto& [k, it] : keyed) out.push_back(std::move(it));
  return Value::List(std::move(out));
}

Value FSum(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* attribute = ArgAt(a, 0, "attribute");
  Value total = ArgOr(a, 1, "start", Value::Int(0));
  for (const Value& item : Iterate(v)) {
    total = Arithmetic(in, "+", total, attribute && !attribute->is_none() ? GetPath(item, attribute->ToString()) : item);
  }
  return total;
}

Value FToJson(Interpreter& in, const Value& v, CallArgs& a) {
  JsonOptions o;
  o.ensure_ascii = BoolArg(a, 0, "ensure_ascii", false);
  const Value* indent = ArgAt(a, 1, "indent");
  if (indent && !indent->is_none()) {
    o.has_indent = true;
    if (indent->is_string()) {
      o.indent = indent->str();
    } else if (indent->is_integral()) {
      int64_t n = std::clamp<int64_t>(indent->as_int(), 0, 1 << 16);
      o.indent = std::string(static_cast<size_t>(n), ' ');
    } else {
      Fail("tojson indent must be an integer or a string, not {}", indent->TypeName());
    }
    o.item_separator = ",";
  }
  const Value* separators = ArgAt(a, 2, "separators");
  if (separators && !separators->is_none()) {
    if (!separators->is_list() || separators->list().items.size() != 2 || !separators->list().items[0].is_string() ||
        !separators->list().items[1].is_string()) {
      Fail("tojson separators must be a pair of strings");
    }
    o.item_separator = separators->list().items[0].str();
    o.key_separator = separators->list().items[1].str();
  }
  o.sort_keys = BoolArg(a, 3, "sort_keys", false);
  std::string s = ToJson(v, o);
  in.CheckString(s.size());
  return Value::String(std::move(s));
}

Value FTrim(Interpreter&, const Value& v, CallArgs& a) {
  const Value* chars = ArgAt(a, 0, "chars");
  std::optional<std::string> set;
  if (chars && !chars->is_none()) set = chars->ToString();
  return Value::String(py::Strip(v.ToString(), set, true, true));
}

Value FUnique(Interpreter& in, const Value& v, CallArgs& a) {
  bool case_sensitive = BoolArg(a, 0, "case_sensitive", false);
  std::vector<std::string> attributes = AttributeList(ArgAt(a, 1, "attribute"));
  ValueList out, seen;
  for (const Value& item : Iterate(v)) {
    in.Tick(seen.size() + 1);
    Value key = SortKey(item, attributes, case_sensitive);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::List(std::move(out));
}

Value FWordcount(Interpreter&, const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : DecodeUtf8(v.ToString())) {
    bool w = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0xc0;
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::Int(n);
}

struct FilterEntry {
  const char* name;
  FilterFn fn;
};

const FilterEntry kFilters[] = {
    {"abs", FAbs},           {"attr", FAttr},         {"batch", FBatch},         {"capitalize", FCapitalize},
    {"center", FCenter},     {"count", FLength},      {"d", FDefault},           {"default", FDefault},
    {"dictsort", FDictsort}, {"e", FEscape},          {"escape", FEscape},       {"first", FFirst},
    {"float", FFloat},       {"format", FFormat},     {"indent", FIndent},       {"int", FInt},
    {"items", FItems},       {"join", FJoin},         {"last", FLast},           {"length", FLength},
    {"list", FList},         {"lower", FLower},       {"map", FMap},             {"max", FMax},
    {"min", FMin},           {"reject", FReject},     {"rejectattr", FRejectAttr}, {"replace", FReplace},
    {"reverse", FReverse},   {"round", FRound},       {"safe", FSafe},           {"select", FSelect},
    {"selectattr", FSelectAttr}, {"sort", FSort},     {"string", FString},       {"sum", FSum},
    {"title", FTitle},       {"tojson", FToJson},     {"trim", FTrim},           {"unique", FUnique},
    {"upper", FUpper},       {"wordcount", FWordcount},
};

// --- tests ---

const Value& TestArg(const CallArgs& a, const char* test) {
  const Value* v = ArgAt(a, 0, "other");
  if (!v) Fail("test '{}' needs an argument", test);
  return *v;
}

bool TDefined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool TUndefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool TNone(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool TBoolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
bool TTrue(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool TFalse(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool TInteger(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
bool TFloat(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
bool TNumber(Interpreter&, const Value& v, CallArgs&) { return v.is_numeric(); }
bool TString(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool TMapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }
bool TIterable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool TSequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
bool TCallable(Interpreter&, const Value& v, CallArgs&) { return v.is_callable(); }
bool TEq(Interpreter&, const Value& v, CallArgs& a) { return Equals(v, TestArg(a, "eq")); }
bool TNe(Interpreter&, const Value& v, CallArgs& a) { return !Equals(v, TestArg(a, "ne")); }
bool TLt(Interpreter&, const Value& v, CallArgs& a) { return Less(v, TestArg(a, "lt")); }
bool TGt(Interpreter&, const Value& v, CallArgs& a) { return Less(TestArg(a, "gt"), v); }
bool TLe(Interpreter&, const Value& v, CallArgs& a) { return !Less(TestArg(a, "le"), v); }
bool TGe(Interpreter&, const Value& v, CallArgs& a) { return !Less(v, TestArg(a, "ge")); }
bool TIn(Interpreter&, const Value& v, CallArgs& a) {
  const Value* seq = ArgAt(a, 0, "seq");
  if (!seq) Fail("test 'in' needs an argument");
  return Contains(*seq, v);
}
bool TSameAs(Interpreter&, const Value& v, CallArgs& a) {
  const Value& o = TestArg(a, "sameas");
  if (v.identity() != nullptr || o.identity() != nullptr) return v.identity() == o.identity();
  return v.kind() == o.kind() && (v.is_none() || v.is_undefined() || (v.is_bool() && v.as_bool() == o.as_bool()));
}
bool TOdd(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_integral()) Fail("odd test needs an integer");
  return v.as_int() % 2 != 0;
}
bool TEven(Interpreter&, const Value& v, CallArgs&) {
  if (!v.is_integral()) Fail("even test needs an integer");
  return v.as_int() % 2 == 0;
}
bool TDivisibleBy(Interpreter& in, const Value& v, CallArgs& a) {
  const Value* num = ArgAt(a, 0, "num");
  if (!num) Fail("divisibleby test needs an argument");
  return Equals(Arithmetic(in, "%", v, *num), Value::Int(0));
}
bool TLower(Interpreter&, const Value& v, CallArgs&) { return py::IsUpperCased(v.ToString(), false); }
bool TUpper(Interpreter&, const Value& v, CallArgs&) { return py::IsUpperCased(v.ToString(), true); }
bool TEscaped(Interpreter&, const Value&, CallArgs&) { return false; }
bool TFilter(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && FindFilter(v.str()) >= 0; }
bool TTest(Interpreter&, const Value& v, CallArgs&) { return v.is_string() && FindTest(v.str()) >= 0; }

struct TestEntry {
  const char* name;
  TestFn fn;
};

const TestEntry kTests[] = {
    {"defined", TDefined},   {"undefined", TUndefined}, {"none", TNone},         {"boolean", TBoolean},
    {"true", TTrue},         {"false", TFalse},         {"integer", TInteger},   {"float", TFloat},
    {"number", TNumber},     {"string", TString},       {"mapping", TMapping},   {"iterable", TIterable},
    {"sequence", TSequence}, {"callable", TCallable},   {"eq", TEq},             {"equalto", TEq},
    {"==", TEq},             {"ne", TNe},               {"!=", TNe},             {"lt", TLt},
    {"lessthan", TLt},       {"<", TLt},                {"le", TLe},             {"<=", TLe},
    {"gt", TGt},             {"greaterthan", TGt},      {">", TGt},              {"ge", TGe},
    {">=", TGe},             {"in", TIn},               {"sameas", TSameAs},     {"odd", TOdd},
    {"even", TEven},         {"divisibleby", TDivisibleBy}, {"lower", TLower},   {"upper", TUpper},
    {"escaped", TEscaped},   {"filter", TFilter},       {"test", TTest},
};

// --- globals ---

Value GRange(Interpreter& in, CallArgs& a) {
  for (const auto& v : a.positional) {
    if (!v.is_integral()) Fail("'{}' object cannot be interpreted as an integer", v.TypeName());
  }
  int64_t start = 0, stop = 0, step = 1;
  if (a.positional.size() == 1) {
    stop = a.positional[0].as_int();
  } else if (a.positional.size() == 2 || a.positional.size() == 3) {
    start = a.positional[0].as_int();
    stop = a.positional[1].as_int();
    if (a.positional.size() == 3) step = a.positional[2].as_int();
  } else {
    Fail("range expected 1 to 3 arguments, got {}", a.positional.size());
  }
  if (step == 0) Fail("range() arg 3 must not be zero");
  // Jinja's sandbox refuses ranges over MAX_RANGE items.
  constexpr int64_t kMaxRange = 100000;
  long double count = step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
                               : (static_cast<long double>(start) - stop - step - 1) / -step;
  if (count > kMaxRange) Fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::Int(i));
  in.Tick(out.size());
  return Value::List(std::move(out));
}

// dict(mapping_or_pairs, **kwargs) and namespace(...) share Python's dict() constructor.
std::vector<std::pair<Value, Value>> DictArgs(const CallArgs& a, const char* fn) {
  std::vector<std::pair<Value, Value>> items;
  if (a.positional.size() > 1) Fail("{} expected at most 1 positional argument, got {}", fn, a.positional.size());
  if (a.positional.size() == 1) {
    const Value& src = a.positional[0];
    if (src.is_mapping()) {
      items = src.dict().items;
    } else {
      for (const Value& pair : Iterate(src)) {
        ValueList kv = Iterate(pair);
        if (kv.size() != 2) Fail("{} sequence element has length {}; 2 is required", fn, kv.size());
        items.emplace_back(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) items.emplace_back(Value::String(k), v);
  return items;
}

std::string StrftimeNow(const Interpreter& in, const std::string& format) {
  std::tm tm{};
  if (in.options().now) {
    tm = *in.options().now;
  } else {
    std::time_t t = std::time(nullptr);
    localtime_r(&t, &tm);
  }
  // Python's naive datetime.strftime: %f is microseconds, %z and %Z are empty.
  std::string f;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      char c = format[i + 1];
      if (c == 'f') {
        f += "000000";
        ++i;
        continue;
      }
      if (c == 'z' || c == 'Z') {
        ++i;
        continue;
      }
      f += format[i];
      f += c;
      ++i;
      continue;
    }
    f += format[i];
  }
  if (f.empty()) return "";
  std::string buf(f.size() * 8 + 64, '\0');
  size_t n = std::strftime(buf.data(), buf.size(), f.c_str(), &tm);
  buf.resize(n);
  return buf;
}

}  // namespace

int FindFilter(std::string_view name) {
  for (size_t i = 0; i < std::size(kFilters); ++i) {
    if (name == kFilters[i].name) return static_cast<int>(i);
  }
  return -1;
}

int FindTest(std::string_view name) {
  for (size_t i = 0; i < std::size(kTests); ++i) {
    if (name == kTests[i].name) return static_cast<int>(i);
  }
  return -1;
}

Value ApplyFilter(Interpreter& in, int index, const Value& input, CallArgs& args) {
  EMBER_CHECK(index >= 0 && static_cast<size_t>(index) < std::size(kFilters));
  if (input.is_undefined() && std::string_view(kFilters[index].name) == "tojson") {
    Fail("{}", input.str().empty() ? std::string("value is undefined") : input.str());
  }
  return kFilters[index].fn(in, input, args);
}

bool ApplyTest(Interpreter& in, int index, const Value& input, CallArgs& args) {
  EMBER_CHECK(index >= 0 && static_cast<size_t>(index) < std::size(kTests));
  return kTests[index].fn(in, input, args);
}

void AddGlobals(std::unordered_map<std::string, Value>& vars) {
  vars["range"] = Value::Function("range", GRange);
  vars["dict"] = Value::Function("dict", [](Interpreter&, CallArgs& a) { return Value::Dict(DictArgs(a, "dict")); });
  vars["namespace"] = Value::Function("namespace", [](Interpreter&, CallArgs& a) {
    return Value::Namespace(DictArgs(a, "namespace"));
  });
  vars["raise_exception"] = Value::Function("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    const Value* msg = ArgAt(a, 0, "message");
    throw TemplateRaised(msg ? msg->ToString() : std::string("raise_exception() called"));
  });
  vars["strftime_now"] = Value::Function("strftime_now", [](Interpreter& in, CallArgs& a) {
    const Value* f = ArgAt(a, 0, "format");
    if (!f || !f->is_string()) Fail("strftime_now() needs a format string");
    return Value::String(StrftimeNow(in, f->str()));
  });
}

}  // namespace ember::jinja
