// Where a chat template comes from (see model_template.h).
#include "chat/model_template.h"

#include <fstream>
#include <sstream>

#include "chat/chat_template.h"
#include "core/error.h"

namespace ember {
namespace {

std::optional<std::string> TokenText(const GgufFile& file, const std::string& id_key) {
  const GgufValue* id = file.Find(id_key);
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (!id || !id->is_integer() || !tokens || !tokens->is_array()) return std::nullopt;
  int64_t index = id->is_unsigned() ? static_cast<int64_t>(id->as_unsigned()) : id->as_signed();
  const auto& items = tokens->as_array();
  if (index < 0 || static_cast<uint64_t>(index) >= items.size() || !items[static_cast<size_t>(index)].is_string()) {
    Fail("{}: {} = {} is not a valid token id (the vocabulary has {} tokens)", file.path(), id_key, index,
         items.size());
  }
  return items[static_cast<size_t>(index)].as_string();
}

std::string JoinNames() {
  std::string s;
  for (const auto& n : BuiltinTemplateNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

ModelChatInfo ReadModelChatInfo(const GgufFile& file) {
  ModelChatInfo info;
  const GgufValue* t = file.Find("tokenizer.chat_template");
  if (t && t->is_string()) info.chat_template = t->as_string();
  info.bos_token = TokenText(file, "tokenizer.ggml.bos_token_id");
  info.eos_token = TokenText(file, "tokenizer.ggml.eos_token_id");
  return info;
}

TemplateChoice ChooseTemplate(const ModelChatInfo* model, const std::string& model_path, const std::string& name,
                              const std::string& file) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) Fail("cannot read chat template file '{}'", file);
    std::ostringstream ss;
    ss << in.rdbuf();
    return {ss.str(), "file " + file};
  }
  if (!name.empty()) {
    auto source = BuiltinTemplate(name);
    if (!source) Fail("unknown chat template name '{}'; built-in templates: {}", name, JoinNames());
    return {*source, "built-in '" + name + "'"};
  }
  if (model && model->chat_template) return {*model->chat_template, model_path};
  if (model) {
    Fail("{} has no chat template (no tokenizer.chat_template); choose one with --chat-template NAME ({}) or "
         "--chat-template-file FILE",
         model_path, JoinNames());
  }
  Fail("no chat template: pass -m MODEL, --chat-template NAME ({}) or --chat-template-file FILE", JoinNames());
}

}  // namespace ember
