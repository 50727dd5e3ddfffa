// libFuzzer target: the GBNF parser and matcher on arbitrary text. Any input must either parse
// or raise ember::Error; a parsed grammar must then match bytes without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "sample/grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first line may be used as input to match, the rest as grammar.
  const size_t nl = text.find('\n');
  const std::string probe = nl == std::string::npos ? "" : text.substr(0, nl);
  const std::string gbnf = nl == std::string::npos ? text : text.substr(nl + 1);
  try {
    ember::Grammar g = ember::Grammar::Parse(gbnf);
    ember::Grammar copy = g;
    for (char c : probe) {
      if (!copy.AcceptBytes(std::string(1, c))) break;
    }
    (void)copy.CanEnd();
  } catch (const ember::Error&) {
  }
  return 0;
}
