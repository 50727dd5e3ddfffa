// Attribute and item access, slicing, iteration, and the methods of str, dict and list values.
//
// Jinja's `a.b` tries Python getattr first (so `message.items` is the dict method) and then the
// key; `a['b']` tries the key first. Hugging Face's ImmutableSandboxedEnvironment refuses the
// methods that mutate lists and dicts (append, pop, update...): they come back as an undefined
// value that fails when called.
#include <algorithm>

#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/pystring.h"
#include "core/error.h"

namespace ember::jinja {
namespace {

const Value* Arg(const CallArgs& args, size_t index, std::string_view name) {
  return ArgAt(args, index, name);
}

std::optional<std::string> OptString(const CallArgs& args, size_t index, std::string_view name,
                                     std::string_view method) {
  const Value* v = Arg(args, index, name);
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) Fail("{}() argument must be str or None, not {}", method, v->TypeName());
  return v->str();
}

int64_t OptInt(const CallArgs& args, size_t index, std::string_view name, int64_t fallback) {
  const Value* v = Arg(args, index, name);
  if (!v || v->is_none()) return fallback;
  if (!v->is_integral()) Fail("'{}' object cannot be interpreted as an integer", v->TypeName());
  return v->as_int();
}

const std::string& RequireString(const CallArgs& args, size_t index, std::string_view name,
                                 std::string_view method) {
  const Value* v = Arg(args, index, name);
  if (!v) Fail("{}() missing required argument '{}'", method, name);
  if (!v->is_string()) Fail("{}() argument must be str, not {}", method, v->TypeName());
  return v->str();
}

Value StringList(const std::vector<std::string>& parts) {
  ValueList items;
  items.reserve(parts.size());
  for (const auto& p : parts) items.push_back(Value::String(p));
  return Value::List(std::move(items));
}

// str.startswith / endswith accept a string or a tuple of strings.
bool AffixMatch(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) Fail("{}with first arg must be str or a tuple of str, not {}", prefix ? "starts" : "ends", a.TypeName());
    const std::string& x = a.str();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) {
    return std::any_of(affix.list().items.begin(), affix.list().items.end(), one);
  }
  return one(affix);
}

// Python str.format with automatic and explicit field numbering and keyword fields; no format
// specs beyond an empty one.
std::string FormatString(Interpreter& in, const std::string& f, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '{' && i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (c == '}' && i + 1 < f.size() && f[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c == '}') Fail("single '}}' encountered in format string");
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = f.find('}', i);
    if (close == std::string::npos) Fail("single '{{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    if (field.find(':') != std::string::npos || field.find('!') != std::string::npos) {
      Fail("format specs in str.format() are not supported");
    }
    const Value* v = nullptr;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) Fail("Replacement index {} out of range", auto_index);
      v = &args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t idx = std::stoul(field);
      if (idx >= args.positional.size()) Fail("Replacement index {} out of range", idx);
      v = &args.positional[idx];
    } else {
      for (const auto& [k, val] : args.keyword) {
        if (k == field) v = &val;
      }
      if (!v) Fail("KeyError: '{}'", field);
    }
    out += v->ToString();
    in.CheckString(out.size());
    i = close;
  }
  return out;
}

Value UnsafeMethod(const Value& obj, const std::string& name) {
  return Value::Undefined("access to attribute '" + name + "' of '" + obj.TypeName() + "' object is unsafe");
}

