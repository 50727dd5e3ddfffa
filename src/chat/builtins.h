// Built-ins of the Jinja subset: filters, tests, globals, attribute/item access and the methods
// of str, dict and list, each behaving as Jinja2 (in Hugging Face's ImmutableSandboxedEnvironment)
// and Python do.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/value.h"

namespace ember::jinja {

class Interpreter;

// The positional argument `index`, else the keyword argument `name`, else nullptr.
const Value* ArgAt(const CallArgs& args, size_t index, std::string_view name);

// Index into the filter / test tables, or -1 when there is no such name (a compile-time error).
int FindFilter(std::string_view name);
int FindTest(std::string_view name);
Value ApplyFilter(Interpreter& in, int index, const Value& input, CallArgs& args);
bool ApplyTest(Interpreter& in, int index, const Value& input, CallArgs& args);

// `obj.name`: methods first, then keys (Jinja's getattr order).
Value GetAttribute(const Value& obj, const std::string& name);
// `obj[key]`: keys and indexes first, then attributes (Jinja's getitem order).
Value GetItem(const Value& obj, const Value& key);
// `obj[start:stop:step]` on lists and strings; absent bounds are None.
Value Slice(Interpreter& in, const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python iteration: list items, dict keys, string characters; undefined iterates as empty.
ValueList Iterate(const Value& v);

// raise_exception, strftime_now, range, namespace, dict.
void AddGlobals(std::unordered_map<std::string, Value>& vars);

}  // namespace ember::jinja
