// `ember logits`: evaluates a prompt and prints the largest logits at the last position (or at
// every position). It is the hook for every comparison with a reference implementation:
// --tokens feeds ids directly, --json prints one document, --dump writes the raw F32 logits.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/model_path.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace ember::cli {
namespace {

struct LogitsOptions {
  std::string model;
  std::string prompt;
  std::string tokens;
  bool no_bos = false;
  int top = 10;
  bool all_positions = false;
  bool json = false;
  bool verbose = false;
  int threads = 0;
  int64_t ctx = 0;
  std::string kv_type = "f16";
  std::string dump;
};

std::vector<int32_t> ParseTokenList(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      Fail("--tokens: '{}' is not a token id (expected comma-separated non-negative integers)", item);
    }
    i = j + 1;
  }
  if (ids.empty()) Fail("--tokens: no token ids given");
  return ids;
}

GgmlType ParseKvType(const std::string& s) {
  if (s == "f16") return GgmlType::F16;
  if (s == "f32") return GgmlType::F32;
  Fail("--kv-type '{}' is not one of f16, f32", s);
}

// FNV-1a over the bytes of the logits: equal hashes mean bit-identical logits.
uint64_t HashLogits(const float* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

std::vector<int32_t> TopK(const float* logits, int64_t n, int k) {
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  const auto kk = static_cast<size_t>(std::min<int64_t>(k, n));
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(kk), idx.end(),
                    [&](int32_t a, int32_t b) {
                      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
                    });
  idx.resize(kk);
  return idx;
}

void Run(const LogitsOptions& o) {
  if (o.prompt.empty() == o.tokens.empty()) Fail("give exactly one of -p TEXT or --tokens IDS");
  if (o.top < 1) Fail("--top {} must be at least 1", o.top);
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path);
  std::vector<int32_t> ids;
  std::unique_ptr<Tokenizer> tok;
  if (!o.tokens.empty()) {
    ids = ParseTokenList(o.tokens);
  } else {
    tok = std::make_unique<Tokenizer>(Tokenizer::FromGguf(model->file()));
    ids = tok->Encode(o.prompt, tok->add_bos() && !o.no_bos, tok->add_eos(), /*parse_special=*/true);
    if (ids.empty()) Fail("the prompt encodes to no tokens");
  }
  CpuBackend backend(o.threads);
  SessionOptions so;
  so.n_ctx = o.ctx == 0 ? std::max<int64_t>(ResolveContextSize(model->config(), 0),
                                            static_cast<int64_t>(ids.size()))
                        : o.ctx;
  so.kv_type = ParseKvType(o.kv_type);
  Session session(*model, backend, so);
  const std::vector<float>& logits = session.Prefill(ids, o.all_positions);
  const int64_t n_vocab = model->config().n_vocab;
  const int64_t n_rows = static_cast<int64_t>(logits.size()) / n_vocab;
  const int64_t first_pos = static_cast<int64_t>(ids.size()) - n_rows;
  if (!o.dump.empty()) {
    std::ofstream out(o.dump, std::ios::binary);
    out.write(reinterpret_cast<const char*>(logits.data()),
              static_cast<std::streamsize>(logits.size() * sizeof(float)));
    if (!out) Fail("{}: cannot write the logits", o.dump);
  }
  const uint64_t hash = HashLogits(logits.data() + (n_rows - 1) * n_vocab, static_cast<size_t>(n_vocab));
  auto piece = [&](int32_t id) { return tok ? tok->TokenToPiece(id, true) : std::string(); };
  if (o.json) {
    nlohmann::json j;
    j["model"] = path;
    j["n_vocab"] = n_vocab;
    j["tokens"] = ids;
    j["backend"] = backend.name();
    j["logits_hash"] = fmt::format("{:016x}", hash);
    nlohmann::json positions = nlohmann::json::array();
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* row = logits.data() + r * n_vocab;
      nlohmann::json top = nlohmann::json::array();
      for (int32_t id : TopK(row, n_vocab, o.top)) top.push_back({{"id", id}, {"logit", row[id]}});
      positions.push_back({{"pos", first_pos + r}, {"token", ids[static_cast<size_t>(first_pos + r)]},
                           {"top", top}});
    }
    j["positions"] = positions;
    std::printf("%s\n", j.dump(1).c_str());
    return;
  }
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = logits.data() + r * n_vocab;
    const int32_t tok_id = ids[static_cast<size_t>(first_pos + r)];
    std::printf("pos %lld token %d%s:\n", static_cast<long long>(first_pos + r), tok_id,
                tok ? fmt::format(" {:?}", piece(tok_id)).c_str() : "");
    for (int32_t id : TopK(row, n_vocab, o.top)) {
      std::printf("  %8d %12.6f%s\n", id, row[id], tok ? fmt::format("  {:?}", piece(id)).c_str() : "");
    }
  }
  if (o.verbose) {
    std::fprintf(stderr, "backend: %s\nlogits hash: %016llx\n", backend.name().c_str(),
                 static_cast<unsigned long long>(hash));
  }
}

}  // namespace

void RegisterLogits(CLI::App& app) {
  auto opts = std::make_shared<LogitsOptions>();
  CLI::App* cmd = app.add_subcommand("logits", "Print the largest logits of a prompt (for comparisons)");
  cmd->add_option("-m,--model", opts->model, "GGUF model (default: models/" + std::string(kDefaultModelFile) + ")");
  cmd->add_option("-p,--prompt", opts->prompt, "Prompt text (special tokens such as <|im_start|> are parsed)");
  cmd->add_option("--tokens", opts->tokens, "Comma-separated token ids instead of a prompt");
  cmd->add_flag("--no-bos", opts->no_bos, "Do not add BOS even if the vocabulary asks for it");
  cmd->add_option("--top", opts->top, "How many logits to print per position")->capture_default_str();
  cmd->add_flag("--all-positions", opts->all_positions, "Print every position, not only the last");
  cmd->add_flag("--json", opts->json, "Print one JSON document");
  cmd->add_flag("--verbose", opts->verbose, "Print the backend and a hash of the last logits to stderr");
  cmd->add_option("-t,--threads", opts->threads, "Threads (default: physical cores)");
  cmd->add_option("-c,--ctx-size", opts->ctx, "Context size (default: the prompt's length or the model's, capped at 4096)");
  cmd->add_option("--kv-type", opts->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  cmd->add_option("--dump", opts->dump, "Write the raw F32 logits (rows x n_vocab) to this file");
  cmd->callback([opts] { Run(*opts); });
}

}  // namespace ember::cli
