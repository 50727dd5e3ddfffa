// Gemma 3 270M (the packaged base model, Q4_K_M) against llama.cpp (tests/data/model/
// forward_gemma3.json, written by scripts/golden/forward_families.py): the top-10 logits at every
// recorded position of 7 prompts (1 to ~900 tokens; the longest runs past the 512-token window of
// the sliding layers, recorded from position 560 on) and 64-token greedy continuations.
//
// Tolerances, measured (AVX2, 2 threads), with ember's repacked Q4_K layout (cpu/repack.h, the
// default): over 750 positions, max |diff| 1.79, mean |diff| 0.240 over each position's top 10
// (logits span ~55, std ~5.7); 33 rows bit-identical; 6 top-1 flips, at llama.cpp top-2 gaps up to
// 0.57. Greedy: 3 of 7 continuations token-identical for 64 tokens, the others part at gaps up to
// 0.71. (With EMBER_NO_REPACK=1: max 2.10, mean 0.248, 10 rows bit-identical, 2 flips at gaps
// below 0.33, greedy 6 of 7 -- the noise falls differently, not closer.) Where the numbers part:
// prompts under 8 tokens are bit-identical to llama.cpp at every layer and logit (ember's Q4_K now
// follows llama.cpp's repacked kernels; without repacking the first difference is layer 0's Q4_K
// attn_output); from 8 tokens on llama.cpp multiplies its non-repacked K-quant matrices (here the
// Q6_K ffn_down of some layers) with its "tiled" kernels (ggml-cpu/tiled/), whose float order
// ember does not follow: the first difference is layer 0's ffn_out (~4e-6), and with
// GGML_CPU_TILED_MM=0 llama.cpp is bit-identical to ember on a 23-token prompt. Errors then grow
// with the prompt through Gemma's large logits. The figures above are with EMBER_EXACT_GEMM=1
// (exact prompt kernels, cpu/gemm.h). By default ember's Q8_0 attn_v and Q5_0 matrices take the
// 8-row tile that rounds once per block, and (measured 2026-11-28) the short prompts are no
// longer bit-identical either: max |diff| 2.00, mean 0.261, 0 rows bit-identical, 2 top-1 flips,
// greedy 4 of 7 continuations token-identical -- the same noise, falling differently. With Q6_K's
// default 8-row tile (2026-11-29, Zen 4): max 2.013, mean 0.2547, 6 top-1 flips at near ties,
// greedy 5 of 7. Bounds: 3.0 per logit, 2.0 per position's mean,
// 0.35 overall mean; top-1 may differ only where llama.cpp's gap < 1.0 (about half the largest
// per-logit difference measured).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "golden_util.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/session.h"
#include "runtime/simple_sampler.h"

namespace ember {
namespace {

constexpr double kMaxAbs = 3.0;
constexpr double kRowMeanAbs = 2.0;
constexpr double kMeanAbs = 0.35;
constexpr double kNearTie = 1.0;
constexpr int kGreedy = 64;

struct PromptResult {
  std::vector<float> logits;     // (n_tokens - first, n_vocab)
  std::vector<int32_t> greedy;   // kGreedy tokens
};

class Gemma3Golden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new nlohmann::json(test::LoadGolden("forward_gemma3.json"));
    const std::string path = test::ModelsDir() + "/gemma-3-270m-q4_k_m.gguf";
    if (golden_->is_null() || !std::filesystem::exists(path)) return;
    model_ = Model::Load(path).release();
    CpuBackend backend(2);
    results_ = new std::vector<PromptResult>();
    const int64_t n_vocab = model_->config().n_vocab;
    for (const auto& p : (*golden_)["prompts"]) {
      const auto tokens = p["tokens"].get<std::vector<int32_t>>();
      const size_t first = p["first"].get<size_t>();
      SessionOptions so;
      so.n_ctx = static_cast<int64_t>(tokens.size()) + kGreedy + 1;
      Session s(*model_, backend, so);
      // Positions before `first` are not recorded: evaluate them without logits.
      if (first > 0) s.Prefill(std::span<const int32_t>(tokens).first(first));
      PromptResult r;
      r.logits = s.Prefill(std::span<const int32_t>(tokens).subspan(first), /*all_logits=*/true);
      std::vector<float> last(r.logits.end() - n_vocab, r.logits.end());
      for (int i = 0; i < kGreedy; ++i) {
        const int32_t id = ArgMax(last);
        r.greedy.push_back(id);
        last = s.Decode(id);
      }
      results_->push_back(std::move(r));
    }
  }
  static void TearDownTestSuite() {
    delete model_;
    delete results_;
    delete golden_;
    model_ = nullptr;
    results_ = nullptr;
    golden_ = nullptr;
  }
  void SetUp() override {
    if (golden_->is_null()) GTEST_SKIP() << "tests/data/model/forward_gemma3.json is missing";
    if (model_ == nullptr) {
      GTEST_SKIP() << "gemma-3-270m-q4_k_m.gguf not in " << test::ModelsDir()
                   << " (run scripts/fetch-models)";
    }
  }

