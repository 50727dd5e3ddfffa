// Reads the user's lines for `ember chat`: with line editing and history (libedit, Debian's
// BSD-licensed readline) on a terminal, plain lines from a pipe or file otherwise. A line
// ending in a backslash continues on the next one (as in llama-cli), for multi-line messages.
#pragma once

#include <optional>
#include <string>

namespace ember::cli {

class LineReader {
 public:
  LineReader();
  // The next message (continuation lines joined with "\n"); nullopt at end of input (Ctrl-D).
  std::optional<std::string> Read(const std::string& prompt);
  bool interactive() const { return interactive_; }

 private:
  std::optional<std::string> ReadOne(const std::string& prompt);
  bool interactive_;
};

}  // namespace ember::cli
