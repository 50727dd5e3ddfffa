// `ember tokenize` and `ember convert-tokenizer` as users run them (the binary from $EMBER_BIN).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ember {
namespace {

struct RunResult {
  int status;
  std::string out;
};

RunResult RunEmber(const std::string& args, const std::string& stdin_bytes = "") {
  const char* env = std::getenv("EMBER_BIN");
  const char* bin = env != nullptr && *env != '\0' ? env : EMBER_BIN_PATH;
  const auto dir = std::filesystem::temp_directory_path();
  // One stdin file per process and call: ctest runs these tests in parallel processes.
  static int calls = 0;
  const std::string in =
      (dir / ("ember_tok_cli_in_" + std::to_string(::getpid()) + "_" + std::to_string(++calls))).string();
  std::ofstream(in, std::ios::binary) << stdin_bytes;
  const std::string cmd = std::string(bin) + " " + args + " < " + in + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  std::filesystem::remove(in);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class TokenizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto m = test::FindModel("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!m) GTEST_SKIP() << "SmolLM2 model not found (scripts/fetch-models)";
    model_ = *m;
  }
  std::string model_;
};

TEST_F(TokenizeCli, IdsPrintsOneJsonArrayLikeLlamaCpp) {
  // llama.cpp (llama-cpp-python 0.3.36): tokenize(b"<|im_start|>user\nHi", add_bos, special=True)
  const RunResult r = RunEmber("tokenize -m " + model_ + " --ids --stdin", "<|im_start|>user\nHi");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "[1, 4093, 198, 26843]\n");
  const RunResult plain = RunEmber("tokenize -m " + model_ + " --ids --no-parse-special --stdin", "<|im_start|>");
  ASSERT_EQ(plain.status, 0);
  EXPECT_NE(plain.out, "[1]\n");
  EXPECT_EQ(nlohmann::json::parse(plain.out).size(), 7u) << plain.out;
}

TEST_F(TokenizeCli, StdinIsReadVerbatimIncludingTrailingNewlines) {
  const RunResult r = RunEmber("tokenize -m " + model_ + " --ids --stdin", "a\n\n");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "[81, 1116]\n");  // "a", "\n\n"
}

TEST_F(TokenizeCli, PrintsOneEscapedLinePerTokenAndCount) {
  const RunResult r = RunEmber("tokenize -m " + model_ + " --show-count --stdin", "Hi\n");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, " 26843 -> 'Hi'\n   198 -> '\\n'\nTotal number of tokens: 2\n");
}

TEST_F(TokenizeCli, FailsWithOneLineErrorOnBadInput) {
  RunResult r = RunEmber("tokenize -m /nonexistent/model.gguf -p hi");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("ember: error:"), std::string::npos) << r.out;
  r = RunEmber("tokenize -m " + model_);
  EXPECT_NE(r.status, 0);
  r = RunEmber("convert-tokenizer " + model_ + " -o /tmp/ember_tok_cli_bad.gguf");  // a GGUF, not a .model
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("not a SentencePiece model"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ember
