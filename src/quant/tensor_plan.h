// Which type each tensor of a model gets under a llama.cpp file type: llama-quantize's rules.
//
// A file type names a default type; llama.cpp then keeps some tensors as they are (1-D tensors,
// norms, expert gates, position embeddings, ...), gives others more bits (the output / tied
// token embedding: Q6_K; in the _M mixes attn_v and ffn_down of some layers: one K-type up),
// and falls back to a 32-element format (or F16) when a row length is not a multiple of the
// chosen format's block size. The choices for attn_v and ffn_down depend on how many such
// tensors came before, so tensors must be planned in llama.cpp's order (LlamaTensorOrder).
// Ported from llama.cpp's src/llama-quant.cpp (llama-cpp-python 0.3.36).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "quant/file_type.h"

namespace ember {

// The model facts the rules look at.
struct ModelQuantInfo {
  std::string arch;
  int n_layer = 0;         // <arch>.block_count
  int n_head = 0;          // layer 0
  int n_head_kv = 0;
  int n_expert = 0;
  bool has_output = false;  // an output.weight tensor: otherwise embeddings are tied
  bool is_70b = false;      // llama.cpp's LLM_TYPE_70B (80-layer GQA llama / qwen2)

  int n_gqa() const { return n_head_kv == 0 ? 0 : n_head / n_head_kv; }
};
ModelQuantInfo ReadModelQuantInfo(const GgufFile& file);

struct QuantPlanOptions {
  LlamaFileType ftype = LlamaFileType::MOSTLY_Q8_0;
  bool pure = false;             // every quantizable tensor gets the default type (--pure)
  bool quantize_output = true;   // false keeps output.weight as it is (--leave-output-tensor)
  std::optional<GgmlType> output_tensor_type;
  std::optional<GgmlType> token_embedding_type;
};

struct TensorChoice {
  GgmlType type;
  bool quantizable = false;  // llama.cpp would consider quantizing it at all
  bool fell_back = false;    // row length forced a different type
};

class TensorTypePlanner {
 public:
  TensorTypePlanner(ModelQuantInfo model, QuantPlanOptions options, const std::vector<std::string>& all_names);
  // Call once per tensor, in LlamaTensorOrder. shape is ne[0] first.
  TensorChoice Choose(const std::string& name, const std::vector<uint64_t>& shape, GgmlType current);
  int n_fallback() const { return n_fallback_; }

 private:
  GgmlType ChooseMix(const std::string& name, const std::vector<uint64_t>& shape, GgmlType new_type, int category);
  GgmlType Fallback(const std::string& name, uint64_t ncols, GgmlType target);

  ModelQuantInfo model_;
  QuantPlanOptions options_;
  GgmlType default_type_;
  int n_attention_wv_ = 0;
  int i_attention_wv_ = 0;
  int i_ffn_down_ = 0;
  int i_ffn_gate_ = 0;
  int i_ffn_up_ = 0;
  int n_fallback_ = 0;
};

// Indices of `names` in llama.cpp's tensor order: by layer number ("blk.N."; other tensors
// first), then by name. llama-quantize writes its output in this order too.
std::vector<size_t> LlamaTensorOrder(const std::vector<std::string>& names);

// ggml_is_quantized: a block format (not F32, F16, BF16, F64 or an integer type).
bool IsQuantizedType(GgmlType type);

}  // namespace ember
