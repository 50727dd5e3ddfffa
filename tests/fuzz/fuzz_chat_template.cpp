// libFuzzer target: the chat-template lexer, parser and interpreter on arbitrary text. Any input
// must either compile or raise ember::Error; a compiled template must render a fixed conversation
// or raise ember::Error, within small step and size limits (so no hang or runaway allocation).
// fuzz-deps: ember_chat ember_gguf ember_core
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "chat/chat_template.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi é"},
                 {"role": "assistant", "content": null, "tool_calls": [{"type": "function",
                  "function": {"name": "f", "arguments": {"a": 1.5, "b": [true, null]}}}]},
                 {"role": "user", "content": [{"type": "text", "text": "part"}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "documents": null, "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  const std::string source(reinterpret_cast<const char*>(data), size);
  try {
    ember::ChatTemplate t = ember::ChatTemplate::Compile(source);
    ember::ChatRenderOptions options;
    options.now = ember::ParseIsoDate("2024-07-26");
    options.max_steps = 20000;
    options.max_string_bytes = 1 << 20;
    (void)t.Render(vars, options);
  } catch (const ember::Error&) {
  }
  return 0;
}
