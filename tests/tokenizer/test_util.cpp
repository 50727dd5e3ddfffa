// Helpers shared by the tokenizer tests.
#include "test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ember::test {

std::optional<std::string> FindModel(const std::string& file) {
  std::string dir;
  if (const char* env = std::getenv("EMBER_MODELS"); env && *env) {
    dir = env;
  } else {
    dir = std::string(EMBER_SOURCE_DIR) + "/models";
  }
  const std::string path = dir + "/" + file;
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path;
}

std::string SourcePath(const std::string& relative) {
  return std::string(EMBER_SOURCE_DIR) + "/" + relative;
}

std::string Base64Decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ember::test
