// The OpenAI request fields ember reads, and the 400s for the ones it cannot accept.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "server/api_request.h"

namespace ember::server {
namespace {

using nlohmann::json;

int StatusOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status();
  }
  return 200;
}

TEST(ServerApi, ChatFieldsOverrideTheServersDefaults) {
  RequestDefaults d;
  d.n_predict = 100;
  d.sampling.temp = 0.7f;
  d.stops = {"END"};
  const GenerationRequest r = ParseChatRequest(
      json::parse(R"({"messages":[{"role":"system","content":"Be brief."},
                                  {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                      "max_tokens":12,"temperature":0,"top_p":0.5,"top_k":3,"min_p":0.1,"seed":42,
                      "stop":"\n\n","presence_penalty":0.5,"frequency_penalty":0.25,"logit_bias":{"15":-100},
                      "stream":true,"stream_options":{"include_usage":true},"user":"ignored"})"),
      d);
  ASSERT_TRUE(r.chat);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.n_predict, 12);
  EXPECT_EQ(r.sampling.temp, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.sampling.presence_penalty, 0.5f);
  EXPECT_EQ(r.sampling.frequency_penalty, 0.25f);
  ASSERT_EQ(r.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(r.sampling.logit_bias[0].token, 15);
  EXPECT_EQ(r.sampling.logit_bias[0].bias, -100.0f);
  EXPECT_EQ(r.stops, std::vector<std::string>{"\n\n"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.stream_usage);
}

TEST(ServerApi, UnsetFieldsKeepTheServersDefaults) {
  RequestDefaults d;
  d.n_predict = 100;
  d.sampling.temp = 0.7f;
  d.stops = {"END"};
  const GenerationRequest r = ParseCompletionRequest(json::parse(R"({"prompt":["Once upon"],"temperature":null})"), d);
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.prompt, "Once upon");
  EXPECT_EQ(r.n_predict, 100);
  EXPECT_EQ(r.sampling.temp, 0.7f);
  EXPECT_EQ(r.stops, std::vector<std::string>{"END"});
  EXPECT_FALSE(r.stream);
}

TEST(ServerApi, MaxCompletionTokensIsOpenAisNewNameForMaxTokens) {
  const GenerationRequest r =
      ParseChatRequest(json::parse(R"({"messages":[{"role":"user","content":"x"}],"max_completion_tokens":7})"), {});
  EXPECT_EQ(r.n_predict, 7);
}

TEST(ServerApi, ResponseFormatsBecomeGrammars) {
  const json msgs = json::parse(R"([{"role":"user","content":"x"}])");
  json body = {{"messages", msgs}, {"response_format", {{"type", "json_object"}}}};
  EXPECT_TRUE(ParseChatRequest(body, {}).grammar.json);
  body["response_format"] = {{"type", "json_schema"},
                             {"json_schema", {{"name", "a"}, {"schema", {{"type", "object"}}}}}};
  const GenerationRequest r = ParseChatRequest(body, {});
  EXPECT_FALSE(r.grammar.json);
  EXPECT_EQ(json::parse(r.grammar.json_schema), json({{"type", "object"}}));
  body["response_format"] = {{"type", "text"}};
  EXPECT_TRUE(ParseChatRequest(body, {}).grammar.json_schema.empty());
  body.erase("response_format");
  body["grammar"] = "root ::= \"yes\"";
  EXPECT_EQ(ParseChatRequest(body, {}).grammar.grammar, "root ::= \"yes\"");
}

TEST(ServerApi, MalformedBodiesAndFieldsAreRefusedWith400) {
  EXPECT_EQ(StatusOf([] { ParseBody("{\"messages\": ["); }), 400);
  EXPECT_EQ(StatusOf([] { ParseBody(""); }), 400);
  EXPECT_EQ(StatusOf([] { ParseBody("\xff\xfe"); }), 400);
  const char* bad_chat[] = {
      R"([1,2])",
      R"({})",
      R"({"messages":[]})",
      R"({"messages":"hi"})",
      R"({"messages":[{"content":"no role"}]})",
      R"({"messages":[{"role":"user","content":42}]})",
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})",
      R"({"messages":[{"role":"user","content":[{"type":5,"text":"x"}]}]})",
      R"({"messages":[{"role":"user","content":[{"type":"text","text":7}]}]})",
      R"({"messages":[{"role":"user","content":["plain"]}]})",
      R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})",
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})",
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-2})",
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":18446744073709551615})",
      R"({"messages":[{"role":"user","content":"x"}],"n":2})",
      R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})",
      R"({"messages":[{"role":"user","content":"x"}],"stop":""})",
      R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})",
      R"({"messages":[{"role":"user","content":"x"}],"seed":-5})",
      R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}})",
      R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}})",
      R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}})",
  };
  for (const char* body : bad_chat) {
    EXPECT_EQ(StatusOf([&] { ParseChatRequest(ParseBody(body), {}); }), 400) << body;
  }
  for (const char* body : {R"({})", R"({"prompt":5})", R"({"prompt":["a","b"]})"}) {
    EXPECT_EQ(StatusOf([&] { ParseCompletionRequest(ParseBody(body), {}); }), 400) << body;
  }
}

TEST(ServerApi, ErrorMessagesNameTheField) {
  try {
    ParseChatRequest(ParseBody(R"({"messages":[{"role":"user","content":"x"}],"top_k":"many"})"), {});
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_NE(std::string(e.what()).find("top_k"), std::string::npos) << e.what();
    EXPECT_EQ(e.type(), "invalid_request_error");
  }
}

}  // namespace
}  // namespace ember::server
