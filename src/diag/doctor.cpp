#include "diag/doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"
#include "diag/perplexity.h"
#include "gguf/gguf_file.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/session.h"
#include "runtime/simple_sampler.h"
#include "tokenizer/tokenizer.h"

namespace ember {
namespace {

// Plain English prose (written for this check, no copyright) for the perplexity check.
constexpr const char* kParagraph =
    "The old lighthouse stood at the end of a narrow road that ran along the cliffs. Every evening, "
    "the keeper climbed the stairs to light the lamp, and every morning he wrote a few lines in his "
    "notebook about the weather, the ships that passed, and the birds that nested on the rocks "
    "below. Most of the entries were short, but some of them described storms that lasted for "
    "days, when the waves reached the windows and the whole tower seemed to shake. The people in "
    "the village said that he never missed a single night in forty years. When the lighthouse was "
    "finally replaced by an automatic light, the keeper moved into a small house near the harbor, "
    "where he spent his time repairing fishing nets and telling stories to anyone who would listen.";

// Scripts and symbols that tokenizers get wrong: accents, CJK, Cyrillic, Arabic, emoji, code.
constexpr const char* kMultilingual =
    "Hello, world! Grüße aus München, ça va? Él está aquí. 日本語のテキストです。中文文本。"
    "Привет, мир! مرحبا بالعالم. Γειά σου κόσμε. 🙂🚀 x = f(3) + 4;\n\tif (a != b) { return; }  ";

// A RoPE base (BOS choice) is called wrong when another one predicts the paragraph with a
// perplexity below this fraction of the configured one's. Measured on SmolLM2 (docs/debugging.md):
// healthy, the best other base scores 1.05x and the other BOS choice 1.09x the configured
// perplexity; with the base set to 10000 instead of 100000 the true one scores 0.84x, with BOS
// wrongly added, leaving it out scores 0.92x.
constexpr double kRopeBetter = 0.9;
constexpr double kBosBetter = 0.95;

constexpr const char* kGreedyPrompt = "The capital of France is Paris. The capital of Italy is";

std::string Prefix(const std::string& arch) { return arch + "."; }

uint64_t U64Or(const GgufFile& f, const std::string& key, uint64_t fallback) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return fallback;
  try {
    return f.GetUnsigned(key);
  } catch (const Error&) {
    return fallback;  // arrays (per-layer head counts) and odd types: not checked here
  }
}

std::string ShapeStr(const GgufTensorInfo& t) {
  std::string s = "[";
  for (size_t i = 0; i < t.shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", t.shape[i]);
  return s + "]";
}

// Metadata keys against tensor shapes, for any architecture that follows llama.cpp's names.
void CheckShapes(const GgufFile& f, std::vector<Finding>& out) {
  Finding fd{"architecture keys vs tensor shapes", Severity::kOk, "", ""};
  const std::string arch = f.architecture();
  if (arch.empty()) {
    out.push_back({fd.check, Severity::kFail, "general.architecture is missing",
                   "The file does not say which model family it is; re-convert it with a current "
                   "convert_hf_to_gguf.py."});
    return;
  }
  const std::string p = Prefix(arch);
  std::vector<std::string> problems;
  const uint64_t n_layer = U64Or(f, p + "block_count", 0);
  const uint64_t n_embd = U64Or(f, p + "embedding_length", 0);
  const uint64_t n_ff = U64Or(f, p + "feed_forward_length", 0);
  const uint64_t n_head = U64Or(f, p + "attention.head_count", 0);
  const uint64_t n_head_kv = U64Or(f, p + "attention.head_count_kv", n_head);
  const uint64_t head_dim = U64Or(f, p + "attention.key_length", n_head ? n_embd / n_head : 0);
  const uint64_t head_dim_v = U64Or(f, p + "attention.value_length", head_dim);
  const uint64_t n_rot = U64Or(f, p + "rope.dimension_count", head_dim);
  std::set<uint64_t> layers_present;
  for (const auto& t : f.tensors()) {
    if (t.name.rfind("blk.", 0) == 0) layers_present.insert(std::strtoull(t.name.c_str() + 4, nullptr, 10));
  }
  if (n_layer == 0) problems.push_back(fmt::format("{}block_count is missing", p));
  if (n_layer && layers_present.size() != n_layer) {
    problems.push_back(fmt::format("{}block_count = {} but the file has tensors for {} layers", p,
                                   n_layer, layers_present.size()));
  }
  if (const auto* te = f.FindTensor("token_embd.weight")) {
    if (n_embd && te->ne(0) != n_embd) {
      problems.push_back(fmt::format("token_embd.weight is {} but {}embedding_length = {}", ShapeStr(*te), p, n_embd));
    }
    if (f.Has("tokenizer.ggml.tokens")) {
      const uint64_t n_vocab = f.GetArray("tokenizer.ggml.tokens").size();
      if (te->ne(1) != n_vocab) {
        problems.push_back(fmt::format("token_embd.weight has {} rows but the vocabulary has {} tokens", te->ne(1), n_vocab));
      }
    }
  } else {
    problems.push_back("token_embd.weight is missing");
  }
  if (n_rot > head_dim) problems.push_back(fmt::format("{}rope.dimension_count = {} exceeds the head size {}", p, n_rot, head_dim));
  bool qk_swapped = false;
  const uint64_t q_w = n_head * head_dim, k_w = n_head_kv * head_dim, v_w = n_head_kv * head_dim_v;
  for (uint64_t il : layers_present) {
    auto expect = [&](const char* name, uint64_t ne0, uint64_t ne1) {
      const auto* t = f.FindTensor(fmt::format("blk.{}.{}.weight", il, name));
      if (t == nullptr || ne0 == 0 || ne1 == 0) return true;
      if (t->ne(0) == ne0 && t->ne(1) == ne1) return true;
      problems.push_back(fmt::format("blk.{}.{}.weight is {} but the keys say [{}, {}]", il, name, ShapeStr(*t), ne0, ne1));
      return false;
    };
    const bool q_ok = expect("attn_q", n_embd, q_w);
    const bool k_ok = expect("attn_k", n_embd, k_w);
    if (!q_ok && !k_ok) {
      const auto* q = f.FindTensor(fmt::format("blk.{}.attn_q.weight", il));
      const auto* k = f.FindTensor(fmt::format("blk.{}.attn_k.weight", il));
      if (q && k && q->ne(1) == k_w && k->ne(1) == q_w) qk_swapped = true;
    }
    expect("attn_v", n_embd, v_w);
    expect("attn_output", n_head * head_dim_v, n_embd);
    expect("ffn_gate", n_embd, n_ff);
    expect("ffn_up", n_embd, n_ff);
    expect("ffn_down", n_ff, n_embd);
    if (problems.size() > 12) break;
  }
  if (problems.empty()) {
    fd.detail = fmt::format("{}: {} layers, width {}, {} heads ({} KV) of {}, ff {}: all tensors agree",
                            arch, n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff);
  } else {
    fd.severity = Severity::kFail;
    fd.detail = problems[0] + (problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : "");
    fd.hint = qk_swapped
        ? "The Q and K projection weights look swapped (attn_q has the shape attn_k should have and "
          "vice versa): the converter wrote them under each other's names. Re-convert the model."
        : "The hyper-parameters in the metadata do not match the weights; the file was converted "
          "or edited wrongly. Re-convert it, or fix the named key.";
  }
  out.push_back(std::move(fd));
}

// exp(mean NLL) of text[1..] given [BOS] + text[0..]: the first text token is left out so that the
// runs with and without BOS score the same predictions.
double ScoreText(const Model& model, Backend& backend, const std::vector<int32_t>& text, int32_t bos) {
  std::vector<int32_t> seq;
  if (bos >= 0) seq.push_back(bos);
  seq.insert(seq.end(), text.begin(), text.end());
  SessionOptions so;
  so.n_ctx = static_cast<int64_t>(seq.size());
  Session session(model, backend, so);
  const auto& logits = session.Prefill(seq, true);
  const int64_t n_vocab = model.config().n_vocab;
  const size_t skip = bos >= 0 ? 1 : 0;  // logits row predicting text[1]
  double nll = 0.0;
  int64_t n = 0;
  for (size_t i = skip; i + 1 < seq.size(); ++i) {
    nll += TokenNll(logits.data() + i * n_vocab, n_vocab, seq[i + 1]);
    ++n;
  }
  return std::exp(nll / static_cast<double>(std::max<int64_t>(n, 1)));
}

// RoPE base against the weights. A model predicts text best with the base it was trained with,
// so a clearly better alternative means the key is wrong. The check is relative (the configured
// base against the usual ones on the same text) because an absolute ceiling misses near misses:
// SmolLM2 (trained with 100000) read with 10000 still predicts the paragraph at perplexity ~20,
// well under any ceiling for its size, yet every long-range position is subtly wrong.
Finding CheckRopeBase(Model& model, Backend& backend, const std::vector<int32_t>& text, int32_t bos,
                      double ppl) {
  ModelConfig& config = model.mutable_config();
  const float base0 = config.rope_freq_base;
  std::string tried;
  double best = ppl;
  float best_base = base0;
  for (float b : {10000.0f, 100000.0f, 500000.0f, 1000000.0f, 10000000.0f}) {
    if (std::fabs(b - base0) <= 0.01f * base0) continue;
    config.rope_freq_base = b;
    const double p = ScoreText(model, backend, text, bos);
    tried += fmt::format("{}{:g}: {:.2f}", tried.empty() ? "" : ", ", b, p);
    if (p < best) {
      best = p;
      best_base = b;
    }
  }
  config.rope_freq_base = base0;
  const std::string detail =
      fmt::format("perplexity {:.2f} with rope.freq_base = {:g}; with other bases {}", ppl, base0, tried);
  if (best_base != base0 && best < kRopeBetter * ppl) {
    return {"RoPE base against the weights", Severity::kFail, detail,
            fmt::format("The RoPE base looks wrong: {}.rope.freq_base = {:g}, but with {:g} the "
                        "perplexity drops from {:.1f} to {:.1f}. Fix the key (or re-convert the "
                        "model).",
                        config.arch, base0, best_base, ppl, best)};
  }
  return {"RoPE base against the weights", Severity::kOk, detail, ""};
}

const char* Tag(Severity s) {
  switch (s) {
    case Severity::kOk: return "  OK  ";
    case Severity::kWarn: return " WARN ";
    case Severity::kFail: return " FAIL ";
    case Severity::kSkip: return " SKIP ";
  }
  return "";
}

}  // namespace

double ExpectedMaxPerplexity(double n_params) {
  if (n_params < 0.5e9) return 40.0;
  if (n_params < 2e9) return 25.0;
  if (n_params < 10e9) return 18.0;
  return 14.0;
}

bool DoctorReport::healthy() const {
  return std::none_of(findings.begin(), findings.end(),
                      [](const Finding& f) { return f.severity == Severity::kFail; });
}

DoctorReport RunDoctor(const std::string& model_path, const DoctorOptions& options) {
  DoctorReport rep;
  rep.model = model_path;
  auto& out = rep.findings;
  GgufFile file = GgufFile::Open(model_path);  // unreadable file: the caller prints the error
  CheckShapes(file, out);

  // Tokenizer.
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = std::make_unique<Tokenizer>(Tokenizer::FromGguf(file));
  } catch (const Error& e) {
    out.push_back({"tokenizer", Severity::kFail, e.what(),
                   "The vocabulary in the file is missing or malformed; nothing can be tokenized."});
  }
  if (tok) {
    const std::string sample = kMultilingual;
    const auto ids = tok->Encode(sample, false, false, false);
    std::string back = tok->Decode(ids, false, false);
    if (back.size() == sample.size() + 1 && back[0] == ' ') back.erase(0, 1);  // SPM space prefix
    const auto unk = std::count(ids.begin(), ids.end(), tok->unk());
    if (back == sample) {
      out.push_back({"tokenizer round trip", Severity::kOk,
                     fmt::format("{} vocabulary ({} tokens): a multilingual sample of {} bytes -> {} tokens -> identical text",
                                 tok->model_name(), tok->n_vocab(), sample.size(), ids.size()), ""});
    } else {
      size_t at = 0;
      while (at < back.size() && at < sample.size() && back[at] == sample[at]) ++at;
      out.push_back({"tokenizer round trip", Severity::kFail,
                     fmt::format("decode(encode(text)) differs from the text at byte {} ({} unknown tokens)", at, unk),
                     "Text does not survive tokenization: the vocabulary's byte tokens or merges are "
                     "broken, or tokenizer.ggml.pre names the wrong pre-tokenizer. Re-convert the model."});
    }

    // BOS / EOS.
    std::vector<std::string> bos_problems;
    const std::string arch = file.architecture();
    if (tok->add_bos() && tok->bos() < 0) bos_problems.push_back("add_bos_token is true but there is no BOS token");
    const bool needs_bos = tok->type() == VocabType::kSpm || arch.rfind("gemma", 0) == 0;
    if (!tok->add_bos() && needs_bos) {
      bos_problems.push_back(fmt::format(
          "tokenizer.ggml.add_bos_token is false, but {} models are trained with a BOS token ({}) at the start of every text",
          tok->type() == VocabType::kSpm ? "SentencePiece-vocabulary" : arch,
          tok->bos() >= 0 ? tok->TokenText(tok->bos()) : "?"));
    }
    if (tok->eos() < 0 && tok->eog_ids().empty()) bos_problems.push_back("no EOS or end-of-turn token: generation can only stop at the length limit");
    if (bos_problems.empty()) {
      out.push_back({"BOS/EOS configuration", Severity::kOk,
                     fmt::format("BOS {} '{}' ({}), EOS {} '{}', {} end-of-generation tokens", tok->bos(),
                                 tok->bos() >= 0 ? tok->TokenText(tok->bos()) : "", tok->add_bos() ? "added" : "not added",
                                 tok->eos(), tok->eos() >= 0 ? tok->TokenText(tok->eos()) : "", tok->eog_ids().size()), ""});
    } else {
      out.push_back({"BOS/EOS configuration", Severity::kFail, bos_problems[0],
                     "A wrong BOS flag shifts every prompt out of what the model was trained on and "
                     "quietly degrades all output; fix tokenizer.ggml.add_bos_token (ember inspect shows it)."});
    }
  }

