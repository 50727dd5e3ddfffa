// `ember dump -m MODEL -p TEXT [--tensors REGEX] [--out FILE.json] [--values]`: runs the prompt as
// one batch and records every named intermediate tensor per layer and position (llama.cpp's names:
// attn_norm-0, Qcur-0, ... result_output). Without --out it prints one line of statistics per
// tensor; with --out it writes the JSON dump (and with --values a binary sidecar FILE.bin) that
// `ember compare` reads. Formats: docs/debugging.md.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "diag/dump.h"
#include "diag/dump_io.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/model_path.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace ember::cli {
namespace {

struct DumpOptions {
  std::string model;
  std::string prompt;
  std::string tensors;
  std::string out;
  bool values = false;
  int threads = 0;
};

std::string SidecarPath(const std::string& json_path) {
  const size_t dot = json_path.rfind('.');
  const size_t slash = json_path.rfind('/');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) {
    return json_path.substr(0, dot) + ".bin";
  }
  return json_path + ".bin";
}

void RunDump(const DumpOptions& o) {
  if (o.prompt.empty()) Fail("dump: give the prompt with -p TEXT");
  if (o.values && o.out.empty()) Fail("dump: --values needs --out FILE (the values go to a sidecar next to it)");
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path);
  const Tokenizer tok = Tokenizer::FromGguf(model->file());
  // As llama-eval-callback tokenizes: the vocabulary's BOS rule, control tokens parsed.
  const std::vector<int32_t> tokens = tok.Encode(o.prompt, true, true);
  if (tokens.empty()) Fail("dump: the prompt gives no tokens");
  CpuBackend backend(o.threads);
  SessionOptions so;
  so.n_ctx = static_cast<int64_t>(tokens.size());
  Session session(*model, backend, so);
  DumpRecorder rec(o.tensors, o.values);
  session.set_trace(rec.Callback());
  session.Prefill(tokens, true);
  Dump& d = rec.dump();
  d.model = path;
  d.prompt = o.prompt;
  d.tokens = tokens;
  if (d.tensors.empty()) Fail("dump: no tensor name matches --tensors '{}'", o.tensors);
  if (!o.out.empty()) {
    WriteDump(d, o.out, o.values ? SidecarPath(o.out) : "");
    std::fprintf(stderr, "ember dump: %zu tensors of %zu tokens written to %s%s\n", d.tensors.size(),
                 tokens.size(), o.out.c_str(), o.values ? fmt::format(" (values in {})", SidecarPath(o.out)).c_str() : "");
    return;
  }
  std::string s = fmt::format("{} tokens:", tokens.size());
  for (int32_t t : tokens) s += fmt::format(" {}", t);
  s += fmt::format("\n{:<16} {:>14} {:>12} {:>12} {:>12} {:>12} {:>14}\n", "tensor", "shape", "mean", "std", "min", "max", "sum");
  for (const auto& t : d.tensors) {
    s += fmt::format("{:<16} {:>14} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g} {:>14.8g}\n", t.FullName(),
                     fmt::format("[{}, {}]", t.rows, t.cols), t.stats.mean, t.stats.std, t.stats.min,
                     t.stats.max, t.stats.sum);
  }
  std::fwrite(s.data(), 1, s.size(), stdout);
}

}  // namespace

void RegisterDump(CLI::App& app) {
  auto o = std::make_shared<DumpOptions>();
  CLI::App* cmd = app.add_subcommand(
      "dump", "Record every layer's intermediate tensors for a prompt (statistics, optionally values)");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: the default model)");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (BOS and control tokens as llama.cpp)")->required();
  cmd->add_option("--tensors", o->tensors, "Only tensors whose name (e.g. 'l_out-3') matches this regex");
  cmd->add_option("--out", o->out, "Write the JSON dump here instead of printing a table");
  cmd->add_flag("--values", o->values, "Also save every value, in a binary sidecar next to --out (.bin)");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (0: physical cores)");
  cmd->callback([o] { RunDump(*o); });
}

}  // namespace ember::cli
