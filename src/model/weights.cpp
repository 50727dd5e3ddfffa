#include "model/weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember {
namespace {

bool IsSupportedMatrixType(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q8_0: case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K:
    case GgmlType::Q5_K: case GgmlType::Q6_K: case GgmlType::IQ4_NL: case GgmlType::IQ4_XS:
      return true;
    default:
      return false;
  }
}

// Resolves tensors by name; a missing one is recorded (so that one error can list every missing
// tensor) and gives an invalid view.
class Resolver {
 public:
  explicit Resolver(const GgufFile& f) : f_(f) {}

  WeightView Matrix(const std::string& name, int64_t n_in, int64_t n_out) {
    const GgufTensorInfo* t = Find(name);
    if (t == nullptr) return {};
    if (t->shape.size() != 2 || t->ne(0) != static_cast<uint64_t>(n_in) ||
        t->ne(1) != static_cast<uint64_t>(n_out)) {
      Fail("{}: tensor '{}' has shape [{}], expected [{}, {}]", f_.path(), name,
           fmt::join(t->shape, ", "), n_in, n_out);
    }
    if (!IsSupportedMatrixType(t->type)) {
      Fail("{}: tensor '{}' has type {}, which ember cannot multiply yet", f_.path(), name,
           GgmlTypeName(t->type));
    }
    WeightView w;
    w.name = name;
    w.type = t->type;
    w.n_in = n_in;
    w.n_out = n_out;
    w.row_bytes = RowBytes(t->type, static_cast<uint64_t>(n_in)).value();
    w.data = t->data;
    w.pack = std::make_shared<WeightPack>();
    return w;
  }

  WeightView Vector(const std::string& name, int64_t n) {
    const GgufTensorInfo* t = Find(name);
    if (t == nullptr) return {};
    if (t->n_elements != static_cast<uint64_t>(n) || t->ne(0) != static_cast<uint64_t>(n)) {
      Fail("{}: tensor '{}' has shape [{}], expected [{}]", f_.path(), name,
           fmt::join(t->shape, ", "), n);
    }
    if (t->type != GgmlType::F32) {
      Fail("{}: tensor '{}' has type {}, expected F32", f_.path(), name, GgmlTypeName(t->type));
    }
    if (reinterpret_cast<uintptr_t>(t->data) % alignof(float) != 0) {
      Fail("{}: tensor '{}' is not 4-byte aligned", f_.path(), name);
    }
    WeightView w;
    w.name = name;
    w.type = t->type;
    w.n_in = n;
    w.n_out = 1;
    w.row_bytes = static_cast<uint64_t>(n) * 4;
    w.data = t->data;
    return w;
  }

  // Throws if anything was missing.
  void Finish(const ModelConfig& c) const {
    if (missing_.empty()) return;
    constexpr size_t kShown = 12;
    const std::vector<std::string> shown(missing_.begin(),
                                         missing_.begin() + std::min(kShown, missing_.size()));
    Fail("{}: this {} model lacks {} tensor{} it needs: {}{}", f_.path(), c.arch,
         missing_.size(), missing_.size() == 1 ? "" : "s", fmt::join(shown, ", "),
         missing_.size() > kShown ? ", ..." : "");
  }

 private:
  const GgufTensorInfo* Find(const std::string& name) {
    const GgufTensorInfo* t = f_.FindTensor(name);
    if (t == nullptr) missing_.push_back(name);
    return t;
  }

  const GgufFile& f_;
  std::vector<std::string> missing_;
};

}  // namespace

Weights Weights::FromGguf(const GgufFile& f, const ModelConfig& c) {
  Resolver r(f);
  Weights w;
  w.token_embd = r.Matrix("token_embd.weight", c.n_embd, c.n_vocab);
  w.output_norm = r.Vector("output_norm.weight", c.n_embd);
  w.output = c.tied_output ? w.token_embd : r.Matrix("output.weight", c.n_embd, c.n_vocab);
  if (c.has_rope_freqs) w.rope_freqs = r.Vector("rope_freqs.weight", c.rope_dims / 2);
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = r.Vector(b + "attn_norm.weight", c.n_embd);
    if (c.fused_qkv) {
      l.wqkv = r.Matrix(b + "attn_qkv.weight", c.n_embd, c.q_width() + c.kv_width() + c.v_width());
    } else {
      l.wq = r.Matrix(b + "attn_q.weight", c.n_embd, c.q_width());
      l.wk = r.Matrix(b + "attn_k.weight", c.n_embd, c.kv_width());
      l.wv = r.Matrix(b + "attn_v.weight", c.n_embd, c.v_width());
    }
    if (c.attn_bias && c.fused_qkv && f.FindTensor(b + "attn_qkv.bias") != nullptr) {
      l.bqkv = r.Vector(b + "attn_qkv.bias", c.q_width() + c.kv_width() + c.v_width());
    } else if (c.attn_bias) {
      l.bq = r.Vector(b + "attn_q.bias", c.q_width());
      l.bk = r.Vector(b + "attn_k.bias", c.kv_width());
      l.bv = r.Vector(b + "attn_v.bias", c.v_width());
    }
    if (c.qk_norm) {
      l.q_norm = r.Vector(b + "attn_q_norm.weight", c.head_dim);
      l.k_norm = r.Vector(b + "attn_k_norm.weight", c.head_dim);
    }
    l.wo = r.Matrix(b + "attn_output.weight", c.q_width(), c.n_embd);
    l.ffn_norm = r.Vector(b + "ffn_norm.weight", c.n_embd);
    if (c.fused_gate_up) {
      l.ffn_up = r.Matrix(b + "ffn_up.weight", c.n_embd, 2 * c.n_ff);
    } else {
      l.ffn_gate = r.Matrix(b + "ffn_gate.weight", c.n_embd, c.n_ff);
      l.ffn_up = r.Matrix(b + "ffn_up.weight", c.n_embd, c.n_ff);
    }
    l.ffn_down = r.Matrix(b + "ffn_down.weight", c.n_ff, c.n_embd);
    if (c.post_norms) {
      l.attn_post_norm = r.Vector(b + "post_attention_norm.weight", c.n_embd);
      l.ffn_post_norm = r.Vector(b + "post_ffw_norm.weight", c.n_embd);
    }
  }
  r.Finish(c);
  return w;
}

std::vector<const WeightView*> Weights::Matrices() const {
  std::vector<const WeightView*> m;
  if (output.valid() && output.data != token_embd.data) m.push_back(&output);
  for (const LayerWeights& l : layers) {
    for (const WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wqkv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) {
      if (v->valid()) m.push_back(v);
    }
  }
  return m;
}

uint64_t Weights::BytesPerToken() const {
  uint64_t n = output.bytes() + output_norm.bytes();
  for (const LayerWeights& l : layers) {
    for (const WeightView* v : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wqkv, &l.bqkv, &l.bq, &l.bk, &l.bv,
                                &l.q_norm, &l.k_norm, &l.wo, &l.attn_post_norm, &l.ffn_norm,
                                &l.ffn_gate, &l.ffn_up, &l.ffn_down, &l.ffn_post_norm}) {
      if (v->valid()) n += v->bytes();
    }
  }
  return n;
}

}  // namespace ember
