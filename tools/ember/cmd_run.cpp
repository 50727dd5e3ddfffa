// `ember run`: generates a continuation of a prompt, streamed to stdout as it is produced, with
// llama.cpp-style timings on stderr (or one JSON object with --json).
#include <fmt/format.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "chat/model_template.h"
#include "commands.h"
#include "core/error.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/generate.h"
#include "runtime/model_path.h"
#include "runtime/session.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace ember::cli {
namespace {

// The one piece of process-wide state: a signal handler can only reach a global. Set by Ctrl-C,
// read by the generation loop, which then stops cleanly (timings still printed).
volatile std::sig_atomic_t g_interrupted = 0;

void OnSigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

struct RunOptions {
  std::string model;
  std::string prompt;
  int64_t n_predict = 256;
  int64_t ctx = 0;
  int threads = 0;
  float temp = 0.8f;
  int64_t seed = -1;
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  bool no_bos = false;
  bool raw = false;
  std::string system;
  std::string chat_template;       // built-in name
  std::string chat_template_file;
  bool json = false;
  bool verbose = false;
  std::string kv_type = "f16";
};

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void Run(const RunOptions& o) {
  if (o.prompt.empty()) Fail("give a prompt with -p TEXT");
  if (o.n_predict < -1) Fail("-n {} must be -1 (until the end of generation) or more", o.n_predict);
  if (o.kv_type != "f16" && o.kv_type != "f32") Fail("--kv-type '{}' is not one of f16, f32", o.kv_type);
  const auto t_load = std::chrono::steady_clock::now();
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path, /*show_progress=*/!o.json);
  const Tokenizer tok = Tokenizer::FromGguf(model->file());
  CpuBackend backend(o.threads);
  SessionOptions so;
  so.n_ctx = o.ctx;
  so.kv_type = o.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  Session session(*model, backend, so);
  const double load_ms = MsSince(t_load);

  // With a chat template (the model's, or one named by a flag) the prompt is one user turn,
  // rendered as Hugging Face renders it; --raw feeds the text as is. The rendered text is tokenized
  // with special-token parsing, as llama.cpp's llama-cli does with its formatted chat.
  std::string text_in = o.prompt;
  if (!o.raw) {
    const ModelChatInfo info = ReadModelChatInfo(model->file());
    if (info.chat_template || !o.chat_template.empty() || !o.chat_template_file.empty()) {
      const TemplateChoice choice = ChooseTemplate(&info, path, o.chat_template, o.chat_template_file);
      nlohmann::ordered_json vars;
      vars["messages"] = nlohmann::ordered_json::array();
      if (!o.system.empty()) vars["messages"].push_back({{"role", "system"}, {"content", o.system}});
      vars["messages"].push_back({{"role", "user"}, {"content", o.prompt}});
      vars["add_generation_prompt"] = true;
      vars["bos_token"] = info.bos_token.value_or("");
      vars["eos_token"] = info.eos_token.value_or("");
      text_in = ChatTemplate::Compile(choice.source).Render(WithHfDefaults(vars));
    } else {
      std::fprintf(stderr, "ember: %s has no chat template; the prompt is fed as raw text "
                           "(name one with --chat-template, or pass --raw to silence this)\n",
                   path.c_str());
      if (!o.system.empty()) Fail("--system needs a chat template (--chat-template NAME)");
    }
  }
  // A template that starts with the BOS text already carries BOS: don't add a second one.
  const std::string bos_text = tok.bos() >= 0 ? tok.TokenText(tok.bos()) : std::string();
  const bool template_has_bos = !o.raw && !bos_text.empty() && text_in.rfind(bos_text, 0) == 0;
  const std::vector<int32_t> prompt = tok.Encode(
      text_in, tok.add_bos() && !o.no_bos && !template_has_bos, tok.add_eos(), /*parse_special=*/true);
  if (prompt.empty()) Fail("the prompt encodes to no tokens");
  if (static_cast<int64_t>(prompt.size()) >= session.n_ctx()) {
    Fail("the prompt has {} tokens but the context holds {}; raise -c (the model was trained "
         "with {})", prompt.size(), session.n_ctx(), model->config().n_ctx_train);
  }

  SamplerParams sp;
  sp.temp = o.temp;
  sp.seed = o.seed < 0 ? kRandomSeed : static_cast<uint32_t>(o.seed);
  sp.top_k = o.top_k;
  sp.top_p = o.top_p;
  sp.min_p = o.min_p;
  sp.repeat_penalty = o.repeat_penalty;
  std::vector<std::string> pieces(static_cast<size_t>(tok.n_vocab()));
  for (int32_t i = 0; i < tok.n_vocab(); ++i) pieces[static_cast<size_t>(i)] = tok.TokenToPiece(i, true);
  Sampler sampler(sp, static_cast<int32_t>(model->config().n_vocab), std::move(pieces), tok.eog_ids());
  for (int32_t id : prompt) sampler.Accept(id);  // penalties see the prompt, as in llama.cpp
  ChainChooser chooser(sampler);

