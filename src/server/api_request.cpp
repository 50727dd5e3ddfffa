#include "server/api_request.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace ember::server {
namespace {

using nlohmann::json;

[[noreturn]] void Invalid(const std::string& message) { throw ApiError(400, "invalid_request_error", message); }

const json* Field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> Number(const json& body, const char* name) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) Invalid(fmt::format("'{}' must be a number", name));
  const double d = v->get<double>();
  if (!std::isfinite(d)) Invalid(fmt::format("'{}' must be finite", name));
  return d;
}

std::optional<int64_t> Integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) Invalid(fmt::format("'{}' must be an integer", name));
  const bool too_big = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi);
  const int64_t i = too_big ? hi : v->get<int64_t>();
  if (too_big || i < lo || i > hi) Invalid(fmt::format("'{}' must be between {} and {}", name, lo, hi));
  return i;
}

bool Bool(const json& body, const char* name, bool fallback) {
  const json* v = Field(body, name);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) Invalid(fmt::format("'{}' must be true or false", name));
  return v->get<bool>();
}

std::optional<std::string> String(const json& body, const char* name) {
  const json* v = Field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) Invalid(fmt::format("'{}' must be a string", name));
  return v->get<std::string>();
}

// "content": a string, or an array of parts of which the text ones are joined (OpenAI's
// multi-part form); an image or audio part is refused, since no model ember runs reads them.
std::string MessageContent(const json& message, size_t index) {
  const json* c = Field(message, "content");
  if (c == nullptr) return "";
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) Invalid(fmt::format("messages[{}].content must be a string or an array of parts", index));
  std::string text;
  for (const json& part : *c) {
    const json* type = part.is_object() ? Field(part, "type") : nullptr;
    const json* text_part = part.is_object() ? Field(part, "text") : nullptr;
    if (type == nullptr || *type != "text" || text_part == nullptr || !text_part->is_string()) {
      Invalid(fmt::format("messages[{}].content: only parts of type \"text\" with a string \"text\" are supported",
                          index));
    }
    text += text_part->get<std::string>();
  }
  return text;
}

