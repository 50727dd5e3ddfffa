#include "line_reader.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#ifdef EMBER_HAS_LIBEDIT
#include <editline/readline.h>
#endif

namespace ember::cli {

LineReader::LineReader() : interactive_(isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0) {}

std::optional<std::string> LineReader::ReadOne(const std::string& prompt) {
#ifdef EMBER_HAS_LIBEDIT
  if (interactive_) {
    char* line = readline(prompt.c_str());
    if (line == nullptr) return std::nullopt;
    std::string text(line);
    std::free(line);
    if (!text.empty()) add_history(text.c_str());
    return text;
  }
#endif
  if (interactive_) {
    std::fputs(prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  std::string text;
  if (!std::getline(std::cin, text)) return std::nullopt;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

std::optional<std::string> LineReader::Read(const std::string& prompt) {
  std::optional<std::string> line = ReadOne(prompt);
  if (!line) return std::nullopt;
  std::string message = *line;
  while (!message.empty() && message.back() == '\\') {
    message.pop_back();
    std::optional<std::string> more = ReadOne("");
    if (!more) break;
    message += "\n" + *more;
  }
  return message;
}

}  // namespace ember::cli