  g_interrupted = 0;
  std::signal(SIGINT, OnSigint);
  StreamingDecoder decoder(tok);
  std::string text;
  GenerateOptions go;
  go.n_predict = o.n_predict;
  const GenerateResult result = Generate(
      session, prompt, chooser, [&](int32_t id) { return tok.IsEog(id); }, go, [&](int32_t id) {
        const std::string piece = decoder.Push(id);
        text += piece;
        if (!o.json) {
          std::fwrite(piece.data(), 1, piece.size(), stdout);
          std::fflush(stdout);
        }
        return g_interrupted == 0;
      });
  const std::string tail = decoder.Flush();
  text += tail;
  std::signal(SIGINT, SIG_DFL);

  const Timings& t = session.timings();
  const double prompt_tps = t.prompt_ms > 0 ? 1000.0 * static_cast<double>(t.prompt_tokens) / t.prompt_ms : 0.0;
  const double gen_tps = t.gen_ms > 0 ? 1000.0 * static_cast<double>(t.gen_tokens) / t.gen_ms : 0.0;
  const double weight_gb = static_cast<double>(model->weights().BytesPerToken()) / 1e9;
  const double kv_mib = static_cast<double>(session.cache().bytes()) / (1024.0 * 1024.0);
  const double file_mib = static_cast<double>(model->file().file_size()) / (1024.0 * 1024.0);
  if (o.json) {
    nlohmann::json j;
    j["model"] = path;
    j["prompt_tokens"] = prompt;
    j["generated_tokens"] = result.tokens;
    j["text"] = text;
    j["stop"] = StopReasonName(result.stop);
    j["timings"] = {{"load_ms", load_ms},
                    {"prompt_ms", t.prompt_ms},
                    {"prompt_tokens", t.prompt_tokens},
                    {"prompt_tokens_per_s", prompt_tps},
                    {"gen_ms", t.gen_ms},
                    {"gen_tokens", t.gen_tokens},
                    {"gen_tokens_per_s", gen_tps},
                    {"gen_gb_per_s", gen_tps * weight_gb},
                    {"peak_rss_mib", PeakRssMiB()}};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  std::printf("\n");
  std::fflush(stdout);
  std::fprintf(stderr, "\n");
  if (result.stop == StopReason::kStopped) std::fprintf(stderr, "interrupted\n");
  std::fprintf(stderr, "backend:          %s\n", backend.name().c_str());
  std::fprintf(stderr, "load time:        %10.2f ms\n", load_ms);
  std::fprintf(stderr, "prompt eval time: %10.2f ms / %5lld tokens (%8.2f ms per token, %8.2f tokens per second)\n",
               t.prompt_ms, static_cast<long long>(t.prompt_tokens),
               t.prompt_tokens ? t.prompt_ms / static_cast<double>(t.prompt_tokens) : 0.0, prompt_tps);
  std::fprintf(stderr, "eval time:        %10.2f ms / %5lld runs   (%8.2f ms per token, %8.2f tokens per second)\n",
               t.gen_ms, static_cast<long long>(t.gen_tokens),
               t.gen_tokens ? t.gen_ms / static_cast<double>(t.gen_tokens) : 0.0, gen_tps);
  std::fprintf(stderr, "throughput:       %.2f GB/s of weights (%.1f MB read per token)\n",
               gen_tps * weight_gb, weight_gb * 1000.0);
  std::fprintf(stderr, "memory:           peak RSS %.1f MiB (model file %.1f MiB, KV cache %.1f MiB, %lld positions)\n",
               PeakRssMiB(), file_mib, kv_mib, static_cast<long long>(session.n_ctx()));
  if (o.verbose) {
    const std::vector<float>& l = session.logits();
    uint64_t h = 1469598103934665603ull;
    const auto* b = reinterpret_cast<const uint8_t*>(l.data());
    for (size_t i = 0; i < l.size() * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
    std::fprintf(stderr, "logits hash:      %016llx\n", static_cast<unsigned long long>(h));
  }
}

}  // namespace

void RegisterRun(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: models/" + std::string(kDefaultModelFile) + ")");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt: one user turn through the model's chat template (raw text with --raw)");
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate (-1: until end of generation or a full context)")->capture_default_str();
  cmd->add_option("-c,--ctx-size", o->ctx, "Context size (0: the model's, capped at 4096)")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads (0: physical cores)")->capture_default_str();
  cmd->add_option("--temp", o->temp, "Temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed (-1: random)")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Top-k (0: off)")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Top-p (1: off)")->capture_default_str();
  cmd->add_option("--min-p", o->min_p, "Min-p (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty over the last 64 tokens (1: off)")->capture_default_str();
  cmd->add_flag("--no-bos", o->no_bos, "Do not add BOS even if the vocabulary asks for it");
  cmd->add_flag("--raw", o->raw, "Feed the prompt as raw text, not through the chat template");
  cmd->add_option("--system", o->system, "System message for the chat template");
  cmd->add_option("--chat-template", o->chat_template, "Use a built-in template (chatml, llama3, zephyr, gemma, ...)");
  cmd->add_option("--chat-template-file", o->chat_template_file, "Use the Jinja template in this file");
  cmd->add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object (prompt ids, generated ids, text, timings)");
  cmd->add_flag("--verbose", o->verbose, "Also print a hash of the last logits");
  cmd->callback([o] { Run(*o); });
}

}  // namespace ember::cli
