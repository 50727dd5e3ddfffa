// ChatPrompt: a conversation (optional system message, then user and assistant turns) and the
// chat template that renders it, with the model's BOS/EOS texts, as Hugging Face renders it.
// `ember run` renders one user turn; `ember chat` renders the whole conversation again each turn
// and lets Session::KeepCommonPrefix reuse the cache for everything that did not change.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "chat/chat_template.h"
#include "chat/model_template.h"
#include "tokenizer/tokenizer.h"

namespace ember {

class ChatPrompt {
 public:
  // template_source: the Jinja text (see ChooseTemplate); info: the model's BOS/EOS texts.
  ChatPrompt(const std::string& template_source, const ModelChatInfo& info);

  void SetSystem(const std::string& system) { system_ = system; }
  void AddUser(const std::string& text) { AddMessage("user", text); }
  void AddAssistant(const std::string& text) { AddMessage("assistant", text); }
  // Any role the template knows (the server passes a request's messages as they come).
  void AddMessage(const std::string& role, const std::string& text);
  // Drops the last message (a user turn whose answer was abandoned).
  void PopLast();
  // Forgets the turns (the system message stays).
  void Clear();
  size_t size() const { return messages_.size(); }

  // The conversation as the template renders it; with add_generation_prompt it ends where the
  // assistant's answer starts. With `contents`, also where the messages' texts lie in it (found
  // in order; a text the template changed, e.g. trimmed, is looked up trimmed): those ranges are
  // tokenized without special-token parsing, the template's own text with it.
  std::string Render(bool add_generation_prompt, std::vector<Tokenizer::TextRange>* contents = nullptr) const;

 private:
  ChatTemplate template_;
  std::string bos_;
  std::string eos_;
  std::string system_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
};

}  // namespace ember
