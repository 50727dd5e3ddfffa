#include "model/llama.h"

#include "core/error.h"

namespace ember {

void LlamaForward(const Model& model, Backend& be, KvCache& cache, std::span<const int32_t> tokens,
                  int64_t pos0, const ForwardOptions& options, std::vector<float>& logits) {
  const ModelConfig& c = model.config();
  const Weights& w = model.weights();
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (T == 0) Fail("no tokens to evaluate");
  if (pos0 < 0 || pos0 + T > cache.n_ctx()) {
    Fail("{} tokens at position {} do not fit the context of {} tokens", T, pos0, cache.n_ctx());
  }
  for (int64_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.n_vocab) {
      Fail("token id {} is outside the vocabulary (0..{})", tokens[t], c.n_vocab - 1);
    }
  }
  const auto& trace = options.trace;
  const size_t rows = static_cast<size_t>(T);
  std::vector<float> x(rows * c.n_embd);       // (T, n_embd) residual stream
  std::vector<float> h(rows * c.n_embd);       // (T, n_embd) normed input of a block
  std::vector<float> q(rows * c.q_width());    // (T, n_head * head_dim)
  std::vector<float> k(rows * c.kv_width());   // (T, n_head_kv * head_dim)
  std::vector<float> v(rows * c.v_width());    // (T, n_head_kv * head_dim_v)
  std::vector<float> att(rows * c.q_width());  // (T, n_head * head_dim)
  std::vector<float> o(rows * c.n_embd);       // (T, n_embd) block output
  std::vector<float> gate(rows * c.n_ff);      // (T, n_ff)
  std::vector<float> up(rows * c.n_ff);        // (T, n_ff)
  std::vector<int32_t> pos(rows);
  for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(pos0 + t);

  RopeParams rope;
  rope.head_dim = c.head_dim;
  rope.n_dims = c.rope_dims;
  rope.freq_base = c.rope_freq_base;
  rope.freq_scale = c.rope_freq_scale;
  rope.style = c.rope_style;
  rope.freq_factors = w.rope_freqs.valid() ? w.rope_freqs.f32() : nullptr;
  AttentionParams ap;
  ap.n_head = c.n_head;
  ap.n_head_kv = c.n_head_kv;
  ap.head_dim = c.head_dim;
  ap.scale = c.attn_scale;
  ap.softcap = c.attn_logit_softcap;
  ap.window = c.sliding_window;

  be.GetRows(w.token_embd, tokens.data(), T, x.data());
  if (trace) trace("embd", -1, x.data(), T, c.n_embd);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& L = w.layers[static_cast<size_t>(il)];
    be.RmsNorm(x.data(), L.attn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
    if (trace) trace("attn_norm", il, h.data(), T, c.n_embd);
    be.MatMul(L.wq, h.data(), T, q.data());
    be.MatMul(L.wk, h.data(), T, k.data());
    be.MatMul(L.wv, h.data(), T, v.data());
    be.Rope(q.data(), T, c.n_head, pos.data(), rope);
    be.Rope(k.data(), T, c.n_head_kv, pos.data(), rope);
    if (trace) {
      trace("q", il, q.data(), T, c.q_width());
      trace("k", il, k.data(), T, c.kv_width());
      trace("v", il, v.data(), T, c.v_width());
    }
    be.StoreKv(cache, il, pos0, T, k.data(), v.data());
    be.Attention(cache, il, pos0, T, q.data(), ap, att.data());
    if (trace) trace("kqv", il, att.data(), T, c.q_width());
    be.MatMul(L.wo, att.data(), T, o.data());
    if (trace) trace("attn_out", il, o.data(), T, c.n_embd);
    be.Add(x.data(), o.data(), T * c.n_embd);
    if (trace) trace("ffn_inp", il, x.data(), T, c.n_embd);
    be.RmsNorm(x.data(), L.ffn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
    if (trace) trace("ffn_norm", il, h.data(), T, c.n_embd);
    be.MatMul(L.ffn_gate, h.data(), T, gate.data());
    be.MatMul(L.ffn_up, h.data(), T, up.data());
    be.SwiGlu(gate.data(), up.data(), T * c.n_ff, gate.data());
    be.MatMul(L.ffn_down, gate.data(), T, o.data());
    if (trace) trace("ffn_out", il, o.data(), T, c.n_embd);
    be.Add(x.data(), o.data(), T * c.n_embd);
    if (trace) trace("l_out", il, x.data(), T, c.n_embd);
  }
  // Only the rows whose logits are wanted go through the (large) output projection.
  const int64_t first = options.all_logits ? 0 : T - 1;
  const int64_t n_out = T - first;
  be.RmsNorm(x.data() + first * c.n_embd, w.output_norm.f32(), n_out, c.n_embd, c.norm_eps,
             h.data());
  if (trace) trace("result_norm", -1, h.data(), n_out, c.n_embd);
  logits.resize(static_cast<size_t>(n_out * c.n_vocab));
  be.MatMul(w.output, h.data(), n_out, logits.data());
  if (trace) trace("result_output", -1, logits.data(), n_out, c.n_vocab);
}

}  // namespace ember