  // Chat template (presence and shape; rendering is checked by `ember template` when built).
  if (!file.Has("tokenizer.chat_template")) {
    out.push_back({"chat template", Severity::kFail, "tokenizer.chat_template is missing",
                   "Without the model's chat template, chat prompts are formatted generically and an "
                   "instruct model answers badly (the earlier engine's garbage had this among its "
                   "suspects). Re-convert with the template, or pass one explicitly. (Fine for a base "
                   "model used only for completion.)"});
  } else {
    const std::string& tmpl = file.GetString("tokenizer.chat_template");
    const bool jinja = tmpl.find("{%") != std::string::npos || tmpl.find("{{") != std::string::npos;
    const bool messages = tmpl.find("message") != std::string::npos;
    if (!jinja || !messages) {
      out.push_back({"chat template", Severity::kWarn,
                     fmt::format("tokenizer.chat_template ({} bytes) does not look like a Jinja template over messages", tmpl.size()),
                     "The template may be a placeholder or a template name; chat formatting will fall back."});
    } else {
      out.push_back({"chat template", Severity::kOk, fmt::format("present ({} bytes of Jinja)", tmpl.size()), ""});
    }
  }

  // The checks that run the model.
  if (!options.run_model) return rep;
  std::unique_ptr<Model> model;
  try {
    model = Model::Load(model_path);
  } catch (const Error& e) {
    out.push_back({"forward pass", Severity::kSkip, e.what(),
                   "ember cannot run this model yet, so the perplexity and generation checks were skipped."});
  }
  if (!model || !tok) return rep;
  CpuBackend backend(options.n_threads);
  double n_params = 0;
  for (const auto& t : file.tensors()) n_params += static_cast<double>(t.n_elements);
  const double max_ppl = ExpectedMaxPerplexity(n_params);
  const auto text = tok->Encode(kParagraph, false, false, false);
  const int32_t bos = tok->bos();
  const bool add_bos = tok->add_bos() && bos >= 0;
  const double ppl = ScoreText(*model, backend, text, add_bos ? bos : -1);
  Finding pf{"perplexity of an English paragraph", Severity::kOk,
             fmt::format("{:.2f} over {} tokens (expected below {:.0f} for {:.0f}M parameters)", ppl,
                         text.size(), max_ppl, n_params / 1e6), ""};
  if (!(ppl <= max_ppl)) {
    pf.severity = Severity::kFail;
    pf.hint =
        "The model predicts ordinary English badly, so its hidden states are wrong: check the "
        "RoPE settings (rope.freq_base, rope.dimension_count), the norm epsilon, the Q/K weight "
        "order, and the quantization; `ember dump` + `ember compare` against llama.cpp shows the "
        "first layer where they part.";
  }
  out.push_back(pf);
  if (options.rope_sweep) out.push_back(CheckRopeBase(*model, backend, text, add_bos ? bos : -1, ppl));

