// llama-quantize's per-tensor type rules; see tensor_plan.h. The branches below keep the order
// of llama.cpp's if/else chains, because the first matching rule wins. Branches that only
// concern file types ember cannot make (IQ1/IQ2/IQ3, TQ, MXFP4, Q2_K_S) are left out: those file
// types are refused before planning.
#include "quant/tensor_plan.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/error.h"

namespace ember {
namespace {

enum Category { kOther, kOutput, kTokenEmbd, kAttnQkv, kAttnKvB, kAttnV, kAttnK, kAttnQ, kAttnOutput,
                kFfnUp, kFfnGate, kFfnDown };

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool IsTokenEmbd(const std::string& name) {
  return name == "token_embd.weight" || name == "per_layer_token_embd.weight";
}

Category CategoryOf(const std::string& name) {
  if (name == "output.weight") return kOutput;
  if (IsTokenEmbd(name)) return kTokenEmbd;
  if (Contains(name, "attn_qkv.weight")) return kAttnQkv;
  if (Contains(name, "attn_kv_b.weight")) return kAttnKvB;
  if (Contains(name, "attn_v.weight")) return kAttnV;
  if (Contains(name, "attn_k.weight")) return kAttnK;
  if (Contains(name, "attn_q.weight")) return kAttnQ;
  if (Contains(name, "attn_output.weight")) return kAttnOutput;
  if (Contains(name, "ffn_up")) return kFfnUp;
  if (Contains(name, "ffn_gate")) return kFfnGate;
  if (Contains(name, "ffn_down")) return kFfnDown;
  return kOther;
}

bool IsAttnVLike(int c) { return c == kAttnV || c == kAttnQkv || c == kAttnKvB; }

// ggml_n_dims: trailing dimensions of size 1 do not count.
int NDims(const std::vector<uint64_t>& shape) {
  for (int i = static_cast<int>(shape.size()) - 1; i >= 1; --i) {
    if (shape[i] > 1) return i + 1;
  }
  return 1;
}

// tensor_allows_quantization: 2-D and 3-D "*weight" tensors, minus the ones llama.cpp keeps
// (norms, expert routers, small or positional tables, multimodal and RWKV/SSM special cases).
bool AllowsQuantization(const std::string& name, const std::vector<uint64_t>& shape, bool quantize_output) {
  if (NDims(shape) < 2) return false;
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) return false;
  if (Contains(name, "_norm.weight")) return false;
  if (!quantize_output && name == "output.weight") return false;
  static const char* const kKept[] = {
      "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
      "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
      "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
      "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
      "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
      "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
      "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
      ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"};
  for (const char* part : kKept) {
    if (Contains(name, part)) return false;
  }
  return name != "position_embd.weight" && name != "token_types.weight";
}

int LayerOf(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

int IntKey(const GgufFile& f, const std::string& key, int fallback) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return fallback;
  const GgufValue* scalar = v;
  if (v->is_array()) {  // per-layer arrays (e.g. head_count_kv): layer 0, as llama.cpp's n_gqa()
    if (v->as_array().empty()) return fallback;
    scalar = &v->as_array()[0];
  }
  if (scalar->is_unsigned()) return static_cast<int>(scalar->as_unsigned());
  if (scalar->is_signed()) return static_cast<int>(scalar->as_signed());
  return fallback;
}

}  // namespace

bool IsQuantizedType(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::F64:
    case GgmlType::I8:
    case GgmlType::I16:
    case GgmlType::I32:
    case GgmlType::I64:
      return false;
    default:
      return true;
  }
}

ModelQuantInfo ReadModelQuantInfo(const GgufFile& file) {
  ModelQuantInfo m;
  m.arch = file.architecture();
  m.n_layer = IntKey(file, m.arch + ".block_count", 0);
  m.n_head = IntKey(file, m.arch + ".attention.head_count", 0);
  m.n_head_kv = IntKey(file, m.arch + ".attention.head_count_kv", m.n_head);
  m.n_expert = IntKey(file, m.arch + ".expert_count", 0);
  m.has_output = file.FindTensor("output.weight") != nullptr;
  m.is_70b = (m.arch == "llama" || m.arch == "qwen2") && m.n_layer == 80 && m.n_head != m.n_head_kv;
  return m;
}

std::vector<size_t> LlamaTensorOrder(const std::vector<std::string>& names) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = LayerOf(names[a]);
    const int lb = LayerOf(names[b]);
    if (la != lb) return la < lb;
    return names[a] < names[b];
  });
  return order;
}

