// Errors: one user-facing type, and an always-on invariant check.
//
// ember::Error is for failures caused by the outside world (a bad file, flag or request). It
// carries a complete one-line message with context and is turned into a message and exit code
// (CLI) or an HTTP status (server) at the boundary. EMBER_CHECK is for broken invariants inside
// ember: it is never compiled out, and names file:line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Formats and throws an ember::Error.
template <typename... Args>
[[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace ember

#define EMBER_CHECK(cond)                                                \
  do {                                                                   \
    if (!(cond)) [[unlikely]] ::ember::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define EMBER_CHECK_MSG(cond, ...)                                            \
  do {                                                                        \
    if (!(cond)) [[unlikely]]                                                 \
      ::ember::CheckFailed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)
