#include "model/forward.h"

#include "core/error.h"

namespace ember {

void Forward(const Model& model, Backend& be, KvCache& cache, std::span<const int32_t> tokens,
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
  const int64_t qkv_width = c.q_width() + c.kv_width() + c.v_width();
  const int64_t ff_out = c.fused_gate_up ? 2 * c.n_ff : c.n_ff;  // columns of h Wup
  std::vector<float> x(rows * c.n_embd);       // (T, n_embd) residual stream
  std::vector<float> h(rows * c.n_embd);       // (T, n_embd) normed input of a block
  std::vector<float> q(rows * c.q_width());    // (T, n_head * head_dim)
  std::vector<float> k(rows * c.kv_width());   // (T, n_head_kv * head_dim)
  std::vector<float> v(rows * c.v_width());    // (T, n_head_kv * head_dim_v)
  std::vector<float> qkv(c.fused_qkv ? rows * qkv_width : 0);  // (T, q + k + v widths)
  std::vector<float> att(rows * c.q_width());  // (T, n_head * head_dim)
  std::vector<float> o(rows * c.n_embd);       // (T, n_embd) block output
  std::vector<float> gate(rows * c.n_ff);      // (T, n_ff)
  std::vector<float> up(rows * ff_out);        // (T, n_ff), fused: (T, 2 n_ff) gate then up
  std::vector<int32_t> pos(rows);
  for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(pos0 + t);

  RopeParams rope_global;
  rope_global.head_dim = c.head_dim;
  rope_global.n_dims = c.rope_dims;
  rope_global.freq_base = c.rope_freq_base;
  rope_global.freq_scale = c.rope_freq_scale;
  rope_global.style = c.rope_style;
  rope_global.freq_factors = w.rope_freqs.valid() ? w.rope_freqs.f32() : nullptr;
  rope_global.ext_factor = c.rope_ext_factor;
  rope_global.attn_factor = c.rope_attn_factor;
  rope_global.n_ctx_orig = c.rope_n_ctx_orig;
  rope_global.beta_fast = c.yarn_beta_fast;
  rope_global.beta_slow = c.yarn_beta_slow;
  // Sliding layers of an interleaved family keep their own (unscaled) base, as llama.cpp's
  // rope_freq_base_train_swa / rope_freq_scale_train_swa.
  RopeParams rope_local = rope_global;
  if (c.swa_pattern > 0) {
    rope_local.freq_base = c.rope_freq_base_swa;
    rope_local.freq_scale = 1.0f;
  }
  AttentionParams ap;
  ap.n_head = c.n_head;
  ap.n_head_kv = c.n_head_kv;
  ap.head_dim = c.head_dim;
  ap.scale = c.scale_q ? 1.0f : c.attn_scale;
  ap.softcap = c.attn_logit_softcap;

  be.GetRows(w.token_embd, tokens.data(), T, x.data());
  if (trace) trace("embd", -1, x.data(), T, c.n_embd);
  if (c.embedding_scale != 1.0f) {
    be.Scale(x.data(), T * c.n_embd, c.embedding_scale);
    if (trace) trace("inp_scaled", -1, x.data(), T, c.n_embd);
  }
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& L = w.layers[static_cast<size_t>(il)];
    const bool sliding = c.IsSlidingLayer(il);
    const RopeParams& rope = sliding ? rope_local : rope_global;
    ap.window = sliding ? c.sliding_window : 0;

    be.RmsNorm(x.data(), L.attn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
    if (trace) trace("attn_norm", il, h.data(), T, c.n_embd);
    if (L.wqkv.valid()) {
      be.MatMul(L.wqkv, h.data(), T, qkv.data());
      if (L.bqkv.valid()) be.AddRow(qkv.data(), L.bqkv.f32(), T, qkv_width);
      be.CopyColumns(qkv.data(), qkv_width, 0, T, c.q_width(), q.data());
      be.CopyColumns(qkv.data(), qkv_width, c.q_width(), T, c.kv_width(), k.data());
      be.CopyColumns(qkv.data(), qkv_width, c.q_width() + c.kv_width(), T, c.v_width(), v.data());
    } else {
      const WeightView* ws[] = {&L.wq, &L.wk, &L.wv};
      float* ys[] = {q.data(), k.data(), v.data()};
      be.MatMulShared(ws, h.data(), T, ys);
    }
    if (L.bq.valid()) {
      be.AddRow(q.data(), L.bq.f32(), T, c.q_width());
      be.AddRow(k.data(), L.bk.f32(), T, c.kv_width());
      be.AddRow(v.data(), L.bv.f32(), T, c.v_width());
    }
    if (L.q_norm.valid()) {
      be.RmsNorm(q.data(), L.q_norm.f32(), T * c.n_head, c.head_dim, c.norm_eps, q.data());
      be.RmsNorm(k.data(), L.k_norm.f32(), T * c.n_head_kv, c.head_dim, c.norm_eps, k.data());
    }
    be.Rope(q.data(), T, c.n_head, pos.data(), rope);
    be.Rope(k.data(), T, c.n_head_kv, pos.data(), rope);
    if (trace) {
      trace("q", il, q.data(), T, c.q_width());
      trace("k", il, k.data(), T, c.kv_width());
      trace("v", il, v.data(), T, c.v_width());
    }
    if (c.scale_q) be.Scale(q.data(), T * c.q_width(), c.attn_scale);
    be.StoreKv(cache, il, pos0, T, k.data(), v.data());
    be.Attention(cache, il, pos0, T, q.data(), ap, att.data());
    if (trace) trace("kqv", il, att.data(), T, c.q_width());
    be.MatMul(L.wo, att.data(), T, o.data());
    if (trace) trace("attn_out", il, o.data(), T, c.n_embd);
    if (L.attn_post_norm.valid()) {
      be.RmsNorm(o.data(), L.attn_post_norm.f32(), T, c.n_embd, c.norm_eps, o.data());
      if (trace) trace("attn_post_norm", il, o.data(), T, c.n_embd);
    }
    be.Add(x.data(), o.data(), T * c.n_embd);
    if (trace) trace("ffn_inp", il, x.data(), T, c.n_embd);

    be.RmsNorm(x.data(), L.ffn_norm.f32(), T, c.n_embd, c.norm_eps, h.data());
    if (trace) trace("ffn_norm", il, h.data(), T, c.n_embd);
    const float* g = gate.data();
    const float* u = up.data();
    int64_t stride = c.n_ff;  // distance between the rows of g and of u
    if (c.fused_gate_up) {
      be.MatMul(L.ffn_up, h.data(), T, up.data());
      g = up.data();
      u = up.data() + c.n_ff;
      stride = 2 * c.n_ff;
    } else {
      const WeightView* ws[] = {&L.ffn_up, &L.ffn_gate};
      float* ys[] = {up.data(), gate.data()};
      be.MatMulShared(ws, h.data(), T, ys);
    }
    // One call over all tokens when gate and up are whole matrices, else one per token row.
    const int64_t calls = stride == c.n_ff ? 1 : T;
    const int64_t n = stride == c.n_ff ? T * c.n_ff : c.n_ff;
    for (int64_t r = 0; r < calls; ++r) {
      float* out = gate.data() + r * c.n_ff;
      if (c.activation == Activation::kGeluTanh) {
        be.GeGlu(g + r * stride, u + r * stride, n, out);
      } else {
        be.SwiGlu(g + r * stride, u + r * stride, n, out);
      }
    }
    if (trace) {
      trace(c.activation == Activation::kGeluTanh ? "ffn_geglu" : "ffn_swiglu", il, gate.data(), T,
            c.n_ff);
    }
    be.MatMul(L.ffn_down, gate.data(), T, o.data());
    if (trace) trace("ffn_out", il, o.data(), T, c.n_embd);
    if (L.ffn_post_norm.valid()) {
      be.RmsNorm(o.data(), L.ffn_post_norm.f32(), T, c.n_embd, c.norm_eps, o.data());
      if (trace) trace("ffn_post_norm", il, o.data(), T, c.n_embd);
    }
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
  if (c.final_logit_softcap > 0.0f) be.SoftCap(logits.data(), n_out * c.n_vocab, c.final_logit_softcap);
  if (trace) trace("result_output", -1, logits.data(), n_out, c.n_vocab);
}

}  // namespace ember
