// Helpers shared by the tokenizer tests: locating models and golden data, base64.
#pragma once

#include <optional>
#include <string>

namespace ember::test {

// The path of a model in $EMBER_MODELS or <source>/models, or nullopt if it is absent.
std::optional<std::string> FindModel(const std::string& file);
std::string SourcePath(const std::string& relative);
std::string Base64Decode(const std::string& s);
std::string ReadFile(const std::string& path);

}  // namespace ember::test
