// Helpers shared by the chat-template tests: reading golden data from tests/data/chat.
#pragma once

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

namespace ember::test {

inline std::string ChatDataPath(const std::string& name) {
  return std::string(EMBER_SOURCE_DIR) + "/tests/data/chat/" + name;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline nlohmann::ordered_json ReadChatJson(const std::string& name) {
  return nlohmann::ordered_json::parse(ReadFileBytes(ChatDataPath(name)));
}

}  // namespace ember::test
