// What `ember run` and `ember chat` share: the flags that load a model for generation (model,
// context, threads, KV type, device), the sampling/grammar/stop flags (llama.cpp's spelling,
// from src/sample/sampler_flags.h), the chat-template flags, and the loading itself.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/model_template.h"
#include "device_flags.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/chat_prompt.h"
#include "runtime/prompt_tokens.h"
#include "runtime/session.h"
#include "sample/sampler.h"
#include "sample/sampler_flags.h"
#include "tokenizer/tokenizer.h"

namespace ember::cli {

struct ModelFlags {
  std::string model;
  int64_t ctx = 0;
  int threads = 0;
  int threads_batch = 0;  // prompt batches; 0: threads
  std::string kv_type = "f16";
  DeviceFlags device;
};
void AddModelFlags(CLI::App* cmd, ModelFlags& flags);

struct GenerationFlags {
  int64_t n_predict = -1;
  SamplerParams sampling;
  GrammarOptions grammar;
  std::vector<std::string> stops;
};
// json_object_flag: the spelling of "any JSON object" (`ember run` keeps --json for its output).
void AddGenerationFlags(CLI::App* cmd, GenerationFlags& flags, int64_t default_n_predict,
                        const std::string& json_object_flag);

struct TemplateFlags {
  std::string system;
  std::string chat_template;       // built-in name
  std::string chat_template_file;
};
void AddTemplateFlags(CLI::App* cmd, TemplateFlags& flags);

// A model ready to generate: keep the whole struct alive while the session is used.
struct LoadedModel {
  std::string path;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<CpuBackend> backend;
  std::shared_ptr<void> gpu;  // the GPU state when the pass runs there
  std::unique_ptr<Session> session;
  double load_ms = 0.0;
  std::string BackendName() const;
};
LoadedModel LoadForGeneration(const ModelFlags& flags, bool show_progress);

// The chat prompt for the model and the flags; nullopt when the model has no template and no
// flag names one (the caller decides: `run` feeds raw text, `chat` refuses).
std::optional<ChatPrompt> MakeChatPrompt(const LoadedModel& lm, const TemplateFlags& flags);

// The sampler for the flags: grammar resolved, the vocabulary's pieces and end tokens.
std::unique_ptr<Sampler> MakeSamplerFor(const LoadedModel& lm, const GenerationFlags& flags);

double PeakRssMiB();

}  // namespace ember::cli