TensorTypePlanner::TensorTypePlanner(ModelQuantInfo model, QuantPlanOptions options,
                                     const std::vector<std::string>& all_names)
    : model_(std::move(model)), options_(options) {
  const FileTypeInfo& info = FileTypeInfoOf(options_.ftype);
  EMBER_CHECK_MSG(info.supported, "file type {} is not supported", info.name);
  default_type_ = info.default_type;
  for (const auto& name : all_names) {
    if (IsAttnVLike(CategoryOf(name))) ++n_attention_wv_;
  }
}

TensorChoice TensorTypePlanner::Choose(const std::string& name, const std::vector<uint64_t>& shape,
                                       GgmlType current) {
  TensorChoice choice{current, false, false};
  if (!AllowsQuantization(name, shape, options_.quantize_output)) return choice;
  choice.quantizable = true;
  const Category category = CategoryOf(name);
  if (options_.token_embedding_type && category == kTokenEmbd) {
    choice.type = *options_.token_embedding_type;
    return choice;
  }
  if (options_.output_tensor_type && category == kOutput) {
    choice.type = *options_.output_tensor_type;
    return choice;
  }
  GgmlType new_type = default_type_;
  if (IsQuantizedType(default_type_)) {
    if (!options_.pure) new_type = ChooseMix(name, shape, new_type, category);
    const int before = n_fallback_;
    new_type = Fallback(name, shape.empty() ? 0 : shape[0], new_type);
    choice.fell_back = n_fallback_ != before;
  }
  choice.type = new_type;
  return choice;
}

