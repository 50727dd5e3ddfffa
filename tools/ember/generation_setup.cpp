#include "generation_setup.h"

#include <sys/resource.h>

#include <chrono>

#include "core/error.h"
#include "runtime/generate.h"
#include "runtime/model_path.h"

namespace ember::cli {

void AddModelFlags(CLI::App* cmd, ModelFlags& f) {
  cmd->add_option("-m,--model", f.model, "GGUF model (default: models/" + std::string(kDefaultModelFile) + ")");
  cmd->add_option("-c,--ctx-size", f.ctx, "Context size (0: the model's, capped at 4096)")->capture_default_str();
  cmd->add_option("-t,--threads", f.threads, "Threads (0: physical cores)")->capture_default_str();
  cmd->add_option("--tb,--threads-batch", f.threads_batch,
                  "Threads for the prompt (batches of tokens; 0: same as --threads); llama.cpp's -tb")
      ->capture_default_str();
  cmd->add_option("--kv-type", f.kv_type, "KV cache type: f16 or f32")
      ->check(CLI::IsMember({"f16", "f32"}))
      ->capture_default_str();
  AddDeviceFlags(cmd, f.device);
}

void AddGenerationFlags(CLI::App* cmd, GenerationFlags& f, int64_t default_n_predict,
                        const std::string& json_object_flag) {
  f.n_predict = default_n_predict;
  cmd->add_option("-n,--n-predict", f.n_predict, "Tokens to generate (-1: until end of generation or a full context)")
      ->capture_default_str();
  AddSamplerFlags(*cmd, f.sampling);
  AddGrammarFlags(*cmd, f.grammar, json_object_flag);
  AddStopFlags(*cmd, f.stops);
}

void AddTemplateFlags(CLI::App* cmd, TemplateFlags& f) {
  cmd->add_option("--system", f.system, "System message for the chat template");
  cmd->add_option("--chat-template", f.chat_template, "Use a built-in template (chatml, llama3, zephyr, gemma, ...)");
  cmd->add_option("--chat-template-file", f.chat_template_file, "Use the Jinja template in this file");
}

std::string LoadedModel::BackendName() const {
  return gpu ? std::string("cuda") : backend->name();
}

LoadedModel LoadForGeneration(const ModelFlags& f, bool show_progress) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel lm;
  lm.path = ResolveModelPath(f.model);
  lm.model = Model::Load(lm.path, show_progress);
  lm.tokenizer = std::make_unique<Tokenizer>(Tokenizer::FromGguf(lm.model->file()));
  lm.backend = std::make_unique<CpuBackend>(f.threads, SelectIsa(), f.threads_batch);
  SessionOptions so;
  so.n_ctx = f.ctx;
  so.kv_type = f.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  lm.gpu = UseDevice(f.device, *lm.model, so, show_progress);
  if (!lm.gpu) lm.backend->PrepareWeights(lm.model->weights());
  lm.session = std::make_unique<Session>(*lm.model, *lm.backend, so);
  lm.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return lm;
}

std::optional<ChatPrompt> MakeChatPrompt(const LoadedModel& lm, const TemplateFlags& f) {
  const ModelChatInfo info = ReadModelChatInfo(lm.model->file());
  if (!info.chat_template && f.chat_template.empty() && f.chat_template_file.empty()) return std::nullopt;
  const TemplateChoice choice = ChooseTemplate(&info, lm.path, f.chat_template, f.chat_template_file);
  ChatPrompt prompt(choice.source, info);
  prompt.SetSystem(f.system);
  return prompt;
}

std::unique_ptr<Sampler> MakeSamplerFor(const LoadedModel& lm, const GenerationFlags& f) {
  return MakeSampler(f.sampling, *lm.tokenizer, static_cast<int32_t>(lm.model->config().n_vocab),
                     ResolveGrammar(f.grammar));
}

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace ember::cli
