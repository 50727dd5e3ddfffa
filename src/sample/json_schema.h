// JSON Schema -> GBNF, with the semantics of llama.cpp's common/json-schema-to-grammar.cpp.
//
// Supported: type (string, number, integer, boolean, null, object, array, or a list of them),
// properties / required / additionalProperties, items / prefixItems / minItems / maxItems,
// enum, const, minLength / maxLength, format (date, time, date-time, uuid), integer minimum /
// maximum / exclusiveMinimum / exclusiveMaximum, oneOf / anyOf / allOf, and $ref to local
// definitions ("#/$defs/...", "#/definitions/...", any "#/..." JSON pointer), recursion included.
// Whitespace between tokens follows llama.cpp's `space` rule. Features that would change which
// documents are valid but cannot be expressed here (pattern, not, if/then/else,
// patternProperties, uniqueItems, multipleOf, contains, remote $ref) are errors, not ignored.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ember {

// Keeps the schema's property order (generation follows it, as in llama.cpp).
std::string JsonSchemaToGbnf(const nlohmann::ordered_json& schema);
// nlohmann::json sorts object keys, so properties come out in alphabetical order.
std::string JsonSchemaToGbnf(const nlohmann::json& schema);
// Parses the text (order-preserving); throws ember::Error on invalid JSON.
std::string JsonSchemaTextToGbnf(std::string_view schema_text);

// The grammar for `--json`: any JSON object (llama.cpp's grammars/json.gbnf semantics).
std::string JsonObjectGbnf();

}  // namespace ember
