// Python str operations on UTF-8 strings, as the Jinja built-ins and str methods need them:
// strip with Python's Unicode whitespace, split with and without a separator, case mapping
// (ASCII, Latin-1, Greek and Cyrillic letters), title-casing, replace with a count, splitlines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember::jinja::py {

// str.strip / lstrip / rstrip; `chars` absent means whitespace.
std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit) / str.rsplit; sep absent splits on runs of whitespace.
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right);
std::vector<std::string> SplitLines(std::string_view s, bool keepends);
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
std::string Title(std::string_view s);       // str.title()
std::string Capitalize(std::string_view s);  // str.capitalize()
std::string Replace(std::string_view s, std::string_view old_sub, std::string_view new_sub, int64_t count);
bool IsUpperCased(std::string_view s, bool upper);  // str.isupper() / str.islower()

}  // namespace ember::jinja::py
