// JSON Schema -> GBNF; a port of the semantics of llama.cpp's converter (see json_schema.h).
// Rule names and shapes follow llama.cpp's so grammars can be compared by eye.
#include "sample/json_schema.h"

#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace ember {
namespace {

using Json = nlohmann::ordered_json;

const char* const kSpaceRule = "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}";

struct BuiltinRule {
  std::string content;
  std::vector<std::string> deps;
};

const std::map<std::string, BuiltinRule>& PrimitiveRules() {
  static const std::map<std::string, BuiltinRule> kRules = {
      {"boolean", {"(\"true\" | \"false\")", {}}},
      {"decimal-part", {"[0-9]{1,16}", {}}},
      {"integral-part", {"[0] | [1-9] [0-9]{0,15}", {}}},
      {"number",
       {"(\"-\"? integral-part) (\".\" decimal-part)? ([eE] [-+]? integral-part)?",
        {"integral-part", "decimal-part"}}},
      {"integer", {"(\"-\"? integral-part)", {"integral-part"}}},
      {"value",
       {"object | array | string | number | boolean | null",
        {"object", "array", "string", "number", "boolean", "null"}}},
      {"object",
       {"\"{\" space ( string \":\" space value (\",\" space string \":\" space value)* )? space \"}\"",
        {"string", "value"}}},
      {"array", {"\"[\" space ( value (\",\" space value)* )? space \"]\"", {"value"}}},
      {"uuid",
       {"\"\\\"\" [0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} "
        "\"-\" [0-9a-fA-F]{12} \"\\\"\"",
        {}}},
      {"char", {"[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4})", {}}},
      {"string", {"\"\\\"\" char* \"\\\"\"", {"char"}}},
      {"null", {"\"null\"", {}}},
  };
  return kRules;
}

const std::map<std::string, BuiltinRule>& FormatRules() {
  static const std::map<std::string, BuiltinRule> kRules = {
      {"date",
       {"[0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [1-2] [0-9] | \"3\" "
        "[0-1] )",
        {}}},
      {"time",
       {"([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{3} )? ( "
        "\"Z\" | ( \"+\" | \"-\" ) ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )",
        {}}},
      {"date-time", {"date \"T\" time", {"date", "time"}}},
      {"date-string", {"\"\\\"\" date \"\\\"\"", {"date"}}},
      {"time-string", {"\"\\\"\" time \"\\\"\"", {"time"}}},
      {"date-time-string", {"\"\\\"\" date-time \"\\\"\"", {"date-time"}}},
  };
  return kRules;
}

bool IsReservedName(const std::string& name) {
  return name == "root" || PrimitiveRules().count(name) || FormatRules().count(name);
}

std::string SanitizeName(const std::string& name) {
  std::string out;
  bool in_bad = false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (ok) {
      out += c;
      in_bad = false;
    } else if (!in_bad) {
      out += '-';
      in_bad = true;
    }
  }
  return out;
}

