// End to end: the CUDA forward pass against the CPU forward pass (LlamaForward on CpuBackend) on
// the same tokens -- SmolLM2-135M Q4_1 (the real model, a chat prompt) and small synthetic models
// in several weight types. Thresholds: the CPU quantizes activations to Q8 for its dot products
// (as llama.cpp) while the GPU keeps them in F32 (decode) or F16 (prefill GEMM), so logits agree
// to NMSE < 2e-3, not bit for bit; greedy continuations of the real model must be identical.
// With -ngl 0 nothing runs on the GPU and the logits must equal the CPU's exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cuda/cuda_model.h"
#include "cuda/cuda_test_util.h"  // tests/cuda/cuda_test_util.h
#include "model/cpu_backend.h"
#include "model/llama.h"
#include "model/model.h"
#if __has_include("model/synth.h")  // synthetic models arrive with the CPU-speed work
#include "model/synth.h"
#define EMBER_HAVE_SYNTH 1
#endif

namespace ember::cuda {
namespace {

std::string ModelsDir() {
  const char* env = std::getenv("EMBER_MODELS");
  return env != nullptr ? env : std::string(EMBER_SOURCE_DIR) + "/models";
}

std::string SmolLm2() { return ModelsDir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"; }

// "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
const std::vector<int32_t> kChatPrompt = {1, 4093, 198, 1780, 314, 260, 3575, 282,
                                          4649, 47, 2, 198, 1, 520, 9531, 198};

int32_t Argmax(const std::vector<float>& v, int64_t row, int64_t n) {
  return static_cast<int32_t>(std::max_element(v.begin() + row * n, v.begin() + (row + 1) * n) -
                              (v.begin() + row * n));
}

struct RunResult {
  std::vector<float> prompt_logits;  // (n_prompt, n_vocab)
  std::vector<int32_t> greedy;
};

template <typename Forward>
RunResult Greedy(const Model& model, const std::vector<int32_t>& prompt, int n_gen, Forward&& fwd) {
  const int64_t nv = model.config().n_vocab;
  RunResult r;
  ForwardOptions all;
  all.all_logits = true;
  fwd(std::span<const int32_t>(prompt), 0, all, r.prompt_logits);
  int32_t tok = Argmax(r.prompt_logits, static_cast<int64_t>(prompt.size()) - 1, nv);
  std::vector<float> logits;
  for (int i = 0; i < n_gen; ++i) {
    r.greedy.push_back(tok);
    fwd(std::span<const int32_t>(&tok, 1), static_cast<int64_t>(prompt.size()) + i, ForwardOptions{}, logits);
    tok = Argmax(logits, 0, nv);
  }
  return r;
}

RunResult RunCpu(const Model& model, const std::vector<int32_t>& prompt, int n_gen) {
  CpuBackend cpu;
  KvCache cache(model.config(), static_cast<int64_t>(prompt.size()) + n_gen + 1, GgmlType::F16);
  return Greedy(model, prompt, n_gen, [&](auto t, int64_t p, const ForwardOptions& o, auto& l) {
    LlamaForward(model, cpu, cache, t, p, o, l);
  });
}

RunResult RunGpu(const Model& model, const std::vector<int32_t>& prompt, int n_gen, int ngl,
                 bool graph = true) {
  const int64_t n_ctx = static_cast<int64_t>(prompt.size()) + n_gen + 1;
  CudaModelOptions o;
  o.n_gpu_layers = ngl;
  o.cuda_graph = graph;
  CudaModel gpu(model, n_ctx, o);
  KvCache cache(model.config(), n_ctx, GgmlType::F16);
  return Greedy(model, prompt, n_gen, [&](auto t, int64_t p, const ForwardOptions& fo, auto& l) {
    gpu.Forward(cache, t, p, fo, l);
  });
}

double LogitsNmse(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  return testing::Nmse(gpu, std::vector<double>(cpu.begin(), cpu.end()));
}

class CudaModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EMBER_REQUIRE_GPU();
    if (!std::filesystem::exists(SmolLm2())) {
      GTEST_SKIP() << "model " << SmolLm2() << " not found (run scripts/fetch-models)";
    }
  }
};

TEST_F(CudaModelTest, SmolLm2LogitsAndGreedyTokensMatchTheCpu) {
  auto model = Model::Load(SmolLm2());
  const RunResult cpu = RunCpu(*model, kChatPrompt, 12);
  for (bool graph : {true, false}) {
    SCOPED_TRACE(graph ? "decode from a CUDA graph" : "decode launched kernel by kernel");
    const RunResult gpu = RunGpu(*model, kChatPrompt, 12, 99, graph);
    EXPECT_LT(LogitsNmse(gpu.prompt_logits, cpu.prompt_logits), 2e-3);
    EXPECT_EQ(gpu.greedy, cpu.greedy);
  }
}

TEST_F(CudaModelTest, PartialOffloadMatchesTheCpu) {
  auto model = Model::Load(SmolLm2());
  const RunResult cpu = RunCpu(*model, kChatPrompt, 6);
  for (int ngl : {15, 30}) {  // half the layers; all layers but not the output
    SCOPED_TRACE(::testing::Message() << "-ngl " << ngl);
    const RunResult gpu = RunGpu(*model, kChatPrompt, 6, ngl);
    EXPECT_LT(LogitsNmse(gpu.prompt_logits, cpu.prompt_logits), 2e-3);
    EXPECT_EQ(gpu.greedy, cpu.greedy);
  }
}

TEST_F(CudaModelTest, ZeroGpuLayersIsExactlyTheCpuPass) {
  auto model = Model::Load(SmolLm2());
  const RunResult cpu = RunCpu(*model, kChatPrompt, 3);
  const RunResult gpu = RunGpu(*model, kChatPrompt, 3, 0);
  EXPECT_EQ(gpu.prompt_logits, cpu.prompt_logits);
  EXPECT_EQ(gpu.greedy, cpu.greedy);
}

// The vocabulary source for synthetic models: EMBER_CUDA_VOCAB (any GGUF with a tokenizer; the
// GPU machine's script carries a tiny one) or the SmolLM2 file.
std::string VocabSource() {
  const char* env = std::getenv("EMBER_CUDA_VOCAB");
  return env != nullptr && std::filesystem::exists(env) ? std::string(env) : SmolLm2();
}

TEST(CudaModelSynthetic, SyntheticModelsOfSeveralTypesMatchTheCpu) {
  EMBER_REQUIRE_GPU();
  if (!std::filesystem::exists(VocabSource())) {
    GTEST_SKIP() << "no vocabulary source (" << SmolLm2() << " or $EMBER_CUDA_VOCAB) found";
  }
#ifndef EMBER_HAVE_SYNTH
  GTEST_SKIP() << "model/synth.h is not in this tree: no synthetic models";
#else
  const std::string dir = ::testing::TempDir();
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0, GgmlType::F16}) {
    SCOPED_TRACE(std::string(GgmlTypeName(type)));
    SynthSpec spec;
    spec.vocab_from = VocabSource();
    spec.n_embd = 256;
    spec.n_layer = 2;
    spec.n_head = 4;
    spec.n_head_kv = 2;
    spec.n_ff = 768;
    spec.type = type;
    spec.embd_type = GgmlType::Q8_0;
    const std::string path = dir + "/ember_cuda_synth_" + std::string(GgmlTypeName(type)) + ".gguf";
    WriteSynthModel(spec, path);
    auto model = Model::Load(path);
    // 70 tokens: the prompt's 280 (token, head) blocks keep attention whole and size the split
    // scratch; each decode step's 4 blocks over 71+ keys then split it.
    std::vector<int32_t> prompt(70);
    const int64_t nv = model->config().n_vocab;
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919) % nv);
    const RunResult cpu = RunCpu(*model, prompt, 4);
    const RunResult gpu = RunGpu(*model, prompt, 4, 99);
    EXPECT_LT(LogitsNmse(gpu.prompt_logits, cpu.prompt_logits), 2e-3);
    std::filesystem::remove(path);
  }
#endif
}

}  // namespace
}  // namespace ember::cuda