  // The other BOS choice: if it predicts the same text much better, the flag is probably wrong.
  if (bos >= 0 && options.bos_sweep) {
    const double other = ScoreText(*model, backend, text, add_bos ? -1 : bos);
    if (other < kBosBetter * ppl) {
      out.push_back({"BOS flag against the weights", Severity::kFail,
                     fmt::format("perplexity {:.2f} {} BOS but {:.2f} {} it", ppl, add_bos ? "with" : "without",
                                 other, add_bos ? "without" : "with"),
                     fmt::format("tokenizer.ggml.add_bos_token = {} looks wrong: the model does markedly "
                                 "better {} the BOS token. Flip the flag.",
                                 add_bos ? "true" : "false", add_bos ? "without" : "with")});
    } else {
      out.push_back({"BOS flag against the weights", Severity::kOk,
                     fmt::format("perplexity {:.2f} as configured, {:.2f} with BOS {}", ppl, other,
                                 add_bos ? "removed" : "added"), ""});
    }
  }

  // A greedy continuation must not loop on one token.
  if (options.greedy) {
    const auto prompt = tok->Encode(kGreedyPrompt, true, false);
    SessionOptions so;
    so.n_ctx = static_cast<int64_t>(prompt.size()) + 40;
    Session session(*model, backend, so);
    std::vector<float> logits = session.Prefill(prompt);
    std::vector<int32_t> gen;
    for (int i = 0; i < 32; ++i) {
      const int32_t t = ArgMax(logits);
      if (tok->IsEog(t)) break;
      gen.push_back(t);
      logits = session.Decode(t);
    }
    int64_t run = gen.empty() ? 0 : 1, max_run = run;
    for (size_t i = 1; i < gen.size(); ++i) {
      run = gen[i] == gen[i - 1] ? run + 1 : 1;
      max_run = std::max(max_run, run);
    }
    std::string shown = tok->Decode(gen, false, false);
    for (char& c : shown) {
      if (c == '\n') c = ' ';
    }
    if (shown.size() > 120) shown = shown.substr(0, 120) + "...";
    if (max_run >= 6) {
      out.push_back({"greedy continuation", Severity::kFail,
                     fmt::format("the same token repeats {} times: \"{}\"", max_run, shown),
                     "Greedy decoding that loops on one token means the forward pass or the weights "
                     "are broken (sampling settings cannot fix this)."});
    } else {
      out.push_back({"greedy continuation", Severity::kOk,
                     fmt::format("\"{}\" -> \"{}\"", kGreedyPrompt, shown), ""});
    }
  }
  return rep;
}

std::string FormatDoctor(const DoctorReport& r) {
  std::string s = fmt::format("ember doctor: {}\n", r.model);
  int fails = 0, warns = 0;
  for (const auto& f : r.findings) {
    s += fmt::format("[{}] {}: {}\n", Tag(f.severity), f.check, f.detail);
    if (!f.hint.empty()) s += fmt::format("         hint: {}\n", f.hint);
    fails += f.severity == Severity::kFail;
    warns += f.severity == Severity::kWarn;
  }
  s += r.healthy() ? fmt::format("verdict: healthy ({} warnings)\n", warns)
                   : fmt::format("verdict: {} problem{} found\n", fails, fails == 1 ? "" : "s");
  return s;
}

}  // namespace ember
