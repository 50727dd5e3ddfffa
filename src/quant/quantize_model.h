// Quantizes a whole GGUF model to a llama.cpp file type (`ember quantize`).
//
// Tensors are planned with llama-quantize's rules (tensor_plan.h), written in llama.cpp's order
// with all metadata copied, general.file_type and general.quantization_version set and split
// keys removed. Each tensor is dequantized to F32 and re-quantized with the reference quantizers
// (quant.h) in chunks of rows spread over threads; the output does not depend on the thread
// count. Already-quantized tensors are only re-quantized with allow_requantize, as in llama.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quant/tensor_plan.h"

namespace ember {

struct QuantizeModelOptions {
  std::string input;
  std::string output;
  QuantPlanOptions plan;
  bool allow_requantize = false;
  bool dry_run = false;   // plan and report sizes, write nothing
  int threads = 0;        // 0: all hardware threads
  bool progress = true;   // a progress bar on stderr (only drawn on a terminal)
};

struct QuantizedTensorReport {
  std::string name;
  std::vector<uint64_t> shape;
  GgmlType from;
  GgmlType to;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool fell_back = false;
};

struct QuantizeModelReport {
  std::vector<QuantizedTensorReport> tensors;  // in output order
  uint64_t bytes_in = 0;    // tensor data, before
  uint64_t bytes_out = 0;   // tensor data, after
  uint64_t n_elements = 0;
  int n_fallback = 0;
  double seconds = 0;

  double bpw_in() const { return n_elements ? 8.0 * double(bytes_in) / double(n_elements) : 0.0; }
  double bpw_out() const { return n_elements ? 8.0 * double(bytes_out) / double(n_elements) : 0.0; }
};

// Throws ember::Error for unreadable input, an unsupported file type, a refused requantization,
// non-finite weights or a failed write (no partial output file is left behind).
QuantizeModelReport QuantizeModel(const QuantizeModelOptions& options);

// Quantizes `rows` rows of `n_per_row` elements from type `from` (raw bytes at src) to `to`
// (dst), using up to `threads` threads. Throws ember::Error naming `name` on non-finite input.
void QuantizeRows(const std::string& name, GgmlType from, const uint8_t* src, GgmlType to, uint8_t* dst,
                  int64_t rows, int64_t n_per_row, int threads);

}  // namespace ember
