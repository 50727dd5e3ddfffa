// Chat templates: compile (normalize, tokenize, parse) once; render per request.
#include "chat/chat_template.h"

#include <cstdio>

#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "core/error.h"

namespace ember {

struct ChatTemplate::Impl {
  std::string original;
  std::string normalized;
  jinja::Body body;
};

ChatTemplate ChatTemplate::Compile(const std::string& source) {
  auto impl = std::make_shared<Impl>();
  impl->original = source;
  impl->normalized = jinja::NormalizeSource(source);
  std::vector<jinja::Token> tokens = jinja::Tokenize(impl->normalized);
  impl->body = jinja::Parse(impl->normalized, tokens);
  return ChatTemplate(std::move(impl));
}

const std::string& ChatTemplate::source() const { return impl_->original; }

namespace {
std::string RenderValue(const jinja::Body& body, const std::string& source, const jinja::Value& vars,
                        const ChatRenderOptions& options) {
  jinja::RenderOptions render_options;
  render_options.now = options.now;
  render_options.limits.max_steps = options.max_steps;
  render_options.limits.max_string_bytes = options.max_string_bytes;
  jinja::Interpreter interpreter(source, render_options);
  return interpreter.Render(body, vars);
}
}  // namespace

std::string ChatTemplate::Render(const nlohmann::ordered_json& variables, const ChatRenderOptions& options) const {
  if (!variables.is_object()) Fail("chat template variables must be a JSON object");
  return RenderValue(impl_->body, impl_->normalized, jinja::Value::FromJson(variables), options);
}

std::string ChatTemplate::Render(const nlohmann::json& variables, const ChatRenderOptions& options) const {
  if (!variables.is_object()) Fail("chat template variables must be a JSON object");
  return RenderValue(impl_->body, impl_->normalized, jinja::Value::FromJson(variables), options);
}

nlohmann::ordered_json WithHfDefaults(nlohmann::ordered_json variables) {
  if (!variables.is_object()) Fail("chat template variables must be a JSON object");
  if (!variables.contains("tools")) variables["tools"] = nullptr;
  if (!variables.contains("documents")) variables["documents"] = nullptr;
  if (!variables.contains("add_generation_prompt")) variables["add_generation_prompt"] = false;
  return variables;
}

std::tm ParseIsoDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  std::string s(text);
  if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
      s[7] != '-') {
    Fail("invalid date '{}': expected YYYY-MM-DD", text);
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) {
    Fail("invalid date '{}': no such day", text);
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_isdst = 0;
  time_t t = timegm(&tm);  // normalizes and fills tm_wday / tm_yday
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace ember
