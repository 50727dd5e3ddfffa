// `ember template`: renders a chat template over a conversation and prints the prompt exactly,
// byte for byte, as Hugging Face's apply_chat_template would produce it.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "chat/model_template.h"
#include "commands.h"
#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember::cli {
namespace {

struct TemplateOptions {
  std::string model;
  std::string template_name;
  std::string template_file;
  std::string messages;
  bool no_generation_prompt = false;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::string date;
};

nlohmann::ordered_json ReadVariables(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail("cannot read messages file '{}'", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    Fail("{}: invalid JSON: {}", path, e.what());
  }
  // A bare list is taken as the messages.
  if (j.is_array()) j = nlohmann::ordered_json{{"messages", j}};
  if (!j.is_object()) Fail("{}: expected a JSON object of template variables (or a list of messages)", path);
  if (!j.contains("messages") || !j["messages"].is_array()) Fail("{}: needs a \"messages\" list", path);
  return j;
}

void RunTemplate(const TemplateOptions& o) {
  std::optional<ModelChatInfo> model;
  if (!o.model.empty()) model = ReadModelChatInfo(GgufFile::Open(o.model));
  TemplateChoice choice = ChooseTemplate(model ? &*model : nullptr, o.model, o.template_name, o.template_file);

  nlohmann::ordered_json vars = ReadVariables(o.messages);
  if (model && model->bos_token && !vars.contains("bos_token")) vars["bos_token"] = *model->bos_token;
  if (model && model->eos_token && !vars.contains("eos_token")) vars["eos_token"] = *model->eos_token;
  if (o.bos_token) vars["bos_token"] = *o.bos_token;
  if (o.eos_token) vars["eos_token"] = *o.eos_token;
  if (o.no_generation_prompt) {
    vars["add_generation_prompt"] = false;
  } else if (!vars.contains("add_generation_prompt")) {
    vars["add_generation_prompt"] = true;
  }
  ChatRenderOptions render;
  if (!o.date.empty()) render.now = ParseIsoDate(o.date);

  ChatTemplate t = [&] {
    try {
      return ChatTemplate::Compile(choice.source);
    } catch (const Error& e) {
      Fail("chat template from {}: {}", choice.origin, e.what());
    }
  }();
  std::string prompt;
  try {
    prompt = t.Render(WithHfDefaults(std::move(vars)), render);
  } catch (const Error& e) {
    Fail("chat template from {}: {}", choice.origin, e.what());
  }
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

void RegisterTemplate(CLI::App& app) {
  auto opts = std::make_shared<TemplateOptions>();
  CLI::App* cmd = app.add_subcommand("template", "Render a chat template over a conversation and print the prompt exactly");
  cmd->add_option("-m,--model", opts->model, "GGUF model whose tokenizer.chat_template and BOS/EOS tokens to use");
  cmd->add_option("--chat-template", opts->template_name, "Built-in template name (chatml, llama2, llama3, ...)");
  cmd->add_option("--chat-template-file", opts->template_file, "Jinja template file (overrides the model's)");
  cmd->add_option("--messages", opts->messages,
                  "JSON file ('-' for stdin): an object whose keys become template variables (messages, tools, ...)")
      ->required();
  cmd->add_flag("--no-generation-prompt", opts->no_generation_prompt, "Render with add_generation_prompt=false");
  cmd->add_option("--bos-token", opts->bos_token, "Text of the BOS token (default: from the model)");
  cmd->add_option("--eos-token", opts->eos_token, "Text of the EOS token (default: from the model)");
  cmd->add_option("--date", opts->date, "Date that strftime_now() sees, YYYY-MM-DD (default: today)");
  cmd->callback([opts] { RunTemplate(*opts); });
}

}  // namespace ember::cli
