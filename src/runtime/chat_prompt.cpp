#include "runtime/chat_prompt.h"

#include <string_view>

namespace ember {

ChatPrompt::ChatPrompt(const std::string& template_source, const ModelChatInfo& info)
    : template_(ChatTemplate::Compile(template_source)),
      bos_(info.bos_token.value_or("")),
      eos_(info.eos_token.value_or("")) {}

void ChatPrompt::AddMessage(const std::string& role, const std::string& text) {
  messages_.push_back({{"role", role}, {"content", text}});
}

void ChatPrompt::PopLast() {
  if (!messages_.empty()) messages_.erase(messages_.end() - 1);
}

void ChatPrompt::Clear() { messages_ = nlohmann::ordered_json::array(); }

namespace {

std::string_view Trimmed(std::string_view s) {
  const char* ws = " \t\n\r";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

std::string ChatPrompt::Render(bool add_generation_prompt, std::vector<Tokenizer::TextRange>* contents) const {
  nlohmann::ordered_json vars;
  vars["messages"] = nlohmann::ordered_json::array();
  if (!system_.empty()) vars["messages"].push_back({{"role", "system"}, {"content", system_}});
  for (const auto& m : messages_) vars["messages"].push_back(m);
  vars["add_generation_prompt"] = add_generation_prompt;
  vars["bos_token"] = bos_;
  vars["eos_token"] = eos_;
  std::string text = template_.Render(WithHfDefaults(vars));
  if (contents != nullptr) {
    contents->clear();
    size_t from = 0;
    for (const auto& m : vars["messages"]) {
      if (!m["content"].is_string()) continue;
      const std::string& content = m["content"].get_ref<const std::string&>();
      for (std::string_view needle : {std::string_view(content), Trimmed(content)}) {
        if (needle.empty()) break;
        const size_t at = text.find(needle, from);
        if (at == std::string::npos) continue;
        contents->push_back({at, needle.size()});
        from = at + needle.size();
        break;
      }
    }
  }
  return text;
}

}  // namespace ember
