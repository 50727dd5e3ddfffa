// Each Jinja construct against Python jinja2 in Hugging Face's environment: tests/data/chat/
// constructs.json (made by scripts/golden/jinja_construct_cases.py) holds small templates, one per
// construct or error path, with jinja2's exact output or the error it raised. ember must print the
// same bytes, or raise where jinja2 raised.
#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "chat_test_util.h"
#include "core/error.h"

namespace ember::test {
namespace {

struct ConstructCase {
  std::string name;
  std::string tmpl;
  std::optional<std::string> output;
  std::string error;
};

const nlohmann::ordered_json& Constructs() {
  static const nlohmann::ordered_json data = ReadChatJson("constructs.json");
  return data;
}

std::vector<ConstructCase> LoadCases() {
  std::vector<ConstructCase> cases;
  for (const auto& c : Constructs()["cases"]) {
    ConstructCase k{c["name"], c["template"], std::nullopt, ""};
    if (c.contains("output")) k.output = c["output"].get<std::string>();
    if (c.contains("error")) k.error = c["error"];
    cases.push_back(std::move(k));
  }
  return cases;
}

class JinjaConstruct : public ::testing::TestWithParam<ConstructCase> {};

TEST_P(JinjaConstruct, MatchesJinja2) {
  const ConstructCase& c = GetParam();
  ChatRenderOptions options;
  options.now = ParseIsoDate(Constructs()["date"].get<std::string>());
  const auto& vars = Constructs()["variables"];
  if (c.output) {
    std::string got;
    ASSERT_NO_THROW({ got = ChatTemplate::Compile(c.tmpl).Render(vars, options); }) << c.tmpl;
    EXPECT_EQ(got, *c.output) << "template: " << c.tmpl;
  } else {
    EXPECT_THROW(ChatTemplate::Compile(c.tmpl).Render(vars, options), Error)
        << "jinja2 raised " << c.error << " for: " << c.tmpl;
  }
}

INSTANTIATE_TEST_SUITE_P(Constructs, JinjaConstruct, ::testing::ValuesIn(LoadCases()),
                         [](const ::testing::TestParamInfo<ConstructCase>& p) { return p.param.name; });

}  // namespace
}  // namespace ember::test
