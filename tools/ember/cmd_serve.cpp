// `ember serve`: an OpenAI-compatible HTTP server over one model, as llama-server: --host,
// --port (default 127.0.0.1:8080), --api-key, -a/--alias, and the model, sampling (the default
// for every request; a request's own fields win) and chat-template flags of `ember run`.
// Endpoints: POST /v1/chat/completions, POST /v1/completions (both streaming with "stream":
// true), GET /v1/models, GET /health. Ctrl-C or SIGTERM stops it.
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "generation_setup.h"

#ifdef EMBER_HAS_SERVER
#include "server/server.h"
#endif

namespace ember::cli {
namespace {

struct ServeOptions {
  ModelFlags load;
  int64_t n_predict = -1;
  SamplerParams sampling;
  std::vector<std::string> stops;
  std::string chat_template;
  std::string chat_template_file;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::string alias;
};

#ifdef EMBER_HAS_SERVER
// SIGINT and SIGTERM go to one thread that waits for them, blocked everywhere else before any
// other thread starts (the CPU backend's workers too, which would otherwise take the default
// action and kill the process mid-response). Before the server runs, a signal ends the process
// (e.g. Ctrl-C while a model loads); once it runs, it stops the server, which finishes cleanly.
class StopOnSignal {
 public:
  StopOnSignal() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::thread([this] { Wait(); });
  }
  ~StopOnSignal() { Finish(); }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  void Attach(server::Server* s) { server_ = s; }
  // Ends the waiting thread (call before the server is destroyed).
  void Finish() {
    if (!waiter_.joinable()) return;
    done_ = true;
    pthread_kill(waiter_.native_handle(), SIGTERM);  // wakes sigwait if it still waits
    waiter_.join();
  }

 private:
  void Wait() {
    int sig = 0;
    sigwait(&signals_, &sig);
    if (done_) return;
    server::Server* s = server_.load();
    if (s == nullptr) {
      std::fprintf(stderr, "ember serve: interrupted\n");
      std::_Exit(128 + sig);
    }
    std::fprintf(stderr, "ember serve: stopping\n");
    // Stop() only acts once the server listens: repeat it until Run() has returned.
    while (!done_) {
      s->Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  sigset_t signals_{};
  std::thread waiter_;
  std::atomic<server::Server*> server_{nullptr};
  std::atomic<bool> done_{false};
};

void Serve(const ServeOptions& o) {
  StopOnSignal stopper;
  LoadedModel lm = LoadForGeneration(o.load, /*show_progress=*/true);
  server::ServerModel sm;
  sm.tokenizer = lm.tokenizer.get();
  sm.session = lm.session.get();
  sm.n_vocab = static_cast<int32_t>(lm.model->config().n_vocab);
  sm.name = o.alias.empty() ? std::filesystem::path(lm.path).filename().string() : o.alias;
  // A template named by a flag must work (an error ends ember serve); the model's own may fail
  // to compile, and then only chat requests are refused.
  try {
    sm.chat_prompt = MakeChatPrompt(lm, TemplateFlags{"", o.chat_template, o.chat_template_file});
  } catch (const Error& e) {
    if (!o.chat_template.empty() || !o.chat_template_file.empty()) throw;
    sm.chat_error = e.what();
  }
  if (!sm.chat_prompt) {
    std::fprintf(stderr, "ember serve: %s: %s: /v1/chat/completions will refuse requests (name a template "
                         "with --chat-template); /v1/completions works\n",
                 lm.path.c_str(), sm.chat_error.empty() ? "no chat template" : sm.chat_error.c_str());
  }
  server::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.api_key = o.api_key;
  so.defaults.n_predict = o.n_predict;
  so.defaults.sampling = o.sampling;
  so.defaults.stops = o.stops;

  server::Server http(std::move(sm), so);
  const int port = http.Bind();
  stopper.Attach(&http);
  std::fprintf(stderr, "ember serve: %s on %s, context %lld: listening on http://%s:%d (Ctrl-C stops)\n",
               lm.path.c_str(), lm.BackendName().c_str(), static_cast<long long>(lm.session->n_ctx()),
               o.host.c_str(), port);
  std::fflush(stderr);
  http.Run();
  stopper.Finish();
}
#else
void Serve(const ServeOptions&) {
  Fail("this ember was built without the server: cpp-httplib was not found at build time "
       "(apt-get install libcpp-httplib-dev pkg-config, then rebuild)");
}
#endif

}  // namespace

void RegisterServe(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions (streaming), /v1/models");
  AddModelFlags(cmd, o->load);
  cmd->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "Port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--api-key", o->api_key, "Require \"Authorization: Bearer KEY\" on /v1/* requests");
  cmd->add_option("-a,--alias", o->alias, "Model name reported by /v1/models and in responses (default: the file name)");
  cmd->add_option("-n,--n-predict", o->n_predict,
                  "Default token limit per request (-1: until end of generation or a full context); "
                  "a request's max_tokens wins")
      ->capture_default_str();
  AddSamplerFlags(*cmd, o->sampling);
  AddStopFlags(*cmd, o->stops);
  cmd->add_option("--chat-template", o->chat_template, "Use a built-in template (chatml, llama3, zephyr, gemma, ...)");
  cmd->add_option("--chat-template-file", o->chat_template_file, "Use the Jinja template in this file");
  cmd->footer(
      "Sampling flags set the defaults; each request's temperature, top_p, top_k, min_p, seed, stop, max_tokens, "
      "presence/frequency_penalty, logit_bias and response_format override them. One request is answered at a "
      "time; the next reuses the cached prompt it shares with the last one.");
  cmd->callback([o] { Serve(*o); });
}

}  // namespace ember::cli
