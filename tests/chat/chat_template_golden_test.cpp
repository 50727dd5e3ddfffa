// The corpus of 34 real chat templates (tests/data/chat/templates, exact bytes; SOURCES.md) times
// every conversation in conversations.json, with add_generation_prompt true and false, against
// Python jinja2 rendering them as Hugging Face transformers does (expected.json, made by
// scripts/golden/render_chat_templates.py). Byte-for-byte equality, and a raise wherever jinja2
// raised (raise_exception in the template, or a Python TypeError on unsupported input).
#include <gtest/gtest.h>

#include <map>

#include "chat/chat_template.h"
#include "chat_test_util.h"
#include "core/error.h"

namespace ember::test {
namespace {

const nlohmann::ordered_json& Expected() {
  static const nlohmann::ordered_json data = ReadChatJson("expected.json");
  return data;
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const auto& c : Expected()["cases"]) {
    std::string n = c["template"];
    if (names.empty() || names.back() != n) names.push_back(n);
  }
  return names;
}

std::string TestName(const std::string& file) {
  std::string s;
  for (char c : file.substr(0, file.size() - 6)) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

class TemplateCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateCorpus, RendersLikeTransformers) {
  const std::string& file = GetParam();
  const std::string source = ReadFileBytes(ChatDataPath("templates/" + file));
  std::map<std::string, nlohmann::ordered_json> conversations;
  for (const auto& c : ReadChatJson("conversations.json")) conversations[c["name"]] = c["variables"];
  ChatRenderOptions options;
  options.now = ParseIsoDate(Expected()["date"].get<std::string>());

  ChatTemplate t = ChatTemplate::Compile(source);
  int rendered = 0, raised = 0;
  for (const auto& c : Expected()["cases"]) {
    if (c["template"] != file) continue;
    nlohmann::ordered_json vars = conversations.at(c["conversation"]);
    vars["add_generation_prompt"] = c["add_generation_prompt"];
    vars["bos_token"] = Expected()["bos_token"];
    vars["eos_token"] = Expected()["eos_token"];
    vars = WithHfDefaults(vars);
    const std::string label = std::string(c["conversation"]) +
                              (c["add_generation_prompt"].get<bool>() ? " +gen" : " -gen");
    if (c.contains("output")) {
      std::string got;
      try {
        got = t.Render(vars, options);
      } catch (const Error& e) {
        ADD_FAILURE() << label << ": ember raised where jinja2 rendered: " << e.what();
        continue;
      }
      const std::string want = c["output"];
      if (got != want) {
        size_t at = 0;
        while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
        ADD_FAILURE() << label << ": differs at byte " << at << "\n--- jinja2 ---\n" << want
                      << "\n--- ember ---\n" << got;
      } else {
        ++rendered;
      }
    } else {
      EXPECT_THROW(t.Render(vars, options), Error) << label << ": jinja2 raised " << c["error"];
      ++raised;
    }
  }
  RecordProperty("rendered", rendered);
  RecordProperty("raised", raised);
  EXPECT_GE(rendered, 4) << "each corpus template should render several conversations";
}

INSTANTIATE_TEST_SUITE_P(Corpus, TemplateCorpus, ::testing::ValuesIn(TemplateNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return TestName(p.param); });

}  // namespace
}  // namespace ember::test
