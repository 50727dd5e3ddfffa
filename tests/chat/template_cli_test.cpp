// `ember template` as users run it (the binary from EMBER_BIN): exact bytes on stdout, the flags
// (--chat-template, --chat-template-file, --no-generation-prompt, --bos-token, --eos-token, --date,
// -m), and one clear line on stderr with exit status 1 for every kind of bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "chat_test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

class TemplateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("EMBER_BIN");
    bin_ = bin != nullptr && *bin != '\0' ? bin : EMBER_BIN_PATH;
    dir_ = fs::temp_directory_path() / ("ember_template_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Put(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  RunResult Run(const std::string& args) {
    fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    std::string cmd = "'" + bin_ + "' template " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFileBytes(out.string());
    r.err = ReadFileBytes(err.string());
    return r;
  }

  std::string bin_;
  fs::path dir_;
};

constexpr const char* kConversation =
    R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ✓"}]})";

TEST_F(TemplateCli, PrintsBuiltinTemplateBytesExactly) {
  std::string msgs = Put("m.json", kConversation);
  RunResult r = Run("--chat-template chatml --messages " + msgs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi ✓<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(TemplateCli, NoGenerationPromptFlag) {
  std::string msgs = Put("m.json", kConversation);
  RunResult r = Run("--chat-template chatml --no-generation-prompt --messages " + msgs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi ✓<|im_end|>\n");
}

TEST_F(TemplateCli, TemplateFileTokensDateAndExtraVariables) {
  std::string t = Put("t.jinja", "{{ bos_token }}{{ strftime_now('%d %b %Y') }}|{{ custom }}|{{ tools|tojson }}{{ eos_token }}\n");
  std::string msgs = Put("m.json", R"({"messages": [], "custom": "x", "tools": [{"b": 1, "a": 2}]})");
  RunResult r = Run("--chat-template-file " + t + " --bos-token '<B>' --eos-token '<E>' --date 2024-07-26 --messages " + msgs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<B>26 Jul 2024|x|[{\"b\": 1, \"a\": 2}]<E>");
}

TEST_F(TemplateCli, BareListIsTakenAsMessages) {
  std::string msgs = Put("m.json", R"([{"role": "user", "content": "Yo"}])");
  RunResult r = Run("--chat-template chatml --messages " + msgs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>user\nYo<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(TemplateCli, BadInputsFailWithOneClearLine) {
  std::string msgs = Put("m.json", kConversation);
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"--chat-template nope --messages " + msgs, "unknown chat template name 'nope'"},
      {"--chat-template-file " + Put("bad.jinja", "a\n{% if %}") + " --messages " + msgs, "line 2, column 7"},
      {"--chat-template gemma --messages " + msgs, "System role not supported"},
      {"--chat-template chatml --messages " + Put("bad.json", "{not json"), "invalid JSON"},
      {"--chat-template chatml --messages " + Put("nomsg.json", "{}"), "needs a \"messages\" list"},
      {"--chat-template chatml --messages /nonexistent.json", "cannot read messages file"},
      {"--chat-template chatml --date 2024-02-30 --messages " + msgs, "invalid date"},
      {"--messages " + msgs, "no chat template"},
      {"-m /nonexistent.gguf --messages " + msgs, "nonexistent.gguf"},
  };
  for (const auto& c : cases) {
    RunResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

TEST_F(TemplateCli, UsesTheModelsTemplateAndTokens) {
  const char* env = std::getenv("EMBER_MODELS");
  std::string dir = env ? env : std::string(EMBER_SOURCE_DIR) + "/models";
  std::string model = dir + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(model)) GTEST_SKIP() << "model not found: " << model << " (scripts/fetch-models)";
  std::string msgs = Put("m.json", R"({"messages": [{"role": "user", "content": "What is the capital of France?"}]})");
  RunResult r = Run("-m " + model + " --messages " + msgs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
}

}  // namespace
}  // namespace ember::test
