// `ember serve`'s HTTP server: OpenAI's chat-completions and completions endpoints (with
// server-sent-event streaming), /v1/models and /health, over one loaded model.
//
// One session serves every request, one request at a time (requests wait for the one being
// answered, as with llama-server's single slot), and each request keeps the cached positions its
// prompt shares with the previous one, so a growing conversation re-evaluates only its new turns.
// Requests are checked before anything is generated: malformed JSON, a bad field, a prompt that
// does not fit the context or a grammar that does not compile get an HTTP 4xx with OpenAI's
// error object, never a crash or a silent wrong answer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "runtime/chat_prompt.h"
#include "runtime/session.h"
#include "server/api_request.h"
#include "tokenizer/tokenizer.h"

namespace ember::server {

struct ServerModel {
  const Tokenizer* tokenizer = nullptr;
  Session* session = nullptr;
  int32_t n_vocab = 0;
  std::string name;                            // the model id /v1/models reports
  // The chat template, compiled once (runtime/chat_prompt.h); each chat request renders a copy,
  // which shares the compiled template. None: chat requests get a 400 that says why, with
  // chat_error when a template was given but does not compile.
  std::optional<ChatPrompt> chat_prompt;
  std::string chat_error;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port (Bind returns it)
  std::string api_key;  // non-empty: /v1/* needs "Authorization: Bearer KEY"
  RequestDefaults defaults;
  size_t max_body_bytes = 16u << 20;
  bool log_requests = true;  // one line per request on stderr
};

class Server {
 public:
  Server(ServerModel model, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (the one chosen when options.port is 0).
  // Throws ember::Error when the address cannot be bound.
  int Bind();
  // Serves until Stop() (from any thread, e.g. a signal-waiting one).
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::server
