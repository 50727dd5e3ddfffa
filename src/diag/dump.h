// Dumps of a forward pass: every named intermediate tensor of every layer, with per-tensor and
// per-position statistics and, on request, the values. The unit `ember dump` writes and
// `ember compare` reads; llama.cpp's `llama-eval-callback` text is read into the same structure.
//
// Tensors carry llama.cpp's callback names so that the two line up without a table at the call
// site: embd, attn_norm-L, Qcur-L, Kcur-L, Vcur-L (after RoPE), kqv_out-L (attention before
// the output projection), attn_out-L, ffn_inp-L (residual after attention), ffn_norm-L,
// ffn_out-L (feed-forward output before the residual add), l_out-L, result_norm, result_output
// (logits). Rows are positions, columns the tensor's width (heads flattened).
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "diag/stats.h"
#include "model/llama.h"

namespace ember {

struct DumpTensor {
  std::string name;      // llama.cpp's name without the layer suffix ("Qcur")
  int64_t layer = -1;    // -1 for tensors outside the layers
  int64_t rows = 0;      // positions
  int64_t cols = 0;      // width per position
  int64_t first_pos = 0; // position of row 0 (llama.cpp keeps only the last rows near the output)
  TensorStats stats;                  // over the whole tensor
  bool sum_only = false;              // only stats.sum and stats.count are known (llama.cpp text)
  std::vector<TensorStats> row_stats; // one per row (position); empty when unknown
  std::vector<float> values;          // rows * cols, row-major; empty when not saved
  // Values known only at some flat indices (llama-eval-callback prints the corners).
  std::vector<std::pair<int64_t, float>> samples;

  std::string FullName() const;  // "Qcur-3", or "result_norm" outside the layers
};

struct Dump {
  std::string source;  // "ember" or "llama-eval-callback"
  std::string model;
  std::string prompt;
  std::vector<int32_t> tokens;
  std::vector<DumpTensor> tensors;  // in evaluation order
};

// The llama.cpp name of a forward-pass trace name ("q" -> "Qcur"); unknown names pass through.
std::string LlamaTraceName(const std::string& ember_name);

// Collects the trace of one forward pass into a Dump. `pattern` (ECMAScript regex, searched in
// the full name "Qcur-3"; empty = all) selects tensors; with keep_values all values are kept.
class DumpRecorder {
 public:
  DumpRecorder(const std::string& pattern, bool keep_values);
  ForwardTrace Callback();
  Dump& dump() { return dump_; }

 private:
  void Record(const char* name, int64_t layer, const float* data, int64_t rows, int64_t cols);

  bool all_ = true;
  std::regex pattern_;
  bool keep_values_;
  int64_t n_tokens_ = 0;
  Dump dump_;
};

}  // namespace ember
