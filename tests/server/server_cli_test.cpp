// `ember serve` as users run it: the binary (EMBER_BIN) on SmolLM2-135M-Instruct, on a free port,
// spoken to over HTTP with cpp-httplib's client. A greedy answer must be `ember run`'s answer to
// the same messages, token for token; streaming must give the same text in pieces; bad requests
// get a 4xx with OpenAI's error object and leave the server answering.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ember::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ModelPath() {
  const char* env = std::getenv("EMBER_MODELS");
  return (env != nullptr && *env != '\0' ? std::string(env) : std::string(EMBER_SOURCE_DIR) + "/models") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// One `ember serve` process on a port the OS chose, stopped (SIGTERM) at the end.
class ServeProcess {
 public:
  ServeProcess(const std::string& bin, std::vector<std::string> args, const fs::path& log) : log_(log) {
    args.insert(args.begin(), {bin, "serve", "-m", ModelPath(), "-c", "1024", "--port", "0"});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    // The server prints "listening on http://HOST:PORT" once it accepts connections.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (pid_ > 0 && port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      const std::string text = ReadAll(log_);
      const size_t at = text.find("listening on http://127.0.0.1:");
      if (at != std::string::npos) {
        port_ = std::atoi(text.c_str() + at + std::string("listening on http://127.0.0.1:").size());
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServeProcess() { Stop(); }

  // SIGTERM; returns the exit status (0: stopped cleanly).
  int Stop() {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_status_;
  }

  int port() const { return port_; }
  std::string log() const { return ReadAll(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = -1;
};

class ServerCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest's EMBER_BIN, else the path RUNS_EMBER compiles in (ctest loses the environment of a
    // test with several labels).
    const char* bin = std::getenv("EMBER_BIN");
    if (bin == nullptr || *bin == '\0') bin = EMBER_BIN_PATH;
    if (!fs::exists(bin) || !fs::exists(ModelPath())) return;
    bin_ = bin;
    dir_ = fs::temp_directory_path() / ("ember_server_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    server_ = new ServeProcess(bin_, {"-t", "2"}, dir_ / "serve.log");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (bin_.empty()) GTEST_SKIP() << "needs the ember binary and " << ModelPath() << " (scripts/fetch-models)";
    ASSERT_GT(server_->port(), 0) << "the server did not start:\n" << server_->log();
  }

  static httplib::Client Client(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(300, 0);
    return c;
  }

  static httplib::Result Post(const std::string& path, const std::string& body) {
    return Client(server_->port()).Post(path.c_str(), body, "application/json");
  }

  // `ember run --json` on the same model and context, for the reference answer.
  static json RunJson(const std::string& args) {
    const fs::path out = dir_ / "run.json", err = dir_ / "run.err";
    const std::string cmd = "'" + bin_ + "' run -m '" + ModelPath() + "' -c 1024 -t 2 --json " + args + " >'" +
                            out.string() + "' 2>'" + err.string() + "'";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << cmd << "\n" << ReadAll(err);
      return json();
    }
    return json::parse(ReadAll(out));
  }

  // The data of each server-sent event ("data: ..." lines).
  static std::vector<std::string> Events(const std::string& body) {
    std::vector<std::string> events;
    size_t at = 0;
    while ((at = body.find("data: ", at)) != std::string::npos) {
      const size_t end = body.find("\n\n", at);
      events.push_back(body.substr(at + 6, end - at - 6));
      at = end == std::string::npos ? body.size() : end + 2;
    }
    return events;
  }

  static inline std::string bin_;
  static inline fs::path dir_;
  static inline ServeProcess* server_ = nullptr;
};

const char* kSystem = "You are a helpful assistant that answers questions concisely.";
const char* kQuestion = "What is the capital of France?";

json ChatBody(bool stream) {
  return {{"messages", {{{"role", "system"}, {"content", kSystem}}, {{"role", "user"}, {"content", kQuestion}}}},
          {"temperature", 0},
          {"max_tokens", 24},
          {"stream", stream}};
}

TEST_F(ServerCli, HealthAndModelsAnswer) {
  auto health = Client(server_->port()).Get("/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto models = Client(server_->port()).Get("/v1/models");
  ASSERT_TRUE(models);
  ASSERT_EQ(models->status, 200);
  const json m = json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "SmolLM2-135M-Instruct.Q4_1.gguf");
  EXPECT_EQ(m["data"][0]["meta"]["n_ctx"], 1024);
}

TEST_F(ServerCli, GreedyChatAnswerIsEmberRunsAnswerTokenForToken) {
  auto res = Post("/v1/chat/completions", ChatBody(false).dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  const std::string answer = j["choices"][0]["message"]["content"];
  EXPECT_NE(answer.find("Paris"), std::string::npos) << answer;

  const json run = RunJson(std::string("--temp 0 -n 24 --system '") + kSystem + "' -p '" + kQuestion + "'");
  ASSERT_TRUE(run.is_object());
  EXPECT_EQ(answer, run["text"].get<std::string>());
  EXPECT_EQ(j["usage"]["prompt_tokens"], run["prompt_tokens"].size());
  EXPECT_EQ(j["usage"]["completion_tokens"], run["generated_tokens"].size());
  EXPECT_EQ(j["choices"][0]["finish_reason"], run["stop"] == "length" ? "length" : "stop");
}

TEST_F(ServerCli, StreamedPiecesJoinToTheSameAnswer) {
  auto whole = Post("/v1/chat/completions", ChatBody(false).dump());
  json body = ChatBody(true);
  body["stream_options"] = {{"include_usage", true}};
  auto streamed = Post("/v1/chat/completions", body.dump());
  ASSERT_TRUE(whole && streamed);
  ASSERT_EQ(streamed->status, 200) << streamed->body;
  EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<std::string> events = Events(streamed->body);
  ASSERT_GE(events.size(), 4u) << streamed->body;
  EXPECT_EQ(events.back(), "[DONE]");
  const json first = json::parse(events.front());
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  json finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const json e = json::parse(events[i]);
    const json& choice = e["choices"][0];
    if (choice["delta"].contains("content")) text += choice["delta"]["content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  const json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  const json w = json::parse(whole->body);
  EXPECT_EQ(text, w["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(finish, w["choices"][0]["finish_reason"]);
  EXPECT_EQ(usage["usage"], w["usage"]);
}

TEST_F(ServerCli, CompletionsContinueRawTextAsEmberRunRaw) {
  const json body = {{"prompt", "The capital of France is"}, {"temperature", 0}, {"max_tokens", 12}};
  auto res = Post("/v1/completions", body.dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["object"], "text_completion");
  const json run = RunJson("--raw --temp 0 -n 12 -p 'The capital of France is'");
  ASSERT_TRUE(run.is_object());
  EXPECT_EQ(j["choices"][0]["text"].get<std::string>(), run["text"].get<std::string>());

  json stream_body = body;
  stream_body["stream"] = true;
  auto streamed = Post("/v1/completions", stream_body.dump());
  ASSERT_TRUE(streamed);
  std::string text;
  for (const std::string& e : Events(streamed->body)) {
    if (e != "[DONE]") text += json::parse(e)["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, j["choices"][0]["text"].get<std::string>());
}

TEST_F(ServerCli, ARepeatedPromptIsServedFromTheCache) {
  const json body = {{"prompt", "Once upon a time, in a small village,"}, {"temperature", 0}, {"max_tokens", 8}};
  auto a = Post("/v1/completions", body.dump());
  auto b = Post("/v1/completions", body.dump());
  ASSERT_TRUE(a && b);
  const json ja = json::parse(a->body), jb = json::parse(b->body);
  EXPECT_EQ(ja["choices"][0]["text"], jb["choices"][0]["text"]);
  // All but the last prompt token come from the cache (one is evaluated again for its logits).
  EXPECT_EQ(jb["timings"]["cache_n"].get<int64_t>(), jb["usage"]["prompt_tokens"].get<int64_t>() - 1);
  EXPECT_EQ(jb["timings"]["prompt_n"], 1);
}

TEST_F(ServerCli, JsonSchemaResponseFormatGivesMatchingJson) {
  json body = ChatBody(false);
  body["max_tokens"] = 64;
  body["response_format"] = {
      {"type", "json_schema"},
      {"json_schema",
       {{"name", "city"},
        {"schema",
         {{"type", "object"},
          {"properties", {{"city", {{"type", "string"}, {"maxLength", 20}}}}},
          {"required", {"city"}}}}}}};
  auto res = Post("/v1/chat/completions", body.dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  ASSERT_EQ(j["choices"][0]["finish_reason"], "stop") << res->body;
  const json answer = json::parse(j["choices"][0]["message"]["content"].get<std::string>());
  ASSERT_TRUE(answer.is_object()) << answer;
  EXPECT_TRUE(answer["city"].is_string()) << answer;
}

TEST_F(ServerCli, BadRequestsGet4xxWithOpenAiErrorsAndTheServerKeepsAnswering) {
  struct Case {
    std::string path, body;
    int status;
    std::string says;
  };
  const std::string too_long = [] {
    std::string s;
    for (int i = 0; i < 1500; ++i) s += "hello world ";
    return json({{"prompt", s}}).dump();
  }();
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{\"messages\": [", 400, "not valid JSON"},
      {"/v1/chat/completions", "{}", 400, "messages"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", 400, "temperature"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"n":3})", 400, "'n'"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"grammar":"root ::= nothing"})", 400, ""},
      {"/v1/completions", too_long, 400, "context"},
      {"/v1/embeddings", R"({"input":"x"})", 404, "/v1/embeddings"},
  };
  for (const Case& c : cases) {
    auto res = Post(c.path, c.body);
    ASSERT_TRUE(res) << c.path;
    EXPECT_EQ(res->status, c.status) << c.body.substr(0, 80) << " -> " << res->body;
    const json e = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << res->body;
    EXPECT_EQ(e["error"]["code"], c.status);
    EXPECT_NE(e["error"]["message"].get<std::string>().find(c.says), std::string::npos) << res->body;
  }
  auto ok = Post("/v1/completions", R"({"prompt":"Hello","max_tokens":2,"temperature":0})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(ServerCli, AClientThatLeavesStopsItsStreamAndTheServerGoesOn) {
  json body = ChatBody(true);
  body["messages"] = {{{"role", "user"}, {"content", "Write a long story about a dragon."}}};
  body["max_tokens"] = 400;
  body["ignore_eos"] = true;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  int chunks = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };
  httplib::Client c = Client(server_->port());
  auto gone = c.send(req);
  EXPECT_FALSE(gone);  // the client cancelled
  // The generation notices at its next token; the log says so, and the next request is answered.
  bool noticed = false;
  for (int i = 0; i < 200 && !noticed; ++i) {
    noticed = server_->log().find("client gone") != std::string::npos;
    if (!noticed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(noticed) << server_->log();
  auto health = Client(server_->port()).Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerCli, ATakenPortIsAClearErrorNotASecondListener) {
  const fs::path err = dir_ / "taken.err";
  const std::string cmd = "timeout 120 '" + bin_ + "' serve -m '" + ModelPath() + "' -c 256 -t 1 --port " +
                          std::to_string(server_->port()) + " >/dev/null 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << ReadAll(err);
  EXPECT_NE(ReadAll(err).find("cannot listen on 127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
      << ReadAll(err);
}

TEST_F(ServerCli, AChatTemplateFileThatDoesNotCompileIsAnErrorAtStart) {
  // The template is compiled once at start-up (and copied per request), so a broken one named by
  // a flag ends ember serve at once instead of failing every chat request.
  const fs::path tmpl = dir_ / "broken.jinja";
  {
    std::ofstream out(tmpl);
    out << "{% for m in messages %}{{ m.content }}";  // no endfor
  }
  const fs::path err = dir_ / "broken.err";
  const std::string cmd = "timeout 120 '" + bin_ + "' serve -m '" + ModelPath() + "' -c 256 -t 1 --port 0 " +
                          "--chat-template-file '" + tmpl.string() + "' >/dev/null 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << ReadAll(err);
  EXPECT_NE(ReadAll(err).find("endfor"), std::string::npos) << ReadAll(err);
}

TEST_F(ServerCli, AnApiKeyGuardsTheApiButNotHealth) {
  ServeProcess keyed(bin_, {"-t", "2", "--api-key", "sekrit", "-a", "smol"}, dir_ / "keyed.log");
  ASSERT_GT(keyed.port(), 0) << keyed.log();
  httplib::Client c = Client(keyed.port());
  auto denied = c.Get("/v1/models");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(json::parse(denied->body)["error"]["type"], "authentication_error");
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto allowed = c.Get("/v1/models", {{"Authorization", "Bearer sekrit"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(json::parse(allowed->body)["data"][0]["id"], "smol");
  EXPECT_EQ(keyed.Stop(), 0) << "SIGTERM should stop the server cleanly:\n" << keyed.log();
}

}  // namespace
}  // namespace ember::test