Value StringMethod(const Value& obj, const std::string& name) {
  static const char* const kNames[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines",
                                       "startswith", "endswith", "upper", "lower", "title", "capitalize",
                                       "replace", "format", "join", "find", "rfind", "index", "count",
                                       "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower",
                                       "swapcase", "zfill", "removeprefix", "removesuffix", "casefold"};
  if (std::find_if(std::begin(kNames), std::end(kNames), [&](const char* n) { return name == n; }) ==
      std::end(kNames)) {
    return Value::Undefined("'str object' has no attribute '" + name + "'");
  }
  std::string s = obj.str();
  return Value::Function(name, [s, name](Interpreter& in, CallArgs& args) -> Value {
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      return Value::String(py::Strip(s, OptString(args, 0, "chars", name), name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") {
      auto sep = OptString(args, 0, "sep", name);
      if (sep && sep->empty()) Fail("empty separator");
      return StringList(py::Split(s, sep, OptInt(args, 1, "maxsplit", -1), name == "rsplit"));
    }
    if (name == "splitlines") {
      const Value* keep = Arg(args, 0, "keepends");
      return StringList(py::SplitLines(s, keep && keep->Truthy()));
    }
    if (name == "startswith" || name == "endswith") {
      const Value* a = Arg(args, 0, "prefix");
      if (!a) Fail("{}() takes at least 1 argument (0 given)", name);
      return Value::Bool(AffixMatch(s, *a, name == "startswith"));
    }
    if (name == "upper") return Value::String(py::Upper(s));
    if (name == "lower" || name == "casefold") return Value::String(py::Lower(s));
    if (name == "title") return Value::String(py::Title(s));
    if (name == "capitalize") return Value::String(py::Capitalize(s));
    if (name == "swapcase") {
      std::string out;
      for (char32_t c : DecodeUtf8(s)) {
        std::string ch = EncodeUtf8(std::u32string(1, c));
        std::string up = py::Upper(ch);
        out += up != ch ? up : py::Lower(ch);
      }
      return Value::String(out);
    }
    if (name == "replace") {
      const std::string& old_sub = RequireString(args, 0, "old", name);
      const std::string& new_sub = RequireString(args, 1, "new", name);
      std::string r = py::Replace(s, old_sub, new_sub, OptInt(args, 2, "count", -1));
      in.CheckString(r.size());
      return Value::String(std::move(r));
    }
    if (name == "format") return Value::String(FormatString(in, s, args));
    if (name == "join") {
      const Value* it = Arg(args, 0, "iterable");
      if (!it) Fail("join() takes exactly one argument");
      std::string out;
      bool first = true;
      for (const Value& v : Iterate(*it)) {
        if (!v.is_string()) Fail("sequence item: expected str instance, {} found", v.TypeName());
        if (!first) out += s;
        first = false;
        out += v.str();
        in.CheckString(out.size());
      }
      return Value::String(std::move(out));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "count") {
      const std::string& sub = RequireString(args, 0, "sub", name);
      if (name == "count") {
        if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointCount(s)) + 1);
        int64_t n = 0;
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value::Int(n);
      }
      size_t p = name == "rfind" ? s.rfind(sub) : s.find(sub);
      if (p == std::string::npos) {
        if (name == "index") Fail("substring not found");
        return Value::Int(-1);
      }
      return Value::Int(static_cast<int64_t>(CodePointCount(std::string_view(s).substr(0, p))));
    }
    if (name == "removeprefix" || name == "removesuffix") {
      const std::string& a = RequireString(args, 0, name == "removeprefix" ? "prefix" : "suffix", name);
      if (name == "removeprefix") return Value::String(AffixMatch(s, Value::String(a), true) ? s.substr(a.size()) : s);
      return Value::String(AffixMatch(s, Value::String(a), false) ? s.substr(0, s.size() - a.size()) : s);
    }
    if (name == "zfill") {
      int64_t width = OptInt(args, 0, "width", 0);
      int64_t len = static_cast<int64_t>(CodePointCount(s));
      if (width <= len) return Value::String(s);
      in.CheckString(static_cast<size_t>(width));
      size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
      return Value::String(s.substr(0, sign) + std::string(static_cast<size_t>(width - len), '0') + s.substr(sign));
    }
    // Predicates.
    std::u32string cps = DecodeUtf8(s);
    if (name == "isupper" || name == "islower") return Value::Bool(py::IsUpperCased(s, name == "isupper"));
    if (cps.empty()) return Value::Bool(false);
    auto all = [&](auto pred) { return Value::Bool(std::all_of(cps.begin(), cps.end(), pred)); };
    if (name == "isdigit") return all([](char32_t c) { return c >= '0' && c <= '9'; });
    if (name == "isspace") return all([](char32_t c) { return IsPythonSpace(c); });
    if (name == "isalpha") {
      return all([](char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xc0; });
    }
    return all([](char32_t c) {  // isalnum
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0xc0;
    });
  });
}

Value DictMethod(const Value& obj, const std::string& name) {
  if (name == "get" || name == "items" || name == "keys" || name == "values") {
    Value d = obj;
    return Value::Function(name, [d, name](Interpreter& in, CallArgs& args) -> Value {
      const auto& items = d.dict().items;
      if (name == "get") {
        const Value* key = Arg(args, 0, "key");
        if (!key) Fail("get() takes at least 1 argument (0 given)");
        const Value* found = d.dict().Find(*key);
        if (found) return *found;
        const Value* fallback = Arg(args, 1, "default");
        return fallback ? *fallback : Value::None();
      }
      in.Tick(items.size());
      ValueList out;
      out.reserve(items.size());
      for (const auto& [k, v] : items) {
        if (name == "items") {
          out.push_back(Value::List({k, v}, true));
        } else {
          out.push_back(name == "keys" ? k : v);
        }
      }
      return Value::List(std::move(out));
    });
  }
  if (name == "copy") {
    Value d = obj;
    return Value::Function(name, [d](Interpreter&, CallArgs&) { return Value::Dict(d.dict().items); });
  }
  if (name == "pop" || name == "popitem" || name == "update" || name == "setdefault" || name == "clear") {
    return UnsafeMethod(obj, name);
  }
  return Value();  // not a method
}

