// `ember bench` through the binary (EMBER_BIN, else the build's): the JSON rows it prints for a
// tiny pp/tg run on SmolLM2 (tests, thread counts, rates, weight bytes per token), and one-line
// errors for bad arguments. Speeds themselves are never asserted (that is bench/'s job).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string ModelPath() {
  const char* env = std::getenv("EMBER_MODELS");
  const fs::path dir = env != nullptr && *env != '\0' ? fs::path(env) : fs::path(EMBER_SOURCE_DIR) / "models";
  return (dir / "SmolLM2-135M-Instruct.Q4_1.gguf").string();
}

// `ember COMMAND ARGS`, stdout and stderr captured.
RunResult Ember(const std::string& command_and_args) {
  const char* bin = std::getenv("EMBER_BIN");
  const std::string exe = bin != nullptr && *bin != '\0' ? bin : EMBER_BIN_PATH;
  const fs::path base = fs::temp_directory_path() / ("ember_bench_" + std::to_string(::getpid()));
  const fs::path out = base.string() + ".out", err = base.string() + ".err";
  const std::string cmd =
      "'" + exe + "' " + command_and_args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

RunResult Bench(const std::string& args) { return Ember("bench " + args); }

// `ember synth --like NAME`: a published model's shape with random weights, which ember (and,
// checked by hand, llama-bench) then runs; an unknown name lists the known ones.
TEST(BenchCli, SynthLikeWritesARunnableModelOfThatShape) {
  const std::string model = ModelPath();
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent (scripts/fetch-models)";
  const fs::path file = fs::temp_directory_path() / ("ember_like_" + std::to_string(::getpid()) + ".gguf");
  const RunResult w = Ember("synth --like smollm2-135m --type q4_0 --vocab-from '" + model + "' -o '" +
                            file.string() + "'");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  const RunResult r = Bench("-m '" + file.string() + "' -p 8 -n 2 -t 1 -r 1 -o json --device cpu");
  fs::remove(file);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u);
  // 30 layers of 576 wide (9 heads, 3 KV heads, 1536 FFN), 49,152-token vocabulary, untied output.
  const uint64_t layer = 2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536 + 2 * 576;
  EXPECT_EQ(rows[0]["model_n_params"].get<uint64_t>(), 2ull * 576 * 49152 + 576 + 30 * layer);
  EXPECT_GT(rows[1]["avg_ts"].get<double>(), 0.0);
  const RunResult bad = Ember("synth --like llama9-1t -o '" + file.string() + "'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("mistral-7b"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(file));
}

TEST(BenchCli, JsonHasOneRowPerTestAndThreadCountWithWeightBytesForGeneration) {
  const std::string model = ModelPath();
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent (scripts/fetch-models)";
  const RunResult r = Bench("-m '" + model + "' -p 8 -n 2 -t 1,2 -r 2 -o json --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u);
  const char* tests[] = {"pp8", "tg2", "pp8", "tg2"};
  const int threads[] = {1, 1, 2, 2};
  for (size_t i = 0; i < 4; ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["test"], tests[i]);
    EXPECT_EQ(row["n_threads"], threads[i]);
    EXPECT_EQ(row["samples_ts"].size(), 2u);
    EXPECT_GT(row["avg_ts"].get<double>(), 0.0);
    EXPECT_EQ(row["backend"], "CPU");
    // SmolLM2's embedding is also its output matrix, so a token reads every tensor once.
    if (i % 2 == 1) EXPECT_EQ(row["bytes_per_token"].get<double>(), row["model_size"].get<double>());
    else EXPECT_EQ(row["bytes_per_token"].get<double>(), 0.0);
  }
}

// -d D (llama-bench's --n-depth): each test again after D tokens already in the cache, named as
// llama-bench names it; a depth that leaves no room in the context is a one-line error.
TEST(BenchCli, DepthRunsEachTestAfterThatManyCachedTokens) {
  const std::string model = ModelPath();
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent (scripts/fetch-models)";
  const RunResult r = Bench("-m '" + model + "' -p 8 -n 2 -d 0,40 -t 1 -r 1 -o json --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u);
  const char* tests[] = {"pp8", "tg2", "pp8 @ d40", "tg2 @ d40"};
  const int depths[] = {0, 0, 40, 40};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rows[i]["test"], tests[i]);
    EXPECT_EQ(rows[i]["n_depth"], depths[i]);
    EXPECT_GT(rows[i]["avg_ts"].get<double>(), 0.0);
  }
  const RunResult full = Bench("-m '" + model + "' -p 16 -n 0 -d 8190 -t 1 -r 1 --device cpu");
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_EQ(full.err, "ember: error: 16 tokens after a depth of 8190 do not fit the model's context of 8192\n");
  const RunResult neg = Bench("-m '" + model + "' -p 8 -n 0 -d -1 -r 1 --device cpu");
  EXPECT_EQ(neg.exit_code, 1);
}

TEST(BenchCli, RejectsZeroRepetitionsWithOneLineError) {
  const std::string model = ModelPath();
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent (scripts/fetch-models)";
  const RunResult r = Bench("-m '" + model + "' -r 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "ember: error: -r must be at least 1 (got 0)\n");
  EXPECT_EQ(r.out, "");
}

TEST(BenchCli, MissingModelIsOneLineError) {
  const RunResult r = Bench("-m /nonexistent/model.gguf -p 8 -n 0 -r 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("ember: error: /nonexistent/model.gguf", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

}  // namespace