std::string FormatLiteral(const std::string& literal) {
  std::string out = "\"";
  for (char c : literal) {
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string BuildRepetition(const std::string& item_rule, int min_items, int max_items,
                            const std::string& separator_rule = "") {
  const bool has_max = max_items != std::numeric_limits<int>::max();
  if (max_items == 0) return "";
  if (min_items == 0 && max_items == 1) return item_rule + "?";
  if (separator_rule.empty()) {
    if (min_items == 1 && !has_max) return item_rule + "+";
    if (min_items == 0 && !has_max) return item_rule + "*";
    return item_rule + "{" + std::to_string(min_items) + "," +
           (has_max ? std::to_string(max_items) : "") + "}";
  }
  std::string result =
      item_rule + " " +
      BuildRepetition("(" + separator_rule + " " + item_rule + ")", min_items == 0 ? 0 : min_items - 1,
                      has_max ? max_items - 1 : max_items);
  if (min_items == 0) result = "(" + result + ")?";
  return result;
}

// Integer ranges as digit grammars (llama.cpp's build_min_max_int, same output).
void BuildMinMaxInt(int64_t min_value, int64_t max_value, std::stringstream& out,
                    int decimals_left = 16, bool top_level = true) {
  const bool has_min = min_value != std::numeric_limits<int64_t>::min();
  const bool has_max = max_value != std::numeric_limits<int64_t>::max();
  auto digit_range = [&](char from, char to) {
    out << "[";
    if (from == to) {
      out << from;
    } else {
      out << from << "-" << to;
    }
    out << "]";
  };
  auto more_digits = [&](int min_digits, int max_digits) {
    out << "[0-9]";
    if (min_digits == max_digits && min_digits == 1) return;
    out << "{" << min_digits;
    if (max_digits != min_digits) {
      out << ",";
      if (max_digits != std::numeric_limits<int>::max()) out << max_digits;
    }
    out << "}";
  };
  std::function<void(std::string_view, std::string_view)> uniform_range =
      [&](std::string_view from, std::string_view to) {
        size_t i = 0;
        while (i < from.length() && i < to.length() && from[i] == to[i]) i++;
        if (i > 0) out << "\"" << from.substr(0, i) << "\"";
        if (i < from.length() && i < to.length()) {
          if (i > 0) out << " ";
          const size_t sub_len = from.length() - i - 1;
          if (sub_len > 0) {
            const auto from_sub = from.substr(i + 1);
            const auto to_sub = to.substr(i + 1);
            const std::string sub_zeros = Repeat("0", sub_len);
            const std::string sub_nines = Repeat("9", sub_len);
            bool to_reached = false;
            out << "(";
            if (from_sub == sub_zeros) {
              digit_range(from[i], static_cast<char>(to[i] - 1));
              out << " ";
              more_digits(static_cast<int>(sub_len), static_cast<int>(sub_len));
            } else {
              out << "[" << from[i] << "] ";
              out << "(";
              uniform_range(from_sub, sub_nines);
              out << ")";
              if (from[i] < to[i] - 1) {
                out << " | ";
                if (to_sub == sub_nines) {
                  digit_range(static_cast<char>(from[i] + 1), to[i]);
                  to_reached = true;
                } else {
                  digit_range(static_cast<char>(from[i] + 1), static_cast<char>(to[i] - 1));
                }
                out << " ";
                more_digits(static_cast<int>(sub_len), static_cast<int>(sub_len));
              }
            }
            if (!to_reached) {
              out << " | ";
              digit_range(to[i], to[i]);
              out << " ";
              uniform_range(sub_zeros, to_sub);
            }
            out << ")";
          } else {
            out << "[" << from[i] << "-" << to[i] << "]";
          }
        }
      };

  if (has_min && has_max) {
    if (min_value < 0 && max_value < 0) {
      out << "\"-\" (";
      BuildMinMaxInt(-max_value, -min_value, out, decimals_left, true);
      out << ")";
      return;
    }
    if (min_value < 0) {
      out << "\"-\" (";
      BuildMinMaxInt(0, -min_value, out, decimals_left, true);
      out << ") | ";
      min_value = 0;
    }
    std::string min_s = std::to_string(min_value);
    const std::string max_s = std::to_string(max_value);
    for (size_t digits = min_s.length(); digits < max_s.length(); digits++) {
      uniform_range(min_s, Repeat("9", digits));
      min_s = "1" + Repeat("0", digits);
      out << " | ";
    }
    uniform_range(min_s, max_s);
    return;
  }
  const int less_decimals = std::max(decimals_left - 1, 1);
  if (has_min) {
    if (min_value < 0) {
      out << "\"-\" (";
      BuildMinMaxInt(std::numeric_limits<int64_t>::min(), -min_value, out, decimals_left, false);
      out << ") | [0] | [1-9] ";
      more_digits(0, decimals_left - 1);
    } else if (min_value == 0) {
      if (top_level) {
        out << "[0] | [1-9] ";
        more_digits(0, less_decimals);
      } else {
        more_digits(1, decimals_left);
      }
    } else if (min_value <= 9) {
      const char c = static_cast<char>('0' + min_value);
      const char range_start = top_level ? '1' : '0';
      if (c > range_start) {
        digit_range(range_start, static_cast<char>(c - 1));
        out << " ";
        more_digits(1, less_decimals);
        out << " | ";
      }
      digit_range(c, '9');
      out << " ";
      more_digits(0, less_decimals);
    } else {
      const std::string min_s = std::to_string(min_value);
      const auto len = static_cast<int>(min_s.length());
      const char c = min_s[0];
      if (c > '1') {
        digit_range(top_level ? '1' : '0', static_cast<char>(c - 1));
        out << " ";
        more_digits(len, less_decimals);
        out << " | ";
      }
      digit_range(c, c);
      out << " (";
      BuildMinMaxInt(std::stoll(min_s.substr(1)), std::numeric_limits<int64_t>::max(), out,
                     less_decimals, false);
      out << ")";
      if (c < '9') {
        out << " | ";
        digit_range(static_cast<char>(c + 1), '9');
        out << " ";
        more_digits(len - 1, less_decimals);
      }
    }
    return;
  }
  if (has_max) {
    if (max_value >= 0) {
      if (top_level) {
        out << "\"-\" [1-9] ";
        more_digits(0, less_decimals);
        out << " | ";
      }
      BuildMinMaxInt(0, max_value, out, decimals_left, true);
    } else {
      out << "\"-\" (";
      BuildMinMaxInt(-max_value, std::numeric_limits<int64_t>::max(), out, decimals_left, false);
      out << ")";
    }
    return;
  }
  EMBER_CHECK_MSG(false, "BuildMinMaxInt needs a bound");
}

class Converter {
 public:
  explicit Converter(const Json& root) : root_(root) { rules_["space"] = kSpaceRule; }

  std::string Visit(const Json& schema, const std::string& name, const std::string& path) {
    if (++depth_ > 64) Fail("JSON schema: nested too deeply at {}", path);
    std::string r = VisitInner(schema, name, path);
    --depth_;
    return r;
  }

  std::string Format() const {
    std::string out;
    for (const auto& [k, v] : rules_) out += k + " ::= " + v + "\n";
    return out;
  }

 private:
  std::string AddRule(const std::string& name, const std::string& rule) {
    const std::string esc = SanitizeName(name);
    auto it = rules_.find(esc);
    if (it == rules_.end() || it->second == rule) {
      rules_[esc] = rule;
      return esc;
    }
    int i = 0;
    while (rules_.count(esc + std::to_string(i)) && rules_[esc + std::to_string(i)] != rule) i++;
    const std::string key = esc + std::to_string(i);
    rules_[key] = rule;
    return key;
  }

  std::string AddPrimitive(const std::string& name, const BuiltinRule& rule) {
    const std::string n = AddRule(name, rule.content);
    for (const std::string& dep : rule.deps) {
      auto it = PrimitiveRules().find(dep);
      if (it == PrimitiveRules().end()) {
        it = FormatRules().find(dep);
        EMBER_CHECK(it != FormatRules().end());
      }
      if (!rules_.count(dep)) AddPrimitive(dep, it->second);
    }
    return n;
  }

  std::string VisitPrimitive(const std::string& rule_name, const std::string& type) {
    return AddPrimitive(rule_name == "root" ? "root" : type, PrimitiveRules().at(type));
  }

  const Json& ResolvePointer(const std::string& ref, const std::string& path) {
    if (ref.rfind("#", 0) != 0) {
      Fail("JSON schema: only local $ref (\"#/...\") is supported, got \"{}\" at {}", ref, path);
    }
    const Json* target = &root_;
    std::string rest = ref.substr(1);
    size_t pos = 0;
    while (pos < rest.size()) {
      if (rest[pos] != '/') Fail("JSON schema: bad $ref \"{}\" at {}", ref, path);
      size_t next = rest.find('/', pos + 1);
      if (next == std::string::npos) next = rest.size();
      std::string key = rest.substr(pos + 1, next - pos - 1);
      // JSON pointer escapes
      for (size_t i; (i = key.find("~1")) != std::string::npos;) key.replace(i, 2, "/");
      for (size_t i; (i = key.find("~0")) != std::string::npos;) key.replace(i, 2, "~");
      if (target->is_object() && target->contains(key)) {
        target = &(*target)[key];
      } else if (target->is_array() && !key.empty() &&
                 key.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(key) < target->size()) {
        target = &(*target)[std::stoul(key)];
      } else {
        Fail("JSON schema: $ref \"{}\" does not resolve (no \"{}\") at {}", ref, key, path);
      }
      pos = next;
    }
    return *target;
  }

  std::string ResolveRef(const std::string& ref, const std::string& path) {
    const auto hash = ref.find('#');
    const std::string fragment = hash == std::string::npos ? ref : ref.substr(hash + 1);
    std::string ref_name = "ref" + SanitizeName(fragment);
    if (!rules_.count(ref_name) && !refs_being_resolved_.count(ref)) {
      const Json& target = ResolvePointer(ref, path);
      refs_being_resolved_.insert(ref);
      ref_name = Visit(target, ref_name, ref);
      refs_being_resolved_.erase(ref);
    }
    return ref_name;
  }

  static void RejectUnsupported(const Json& schema, const std::string& path) {
    static const char* const kUnsupported[] = {"not", "if", "then", "else", "patternProperties",
                                               "uniqueItems", "multipleOf", "contains",
                                               "dependentRequired", "dependentSchemas",
                                               "propertyNames", "pattern"};
    for (const char* key : kUnsupported) {
      if (schema.contains(key)) {
        Fail("JSON schema: \"{}\" is not supported (at {})", key, path);
      }
    }
  }

  std::string UnionRule(const std::string& name, const Json& alts, const std::string& path,
                        const char* key) {
    if (!alts.is_array() || alts.empty()) Fail("JSON schema: \"{}\" must be a non-empty array at {}", key, path);
    std::string out;
    for (size_t i = 0; i < alts.size(); ++i) {
      if (i) out += " | ";
      out += Visit(alts[i], name + (name.empty() ? "alternative-" : "-") + std::to_string(i),
                   path + "/" + key + "/" + std::to_string(i));
    }
    return out;
  }

  std::string BuildObjectRule(const std::vector<std::pair<std::string, const Json*>>& properties,
                              const std::set<std::string>& required, const std::string& name,
                              const Json* additional, const std::string& path) {
    std::vector<std::string> required_props;
    std::vector<std::string> optional_props;
    std::map<std::string, std::string> kv_rule_names;
    std::vector<std::string> prop_names;
    for (const auto& [prop_name, prop_schema] : properties) {
      const std::string prop_rule =
          Visit(*prop_schema, name + (name.empty() ? "" : "-") + prop_name, path + "/properties/" + prop_name);
      kv_rule_names[prop_name] =
          AddRule(name + (name.empty() ? "" : "-") + prop_name + "-kv",
                  FormatLiteral(Json(prop_name).dump()) + " space \":\" space " + prop_rule);
      if (required.count(prop_name)) {
        required_props.push_back(prop_name);
      } else {
        optional_props.push_back(prop_name);
      }
      prop_names.push_back(prop_name);
    }
    if (additional != nullptr && !(additional->is_boolean() && !additional->get<bool>())) {
      const std::string sub_name = name + (name.empty() ? "" : "-") + "additional";
      const bool any = additional->is_boolean() || (additional->is_object() && additional->empty());
      const std::string value_rule =
          any ? AddPrimitive("value", PrimitiveRules().at("value"))
              : Visit(*additional, sub_name + "-value", path + "/additionalProperties");
      std::string key_rule;
      if (prop_names.empty()) {
        key_rule = AddPrimitive("string", PrimitiveRules().at("string"));
      } else {
        // any string except the declared names
        key_rule = AddRule(sub_name + "-k", NotStrings(prop_names));
      }
      kv_rule_names["*"] = AddRule(sub_name + "-kv", key_rule + " \":\" space " + value_rule);
      optional_props.push_back("*");
    }
    if (required_props.empty() && optional_props.empty()) return "\"{\" space \"}\"";
    std::string rule = "\"{\" space ";
    for (size_t i = 0; i < required_props.size(); i++) {
      if (i > 0) rule += " \",\" space ";
      rule += kv_rule_names[required_props[i]];
    }
    if (!optional_props.empty()) {
      rule += " (";
      if (!required_props.empty()) rule += " \",\" space ( ";
      std::function<std::string(const std::vector<std::string>&, bool)> recursive_refs =
          [&](const std::vector<std::string>& ks, bool first_is_optional) {
            std::string res;
            if (ks.empty()) return res;
            const std::string& k = ks[0];
            const std::string kv_rule_name = kv_rule_names[k];
            const std::string comma_ref = "( \",\" space " + kv_rule_name + " )";
            if (first_is_optional) {
              res = comma_ref + (k == "*" ? "*" : "?");
            } else {
              res = kv_rule_name + (k == "*" ? " " + comma_ref + "*" : "");
            }
            if (ks.size() > 1) {
              res += " " + AddRule(name + (name.empty() ? "" : "-") + k + "-rest",
                                   recursive_refs(std::vector<std::string>(ks.begin() + 1, ks.end()), true));
            }
            return res;
          };
      for (size_t i = 0; i < optional_props.size(); i++) {
        if (i > 0) rule += " | ";
        rule += recursive_refs(
            std::vector<std::string>(optional_props.begin() + static_cast<std::ptrdiff_t>(i), optional_props.end()),
            false);
      }
      if (!required_props.empty()) rule += " )";
      rule += " )?";
    }
    rule += " space \"}\"";
    return rule;
  }

  // A JSON string that is none of `strings` (llama.cpp's _not_strings, on bytes).
  std::string NotStrings(const std::vector<std::string>& strings) {
    struct Node {
      std::map<char, size_t> children;
      bool is_end = false;
    };
    std::vector<Node> trie(1);
    for (const std::string& s : strings) {
      size_t at = 0;
      for (char c : s) {
        auto it = trie[at].children.find(c);
        if (it == trie[at].children.end()) {
          trie.push_back({});
          trie[at].children[c] = trie.size() - 1;
          at = trie.size() - 1;
        } else {
          at = it->second;
        }
      }
      trie[at].is_end = true;
    }
    const std::string char_rule = AddPrimitive("char", PrimitiveRules().at("char"));
    auto esc = [](char c) -> std::string {
      if (c == '"' || c == '\\' || c == ']' || c == '-' || c == '[') return std::string("\\") + c;
      if (c == '\n') return "\\n";
      if (c == '\r') return "\\r";
      return std::string(1, c);
    };
    std::ostringstream out;
    out << "[\"] ( ";
    std::function<void(size_t)> visit = [&](size_t idx) {
      std::string rejects;
      bool first = true;
      for (const auto& [c, child] : trie[idx].children) {
        rejects += esc(c);
        if (!first) out << " | ";
        first = false;
        out << "[" << esc(c) << "]";
        if (!trie[child].children.empty()) {
          out << " (";
          visit(child);
          out << ")";
        } else {
          out << " " << char_rule << "+";
        }
      }
      if (!trie[idx].children.empty()) out << " | [^\"" << rejects << "] " << char_rule << "*";
    };
    visit(0);
    out << " )";
    if (!trie[0].is_end) out << "?";
    out << " [\"]";
    return out.str();
  }

  std::string VisitInner(const Json& schema, const std::string& name, const std::string& path) {
    const std::string rule_name = IsReservedName(name) ? name + "-" : name.empty() ? "root" : name;
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) Fail("JSON schema: 'false' schema (nothing is valid) at {}", path);
      return AddRule(rule_name, AddPrimitive("value", PrimitiveRules().at("value")));
    }
    if (!schema.is_object()) Fail("JSON schema: expected an object at {}", path);
    RejectUnsupported(schema, path);

    if (schema.contains("$ref")) {
      if (!schema["$ref"].is_string()) Fail("JSON schema: $ref must be a string at {}", path);
      return AddRule(rule_name, ResolveRef(schema["$ref"].get<std::string>(), path));
    }
    if (schema.contains("oneOf")) return AddRule(rule_name, UnionRule(name, schema["oneOf"], path, "oneOf"));
    if (schema.contains("anyOf")) return AddRule(rule_name, UnionRule(name, schema["anyOf"], path, "anyOf"));
    if (schema.contains("allOf")) return VisitAllOf(schema["allOf"], name, rule_name, path);
    if (schema.contains("const")) {
      return AddRule(rule_name, FormatLiteral(schema["const"].dump()));
    }
    if (schema.contains("enum")) {
      const Json& values = schema["enum"];
      if (!values.is_array() || values.empty()) Fail("JSON schema: enum must be a non-empty array at {}", path);
      std::string rule = "(";
      for (size_t i = 0; i < values.size(); ++i) {
        if (i) rule += " | ";
        rule += FormatLiteral(values[i].dump());
      }
      return AddRule(rule_name, rule + ")");
    }

    const Json* type = schema.contains("type") ? &schema["type"] : nullptr;
    if (type && type->is_array()) {
      std::string out;
      for (size_t i = 0; i < type->size(); ++i) {
        Json sub = schema;
        sub["type"] = (*type)[i];
        if (i) out += " | ";
        out += Visit(sub, name + (name.empty() ? "alternative-" : "-") + std::to_string(i), path);
      }
      return AddRule(rule_name, out);
    }
    std::string t = type ? (type->is_string() ? type->get<std::string>() : "?") : "";
    if (type && !type->is_string()) Fail("JSON schema: \"type\" must be a string or a list at {}", path);
    if (t.empty()) {
      if (schema.contains("properties") || schema.contains("additionalProperties")) t = "object";
      else if (schema.contains("items") || schema.contains("prefixItems")) t = "array";
    }

    if (t == "object") {
      const Json* additional = schema.contains("additionalProperties") ? &schema["additionalProperties"] : nullptr;
      if (!schema.contains("properties") &&
          (additional == nullptr || (additional->is_boolean() && additional->get<bool>()) ||
           (additional->is_object() && additional->empty()))) {
        return AddRule(rule_name, AddPrimitive("object", PrimitiveRules().at("object")));
      }
      std::vector<std::pair<std::string, const Json*>> props;
      if (schema.contains("properties")) {
        if (!schema["properties"].is_object()) Fail("JSON schema: properties must be an object at {}", path);
        for (const auto& [k, v] : schema["properties"].items()) props.emplace_back(k, &v);
      }
      std::set<std::string> required;
      if (schema.contains("required")) {
        if (!schema["required"].is_array()) Fail("JSON schema: required must be an array at {}", path);
        for (const auto& r : schema["required"]) {
          if (!r.is_string()) Fail("JSON schema: required must list strings at {}", path);
          required.insert(r.get<std::string>());
        }
      }
      return AddRule(rule_name, BuildObjectRule(props, required, name, additional, path));
    }
    if (t == "array") {
      const Json* items = schema.contains("prefixItems") ? &schema["prefixItems"]
                          : schema.contains("items")    ? &schema["items"] : nullptr;
      if (items && items->is_array()) {
        std::string rule = "\"[\" space ";
        for (size_t i = 0; i < items->size(); ++i) {
          if (i > 0) rule += " \",\" space ";
          rule += Visit((*items)[i], name + (name.empty() ? "" : "-") + "tuple-" + std::to_string(i),
                        path + "/items/" + std::to_string(i));
        }
        return AddRule(rule_name, rule + " space \"]\"");
      }
      const int min_items = IntOr(schema, "minItems", 0, path);
      const int max_items = IntOr(schema, "maxItems", std::numeric_limits<int>::max(), path);
      if (min_items > max_items) Fail("JSON schema: minItems > maxItems at {}", path);
      if (items == nullptr && min_items == 0 && max_items == std::numeric_limits<int>::max()) {
        return VisitPrimitive(rule_name, "array");
      }
      const std::string item_rule = items ? Visit(*items, name + (name.empty() ? "" : "-") + "item", path + "/items")
                                          : AddPrimitive("value", PrimitiveRules().at("value"));
      return AddRule(rule_name, "\"[\" space " + BuildRepetition(item_rule, min_items, max_items, "\",\" space") +
                                    " space \"]\"");
    }
    if (t == "string") {
      if (schema.contains("format")) {
        const std::string format = schema["format"].is_string() ? schema["format"].get<std::string>() : "";
        if (format == "uuid") return VisitPrimitive(rule_name, "uuid");
        if (format == "date" || format == "time" || format == "date-time") {
          const std::string prim = format + "-string";
          return AddRule(rule_name, AddPrimitive(prim, FormatRules().at(prim)));
        }
        Fail("JSON schema: string format \"{}\" is not supported (date, time, date-time, uuid) at {}",
             format, path);
      }
      const int min_len = IntOr(schema, "minLength", 0, path);
      const int max_len = IntOr(schema, "maxLength", std::numeric_limits<int>::max(), path);
      if (min_len > max_len) Fail("JSON schema: minLength > maxLength at {}", path);
      if (min_len > 0 || max_len != std::numeric_limits<int>::max()) {
        const std::string char_rule = AddPrimitive("char", PrimitiveRules().at("char"));
        return AddRule(rule_name, "\"\\\"\" " + BuildRepetition(char_rule, min_len, max_len) + " \"\\\"\"");
      }
      return VisitPrimitive(rule_name, "string");
    }
    if (t == "integer") {
      int64_t min_value = std::numeric_limits<int64_t>::min();
      int64_t max_value = std::numeric_limits<int64_t>::max();
      if (schema.contains("minimum")) min_value = Int64(schema["minimum"], path, false);
      else if (schema.contains("exclusiveMinimum")) min_value = Int64(schema["exclusiveMinimum"], path, false) + 1;
      if (schema.contains("maximum")) max_value = Int64(schema["maximum"], path, true);
      else if (schema.contains("exclusiveMaximum")) max_value = Int64(schema["exclusiveMaximum"], path, true) - 1;
      if (min_value > max_value) Fail("JSON schema: integer minimum above maximum at {}", path);
      if (min_value == std::numeric_limits<int64_t>::min() && max_value == std::numeric_limits<int64_t>::max()) {
        return VisitPrimitive(rule_name, "integer");
      }
      std::stringstream out;
      out << "(";
      BuildMinMaxInt(min_value, max_value, out);
      out << ")";
      return AddRule(rule_name, out.str());
    }
    if (t == "number" || t == "boolean" || t == "null") return VisitPrimitive(rule_name, t);
    if (t.empty()) return AddRule(rule_name, AddPrimitive("value", PrimitiveRules().at("value")));
    Fail("JSON schema: unknown type \"{}\" at {}", t, path);
  }

  static int IntOr(const Json& schema, const char* key, int fallback, const std::string& path) {
    if (!schema.contains(key)) return fallback;
    const Json& v = schema[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000) {
      Fail("JSON schema: \"{}\" must be an integer in 0..100000 at {}", key, path);
    }
    return static_cast<int>(v.get<int64_t>());
  }

  static int64_t Int64(const Json& v, const std::string& path, bool is_max) {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::abs(d) > 1e15) Fail("JSON schema: integer bound out of range at {}", path);
      return static_cast<int64_t>(is_max ? std::floor(d) : std::ceil(d));
    }
    Fail("JSON schema: integer bounds must be numbers at {}", path);
  }

  std::string VisitAllOf(const Json& children, const std::string& name, const std::string& rule_name,
                         const std::string& path) {
    if (!children.is_array() || children.empty()) Fail("JSON schema: allOf must be a non-empty array at {}", path);
    std::set<std::string> required;
    std::vector<std::pair<std::string, const Json*>> properties;
    std::function<void(const Json&, bool, int)> add_component = [&](const Json& comp, bool is_required, int depth) {
      if (depth > 32) Fail("JSON schema: $ref cycle in allOf at {}", path);
      if (comp.is_object() && comp.contains("$ref")) {
        add_component(ResolvePointer(comp["$ref"].get<std::string>(), path), is_required, depth + 1);
      } else if (comp.is_object() && comp.contains("properties")) {
        for (const auto& [k, v] : comp["properties"].items()) {
          properties.emplace_back(k, &v);
          if (is_required) required.insert(k);
        }
      } else {
        Fail("JSON schema: allOf supports only object schemas (with properties) at {}", path);
      }
    };
    for (const Json& child : children) {
      if (child.is_object() && child.contains("anyOf")) {
        for (const Json& alt : child["anyOf"]) add_component(alt, false, 0);
      } else {
        add_component(child, true, 0);
      }
    }
    return AddRule(rule_name, BuildObjectRule(properties, required, name, nullptr, path));
  }

  const Json& root_;
  std::map<std::string, std::string> rules_;
  std::set<std::string> refs_being_resolved_;
  int depth_ = 0;
};

}  // namespace

std::string JsonSchemaToGbnf(const nlohmann::ordered_json& schema) {
  Converter c(schema);
  c.Visit(schema, "", "#");
  return c.Format();
}

std::string JsonSchemaToGbnf(const nlohmann::json& schema) {
  return JsonSchemaToGbnf(nlohmann::ordered_json::parse(schema.dump()));
}

std::string JsonSchemaTextToGbnf(std::string_view schema_text) {
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(schema_text);
  } catch (const nlohmann::json::parse_error& e) {
    Fail("JSON schema: invalid JSON: {}", e.what());
  }
  return JsonSchemaToGbnf(schema);
}

std::string JsonObjectGbnf() { return JsonSchemaToGbnf(nlohmann::ordered_json{{"type", "object"}}); }

}  // namespace ember
