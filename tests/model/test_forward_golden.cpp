// SmolLM2-135M-Instruct Q4_1 against llama.cpp (tests/data/model/forward_smollm2.json, written
// by scripts/golden/forward_logits.py): logits at every position of 9 prompts (1 to ~400 tokens)
// and 64-token greedy continuations, plus the plain-question test (Paris).
//
// Tolerances. ember quantizes activations to Q8_0/Q8_1 exactly as llama.cpp does and sums in
// the same order, so on the AVX2 path the logits are expected to be bit-identical. On any other
// path (EMBER_CPU_ISA=scalar sums the same integers in another float order) a difference of one
// ulp before an activation is re-quantized can flip one Q8 code: that moves a product by one
// quantization step (amax/127 of a block, and SmolLM2's residual stream has outliers near 800),
// and such flips compound over 30 layers. Measured scalar-vs-AVX2 spread on these prompts is
// below 1.5 logits (logit std ~3); the bounds below are 2.5 max and 0.35 mean over each
// position's top 20. A top-1 difference is accepted only at a near-tie: llama.cpp's own top-2 gap
// below kNearTie = 0.5 (a third of the max tolerance), and such positions are counted.
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

constexpr double kMaxAbs = 2.5;
constexpr double kMeanAbs = 0.35;
constexpr double kNearTie = 0.5;
constexpr int kGreedy = 64;

struct PromptResult {
  std::vector<float> logits;        // (n_tokens, n_vocab)
  std::vector<float> exact_logits;  // the same with exact prompt kernels (AVX2 only)
  std::vector<int32_t> greedy;   // kGreedy tokens
};

class SmolLM2Golden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new nlohmann::json(test::LoadGolden("forward_smollm2.json"));
    const std::string path = test::ModelsDir() + "/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (golden_->is_null() || !std::filesystem::exists(path)) return;
    model_ = Model::Load(path).release();
    CpuBackend backend(2);
    results_ = new std::vector<PromptResult>();
    const int64_t n_vocab = model_->config().n_vocab;
    for (const auto& p : (*golden_)["prompts"]) {
      const auto tokens = p["tokens"].get<std::vector<int32_t>>();
      SessionOptions so;
      so.n_ctx = static_cast<int64_t>(tokens.size()) + kGreedy + 1;
      Session s(*model_, backend, so);
      PromptResult r;
      r.logits = s.Prefill(tokens, /*all_logits=*/true);
      if (backend.isa() == Isa::kAvx2) {
        const test::ExactGemmScope exact(true);
        Session se(*model_, backend, so);
        r.exact_logits = se.Prefill(tokens, /*all_logits=*/true);
      }
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
    if (golden_->is_null()) GTEST_SKIP() << "tests/data/model/forward_smollm2.json is missing";
    if (model_ == nullptr) GTEST_SKIP() << "SmolLM2-135M-Instruct.Q4_1.gguf not in " << test::ModelsDir() << " (run scripts/fetch-models)";
  }

  static Model* model_;
  static std::vector<PromptResult>* results_;
  static nlohmann::json* golden_;
};

Model* SmolLM2Golden::model_ = nullptr;
std::vector<PromptResult>* SmolLM2Golden::results_ = nullptr;
nlohmann::json* SmolLM2Golden::golden_ = nullptr;

