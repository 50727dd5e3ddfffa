// Chat templates: the Jinja programs models ship (tokenizer.chat_template) that turn a list of
// messages into the prompt text, rendered exactly as Hugging Face transformers renders them
// (jinja2 ImmutableSandboxedEnvironment, trim_blocks and lstrip_blocks, loopcontrols, HF's
// tojson / raise_exception / strftime_now). Compile once per model, render per request.
#pragma once

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

struct ChatRenderOptions {
  // The date strftime_now() sees (midnight); the current local time when empty.
  std::optional<std::tm> now;
  // Bounds on the work one render may do, so a hostile template fails instead of hanging or
  // exhausting memory: evaluation steps (loop iterations, calls, filters) and the size of any
  // string built, the output included. Real chat templates use a few thousand steps.
  uint64_t max_steps = 5'000'000;
  size_t max_string_bytes = size_t{64} << 20;
};

class ChatTemplate {
 public:
  // Parses the template. Throws ember::Error naming line and column on a syntax error or an
  // unsupported construct.
  static ChatTemplate Compile(const std::string& source);

  // Renders with `variables` as the template's variables (messages, add_generation_prompt,
  // bos_token, eos_token, tools, ...). Object key order is kept (it shows in tojson output), so
  // prefer the ordered_json overload for input parsed from text. Throws ember::Error with line and
  // column when the template fails, including through raise_exception(msg).
  std::string Render(const nlohmann::ordered_json& variables, const ChatRenderOptions& options = {}) const;
  std::string Render(const nlohmann::json& variables, const ChatRenderOptions& options = {}) const;

  const std::string& source() const;

 private:
  struct Impl;
  explicit ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Adds what transformers' apply_chat_template always passes when the caller did not:
// tools=None, documents=None, add_generation_prompt=False.
nlohmann::ordered_json WithHfDefaults(nlohmann::ordered_json variables);

// Parses "YYYY-MM-DD" into a calendar date at midnight (weekday and day of year filled in).
// Throws ember::Error on anything else.
std::tm ParseIsoDate(std::string_view text);

// Built-in named templates for GGUF files that carry none: chatml, llama2, llama3, zephyr,
// mistral, gemma, phi3, ...
std::optional<std::string> BuiltinTemplate(std::string_view name);
std::vector<std::string> BuiltinTemplateNames();

}  // namespace ember
