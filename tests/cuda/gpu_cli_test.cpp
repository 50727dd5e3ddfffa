// The GPU commands of the `ember` tool, checked on any machine: the tool starts with them
// registered (a bad flag name once made CLI11 abort every command), llama.cpp's `-ngl` spelling
// is accepted, `ember gpu-bench` without a device is one clear error line, and `ember fast-synth`
// writes a model of the asked shape and types that ember loads.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cuda/device.h"
#include "gguf/gguf_file.h"
#include "model/model.h"

namespace ember::cuda {
namespace {

struct Result {
  int rc;
  std::string out;  // stdout and stderr
};

Result RunEmber(const std::string& args) {
  const char* bin = std::getenv("EMBER_BIN");
  EXPECT_NE(bin, nullptr) << "EMBER_BIN is not set (ctest sets it)";
  if (bin == nullptr) return {-1, ""};
  const std::string cmd = std::string(bin) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string SmolLm2() {
  const char* env = std::getenv("EMBER_MODELS");
  return (env != nullptr ? std::string(env) : std::string(EMBER_SOURCE_DIR) + "/models") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

TEST(GpuCli, EmberStartsWithTheGpuCommandsRegistered) {
  const Result r = RunEmber("--help");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("gpu-bench"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fast-synth"), std::string::npos) << r.out;
}

TEST(GpuCli, GpuBenchWithoutADeviceIsOneErrorLineAndAcceptsLlamaCppNgl) {
  if (DeviceCount() > 0) GTEST_SKIP() << "a CUDA device is present: this checks the error without one";
  if (!std::filesystem::exists(SmolLm2())) GTEST_SKIP() << SmolLm2() << " not found";
  const Result r = RunEmber("gpu-bench -ngl 99 -p 8 -n 2 -m " + SmolLm2());
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("ember: error: no CUDA device is available"), std::string::npos) << r.out;
}

TEST(GpuCli, FastSynthWritesALoadableModelOfTheAskedShapeAndTypes) {
  if (!std::filesystem::exists(SmolLm2())) GTEST_SKIP() << SmolLm2() << " not found";
  const std::string path = ::testing::TempDir() + "/ember_fast_synth_test.gguf";
  const Result r = RunEmber("fast-synth -o " + path + " --vocab-from " + SmolLm2() +
                       " --shape custom --embd 256 --layers 3 --heads 4 --kv-heads 2 --ff 768"
                       " --type q4_k_m");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto model = Model::Load(path);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.n_layer, 3);
  EXPECT_EQ(c.n_embd, 256);
  EXPECT_EQ(c.n_head_kv, 2);
  EXPECT_EQ(c.n_ff, 768);
  EXPECT_EQ(c.n_vocab, 49152);
  // Q4_K_M: Q4_K matrices, Q6_K for attn_v / ffn_down of the "more bits" layers and the output.
  EXPECT_EQ(model->weights().layers[1].wq.type, GgmlType::Q4_K);
  // llama.cpp's use_more_bits(i, n): i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2; n = 3: layer 2.
  EXPECT_EQ(model->weights().layers[0].ffn_down.type, GgmlType::Q4_K);
  EXPECT_EQ(model->weights().layers[2].ffn_down.type, GgmlType::Q6_K);
  EXPECT_EQ(model->weights().layers[2].wv.type, GgmlType::Q6_K);
  EXPECT_EQ(model->weights().output.type, GgmlType::Q6_K);
  std::filesystem::remove(path);
}

TEST(GpuCli, FastSynthRefusesAnUnknownShapeWithAnError) {
  const Result r = RunEmber("fast-synth -o /tmp/never.gguf --vocab-from x.gguf --shape llama9-1t");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("ember: error:"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ember::cuda
