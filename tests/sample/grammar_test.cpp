// GBNF parsing and matching, and JSON Schema conversion: verdicts on byte strings must equal
// llama.cpp's (tests/data/sample/grammar_golden.json, scripts/golden/sample_grammar_golden.py).
#include "sample/grammar.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sample/json_schema.h"

namespace ember {
namespace {

std::string Verdict(const Grammar& start, const std::string& text) {
  Grammar g = start;
  if (!g.AcceptBytes(text)) return "reject";
  return g.CanEnd() ? "complete" : "prefix";
}

const nlohmann::ordered_json& Golden() {
  static const nlohmann::ordered_json data = [] {
    std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/data/sample/grammar_golden.json");
    EXPECT_TRUE(in.good());
    return in.good() ? nlohmann::ordered_json::parse(in) : nlohmann::ordered_json::array();
  }();
  return data;
}

TEST(Grammar, VerdictsOnStringsMatchLlamaCpp) {
  int checked = 0;
  for (const auto& g : Golden()) {
    const std::string name = g["name"];
    std::string gbnf;
    if (g.contains("schema")) {
      gbnf = JsonSchemaToGbnf(g["schema"]);  // ember's converter, not llama.cpp's text
    } else {
      gbnf = g["gbnf"];
    }
    const Grammar start = Grammar::Parse(gbnf);
    for (const auto& row : g["strings"]) {
      const std::string text = row[0];
      EXPECT_EQ(Verdict(start, text), row[1].get<std::string>())
          << name << ": '" << text << "'\n" << gbnf;
      checked++;
    }
  }
  EXPECT_GE(checked, 70);
}

TEST(Grammar, ReportsLineAndColumnOfSyntaxErrors) {
  try {
    Grammar::Parse("root ::= \"a\" b\nb ::= [0-9\n");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2, column"), std::string::npos) << e.what();
  }
  try {
    Grammar::Parse("root ::= (\"a\" | \"b\"\n");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1, column 10"), std::string::npos) << e.what();
  }
}

TEST(Grammar, RejectsUndefinedRulesLeftRecursionAndMissingRoot) {
  EXPECT_THROW(Grammar::Parse("root ::= foo\n"), Error);
  EXPECT_THROW(Grammar::Parse("root ::= root \"a\" | \"b\"\n"), Error);
  EXPECT_THROW(Grammar::Parse("start ::= \"a\"\n"), Error);
  EXPECT_NO_THROW(Grammar::Parse("start ::= \"a\"\n", "start"));
  EXPECT_THROW(Grammar::Parse("root ::= \"a\"{3000}\n"), Error);
  EXPECT_THROW(Grammar::Parse("root ::= \"\\q\"\n"), Error);
  EXPECT_THROW(Grammar::Parse(std::string("root ::= \"a\0b\"\n", 15)), Error);
  EXPECT_THROW(Grammar::Parse("root ::= " + std::string(1000, '(') + "\"a\"" + std::string(1000, ')')), Error);
}

TEST(Grammar, MatchesMultiByteCharactersSplitAcrossTokens) {
  const Grammar start = Grammar::Parse("root ::= \"é\" [日-日]\n");
  Grammar g = start;
  const std::string text = "é日";
  for (char c : text) ASSERT_TRUE(g.AcceptBytes(std::string(1, c)));
  EXPECT_TRUE(g.CanEnd());
  EXPECT_EQ(Verdict(start, "e"), "reject");
}

TEST(Grammar, MasksTokensThatCannotContinue) {
  const std::vector<std::string> pieces = {"1", "+", "a", "12", "1+", "(", "", "</s>", "\xC3"};
  std::vector<uint8_t> is_eog(pieces.size(), 0);
  is_eog[7] = 1;
  Grammar g = Grammar::Parse("root ::= [0-9]+ (\"+\" [0-9]+)*\n");
  g.CacheVocabulary(pieces);
  auto allowed = [&](const Grammar& gr) {
    std::vector<TokenData> d;
    for (size_t i = 0; i < pieces.size(); ++i) d.push_back({static_cast<int32_t>(i), 0.0f, 0.0f});
    CandidateArray cur{d.data(), d.size(), -1, false};
    gr.Apply(cur, pieces, is_eog);
    std::vector<int> ok;
    for (const auto& t : d) if (t.logit == 0.0f) ok.push_back(t.id);
    return ok;
  };
  EXPECT_EQ(allowed(g), (std::vector<int>{0, 3, 4}));
  g.AcceptToken(0, "1", false);
  EXPECT_EQ(allowed(g), (std::vector<int>{0, 1, 3, 4, 7}));  // EOS allowed: "1" is complete
  EXPECT_THROW(g.AcceptToken(2, "a", false), Error);
}

TEST(JsonSchema, UnsupportedFeaturesAreErrors) {
  using nlohmann::ordered_json;
  EXPECT_THROW(JsonSchemaToGbnf(ordered_json::parse(R"({"type":"string","pattern":"^a+$"})")), Error);
  EXPECT_THROW(JsonSchemaToGbnf(ordered_json::parse(R"({"not":{"type":"string"}})")), Error);
  EXPECT_THROW(JsonSchemaToGbnf(ordered_json::parse(R"({"$ref":"https://x/y.json"})")), Error);
  EXPECT_THROW(JsonSchemaToGbnf(ordered_json::parse(R"({"$ref":"#/$defs/missing"})")), Error);
  EXPECT_THROW(JsonSchemaToGbnf(ordered_json::parse(R"({"type":"strung"})")), Error);
  EXPECT_THROW(JsonSchemaTextToGbnf("{not json"), Error);
  try {
    JsonSchemaToGbnf(ordered_json::parse(R"({"type":"object","properties":{"a":{"type":"string","format":"email"}}})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("#/properties/a"), std::string::npos) << e.what();
  }
}

TEST(JsonSchema, RecursiveRefsAndPropertyOrderWork) {
  const std::string gbnf = JsonSchemaTextToGbnf(R"({
    "$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
              "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
    "$ref": "#/$defs/node"})");
  const Grammar g = Grammar::Parse(gbnf);
  EXPECT_EQ(Verdict(g, R"({"v": 1, "kids": [{"v": 2, "kids": []}, {"v": 3}]})"), "complete") << gbnf;
  EXPECT_EQ(Verdict(g, R"({"kids": [], "v": 1})"), "reject") << gbnf;  // declared order
}

TEST(JsonSchema, JsonFlagGrammarAcceptsAnyObjectOnly) {
  const Grammar g = Grammar::Parse(JsonObjectGbnf());
  EXPECT_EQ(Verdict(g, R"({"a": [1, 2.5, "x", null, true, {"b": {}}]})"), "complete");
  EXPECT_EQ(Verdict(g, "{}"), "complete");
  EXPECT_EQ(Verdict(g, "[1]"), "reject");
  EXPECT_EQ(Verdict(g, "\"s\""), "reject");
}

}  // namespace
}  // namespace ember
