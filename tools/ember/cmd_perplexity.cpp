// `ember perplexity -m MODEL -f TEXT [-c 512] [-b N] [--chunks N] [--kl-divergence-base FILE]
// [--kl-divergence]`: llama.cpp's llama-perplexity, same method and output ("[1]x,[2]y,..." and
// "Final estimate: PPL = x +/- y"). --kl-divergence-base FILE alone saves the log-probabilities;
// with --kl-divergence it reads FILE (its tokens; -f is not needed) and reports the KL divergence.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "diag/kl_divergence.h"
#include "diag/perplexity.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/model_path.h"
#include "tokenizer/tokenizer.h"

namespace ember::cli {
namespace {

struct PplOptions {
  std::string model;
  std::string file;
  int64_t n_ctx = 512;
  int64_t n_batch = 2048;
  int64_t chunks = -1;
  std::string kl_base;
  bool kl = false;
  int threads = 0;
};

void RunPerplexity(const PplOptions& o) {
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path);
  const Tokenizer tok = Tokenizer::FromGguf(model->file());
  CpuBackend backend(o.threads);
  if (o.kl) {
    if (o.kl_base.empty()) Fail("perplexity: --kl-divergence needs --kl-divergence-base FILE");
    std::printf("kl_divergence: base %s\n", o.kl_base.c_str());
    std::printf("chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Same top p\n");
    const KlResult r = ComputeKlDivergence(*model, backend, tok, o.kl_base, o.n_batch,
                                           [](int64_t c, const KlResult& k) {
      std::printf("%4lld    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%\n",
                  static_cast<long long>(c + 1), k.ppl, k.ppl_error, k.ln_ratio, k.ln_ratio_error,
                  k.kld_mean, k.kld_error, 100 * k.same_top, 100 * k.same_top_error);
      std::fflush(stdout);
    });
    const std::string s = "\n" + FormatKl(r);
    std::fwrite(s.data(), 1, s.size(), stdout);
    return;
  }
  if (o.file.empty()) Fail("perplexity: give the text with -f FILE");
  std::ifstream in(o.file, std::ios::binary);
  if (!in) Fail("perplexity: cannot open '{}'", o.file);
  std::ostringstream ss;
  ss << in.rdbuf();
  PerplexityOptions po;
  po.n_ctx = o.n_ctx;
  po.n_batch = o.n_batch;
  po.n_chunks = o.chunks;
  po.kl_base_out = o.kl_base;
  std::printf("perplexity: %s, n_ctx=%lld, batch_size=%lld\n", path.c_str(),
              static_cast<long long>(o.n_ctx), static_cast<long long>(std::min(o.n_batch, o.n_ctx)));
  const PerplexityResult r = ComputePerplexity(*model, backend, tok, ss.str(), po, [](int64_t c, double ppl) {
    std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), ppl);
    std::fflush(stdout);
  });
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f (%lld tokens, %lld chunks, %lld scored)\n",
              r.ppl, r.ppl_error, static_cast<long long>(r.n_tokens), static_cast<long long>(r.n_chunk),
              static_cast<long long>(r.count));
  if (!o.kl_base.empty()) std::printf("log-probabilities saved to %s\n", o.kl_base.c_str());
}

}  // namespace

void RegisterPerplexity(CLI::App& app) {
  auto o = std::make_shared<PplOptions>();
  CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a text, or KL divergence against a base model (llama.cpp's method)");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: the default model)");
  cmd->add_option("-f,--file", o->file, "Text file to score");
  cmd->add_option("-c,--ctx-size", o->n_ctx, "Chunk (context) size (default 512)")->check(CLI::Range(int64_t{4}, int64_t{1} << 20));
  cmd->add_option("-b,--batch-size", o->n_batch, "Batch size (capped at the context size)")->check(CLI::PositiveNumber);
  cmd->add_option("--chunks", o->chunks, "Score only the first N chunks");
  cmd->add_option("--kl-divergence-base", o->kl_base, "Log-probability file: written, or read with --kl-divergence");
  cmd->add_flag("--kl-divergence", o->kl, "Compare with the base file's log-probabilities");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (0: physical cores)");
  cmd->callback([o] { RunPerplexity(*o); });
}

}  // namespace ember::cli
