// `ember run` and `ember chat` on SmolLM2-135M-Instruct (the default model), run as a user runs
// them: llama.cpp's sampling, grammar and stop flags; a chat whose later turns reuse the cache
// and still answer exactly as a fresh render of the whole conversation; Ctrl-C in a terminal.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace ember::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class GenerationCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("EMBER_BIN");
    if (bin == nullptr || *bin == '\0') GTEST_SKIP() << "EMBER_BIN is not set (run through ctest)";
    bin_ = bin;
    const char* env = std::getenv("EMBER_MODELS");
    model_ = (env != nullptr && *env != '\0' ? std::string(env) : std::string(EMBER_SOURCE_DIR) + "/models") +
             "/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!fs::exists(model_)) GTEST_SKIP() << model_ << " is missing (run scripts/fetch-models)";
    dir_ = fs::temp_directory_path() / ("ember_gen_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // `ember COMMAND -m MODEL ARGS`, stdin from `input`.
  RunResult Ember(const std::string& command, const std::string& args, const std::string& input = "") {
    const fs::path in = dir_ / "stdin", out = dir_ / "stdout", err = dir_ / "stderr";
    std::ofstream(in, std::ios::binary) << input;
    const std::string cmd = Quote(bin_) + " " + command + " -m " + Quote(model_) + (command == "template" ? " " : " -c 1024 ") + args + " <" +
                            Quote(in.string()) + " >" + Quote(out.string()) + " 2>" + Quote(err.string());
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  nlohmann::json RunJson(const std::string& args) {
    const RunResult r = Ember("run", args + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }

  std::string bin_, model_;
  fs::path dir_;
};

constexpr const char* kSystem = "--system 'You are a helpful assistant that answers questions concisely.' ";

TEST_F(GenerationCli, RunAnswersTheCapitalOfFranceGreedily) {
  const RunResult r = Ember("run", std::string("--temp 0 ") + kSystem + "-p 'What is the capital of France?'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Paris"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("tokens per second"), std::string::npos) << r.err;
}

TEST_F(GenerationCli, SpecialTokensInTheUsersTextStayText) {
  // The template's own <|im_start|>/<|im_end|> are special tokens (ids 1 and 2); the user's are not.
  const nlohmann::json plain = RunJson("--temp 0 -n 1 -p 'Say hi'");
  const nlohmann::json typed = RunJson("--temp 0 -n 1 -p 'Say <|im_end|> hi'");
  ASSERT_TRUE(plain.is_object() && typed.is_object());
  auto count = [](const nlohmann::json& ids, int id) { return std::count(ids.begin(), ids.end(), id); };
  EXPECT_EQ(count(typed["prompt_tokens"], 2), count(plain["prompt_tokens"], 2));
  EXPECT_EQ(count(typed["prompt_tokens"], 1), count(plain["prompt_tokens"], 1));
  EXPECT_GT(typed["prompt_tokens"].size(), plain["prompt_tokens"].size() + 3);
}

TEST_F(GenerationCli, AFixedSeedRepeatsTheSameTextAtAnyThreadCount) {
  const std::string args = "--temp 1.0 -n 24 -p 'Write a short poem about the sea.' ";
  const nlohmann::json a = RunJson(args + "--seed 1234 -t 1");
  const nlohmann::json b = RunJson(args + "--seed 1234 -t 2");
  const nlohmann::json c = RunJson(args + "--seed 99 -t 2");
  ASSERT_TRUE(a.is_object() && b.is_object() && c.is_object());
  EXPECT_EQ(a["generated_tokens"], b["generated_tokens"]);
  EXPECT_NE(a["generated_tokens"], c["generated_tokens"]);
  // llama.cpp's -tb: two threads for the prompt, one for decoding; the same tokens.
  const nlohmann::json d = RunJson(args + "--seed 1234 -t 1 -tb 2");
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(a["generated_tokens"], d["generated_tokens"]);
}

TEST_F(GenerationCli, SamplerFlagsChangeTheChainAsLlamaCppDoes) {
  // top-k 1 is greedy whatever the temperature; an unknown sampler name is an error.
  const nlohmann::json greedy = RunJson("--temp 0 -n 16 -p 'Name a color.'");
  const nlohmann::json topk1 = RunJson("--temp 1.5 --top-k 1 --seed 7 -n 16 -p 'Name a color.'");
  EXPECT_EQ(greedy["generated_tokens"], topk1["generated_tokens"]);
  const RunResult bad = Ember("run", "--samplers 'top_k;nonsense' -p hi");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("nonsense"), std::string::npos) << bad.err;
}

TEST_F(GenerationCli, AReversePromptStopsGenerationAndIsNotPrinted) {
  const std::string ask = std::string("--temp 0 ") + kSystem + "-p 'What is the capital of France?' ";
  const nlohmann::json free = RunJson(ask);
  const std::string text = free["text"];
  const size_t at = text.find("Paris");
  ASSERT_NE(at, std::string::npos) << text;
  // "Par" + "is" likely spans tokens; the stop string must match across the boundary.
  const nlohmann::json stopped = RunJson(ask + "-r 'aris'");
  EXPECT_EQ(stopped["stop"], "stop_string");
  EXPECT_EQ(stopped["stop_string"], "aris");
  EXPECT_EQ(stopped["text"], text.substr(0, at + 1));
}

TEST_F(GenerationCli, AJsonSchemaGivesValidJsonWithTheRequiredFields) {
  const std::string schema =
      R"({"type":"object","properties":{"city":{"type":"string","maxLength":20},"country":{"type":"string","maxLength":20},)"
      R"("population":{"type":"integer"},"kind":{"enum":["capital","town"]}},"required":["city","country","population","kind"]})";
  const nlohmann::json r = RunJson("--temp 0.7 --seed 3 -n 120 -p 'Describe Paris as JSON.' --json-schema " + Quote(schema));
  ASSERT_TRUE(r.is_object());
  const nlohmann::json doc = nlohmann::json::parse(std::string(r["text"]), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r["text"];
  for (const char* key : {"city", "country", "population", "kind"}) EXPECT_TRUE(doc.contains(key)) << doc.dump();
  EXPECT_TRUE(doc["population"].is_number_integer());
  EXPECT_TRUE(doc["kind"] == "capital" || doc["kind"] == "town") << doc.dump();
  EXPECT_EQ(r["stop"], "eog");
}

TEST_F(GenerationCli, AGrammarConstrainsTheAnswerAndJsonObjectMeansAnyObject) {
  const nlohmann::json yn = RunJson(R"(--temp 0 -p 'Is the sky blue?' --grammar 'root ::= ("yes" | "no") "."')");
  ASSERT_TRUE(yn.is_object());
  EXPECT_TRUE(yn["text"] == "yes." || yn["text"] == "no.") << yn["text"];
  const nlohmann::json obj = RunJson(R"(--temp 0 -n 120 -p 'Give a JSON object with one key "name" for a cat.' --json-object)");
  ASSERT_TRUE(obj.is_object());
  const nlohmann::json doc = nlohmann::json::parse(std::string(obj["text"]), nullptr, false);
  EXPECT_TRUE(!doc.is_discarded() && doc.is_object()) << obj["text"];
}

TEST_F(GenerationCli, BadGrammarFlagsAreClearErrors) {
  const RunResult syntax = Ember("run", R"(-p hi --grammar 'root ::= "a' )");
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_NE(syntax.err.find("line 1, column"), std::string::npos) << syntax.err;
  const RunResult both = Ember("run", R"(-p hi --grammar 'root ::= "a"' --json-object)");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("only one of"), std::string::npos) << both.err;
  const RunResult missing = Ember("run", "-p hi --grammar-file /nonexistent/g.gbnf");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/g.gbnf"), std::string::npos) << missing.err;
}

TEST_F(GenerationCli, ChatReusesTheCacheAndAnswersAsAFreshRenderOfTheConversation) {
  const std::string q1 = "What is the capital of France?", q2 = "And what is the capital of Italy?";
  const RunResult chat = Ember("chat", std::string("--temp 0 -n 40 --verbose ") + kSystem, q1 + "\n" + q2 + "\n");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  // One answer line per message (answers of this model are one line).
  std::vector<std::string> answers;
  std::stringstream ss(chat.out);
  for (std::string line; std::getline(ss, line);) answers.push_back(line);
  ASSERT_EQ(answers.size(), 2u) << chat.out;
  EXPECT_NE(answers[0].find("Paris"), std::string::npos) << answers[0];
  EXPECT_NE(answers[1].find("Rome"), std::string::npos) << answers[1];
  // The second turn evaluated only what the first had not: its prompt minus the cached prefix.
  const size_t second = chat.err.find("[turn:", chat.err.find("[turn:") + 1);
  ASSERT_NE(second, std::string::npos) << chat.err;
  long total = 0, reused = 0;
  ASSERT_EQ(std::sscanf(chat.err.c_str() + second, "[turn: %ld prompt tokens, %ld reused", &total, &reused), 2);
  EXPECT_GT(reused, 20);
  EXPECT_LT(reused, total);

  // The same conversation rendered from scratch (ember template) and run as raw text.
  const nlohmann::json conv = {
      {"messages",
       {{{"role", "system"}, {"content", "You are a helpful assistant that answers questions concisely."}},
        {{"role", "user"}, {"content", q1}},
        {{"role", "assistant"}, {"content", answers[0]}},
        {{"role", "user"}, {"content", q2}}}}};
  const fs::path conv_file = dir_ / "conv.json";
  std::ofstream(conv_file) << conv.dump();
  const RunResult rendered = Ember("template", "--messages " + Quote(conv_file.string()));
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  const fs::path prompt_file = dir_ / "prompt.txt";
  std::ofstream(prompt_file, std::ios::binary) << rendered.out;
  const nlohmann::json fresh = RunJson("--temp 0 -n 40 --raw -f " + Quote(prompt_file.string()));
  EXPECT_EQ(fresh["text"], answers[1]);
}

TEST_F(GenerationCli, ChatResetForgetsAndExitEnds) {
  const RunResult chat = Ember("chat", "--temp 0 -n 8 --verbose", "Hello!\n/reset\nHello!\n/exit\nnot read\n");
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  std::vector<std::string> answers;
  std::stringstream ss(chat.out);
  for (std::string line; std::getline(ss, line);) answers.push_back(line);
  ASSERT_EQ(answers.size(), 2u) << chat.out;
  EXPECT_EQ(answers[0], answers[1]);  // the same first turn after /reset
  EXPECT_NE(chat.err.find("reused from the cache (of 0)"), std::string::npos) << chat.err;
}

TEST_F(GenerationCli, ChatNamesATemplateFileItCannotRead) {
  const RunResult r = Ember("chat", "--chat-template-file /nonexistent/t.jinja", "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/t.jinja"), std::string::npos) << r.err;
}

// Reads from the terminal's master side until `needle` appears after `from` (or the timeout).
bool WaitFor(int fd, std::string& seen, const std::string& needle, size_t from, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (seen.find(needle, from) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    seen.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Starts `ember chat ARGS...` on a new terminal; returns the child's pid and the master side.
pid_t StartChatInTerminal(const std::string& bin, const std::vector<std::string>& args, int* master) {
  const pid_t pid = forkpty(master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Sends /exit and waits for the chat to end; false if it did not within 20 s (then it is killed).
bool ExitChat(int master, pid_t pid, int* status) {
  if (write(master, "/exit\r", 6) != 6) return false;
  pid_t done = 0;
  for (int i = 0; i < 200 && done == 0; ++i) {
    std::string drain;
    WaitFor(master, drain, "\x01never\x01", 0, 100);  // returns at once once the child is gone
    done = waitpid(pid, status, WNOHANG);
    if (done == 0) usleep(100000);
  }
  close(master);
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return false;
  }
  return true;
}

TEST_F(GenerationCli, ATerminalChatAnswersASecondTurnThatReliesOnTheFirst) {
  int master = -1;
  const pid_t pid = StartChatInTerminal(
      bin_, {"chat", "-m", model_, "-c", "1024", "--temp", "0", "--system",
             "You are a helpful assistant that answers questions concisely."}, &master);
  ASSERT_GT(pid, 0);
  std::string seen;
  ASSERT_TRUE(WaitFor(master, seen, "> ", 0, 60000)) << seen;
  const std::string q1 = "What is the capital of France?\r", q2 = "And what about Italy?\r";
  ASSERT_EQ(write(master, q1.data(), q1.size()), static_cast<ssize_t>(q1.size()));
  ASSERT_TRUE(WaitFor(master, seen, "Paris", 0, 60000)) << seen;
  ASSERT_TRUE(WaitFor(master, seen, "> ", seen.find("Paris"), 60000)) << seen;
  const size_t second = seen.size();
  ASSERT_EQ(write(master, q2.data(), q2.size()), static_cast<ssize_t>(q2.size()));
  ASSERT_TRUE(WaitFor(master, seen, "Rome", second, 60000)) << seen;
  ASSERT_TRUE(WaitFor(master, seen, "> ", seen.find("Rome", second), 60000)) << seen;
  int status = 0;
  ASSERT_TRUE(ExitChat(master, pid, &status)) << seen;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(GenerationCli, CtrlCInATerminalStopsTheAnswerAndTheChatGoesOn) {
  int master = -1;
  // An answer that never ends by itself: only Ctrl-C stops it.
  const pid_t pid = StartChatInTerminal(bin_, {"chat", "-m", model_, "-c", "2048", "--ignore-eos", "--temp", "0"}, &master);
  ASSERT_GT(pid, 0);
  std::string seen;
  ASSERT_TRUE(WaitFor(master, seen, "> ", 0, 60000)) << seen;
  const std::string ask = "Tell me a long story about a dragon.\r";
  ASSERT_EQ(write(master, ask.data(), ask.size()), static_cast<ssize_t>(ask.size()));
  const size_t asked = seen.size();
  ASSERT_TRUE(WaitFor(master, seen, "\n", asked + ask.size(), 30000)) << seen;  // echo, then the answer
  const size_t answer_from = seen.size();
  // Let some of the answer arrive (the prompt is evaluated first), then interrupt it.
  for (int i = 0; i < 600 && seen.size() < answer_from + 40; ++i) WaitFor(master, seen, "\x01never\x01", 0, 100);
  ASSERT_GE(seen.size(), answer_from + 40) << "the answer did not stream: " << seen;
  ASSERT_EQ(write(master, "\x03", 1), 1);
  ASSERT_TRUE(WaitFor(master, seen, "(interrupted)", answer_from, 20000)) << seen;
  ASSERT_TRUE(WaitFor(master, seen, "> ", seen.find("(interrupted)", answer_from), 20000)) << seen;
  int status = 0;
  ASSERT_TRUE(ExitChat(master, pid, &status)) << "ember chat did not exit after /exit: " << seen;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace ember::test
