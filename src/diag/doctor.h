// ember doctor: the checks that catch the usual reasons a model produces garbage, each with a
// plain-language hint. Static checks (metadata against tensor shapes, tokenizer round trip,
// BOS/EOS, chat template) run on any GGUF; the checks that run the model (perplexity of a built-in
// English paragraph, a greedy continuation) run on the architectures ember's forward pass knows,
// and are reported as skipped for the others. When the perplexity is out of range the doctor
// retries with other RoPE bases and the other BOS choice, and names the one that fixes it.
#pragma once

#include <string>
#include <vector>

namespace ember {

enum class Severity { kOk, kWarn, kFail, kSkip };

struct Finding {
  std::string check;   // short name ("tokenizer round trip")
  Severity severity = Severity::kOk;
  std::string detail;  // what was measured
  std::string hint;    // what it means and what to do (empty when fine)
};

struct DoctorOptions {
  int n_threads = 0;       // 0: physical cores
  bool run_model = true;   // false: only the static checks (metadata, tokenizer, chat template)
  // The checks that run the model beyond the paragraph's perplexity; each costs forward passes
  // (the RoPE sweep four passes over the paragraph, the BOS check one, the continuation 32 steps).
  bool rope_sweep = true;
  bool bos_sweep = true;
  bool greedy = true;
};

struct DoctorReport {
  std::string model;
  std::vector<Finding> findings;
  bool healthy() const;  // no kFail
};

DoctorReport RunDoctor(const std::string& model_path, const DoctorOptions& options);

// One block per finding ("[ OK ] check: detail" + indented hint) and the verdict line.
std::string FormatDoctor(const DoctorReport& report);

// Perplexity ceiling the built-in paragraph should stay under for a model of n_params weights.
double ExpectedMaxPerplexity(double n_params);

}  // namespace ember
