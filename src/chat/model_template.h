// Where a chat template comes from: the model's GGUF metadata (tokenizer.chat_template, and the
// BOS/EOS token texts from tokenizer.ggml.tokens), a built-in name, or a file. A model without a
// template and no explicit choice is an error with a clear message, never a silent guess.
#pragma once

#include <optional>
#include <string>

#include "gguf/gguf_file.h"

namespace ember {

struct ModelChatInfo {
  std::optional<std::string> chat_template;  // tokenizer.chat_template
  std::optional<std::string> bos_token;      // text of tokenizer.ggml.tokens[bos_token_id]
  std::optional<std::string> eos_token;      // text of tokenizer.ggml.tokens[eos_token_id]
};

ModelChatInfo ReadModelChatInfo(const GgufFile& file);

struct TemplateChoice {
  std::string source;
  std::string origin;  // for messages: "model.gguf", "built-in 'chatml'", "file t.jinja"
};

// Picks the template: `file` (read from disk) over builtin `name` over the model's own. `model`
// may be null. Throws ember::Error when nothing applies or the name/file is bad.
TemplateChoice ChooseTemplate(const ModelChatInfo* model, const std::string& model_path, const std::string& name,
                              const std::string& file);

}  // namespace ember
