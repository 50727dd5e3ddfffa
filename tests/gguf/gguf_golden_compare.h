// Compares what ember's GgufFile read with a golden JSON description of the same file, made by the
// reference reader (scripts/golden/make_gguf_golden.py; the format is described there).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gguf/gguf_file.h"

namespace ember::test {

// The GGUF encoding of an array's items (what follows its count in the file); the golden JSON
// stores the sha256 of exactly these bytes.
std::string EncodeItems(const GgufValue& array);

// GoogleTest expectations: header, every metadata key (order, type, value), every tensor (name,
// type, shape, offset, size, and the sha256 of its data when check_data).
void ExpectMatchesGolden(const GgufFile& file, const nlohmann::json& golden, bool check_data);

// Reads a JSON file (a test failure and an empty object if it cannot).
nlohmann::json ReadJsonFile(const std::string& path);

}  // namespace ember::test
