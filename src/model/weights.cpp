#include "model/weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace ember {
namespace {

bool IsSupportedMatrixType(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q8_0: case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K:
    case GgmlType::Q5_K: case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

WeightView Matrix(const GgufFile& f, const std::string& name, int64_t n_in, int64_t n_out) {
  const GgufTensorInfo& t = f.GetTensor(name);
  if (t.shape.size() != 2 || t.ne(0) != static_cast<uint64_t>(n_in) ||
      t.ne(1) != static_cast<uint64_t>(n_out)) {
    Fail("{}: tensor '{}' has shape [{}], expected [{}, {}]", f.path(), name,
         fmt::join(t.shape, ", "), n_in, n_out);
  }
  if (!IsSupportedMatrixType(t.type)) {
    Fail("{}: tensor '{}' has type {}, which ember cannot multiply yet", f.path(), name,
         GgmlTypeName(t.type));
  }
  WeightView w;
  w.name = name;
  w.type = t.type;
  w.n_in = n_in;
  w.n_out = n_out;
  w.row_bytes = RowBytes(t.type, static_cast<uint64_t>(n_in)).value();
  w.data = t.data;
  return w;
}

WeightView Vector(const GgufFile& f, const std::string& name, int64_t n) {
  const GgufTensorInfo& t = f.GetTensor(name);
  if (t.n_elements != static_cast<uint64_t>(n) || t.ne(0) != static_cast<uint64_t>(n)) {
    Fail("{}: tensor '{}' has shape [{}], expected [{}]", f.path(), name, fmt::join(t.shape, ", "), n);
  }
  if (t.type != GgmlType::F32) {
    Fail("{}: tensor '{}' has type {}, expected F32", f.path(), name, GgmlTypeName(t.type));
  }
  if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0) {
    Fail("{}: tensor '{}' is not 4-byte aligned", f.path(), name);
  }
  WeightView w;
  w.name = name;
  w.type = t.type;
  w.n_in = n;
  w.n_out = 1;
  w.row_bytes = static_cast<uint64_t>(n) * 4;
  w.data = t.data;
  return w;
}

}  // namespace

Weights Weights::FromGguf(const GgufFile& f, const ModelConfig& c) {
  Weights w;
  w.token_embd = Matrix(f, "token_embd.weight", c.n_embd, c.n_vocab);
  w.output_norm = Vector(f, "output_norm.weight", c.n_embd);
  w.output = c.tied_output ? w.token_embd : Matrix(f, "output.weight", c.n_embd, c.n_vocab);
  if (c.has_rope_freqs) w.rope_freqs = Vector(f, "rope_freqs.weight", c.rope_dims / 2);
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string b = fmt::format("blk.{}.", i);
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = Vector(f, b + "attn_norm.weight", c.n_embd);
    l.wq = Matrix(f, b + "attn_q.weight", c.n_embd, c.q_width());
    l.wk = Matrix(f, b + "attn_k.weight", c.n_embd, c.kv_width());
    l.wv = Matrix(f, b + "attn_v.weight", c.n_embd, c.v_width());
    l.wo = Matrix(f, b + "attn_output.weight", c.q_width(), c.n_embd);
    l.ffn_norm = Vector(f, b + "ffn_norm.weight", c.n_embd);
    l.ffn_gate = Matrix(f, b + "ffn_gate.weight", c.n_embd, c.n_ff);
    l.ffn_up = Matrix(f, b + "ffn_up.weight", c.n_embd, c.n_ff);
    l.ffn_down = Matrix(f, b + "ffn_down.weight", c.n_ff, c.n_embd);
  }
  return w;
}

uint64_t Weights::BytesPerToken() const {
  uint64_t n = output.bytes() + output_norm.bytes();
  for (const LayerWeights& l : layers) {
    n += l.attn_norm.bytes() + l.wq.bytes() + l.wk.bytes() + l.wv.bytes() + l.wo.bytes() +
         l.ffn_norm.bytes() + l.ffn_gate.bytes() + l.ffn_up.bytes() + l.ffn_down.bytes();
  }
  return n;
}

}  // namespace ember