// llama_tensor_get_type_impl for the file types ember makes.
GgmlType TensorTypePlanner::ChooseMix(const std::string& name, const std::vector<uint64_t>& shape,
                                      GgmlType new_type, int category) {
  using F = LlamaFileType;
  using G = GgmlType;
  const F ftype = options_.ftype;
  const bool falcon = model_.arch == "falcon";
  const auto use_more_bits = [](int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
  };
  // The layer of an ffn tensor: its index among its kind, or its blk number for MoE models
  // (whose expert tensors are not in layer order).
  const auto layer_info = [&](int counter) {
    int i_layer = counter;
    const int n_layer = model_.n_layer;
    if (model_.n_expert > 1) {
      i_layer = LayerOf(name);
      if (i_layer < 0) Fail("cannot determine the layer of tensor {}", name);
      if (i_layer >= n_layer) Fail("tensor {} has layer {}, but the model has {} layers", name, i_layer, n_layer);
    }
    return std::make_pair(i_layer, n_layer);
  };

  if (category == kOutput || (!model_.has_output && category == kTokenEmbd)) {
    // Tied embeddings: the token embedding is also the output matrix and gets its type.
    if (options_.output_tensor_type) return *options_.output_tensor_type;
    const uint64_t nx = shape.empty() ? 0 : shape[0];
    if (falcon || nx % TraitsOf(new_type).block_size != 0) return G::Q8_0;
    if (new_type != G::Q8_0) return G::Q6_K;
    return new_type;
  }
  if (category == kTokenEmbd) return new_type;  // (token_embedding_type was handled by Choose)
  if (IsAttnVLike(category)) {
    if (ftype == F::MOSTLY_Q2_K) {
      new_type = model_.n_gqa() >= 4 ? G::Q4_K : G::Q3_K;
    } else if (ftype == F::MOSTLY_Q3_K_M) {
      new_type = i_attention_wv_ < 2 ? G::Q5_K : G::Q4_K;
    } else if (ftype == F::MOSTLY_Q3_K_L) {
      new_type = G::Q5_K;
    } else if ((ftype == F::MOSTLY_IQ4_NL || ftype == F::MOSTLY_IQ4_XS) && model_.n_gqa() >= 4) {
      new_type = G::Q5_K;
    } else if ((ftype == F::MOSTLY_Q4_K_M || ftype == F::MOSTLY_Q5_K_M) &&
               use_more_bits(i_attention_wv_, n_attention_wv_)) {
      new_type = G::Q6_K;
    } else if (ftype == F::MOSTLY_Q4_K_S && i_attention_wv_ < 4) {
      new_type = G::Q5_K;
    }
    // 70B models share attn_v across 8 heads: it is 8x smaller than attn_q, so more bits are cheap.
    if (model_.is_70b && (new_type == G::Q3_K || new_type == G::Q4_K)) new_type = G::Q5_K;
    if (model_.n_expert == 8) new_type = G::Q8_0;
    ++i_attention_wv_;
  } else if (category == kAttnK) {
    if (model_.n_expert == 8) new_type = G::Q8_0;
  } else if (category == kAttnQ) {
    // only IQ3 file types change attn_q
  } else if (category == kFfnDown) {
    const auto [i_layer, n_layer] = layer_info(i_ffn_down_);
    if (ftype == F::MOSTLY_Q2_K) {
      new_type = G::Q3_K;
    } else if (ftype == F::MOSTLY_Q3_K_M) {
      new_type = i_layer < n_layer / 16                        ? G::Q5_K
                 : !falcon || use_more_bits(i_layer, n_layer) ? G::Q4_K
                                                               : G::Q3_K;
    } else if (ftype == F::MOSTLY_Q3_K_L) {
      new_type = falcon ? G::Q4_K : G::Q5_K;
    } else if (ftype == F::MOSTLY_Q4_K_M) {
      if (falcon) {
        new_type = i_layer < n_layer / 16 ? G::Q6_K : use_more_bits(i_layer, n_layer) ? G::Q5_K : G::Q4_K;
      } else if (use_more_bits(i_layer, n_layer)) {
        new_type = G::Q6_K;
      }
    } else if (i_layer < n_layer / 8 && (ftype == F::MOSTLY_IQ4_NL || ftype == F::MOSTLY_IQ4_XS)) {
      new_type = G::Q5_K;  // (llama.cpp: only without an importance matrix, which ember never has)
    } else if (ftype == F::MOSTLY_Q5_K_M && use_more_bits(i_layer, n_layer)) {
      new_type = G::Q6_K;
    } else if (ftype == F::MOSTLY_Q4_K_S && !falcon && i_layer < n_layer / 8) {
      new_type = G::Q5_K;
    }
    ++i_ffn_down_;
  } else if (category == kAttnOutput) {
    if (!falcon) {
      if (model_.n_expert == 8) {
        if (ftype == F::MOSTLY_Q2_K || ftype == F::MOSTLY_Q3_K_S || ftype == F::MOSTLY_Q3_K_M ||
            ftype == F::MOSTLY_IQ4_NL || ftype == F::MOSTLY_Q4_K_S || ftype == F::MOSTLY_Q4_K_M ||
            ftype == F::MOSTLY_IQ4_XS) {
          new_type = G::Q5_K;
        }
      } else {
        if (ftype == F::MOSTLY_Q2_K) new_type = G::Q3_K;
        else if (ftype == F::MOSTLY_Q3_K_M) new_type = G::Q4_K;
        else if (ftype == F::MOSTLY_Q3_K_L) new_type = G::Q5_K;
      }
    } else if (ftype == F::MOSTLY_Q3_K_L) {
      new_type = G::Q4_K;
    }
  } else if (category == kAttnQkv) {
    // (unreachable: attn_qkv is attn_v-like above; kept as llama.cpp has it)
  } else if (category == kFfnGate) {
    (void)layer_info(i_ffn_gate_);
    ++i_ffn_gate_;
  } else if (category == kFfnUp) {
    (void)layer_info(i_ffn_up_);
    ++i_ffn_up_;
  }
  return new_type;
}

// tensor_type_fallback: a row length that is not a multiple of the block size demotes the
// type to a 32-element format of similar precision, or to F16 if even that does not fit.
GgmlType TensorTypePlanner::Fallback(const std::string& name, uint64_t ncols, GgmlType target) {
  using G = GgmlType;
  const uint32_t block = TraitsOf(target).block_size;
  if (ncols % block == 0) return target;
  ++n_fallback_;
  GgmlType result = target;
  switch (target) {
    case G::IQ4_XS: result = G::IQ4_NL; break;
    case G::Q2_K:
    case G::Q3_K: result = G::Q4_0; break;
    case G::Q4_K: result = G::Q5_0; break;
    case G::Q5_K: result = G::Q5_1; break;
    case G::Q6_K: result = G::Q8_0; break;
    default:
      if (block > 32) Fail("tensor {}: no fallback type for {} with rows of {}", name, GgmlTypeName(target), ncols);
      break;
  }
  if (ncols % TraitsOf(result).block_size != 0) result = G::F16;
  return result;
}

}  // namespace ember
