#include "runtime/chat_prompt.h"

namespace ember {

ChatPrompt::ChatPrompt(const std::string& template_source, const ModelChatInfo& info)
    : template_(ChatTemplate::Compile(template_source)),
      bos_(info.bos_token.value_or("")),
      eos_(info.eos_token.value_or("")) {}

void ChatPrompt::AddUser(const std::string& text) {
  messages_.push_back({{"role", "user"}, {"content", text}});
}

void ChatPrompt::AddAssistant(const std::string& text) {
  messages_.push_back({{"role", "assistant"}, {"content", text}});
}

void ChatPrompt::PopLast() {
  if (!messages_.empty()) messages_.erase(messages_.end() - 1);
}

void ChatPrompt::Clear() { messages_ = nlohmann::ordered_json::array(); }

std::string ChatPrompt::Render(bool add_generation_prompt) const {
  nlohmann::ordered_json vars;
  vars["messages"] = nlohmann::ordered_json::array();
  if (!system_.empty()) vars["messages"].push_back({{"role", "system"}, {"content", system_}});
  for (const auto& m : messages_) vars["messages"].push_back(m);
  vars["add_generation_prompt"] = add_generation_prompt;
  vars["bos_token"] = bos_;
  vars["eos_token"] = eos_;
  return template_.Render(WithHfDefaults(vars));
}

}  // namespace ember