Value ListMethod(const Value& obj, const std::string& name) {
  if (name == "index" || name == "count") {
    Value l = obj;
    return Value::Function(name, [l, name](Interpreter&, CallArgs& args) -> Value {
      const Value* x = Arg(args, 0, "value");
      if (!x) Fail("{}() takes exactly one argument (0 given)", name);
      const auto& items = l.list().items;
      int64_t n = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Equals(items[i], *x)) continue;
        if (name == "index") return Value::Int(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") Fail("{} is not in list", x->Repr());
      return Value::Int(n);
    });
  }
  if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
      name == "reverse" || name == "sort" || name == "clear") {
    return UnsafeMethod(obj, name);
  }
  return Value();
}

std::string ObjectRepr(const Value& obj) {
  if (obj.is_none()) return "None";
  return obj.TypeName() + " object";
}

Value NoAttribute(const Value& obj, const std::string& name) {
  return Value::Undefined("'" + ObjectRepr(obj) + "' has no attribute '" + name + "'");
}

}  // namespace

Value GetAttribute(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::kDict: {
      Value m = DictMethod(obj, name);
      if (!m.is_undefined() || !m.str().empty()) return m;
      const Value* v = obj.dict().Find(name);
      return v ? *v : NoAttribute(obj, name);
    }
    case Value::Kind::kNamespace: {
      const Value* v = obj.dict().Find(name);
      return v ? *v : NoAttribute(obj, name);
    }
    case Value::Kind::kString:
      return StringMethod(obj, name);
    case Value::Kind::kList: {
      Value m = ListMethod(obj, name);
      if (!m.is_undefined() || !m.str().empty()) return m;
      return NoAttribute(obj, name);
    }
    default:
      return NoAttribute(obj, name);
  }
}

Value GetItem(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Value::Kind::kDict: {
      const Value* v = obj.dict().Find(key);
      if (v) return *v;
      break;
    }
    case Value::Kind::kList:
    case Value::Kind::kString: {
      if (!key.is_integral()) break;
      int64_t i = key.as_int();
      if (obj.is_list()) {
        const auto& items = obj.list().items;
        int64_t n = static_cast<int64_t>(items.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::Undefined(ObjectRepr(obj) + " has no element " + std::to_string(key.as_int()));
        return items[static_cast<size_t>(i)];
      }
      std::u32string cps = DecodeUtf8(obj.str());
      int64_t n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::Undefined("str object has no element " + std::to_string(key.as_int()));
      return Value::String(EncodeUtf8(std::u32string(1, cps[static_cast<size_t>(i)])));
    }
    default:
      break;
  }
  if (key.is_string()) return GetAttribute(obj, key.str());
  return Value::Undefined("'" + ObjectRepr(obj) + "' has no attribute " + key.Repr());
}

Value Slice(Interpreter& in, const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    if (!v.is_integral()) Fail("slice {} must be an integer or None, not {}", what, v.TypeName());
    return v.as_int();
  };
  std::optional<int64_t> start = as_index(start_v, "start"), stop = as_index(stop_v, "stop"),
                         step_opt = as_index(step_v, "step");
  int64_t step = step_opt.value_or(1);
  if (step == 0) Fail("slice step cannot be zero");
  std::u32string cps;
  int64_t n;
  if (obj.is_list()) {
    n = static_cast<int64_t>(obj.list().items.size());
  } else if (obj.is_string()) {
    cps = DecodeUtf8(obj.str());
    n = static_cast<int64_t>(cps.size());
  } else {
    Fail("'{}' object is not subscriptable", obj.TypeName());
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= n) {
      x = step < 0 ? n - 1 : n;
    }
    return x;
  };
  int64_t b = adjust(start, step < 0 ? n - 1 : 0);
  int64_t e = adjust(stop, step < 0 ? -1 : n);
  std::vector<size_t> picks;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) {
    picks.push_back(static_cast<size_t>(i));
  }
  in.Tick(picks.size());
  if (obj.is_list()) {
    ValueList out;
    out.reserve(picks.size());
    for (size_t i : picks) out.push_back(obj.list().items[i]);
    return Value::List(std::move(out), obj.list().is_tuple);
  }
  std::u32string out;
  for (size_t i : picks) out += cps[i];
  return Value::String(EncodeUtf8(out));
}

ValueList Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return v.list().items;
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& [k, val] : v.dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (char32_t c : DecodeUtf8(v.str())) chars.push_back(Value::String(EncodeUtf8(std::u32string(1, c))));
      return chars;
    }
    default:
      Fail("'{}' object is not iterable", v.TypeName());
  }
}

}  // namespace ember::jinja
