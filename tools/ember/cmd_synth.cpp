// `ember synth`: writes a random-weight GGUF (llama, qwen2, phi3 or gemma3 layout) of a given shape and weight type,
// with the vocabulary of a real model, for tests, benchmarks and comparisons with llama.cpp.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "fast_synth.h"
#include "core/error.h"
#include "gguf/ggml_type.h"
#include "model/synth.h"
#include "runtime/model_path.h"

namespace ember::cli {
namespace {

struct SynthOptions {
  SynthSpec spec;
  std::string out;
  std::string like;         // a well-known shape: the fast writer (fast_synth.h)
  bool type_given = false;
  std::string type = "f32", embd_type = "", output_type = "";
  bool untied = false;
};

GgmlType ParseType(const std::string& name, const char* flag) {
  auto t = GgmlTypeFromName(name);
  if (!t) Fail("{} '{}' is not a ggml type name (e.g. f32, f16, q8_0, q4_k)", flag, name);
  return *t;
}

void Run(SynthOptions& o) {
  if (o.out.empty()) Fail("give the output file with -o FILE.gguf");
  o.spec.vocab_from = ResolveModelPath(o.spec.vocab_from);
  if (!o.like.empty()) {
    // Billions of weights through the reference quantizer would take minutes to hours: a named
    // shape is written with random quantized blocks instead (speed only; tests use the rest).
    FastSynthOptions f;
    f.out = o.out;
    f.vocab_from = o.spec.vocab_from;
    f.shape = o.like;
    f.type = o.type_given ? o.type : "q4_k_m";
    f.seed = o.spec.seed;
    WriteFastSynth(f);
    return;
  }
  o.spec.type = ParseType(o.type, "--type");
  o.spec.embd_type = o.embd_type.empty() ? o.spec.type : ParseType(o.embd_type, "--embd-type");
  o.spec.output_type = o.output_type.empty() ? o.spec.type : ParseType(o.output_type, "--output-type");
  o.spec.tied = !o.untied;
  WriteSynthModel(o.spec, o.out);
  std::fprintf(stderr, "wrote %s\n", o.out.c_str());
}

}  // namespace

void RegisterSynth(CLI::App& app) {
  auto o = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a random-weight model (tests, benchmarks)");
  cmd->add_option("-o,--output", o->out, "Output GGUF file")->required();
  cmd->add_option("--vocab-from", o->spec.vocab_from, "GGUF whose vocabulary is copied (default: the default model)");
  cmd->add_option("--arch", o->spec.arch, "Layout: llama, qwen2 (Q/K/V biases), phi3 (fused QKV, gate/up), gemma3")
      ->capture_default_str();
  cmd->add_option("--window", o->spec.sliding_window, "attention.sliding_window key (0: none)");
  cmd->add_option("--embd", o->spec.n_embd, "Model width")->capture_default_str();
  cmd->add_option("--layers", o->spec.n_layer, "Layers")->capture_default_str();
  cmd->add_option("--heads", o->spec.n_head, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o->spec.n_head_kv, "KV heads (grouped-query attention)")->capture_default_str();
  cmd->add_option("--head-dim", o->spec.head_dim, "Head dimension (0: width / heads)")->capture_default_str();
  cmd->add_option("--ff", o->spec.n_ff, "Feed-forward width")->capture_default_str();
  cmd->add_option("--ctx", o->spec.n_ctx, "Training context length")->capture_default_str();
  cmd->add_option("--rope-base", o->spec.rope_base, "RoPE frequency base")->capture_default_str();
  cmd->add_option("--rope-linear", o->spec.rope_linear, "Linear RoPE scaling factor (0: none)");
  cmd->add_option("--rope-yarn", o->spec.rope_yarn, "YaRN RoPE scaling factor (0: none)");
  cmd->add_option("--yarn-orig-ctx", o->spec.yarn_orig_ctx, "YaRN's original context length (0: the training context)");
  cmd->add_flag("--rope-freqs", o->spec.rope_freqs, "Add a rope_freqs.weight tensor (Llama 3.1 style)");
  cmd->add_option("--like", o->like,
                  std::string("A published model's exact shape, random weights in seconds (speed only): ") +
                      kFastSynthShapes);
  auto* type_opt = cmd->add_option("--type", o->type, "Type of the layer matrices (with --like: also q4_k_m, the default)")
                       ->capture_default_str();
  cmd->add_option("--embd-type", o->embd_type, "Type of token_embd (default: --type)");
  cmd->add_option("--output-type", o->output_type, "Type of output.weight (default: --type)");
  cmd->add_flag("--untied", o->untied, "Write a separate output.weight (default: tied to token_embd)");
  cmd->add_option("--seed", o->spec.seed, "Random seed")->capture_default_str();
  cmd->callback([o, type_opt] {
    o->type_given = type_opt->count() > 0;
    Run(*o);
  });
}

}  // namespace ember::cli
