// Chat-template behaviour beyond the jinja2 golden data: error messages (line and column, the
// template's own raise_exception text), limits against hostile templates, the built-in named
// templates, Hugging Face's default variables, dates, and reading a model's template from GGUF.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "chat/chat_template.h"
#include "chat/model_template.h"
#include "chat_test_util.h"
#include "core/error.h"
#include "gguf/gguf_writer.h"

namespace ember::test {
namespace {

nlohmann::ordered_json Vars(const char* json = "{}") { return nlohmann::ordered_json::parse(json); }

std::string Render(const std::string& tmpl, const nlohmann::ordered_json& vars = Vars(),
                   const ChatRenderOptions& options = {}) {
  return ChatTemplate::Compile(tmpl).Render(vars, options);
}

// The message of the ember::Error that `fn` throws, or "" if it does not throw.
template <typename F>
std::string ErrorOf(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChatTemplateErrors, SyntaxErrorNamesLineAndColumn) {
  std::string msg = ErrorOf([] { ChatTemplate::Compile("line one\n  {{ x | no_such_filter }}"); });
  EXPECT_NE(msg.find("line 2, column 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no_such_filter"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, UnclosedBlockNamesTheExpectedEndTag) {
  std::string msg = ErrorOf([] { ChatTemplate::Compile("{% for m in messages %}\n{{ m }}"); });
  EXPECT_NE(msg.find("endfor"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, UnsupportedTagIsNamed) {
  std::string msg = ErrorOf([] { ChatTemplate::Compile("{% include 'other.jinja' %}"); });
  EXPECT_NE(msg.find("'include' tag is not supported"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, BreakOutsideLoopIsASyntaxError) {
  EXPECT_NE(ErrorOf([] { ChatTemplate::Compile("{% break %}"); }).find("outside of a loop"), std::string::npos);
}

TEST(ChatTemplateErrors, RaiseExceptionCarriesTheTemplatesMessageAndPosition) {
  std::string msg = ErrorOf([] {
    Render("{% if messages[0]['role'] == 'system' %}\n  {{- raise_exception('System role not supported') }}\n{% endif %}",
           Vars(R"({"messages": [{"role": "system", "content": "x"}]})"));
  });
  EXPECT_NE(msg.find("template raised an exception at line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("System role not supported"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, UndefinedAttributeErrorNamesTheVariable) {
  std::string msg = ErrorOf([] { Render("ok\n{{ nothing.content }}"); });
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'nothing' is undefined"), std::string::npos) << msg;
}

TEST(ChatTemplateErrors, TypeErrorNamesBothTypes) {
  std::string msg = ErrorOf([] { Render("{{ 'a' + 1 }}"); });
  EXPECT_NE(msg.find("'str' and 'int'"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, EndlessNestedLoopsHitTheStepBudget) {
  ChatRenderOptions o;
  o.max_steps = 100000;
  std::string msg = ErrorOf([&] {
    Render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", Vars(), o);
  });
  EXPECT_NE(msg.find("evaluation budget"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, DoublingStringHitsTheSizeLimit) {
  ChatRenderOptions o;
  o.max_string_bytes = 1 << 20;
  std::string msg = ErrorOf([&] {
    Render("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
           Vars(), o);
  });
  EXPECT_NE(msg.find("over the limit"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, HugeRepetitionIsRefusedBeforeAllocating) {
  EXPECT_NE(ErrorOf([] { Render("{{ 'abc' * 1000000000000 }}"); }).find("over the limit"), std::string::npos);
  EXPECT_NE(ErrorOf([] { Render("{{ [1, 2] * 1000000000000 }}"); }).find("over the limit"), std::string::npos);
}

TEST(ChatTemplateLimits, InfiniteMacroRecursionFailsCleanly) {
  std::string msg = ErrorOf([] { Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"); });
  EXPECT_NE(msg.find("recursed deeper"), std::string::npos) << msg;
}

TEST(ChatTemplateLimits, DeepParenthesesFailCleanly) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(ErrorOf([&] { ChatTemplate::Compile(deep); }).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplateLimits, LongOperatorChainFailsCleanly) {
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  chain += " }}";
  EXPECT_NE(ErrorOf([&] { ChatTemplate::Compile(chain); }).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplateLimits, DeeplyNestedBlocksFailCleanly) {
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "{% if true %}";
  EXPECT_NE(ErrorOf([&] { ChatTemplate::Compile(nested); }).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplateLimits, ModeratelyLongChainsStillWork) {
  std::string chain = "{{ 0";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  chain += " }}";
  EXPECT_EQ(Render(chain), "300");
}

TEST(ChatTemplateApi, CompiledTemplateRendersManyTimes) {
  ChatTemplate t = ChatTemplate::Compile("{{ messages[0].content }}!");
  EXPECT_EQ(t.Render(Vars(R"({"messages": [{"content": "a"}]})")), "a!");
  EXPECT_EQ(t.Render(Vars(R"({"messages": [{"content": "b"}]})")), "b!");
}

TEST(ChatTemplateApi, KeepsKeyOrderOfOrderedJsonInTojson) {
  EXPECT_EQ(Render("{{ x|tojson }}", Vars(R"({"x": {"z": 1, "a": 2}})")), R"({"z": 1, "a": 2})");
}

TEST(ChatTemplateApi, PlainJsonOverloadRenders) {
  nlohmann::json vars = {{"name", "ember"}};
  EXPECT_EQ(ChatTemplate::Compile("hi {{ name }}").Render(vars), "hi ember");
}

TEST(ChatTemplateApi, RejectsVariablesThatAreNotAnObject) {
  EXPECT_THROW(ChatTemplate::Compile("x").Render(nlohmann::ordered_json::array()), Error);
}

TEST(ChatTemplateApi, WithHfDefaultsAddsWhatTransformersPasses) {
  nlohmann::ordered_json v = WithHfDefaults(Vars(R"({"messages": [], "tools": [1]})"));
  EXPECT_TRUE(v["documents"].is_null());
  EXPECT_EQ(v["tools"], nlohmann::ordered_json::array({1}));
  EXPECT_EQ(v["add_generation_prompt"], false);
  // tools=None is defined but none: templates that test `tools is not none` see no tools.
  EXPECT_EQ(Render("{{ tools is defined }} {{ tools is none }}", WithHfDefaults(Vars())), "True True");
}

TEST(ChatTemplateApi, StrftimeNowUsesTheFixedDate) {
  ChatRenderOptions o;
  o.now = ParseIsoDate("2025-02-28");
  EXPECT_EQ(Render("{{ strftime_now('%d %b %Y, %A') }}", Vars(), o), "28 Feb 2025, Friday");
}

TEST(ChatTemplateApi, StrftimeNowDefaultsToToday) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  EXPECT_EQ(Render("{{ strftime_now('%Y') }}"), std::to_string(tm.tm_year + 1900));
}

TEST(ChatTemplateApi, ParseIsoDateRejectsImpossibleDates) {
  EXPECT_EQ(ParseIsoDate("2024-02-29").tm_yday, 59);
  EXPECT_THROW(ParseIsoDate("2023-02-29"), Error);
  EXPECT_THROW(ParseIsoDate("2024-13-01"), Error);
  EXPECT_THROW(ParseIsoDate("24-1-1"), Error);
  EXPECT_THROW(ParseIsoDate("2024-01-01x"), Error);
}

TEST(BuiltinTemplates, EveryNameCompilesAndRendersAUserTurn) {
  auto vars = WithHfDefaults(Vars(R"({"messages": [{"role": "user", "content": "Hi"}], "bos_token": "<s>",
                                      "eos_token": "</s>", "add_generation_prompt": true})"));
  ChatRenderOptions o;
  o.now = ParseIsoDate("2024-07-26");
  ASSERT_GE(BuiltinTemplateNames().size(), 7u);
  for (const auto& name : BuiltinTemplateNames()) {
    auto source = BuiltinTemplate(name);
    ASSERT_TRUE(source.has_value()) << name;
    std::string out;
    EXPECT_NO_THROW(out = ChatTemplate::Compile(*source).Render(vars, o)) << name;
    EXPECT_NE(out.find("Hi"), std::string::npos) << name << ": " << out;
  }
}

TEST(BuiltinTemplates, ChatmlRendersTheStandardFormat) {
  auto vars = Vars(R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
                       "add_generation_prompt": true})");
  EXPECT_EQ(Render(*BuiltinTemplate("chatml"), vars),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
}

TEST(BuiltinTemplates, NamedTemplatesAreTheCorpusBytes) {
  EXPECT_EQ(*BuiltinTemplate("llama3"), ReadFileBytes(ChatDataPath("templates/llama-3-8b-instruct.jinja")));
  EXPECT_EQ(*BuiltinTemplate("zephyr"), ReadFileBytes(ChatDataPath("templates/tinyllama-1.1b-chat-v1.0.jinja")));
  EXPECT_FALSE(BuiltinTemplate("no-such-template").has_value());
}

class ModelTemplate : public ::testing::Test {
 protected:
  std::string WriteGguf(const std::string& name, bool with_template, uint32_t bos_id) {
    GgufWriter w;
    w.Set("general.architecture", GgufValue::String("llama"));
    w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"<unk>", "<s>", "</s>"}));
    w.Set("tokenizer.ggml.bos_token_id", GgufValue::U32(bos_id));
    w.Set("tokenizer.ggml.eos_token_id", GgufValue::U32(2));
    if (with_template) w.Set("tokenizer.chat_template", GgufValue::String("{{ bos_token }}[{{ messages|length }}]"));
    std::string path = (std::filesystem::temp_directory_path() /
                        ("ember_chat_" + std::to_string(::getpid()) + "_" + name + ".gguf")).string();
    w.Write(path);
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::filesystem::remove(p);
  }
  std::vector<std::string> paths_;
};

TEST_F(ModelTemplate, ReadsTemplateAndTokenTexts) {
  std::string path = WriteGguf("ok", true, 1);
  ModelChatInfo info = ReadModelChatInfo(GgufFile::Open(path));
  ASSERT_TRUE(info.chat_template.has_value());
  EXPECT_EQ(*info.chat_template, "{{ bos_token }}[{{ messages|length }}]");
  EXPECT_EQ(info.bos_token, "<s>");
  EXPECT_EQ(info.eos_token, "</s>");
  TemplateChoice c = ChooseTemplate(&info, path, "", "");
  EXPECT_EQ(c.source, *info.chat_template);
  EXPECT_EQ(ChooseTemplate(&info, path, "chatml", "").source, *BuiltinTemplate("chatml"));
}

TEST_F(ModelTemplate, MissingTemplateIsAClearErrorNotAGuess) {
  std::string path = WriteGguf("none", false, 1);
  ModelChatInfo info = ReadModelChatInfo(GgufFile::Open(path));
  EXPECT_FALSE(info.chat_template.has_value());
  std::string msg = ErrorOf([&] { ChooseTemplate(&info, path, "", ""); });
  EXPECT_NE(msg.find("has no chat template"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--chat-template"), std::string::npos) << msg;
}

TEST_F(ModelTemplate, BosIdOutsideTheVocabularyIsAnError) {
  std::string path = WriteGguf("badbos", true, 99);
  std::string msg = ErrorOf([&] { ReadModelChatInfo(GgufFile::Open(path)); });
  EXPECT_NE(msg.find("bos_token_id"), std::string::npos) << msg;
}

TEST_F(ModelTemplate, UnknownNameAndMissingFileAreErrors) {
  EXPECT_NE(ErrorOf([] { ChooseTemplate(nullptr, "", "nope", ""); }).find("unknown chat template name"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ChooseTemplate(nullptr, "", "", "/nonexistent/t.jinja"); }).find("cannot read"),
            std::string::npos);
}

TEST(ModelTemplateReal, SmolLM2CarriesItsPublishedTemplate) {
  const char* env = std::getenv("EMBER_MODELS");
  std::string dir = env ? env : std::string(EMBER_SOURCE_DIR) + "/models";
  std::string path = dir + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "model not found: " << path << " (scripts/fetch-models)";
  ModelChatInfo info = ReadModelChatInfo(GgufFile::Open(path));
  ASSERT_TRUE(info.chat_template.has_value());
  EXPECT_EQ(*info.chat_template, ReadFileBytes(ChatDataPath("templates/smollm2-135m-instruct.jinja")));
  EXPECT_EQ(info.bos_token, "<|im_start|>");
  EXPECT_EQ(info.eos_token, "<|im_end|>");
}

}  // namespace
}  // namespace ember::test