  static Model* model_;
  static std::vector<PromptResult>* results_;
  static nlohmann::json* golden_;
};

Model* Gemma3Golden::model_ = nullptr;
std::vector<PromptResult>* Gemma3Golden::results_ = nullptr;
nlohmann::json* Gemma3Golden::golden_ = nullptr;

TEST_F(Gemma3Golden, ConfigDescribesInterleavedLocalAndGlobalLayers) {
  const ModelConfig& c = model_->config();
  EXPECT_EQ(c.arch, "gemma3");
  EXPECT_EQ(c.n_layer, 18);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.sliding_window, 512);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 1000000.0f);
  EXPECT_FLOAT_EQ(c.rope_freq_base_swa, 10000.0f);
  EXPECT_FLOAT_EQ(c.embedding_scale, std::sqrt(640.0f));
  EXPECT_TRUE(c.tied_output && c.qk_norm && c.post_norms && c.scale_q);
  EXPECT_EQ(c.rope_style, RopeStyle::kNeox);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    EXPECT_EQ(c.IsSlidingLayer(il), il % 6 != 5) << "layer " << il;  // 5, 11, 17 are global
  }
}

TEST_F(Gemma3Golden, LogitsMatchLlamaCppAtEveryRecordedPosition) {
  const int64_t n_vocab = model_->config().n_vocab;
  int positions = 0, exact = 0, near_ties = 0;
  double worst = 0.0, total = 0.0, worst_window = 0.0;
  int n_total = 0;
  const auto& prompts = (*golden_)["prompts"];
  ASSERT_GE(prompts.size(), 7u);
  for (size_t pi = 0; pi < prompts.size(); ++pi) {
    const auto& p = prompts[pi];
    const auto& logits = (*results_)[pi].logits;
    const size_t first = p["first"].get<size_t>();
    ASSERT_EQ(logits.size(), (p["tokens"].size() - first) * static_cast<size_t>(n_vocab));
    ASSERT_EQ(p["positions"].size(), p["tokens"].size() - first);
    for (size_t pos = 0; pos < p["positions"].size(); ++pos) {
      const auto c = test::CompareRow(
          std::span<const float>(logits.data() + pos * n_vocab, static_cast<size_t>(n_vocab)),
          p["positions"][pos]);
      ++positions;
      exact += c.exact;
      worst = std::max(worst, c.max_abs);
      if (first + pos >= 512) worst_window = std::max(worst_window, c.max_abs);
      total += c.sum_abs;
      n_total += c.n;
      EXPECT_LE(c.max_abs, kMaxAbs) << p["name"] << " position " << first + pos;
      EXPECT_LE(c.sum_abs / c.n, kRowMeanAbs) << p["name"] << " position " << first + pos;
      if (!c.top1_same) {
        EXPECT_LT(c.ref_gap, kNearTie) << p["name"] << " position " << first + pos << ": top-1 differs";
        ++near_ties;
      }
    }
  }
  std::printf("Gemma 3 vs llama.cpp: %d positions, %d bit-identical, max |diff| %.4g (past the "
              "window %.4g), mean |diff| %.4g (top-10), top-1 near-ties %d\n",
              positions, exact, worst, worst_window, total / n_total, near_ties);
  EXPECT_LE(total / n_total, kMeanAbs);
  RecordProperty("positions", positions);
  RecordProperty("bit_identical", exact);
}

TEST_F(Gemma3Golden, GreedyContinuationsMatchLlamaCpp) {
  int identical = 0;
  const auto& prompts = (*golden_)["prompts"];
  for (size_t pi = 0; pi < prompts.size(); ++pi) {
    const auto& p = prompts[pi];
    const auto ref = p["greedy"].get<std::vector<int32_t>>();
    const auto gaps = p["greedy_gaps"].get<std::vector<double>>();
    const auto& ours = (*results_)[pi].greedy;
    size_t same = 0;
    while (same < ref.size() && ours[same] == ref[same]) ++same;
    if (same == ref.size()) {
      ++identical;
    } else {
      // Past a near-tie the two continuations may legitimately part.
      EXPECT_LT(gaps[same], kNearTie) << p["name"] << " step " << same << ": " << ours[same]
                                      << " vs " << ref[same];
    }
    std::printf("  %-14s greedy: %zu/%zu tokens identical\n", p["name"].get<std::string>().c_str(),
                same, ref.size());
  }
  std::printf("greedy 64-token continuations: %d of %zu prompts token-identical\n", identical,
              prompts.size());
}

}  // namespace
}  // namespace ember