TEST_F(SmolLM2Golden, LogitsMatchLlamaCppAtEveryPosition) {
  const int64_t n_vocab = model_->config().n_vocab;
  const bool expect_exact = CpuBackend(1).isa() == Isa::kAvx2;
  int positions = 0, exact = 0, near_ties = 0, exact_kernels = 0;
  double worst = 0.0, total = 0.0;
  int n_total = 0;
  const auto& prompts = (*golden_)["prompts"];
  ASSERT_GE(prompts.size(), 8u);
  for (size_t pi = 0; pi < prompts.size(); ++pi) {
    const auto& p = prompts[pi];
    const auto& logits = (*results_)[pi].logits;
    ASSERT_EQ(logits.size(), p["tokens"].size() * static_cast<size_t>(n_vocab));
    for (size_t pos = 0; pos < p["positions"].size(); ++pos) {
      const auto c = test::CompareRow(
          std::span<const float>(logits.data() + pos * n_vocab, static_cast<size_t>(n_vocab)),
          p["positions"][pos]);
      ++positions;
      exact += c.exact;
      worst = std::max(worst, c.max_abs);
      total += c.sum_abs;
      n_total += c.n;
      EXPECT_LE(c.max_abs, kMaxAbs) << p["name"] << " position " << pos;
      EXPECT_LE(c.sum_abs / c.n, kMeanAbs) << p["name"] << " position " << pos;
      if (!c.top1_same) {
        EXPECT_LT(c.ref_gap, kNearTie) << p["name"] << " position " << pos << ": top-1 differs";
        ++near_ties;
      }
      if (expect_exact) {
        const auto& el = (*results_)[pi].exact_logits;
        const auto ce = test::CompareRow(
            std::span<const float>(el.data() + pos * n_vocab, static_cast<size_t>(n_vocab)), p["positions"][pos]);
        exact_kernels += ce.exact;
        EXPECT_TRUE(ce.exact) << p["name"] << " position " << pos << " not bit-identical with exact kernels";
      }
    }
  }
  std::printf("SmolLM2 vs llama.cpp: %d positions, %d bit-identical, max |diff| %.4g, mean |diff| "
              "%.4g (top-20), top-1 near-ties %d; with exact prompt kernels %d bit-identical\n", positions,
              exact, worst, total / n_total, near_ties, exact_kernels);
  RecordProperty("positions", positions);
  RecordProperty("bit_identical", exact);
}

TEST_F(SmolLM2Golden, GreedyContinuationsMatchLlamaCpp) {
  int near_tie_stops = 0;
  const auto& prompts = (*golden_)["prompts"];
  for (size_t pi = 0; pi < prompts.size(); ++pi) {
    const auto& p = prompts[pi];
    const auto ref = p["greedy"].get<std::vector<int32_t>>();
    const auto gaps = p["greedy_gaps"].get<std::vector<double>>();
    const auto& ours = (*results_)[pi].greedy;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (ours[i] == ref[i]) continue;
      // Past a near-tie the two continuations may legitimately part; stop comparing.
      EXPECT_LT(gaps[i], kNearTie) << p["name"] << " step " << i << ": " << ours[i] << " vs " << ref[i];
      ++near_tie_stops;
      break;
    }
  }
  std::printf("greedy 64-token continuations: %zu prompts, %d parted at a near-tie\n",
              prompts.size(), near_tie_stops);
}

TEST_F(SmolLM2Golden, AnswersTheCapitalOfFranceWithParis) {
  // ChatML written by hand: "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n
  // <|im_start|>assistant\n" (ids from llama.cpp's tokenizer, recorded in the golden file).
  const auto& prompts = (*golden_)["prompts"];
  size_t pi = 0;
  while (pi < prompts.size() && prompts[pi]["name"] != "chatml_capital") ++pi;
  ASSERT_LT(pi, prompts.size());
  const auto vocab = model_->file().GetStringArray("tokenizer.ggml.tokens");
  std::string text;
  for (int32_t id : (*results_)[pi].greedy) {
    std::string piece = vocab[static_cast<size_t>(id)];
    // GPT-2 byte-level BPE writes a space as U+0120 'Ġ' and a newline as U+010A 'Ċ'.
    for (auto [from, to] : {std::pair<std::string, std::string>{"\xC4\xA0", " "}, {"\xC4\x8A", "\n"}}) {
      for (size_t at; (at = piece.find(from)) != std::string::npos;) piece.replace(at, from.size(), to);
    }
    text += piece;
    if (id == 2) break;  // <|im_end|>
  }
  std::printf("answer: %s\n", text.c_str());
  EXPECT_NE(text.find("Paris"), std::string::npos) << text;
}

}  // namespace
}  // namespace ember
