// libFuzzer target: JSON Schema -> GBNF. Any input must convert or raise ember::Error, and
// every grammar the converter emits must parse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "sample/grammar.h"
#include "sample/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string gbnf;
  try {
    gbnf = ember::JsonSchemaTextToGbnf(text);
  } catch (const ember::Error&) {
    return 0;
  }
  try {
    (void)ember::Grammar::Parse(gbnf);
  } catch (const ember::Error& e) {
    // Large repetition counts are refused by the grammar parser too; anything else is a bug.
    if (std::string(e.what()).find("repetition") == std::string::npos) std::abort();
  }
  return 0;
}
