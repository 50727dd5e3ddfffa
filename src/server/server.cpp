#include "server/server.h"

// cpp-httplib (Debian's libcpp-httplib, the compiled split build): only this file sees it.
#include <httplib.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "runtime/chat_prompt.h"
#include "runtime/generate.h"
#include "runtime/prompt_tokens.h"
#include "sample/sampler_flags.h"

namespace ember::server {
namespace {

using nlohmann::json;

// Generated text may in principle hold bytes that are not UTF-8; JSON output replaces them
// (U+FFFD) rather than failing mid-response.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json ErrorBody(int status, const std::string& type, const std::string& message) {
  return {{"error", {{"code", status}, {"message", message}, {"type", type}}}};
}

void SendError(httplib::Response& res, int status, const std::string& type, const std::string& message) {
  res.status = status;
  res.set_content(Dump(ErrorBody(status, type, message)), "application/json");
}

std::string Sse(const json& j) { return "data: " + Dump(j) + "\n\n"; }

const char* FinishReason(StopReason r) {
  return r == StopReason::kLength || r == StopReason::kContextFull ? "length" : "stop";
}

// A request checked and tokenized, ready to generate.
struct Prepared {
  GenerationRequest request;
  std::vector<int32_t> tokens;
  std::unique_ptr<Sampler> sampler;  // made here, so that a grammar that does not compile is a 400
  std::string id;
  int64_t created = 0;
};

// What one generation did, for the response's usage and timings.
struct Outcome {
  TextGenerateResult result;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  double prompt_ms = 0.0;
  double gen_ms = 0.0;
};

json Usage(const Outcome& o) {
  const auto completion = static_cast<int64_t>(o.result.tokens.size());
  return {{"prompt_tokens", o.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", o.prompt_tokens + completion}};
}

// llama-server's "timings" object, so that its users' tools read ember's too.
json TimingsJson(const Outcome& o) {
  const int64_t evaluated = o.prompt_tokens - o.cached_tokens;
  const auto generated = static_cast<int64_t>(o.result.tokens.size());
  return {{"cache_n", o.cached_tokens},
          {"prompt_n", evaluated},
          {"prompt_ms", o.prompt_ms},
          {"prompt_per_second", o.prompt_ms > 0 ? 1000.0 * static_cast<double>(evaluated) / o.prompt_ms : 0.0},
          {"predicted_n", generated},
          {"predicted_ms", o.gen_ms},
          {"predicted_per_second", o.gen_ms > 0 ? 1000.0 * static_cast<double>(generated) / o.gen_ms : 0.0}};
}

}  // namespace

struct Server::Impl {
  ServerModel model;
  ServerOptions options;
  httplib::Server http;
  std::mutex generate_mutex;  // one generation at a time on the one session
  mutable std::atomic<uint64_t> next_id{1};  // response ids; Prepare is otherwise const
  std::string id_prefix;
  int64_t started = 0;

  Impl(ServerModel m, ServerOptions o) : model(std::move(m)), options(std::move(o)) {
    std::random_device rd;
    id_prefix = fmt::format("{:08x}", rd());
    started = static_cast<int64_t>(std::time(nullptr));
    Routes();
  }

  json ChatChunk(const Prepared& p, const json& delta, const json& finish) const {
    return {{"id", p.id},
            {"object", "chat.completion.chunk"},
            {"created", p.created},
            {"model", model.name},
            {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  }

  json TextChunk(const Prepared& p, std::string_view text, const json& finish) const {
    return {{"id", p.id},
            {"object", "text_completion"},
            {"created", p.created},
            {"model", model.name},
            {"choices", json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
  }

  // Parses and checks a request and tokenizes its prompt; throws ApiError or ember::Error (both
  // the client's fault: 400).
  Prepared Prepare(const httplib::Request& req, bool chat) const {
    Prepared p;
    const json body = ParseBody(req.body);
    p.request = chat ? ParseChatRequest(body, options.defaults) : ParseCompletionRequest(body, options.defaults);
    std::string text = p.request.prompt;
    std::vector<Tokenizer::TextRange> plain;  // the messages: no special-token parsing there
    if (chat) {
      if (!model.chat_prompt) {
        const std::string why = model.chat_error.empty()
                                    ? "this model has no chat template"
                                    : fmt::format("the chat template does not compile ({})", model.chat_error);
        throw ApiError(400, "invalid_request_error",
                       why + ": start `ember serve` with --chat-template NAME or --chat-template-file FILE, "
                             "or use /v1/completions");
      }
      ChatPrompt prompt = *model.chat_prompt;
      for (const ChatMessage& m : p.request.messages) prompt.AddMessage(m.role, m.content);
      text = prompt.Render(/*add_generation_prompt=*/true, &plain);
    }
    p.tokens = TokenizePrompt(*model.tokenizer, text, /*no_bos=*/false, plain);
    if (p.tokens.empty()) throw ApiError(400, "invalid_request_error", "the prompt encodes to no tokens");
    const int64_t n_ctx = model.session->n_ctx();
    if (static_cast<int64_t>(p.tokens.size()) >= n_ctx) {
      throw ApiError(400, "invalid_request_error",
                     fmt::format("the prompt has {} tokens but the context holds {}: shorten it, or start "
                                 "`ember serve` with a larger -c",
                                 p.tokens.size(), n_ctx));
    }
    p.sampler = MakeSampler(p.request.sampling, *model.tokenizer, model.n_vocab, ResolveGrammar(p.request.grammar));
    p.id = fmt::format("{}-{}-{}", chat ? "chatcmpl" : "cmpl", id_prefix, next_id.fetch_add(1));
    p.created = static_cast<int64_t>(std::time(nullptr));
    return p;
  }

  // Generates under the lock, reusing the cached positions the prompt shares with the last one.
  // Penalties see the whole prompt and the grammar starts with the answer, as in `ember run`.
  Outcome Generate(const Prepared& p, const std::function<bool(std::string_view)>& on_text) {
    std::lock_guard<std::mutex> lock(generate_mutex);
    Session& session = *model.session;
    const Timings before = session.timings();
    const std::span<const int32_t> fresh = session.KeepCommonPrefix(p.tokens);
    Outcome o;
    o.prompt_tokens = static_cast<int64_t>(p.tokens.size());
    o.cached_tokens = o.prompt_tokens - static_cast<int64_t>(fresh.size());
    for (int32_t id : p.tokens) p.sampler->Accept(id, /*accept_grammar=*/false);
    ChainChooser chooser(*p.sampler);
    TextGenerateOptions go;
    go.n_predict = p.request.n_predict;
    go.stops = p.request.stops;
    o.result = GenerateText(session, *model.tokenizer, fresh, chooser, go, on_text);
    const Timings& after = session.timings();
    o.prompt_ms = after.prompt_ms - before.prompt_ms;
    o.gen_ms = after.gen_ms - before.gen_ms;
    if (options.log_requests) {
      std::fprintf(stderr, "ember serve: %s: %lld prompt tokens (%lld cached), %zu generated, %.1f t/s, %s\n",
                   p.id.c_str(), static_cast<long long>(o.prompt_tokens), static_cast<long long>(o.cached_tokens),
                   o.result.tokens.size(),
                   o.gen_ms > 0 ? 1000.0 * static_cast<double>(o.result.tokens.size()) / o.gen_ms : 0.0,
                   o.result.stop == StopReason::kStopped ? "client gone" : FinishReason(o.result.stop));
    }
    return o;
  }

  void HandleGeneration(const httplib::Request& req, httplib::Response& res, bool chat) {
    Prepared p;
    try {
      p = Prepare(req, chat);
    } catch (const ApiError& e) {
      return SendError(res, e.status(), e.type(), e.what());
    } catch (const Error& e) {  // a template that refuses the messages, a schema that does not compile
      return SendError(res, 400, "invalid_request_error", e.what());
    }
    if (p.request.stream) return Stream(std::move(p), res, chat);

    Outcome o;
    try {
      o = Generate(p, [](std::string_view) { return true; });
    } catch (const std::exception& e) {
      return SendError(res, 500, "server_error", e.what());
    }
    const char* finish = FinishReason(o.result.stop);
    json choice = chat ? json{{"index", 0},
                              {"message", {{"role", "assistant"}, {"content", o.result.text}}},
                              {"finish_reason", finish}}
                       : json{{"index", 0}, {"text", o.result.text}, {"logprobs", nullptr}, {"finish_reason", finish}};
    const json out = {{"id", p.id},
                      {"object", chat ? "chat.completion" : "text_completion"},
                      {"created", p.created},
                      {"model", model.name},
                      {"choices", json::array({choice})},
                      {"usage", Usage(o)},
                      {"timings", TimingsJson(o)}};
    res.set_content(Dump(out), "application/json");
  }

  // Server-sent events as OpenAI sends them: a chunk per piece of text, a last chunk with the
  // finish reason (and, when asked, one with the usage), then "data: [DONE]". A client that
  // goes away stops the generation at the next token.
  void Stream(Prepared prepared, httplib::Response& res, bool chat) {
    auto p = std::make_shared<Prepared>(std::move(prepared));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, p, chat](size_t, httplib::DataSink& sink) {
      bool open = true;
      auto send = [&](const json& j) {
        if (open) {
          const std::string event = Sse(j);
          open = sink.write(event.data(), event.size());
        }
        return open;
      };
      if (chat) send(ChatChunk(*p, {{"role", "assistant"}, {"content", ""}}, nullptr));
      Outcome o;
      try {
        o = Generate(*p, [&](std::string_view piece) {
          return send(chat ? ChatChunk(*p, {{"content", piece}}, nullptr) : TextChunk(*p, piece, nullptr));
        });
      } catch (const std::exception& e) {
        send(ErrorBody(500, "server_error", e.what()));
        sink.done();
        return true;
      }
      const char* finish = FinishReason(o.result.stop);
      send(chat ? ChatChunk(*p, json::object(), finish) : TextChunk(*p, "", finish));
      if (p->request.stream_usage) {
        json usage = chat ? ChatChunk(*p, json::object(), nullptr) : TextChunk(*p, "", nullptr);
        usage["choices"] = json::array();
        usage["usage"] = Usage(o);
        usage["timings"] = TimingsJson(o);
        send(usage);
      }
      if (open) {
        static constexpr std::string_view kDone = "data: [DONE]\n\n";
        sink.write(kDone.data(), kDone.size());
      }
      sink.done();
      return true;
    });
  }

  json ModelsList() const {
    return {{"object", "list"},
            {"data", json::array({{{"id", model.name},
                                   {"object", "model"},
                                   {"created", started},
                                   {"owned_by", "ember"},
                                   {"meta", {{"n_ctx", model.session->n_ctx()}, {"n_vocab", model.n_vocab}}}}})}};
  }

  bool Authorized(const httplib::Request& req) const {
    if (options.api_key.empty() || req.path == "/health") return true;
    return req.get_header_value("Authorization") == "Bearer " + options.api_key;
  }

  void Routes() {
    http.set_payload_max_length(options.max_body_bytes);
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second server on the
    // same port starts without an error and the two share the requests.
    http.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (Authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
      SendError(res, 401, "authentication_error", "invalid or missing API key (Authorization: Bearer KEY)");
      return httplib::Server::HandlerResponse::Handled;
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    for (const char* path : {"/v1/models", "/models"}) {
      http.Get(path, [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(Dump(ModelsList()), "application/json");
      });
    }
    for (const char* path : {"/v1/chat/completions", "/chat/completions"}) {
      http.Post(path, [this](const httplib::Request& req, httplib::Response& res) { HandleGeneration(req, res, true); });
    }
    for (const char* path : {"/v1/completions", "/completions"}) {
      http.Post(path, [this](const httplib::Request& req, httplib::Response& res) { HandleGeneration(req, res, false); });
    }
    // Everything else (an unknown path, a body over the limit): OpenAI's error object.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) {
        SendError(res, 404, "not_found_error", fmt::format("no endpoint {} {}", req.method, req.path));
      } else if (res.status == 413) {
        SendError(res, 413, "invalid_request_error",
                  fmt::format("the request body is larger than the server accepts ({} bytes)", options.max_body_bytes));
      } else {
        SendError(res, res.status, "invalid_request_error", fmt::format("HTTP {}", res.status));
      }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      SendError(res, 500, "server_error", what);
    });
    if (options.log_requests) {
      http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
        std::fprintf(stderr, "ember serve: %s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
      });
    }
  }
};

Server::Server(ServerModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {}

Server::~Server() = default;

int Server::Bind() {
  const std::string& host = impl_->options.host;
  const int port = impl_->options.port;
  if (port < 0 || port > 65535) Fail("--port {} is not a TCP port (0 to 65535)", port);
  if (port == 0) {
    const int chosen = impl_->http.bind_to_any_port(host);
    if (chosen < 0) Fail("cannot listen on {} (any port)", host);
    return chosen;
  }
  if (!impl_->http.bind_to_port(host, port)) {
    Fail("cannot listen on {}:{} (in use, or not an address of this machine)", host, port);
  }
  return port;
}

void Server::Run() { impl_->http.listen_after_bind(); }

void Server::Stop() { impl_->http.stop(); }

}  // namespace ember::server
