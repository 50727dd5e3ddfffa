// The body of an OpenAI-style request (/v1/chat/completions, /v1/completions), read into what
// ember's generation needs. Every field a client may send with a wrong type or value is refused
// with an ApiError (HTTP 400) naming the field; fields ember does not use (e.g. "user") are
// ignored, as OpenAI and llama-server ignore unknown ones.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sample/sampler_flags.h"
#include "sample/sampler_params.h"

namespace ember::server {

// An error a client caused: the HTTP status and OpenAI's error type ("invalid_request_error",
// "authentication_error", "not_found_error").
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(std::move(type)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string type_;
};

// What every request starts from: the server's flags (`ember serve --temp 0.2 -n 256 ...`).
struct RequestDefaults {
  int64_t n_predict = -1;
  SamplerParams sampling;
  std::vector<std::string> stops;
};

struct ChatMessage {
  std::string role;     // system, user, assistant, tool, ...
  std::string content;  // text parts joined
};

struct GenerationRequest {
  // Exactly one of these: chat messages (rendered through the model's template) or a raw prompt.
  std::vector<ChatMessage> messages;
  std::string prompt;
  bool chat = false;

  int64_t n_predict = -1;
  SamplerParams sampling;
  std::vector<std::string> stops;
  GrammarOptions grammar;  // response_format, json_schema, grammar
  bool stream = false;
  bool stream_usage = false;  // stream_options.include_usage: a last chunk with the usage
};

// Parses the JSON text of a request body (ApiError 400 on malformed JSON or a bad field).
nlohmann::json ParseBody(std::string_view body);
GenerationRequest ParseChatRequest(const nlohmann::json& body, const RequestDefaults& defaults);
GenerationRequest ParseCompletionRequest(const nlohmann::json& body, const RequestDefaults& defaults);

}  // namespace ember::server