// What both endpoints share: limits, sampling, stops, grammars, streaming.
void ParseCommon(const json& body, const RequestDefaults& defaults, GenerationRequest& r) {
  r.n_predict = defaults.n_predict;
  r.sampling = defaults.sampling;
  r.stops = defaults.stops;
  // max_completion_tokens (OpenAI's current name), max_tokens (its older one), n_predict (llama.cpp's).
  for (const char* name : {"n_predict", "max_tokens", "max_completion_tokens"}) {
    if (auto n = Integer(body, name, -1, std::numeric_limits<int32_t>::max())) r.n_predict = *n;
  }
  if (auto n = Integer(body, "n", 1, std::numeric_limits<int32_t>::max()); n && *n != 1) {
    Invalid("'n' must be 1: ember returns one choice per request");
  }
  SamplerParams& s = r.sampling;
  if (auto v = Number(body, "temperature")) s.temp = static_cast<float>(*v);
  if (auto v = Number(body, "top_p")) s.top_p = static_cast<float>(*v);
  if (auto v = Integer(body, "top_k", -1, std::numeric_limits<int32_t>::max())) s.top_k = static_cast<int32_t>(*v);
  if (auto v = Number(body, "min_p")) s.min_p = static_cast<float>(*v);
  if (auto v = Number(body, "typical_p")) s.typical_p = static_cast<float>(*v);
  if (auto v = Number(body, "presence_penalty")) s.presence_penalty = static_cast<float>(*v);
  if (auto v = Number(body, "frequency_penalty")) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = Number(body, "repeat_penalty")) s.repeat_penalty = static_cast<float>(*v);
  if (auto v = Integer(body, "repeat_last_n", -1, std::numeric_limits<int32_t>::max())) {
    s.repeat_last_n = static_cast<int32_t>(*v);
  }
  if (auto v = Integer(body, "seed", -1, std::numeric_limits<uint32_t>::max())) {
    s.seed = static_cast<uint32_t>(*v);  // -1 (0xFFFFFFFF) asks for a random seed, as in llama.cpp
  }
  s.ignore_eos = Bool(body, "ignore_eos", s.ignore_eos);
  if (const json* lb = Field(body, "logit_bias")) {
    // OpenAI's form: {"token id": bias}.
    if (!lb->is_object()) Invalid("'logit_bias' must be an object of \"token id\": bias");
    for (const auto& [key, value] : lb->items()) {
      int32_t id = -1;
      try {
        size_t used = 0;
        id = std::stoi(key, &used);
        if (used != key.size()) id = -1;
      } catch (const std::exception&) {
        id = -1;
      }
      if (id < 0 || !value.is_number()) Invalid(fmt::format("'logit_bias': \"{}\" must be a token id with a number", key));
      s.logit_bias.push_back({id, value.get<float>()});
    }
  }

  if (const json* stop = Field(body, "stop")) {
    r.stops.clear();
    if (stop->is_string()) {
      r.stops.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& x : *stop) {
        if (!x.is_string()) Invalid("'stop' must be a string or an array of strings");
        r.stops.push_back(x.get<std::string>());
      }
    } else {
      Invalid("'stop' must be a string or an array of strings");
    }
    for (const std::string& x : r.stops) {
      if (x.empty()) Invalid("'stop' strings must not be empty");
    }
  }

  // Constrained output: OpenAI's response_format, or llama-server's json_schema / grammar.
  if (const json* rf = Field(body, "response_format")) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) {
      Invalid("'response_format' must be an object with a string \"type\"");
    }
    const std::string type = (*rf)["type"].get<std::string>();
    if (type == "json_object") {
      r.grammar.json = true;
      if (rf->contains("schema")) r.grammar.json_schema = (*rf)["schema"].dump();
    } else if (type == "json_schema") {
      const json* js = Field(*rf, "json_schema");
      const json* schema = js != nullptr && js->is_object() ? Field(*js, "schema") : nullptr;
      if (schema == nullptr) Invalid("'response_format' of type json_schema needs json_schema.schema");
      r.grammar.json_schema = schema->dump();
    } else if (type != "text") {
      Invalid(fmt::format("'response_format' type \"{}\" is not supported (text, json_object, json_schema)", type));
    }
  }
  if (const json* js = Field(body, "json_schema")) r.grammar.json_schema = js->dump();
  if (auto g = String(body, "grammar")) r.grammar.grammar = *g;
  if (!r.grammar.json_schema.empty()) r.grammar.json = false;  // the schema says more
  if (!r.grammar.grammar.empty() && (r.grammar.json || !r.grammar.json_schema.empty())) {
    Invalid("use only one of 'grammar', 'json_schema' and a JSON 'response_format'");
  }

  r.stream = Bool(body, "stream", false);
  if (const json* so = Field(body, "stream_options")) {
    if (!so->is_object()) Invalid("'stream_options' must be an object");
    r.stream_usage = Bool(*so, "include_usage", false);
  }
}

void RequireObject(const json& body) {
  if (!body.is_object()) Invalid("the request body must be a JSON object");
}

}  // namespace

nlohmann::json ParseBody(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) Invalid("the request body is not valid JSON");
  return j;
}

GenerationRequest ParseChatRequest(const json& body, const RequestDefaults& defaults) {
  RequireObject(body);
  GenerationRequest r;
  r.chat = true;
  const json* messages = Field(body, "messages");
  if (messages == nullptr || !messages->is_array() || messages->empty()) {
    Invalid("'messages' must be a non-empty array of {\"role\", \"content\"} objects");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    if (!m.is_object()) Invalid(fmt::format("messages[{}] must be an object", i));
    const json* role = Field(m, "role");
    if (role == nullptr || !role->is_string() || role->get_ref<const std::string&>().empty()) {
      Invalid(fmt::format("messages[{}].role must be a non-empty string", i));
    }
    r.messages.push_back({role->get<std::string>(), MessageContent(m, i)});
  }
  ParseCommon(body, defaults, r);
  return r;
}

GenerationRequest ParseCompletionRequest(const json& body, const RequestDefaults& defaults) {
  RequireObject(body);
  GenerationRequest r;
  const json* prompt = Field(body, "prompt");
  if (prompt != nullptr && prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    prompt = &(*prompt)[0];  // OpenAI allows a list of prompts; one is what ember answers
  }
  if (prompt == nullptr || !prompt->is_string()) Invalid("'prompt' must be a string (or an array of one string)");
  r.prompt = prompt->get<std::string>();
  ParseCommon(body, defaults, r);
  return r;
}

}  // namespace ember::server
