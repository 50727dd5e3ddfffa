// Values of the Jinja subset: what template expressions compute, with Python's semantics.
//
// Chat templates are Python Jinja2 programs run over Python objects (dicts, lists, str, int, float,
// bool, None) that came from JSON. To render byte for byte what Hugging Face renders, a Value
// prints like Python's str()/repr() ({'a': 1}, True, None, 1.0), compares like Python (1 == 1.0,
// lists element-wise), and is truthy like Python. Undefined is Jinja2's default Undefined: it
// prints as nothing, is false, iterates as empty, and is an error when called, indexed or used in
// arithmetic. Lists and dicts are immutable and shared (ImmutableSandboxedEnvironment forbids
// mutating them); a namespace() is the one mutable object. Strings are UTF-8; lengths, indexes and
// slices count code points, as Python does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::jinja {

class Value;
class Interpreter;

using ValueList = std::vector<Value>;
using KwArgs = std::vector<std::pair<std::string, Value>>;

// Arguments of a call: positional, then keyword (in source order).
struct CallArgs {
  ValueList positional;
  KwArgs keyword;
};

using NativeFunction = std::function<Value(Interpreter&, CallArgs&)>;

struct ListData {
  ValueList items;
  bool is_tuple = false;  // prints as (a, b) instead of [a, b]
};

// Python dicts keep insertion order; keys are Values (almost always strings). Lookups are linear,
// which is fastest for the handful of keys chat messages have.
struct DictData {
  std::vector<std::pair<Value, Value>> items;
  const Value* Find(const Value& key) const;
  const Value* Find(std::string_view key) const;
};

struct Callable {
  std::string name;
  NativeFunction fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable, kNamespace };

  Value() = default;  // undefined
  static Value Undefined(std::string hint = "") {
    Value v;
    v.str_ = std::move(hint);
    return v;
  }
  static Value None() { return Value(Kind::kNone); }
  static Value Bool(bool b) {
    Value v(Kind::kBool);
    v.int_ = b ? 1 : 0;
    return v;
  }
  static Value Int(int64_t i) {
    Value v(Kind::kInt);
    v.int_ = i;
    return v;
  }
  static Value Float(double f) {
    Value v(Kind::kFloat);
    v.float_ = f;
    return v;
  }
  static Value String(std::string s) {
    Value v(Kind::kString);
    v.str_ = std::move(s);
    return v;
  }
  static Value List(ValueList items, bool is_tuple = false);
  static Value Dict(std::vector<std::pair<Value, Value>> items);
  static Value Function(std::string name, NativeFunction fn);
  static Value Namespace(std::vector<std::pair<Value, Value>> items);
  static Value FromJson(const nlohmann::ordered_json& j);
  static Value FromJson(const nlohmann::json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  // Python's bool is an int: True + 1 == 2, True == 1.
  bool is_integral() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }
  bool is_numeric() const { return is_integral() || is_float(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_mapping() const { return is_dict() || is_namespace(); }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }  // ints and bools
  double as_double() const { return is_float() ? float_ : static_cast<double>(int_); }
  const std::string& str() const { return str_; }  // string contents, or an undefined's hint
  const ListData& list() const { return *list_; }
  const DictData& dict() const { return *dict_; }  // dicts and namespaces
  DictData& mutable_namespace() const { return *dict_; }
  const Callable& callable() const { return *callable_; }
  const void* identity() const;  // for the `sameas` test

  // Python truthiness.
  bool Truthy() const;
  // Python str(): what {{ value }} prints.
  std::string ToString() const;
  // Python repr(): how a value prints inside a list or dict.
  std::string Repr() const;
  // Jinja2's name for error messages: 'dict object', 'str object'...
  std::string TypeName() const;

 private:
  explicit Value(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kUndefined;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::string str_;
  std::shared_ptr<const ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<const Callable> callable_;
};

// Python ==.
bool Equals(const Value& a, const Value& b);
// Python <; throws ember::Error for types Python cannot order ("'<' not supported between ...").
bool Less(const Value& a, const Value& b);

// Python float repr: shortest round-trip digits, "1.0", "1e+16", "inf", "nan".
std::string FormatPythonFloat(double d);

struct JsonOptions {
  bool ensure_ascii = false;
  bool has_indent = false;
  std::string indent;              // one level of indentation
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// Python json.dumps with the given options (Hugging Face's tojson). Throws for undefined values and
// callables, which json.dumps cannot serialise either.
std::string ToJson(const Value& v, const JsonOptions& options);

// UTF-8 helpers: Python strings index code points.
std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);
void AppendUtf8(std::string& out, char32_t c);
size_t CodePointCount(std::string_view s);
bool IsPythonSpace(char32_t c);

}  // namespace ember::jinja
