// Stop strings across token boundaries, and the llama.cpp-named sampling flags.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "sample/sampler_flags.h"
#include "sample/stop_matcher.h"

namespace ember {
namespace {

std::string FeedAll(StopMatcher& m, const std::vector<std::string>& pieces, bool* stopped) {
  std::string out;
  *stopped = false;
  for (const auto& p : pieces) {
    auto r = m.Feed(p);
    out += r.emit;
    if (r.stopped) {
      *stopped = true;
      return out;
    }
  }
  return out + m.Flush();
}

TEST(StopMatcher, MatchesAStopStringSplitOverTokensAndHidesIt) {
  StopMatcher m({"User:"});
  bool stopped = false;
  EXPECT_EQ(FeedAll(m, {"Hello", " there\nUs", "er", ": more"}, &stopped), "Hello there\n");
  EXPECT_TRUE(stopped);
}

TEST(StopMatcher, HoldsBackOnlyWhatCouldStillMatch) {
  StopMatcher m({"###"});
  EXPECT_EQ(m.Feed("a#").emit, "a");
  EXPECT_EQ(m.Feed("#b").emit, "##b");  // "##b" can no longer become "###"
  EXPECT_EQ(m.Feed("##").emit, "");
  auto r = m.Feed("#!");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.matched, "###");
  EXPECT_EQ(r.emit, "");
}

TEST(StopMatcher, FlushReleasesAHeldBackPrefixAtTheEnd) {
  StopMatcher m({"STOP"});
  bool stopped = false;
  EXPECT_EQ(FeedAll(m, {"go ST"}, &stopped), "go ST");
  EXPECT_FALSE(stopped);
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"bc", "abcd", "x"});
  auto r = m.Feed("zabcdx");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "z");
  EXPECT_EQ(r.matched, "abcd");
}

TEST(SamplerFlags, ParseLlamaCppNamesAndDefaults) {
  CLI::App app;
  SamplerParams p;
  AddSamplerFlags(app, p);
  EXPECT_FLOAT_EQ(p.temp, 0.8f);
  EXPECT_EQ(p.top_k, 40);
  app.parse("--seed 7 --top-k 5 --temp -0.5 --repeat-penalty 1.1 --repeat-last-n 32 "
            "--logit-bias 15043+1 -l 2-inf --samplers top_k;temperature --mirostat 2 "
            "--dry-sequence-breaker none --ignore-eos --typical 0.9",
            false);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_EQ(p.top_k, 5);
  EXPECT_FLOAT_EQ(p.temp, 0.0f);  // clamped to >= 0 as in llama.cpp
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.1f);
  EXPECT_EQ(p.repeat_last_n, 32);
  ASSERT_EQ(p.logit_bias.size(), 2u);
  EXPECT_EQ(p.logit_bias[0].token, 15043);
  EXPECT_FLOAT_EQ(p.logit_bias[0].bias, 1.0f);
  EXPECT_TRUE(std::isinf(p.logit_bias[1].bias) && p.logit_bias[1].bias < 0);
  EXPECT_EQ(p.samplers, (std::vector<SamplerType>{SamplerType::kTopK, SamplerType::kTemperature}));
  EXPECT_EQ(p.mirostat, 2);
  EXPECT_TRUE(p.dry_sequence_breakers.empty());
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_FLOAT_EQ(p.typical_p, 0.9f);
}

TEST(SamplerFlags, BadValuesAreClearErrors) {
  for (const char* args : {"--repeat-penalty 0", "--logit-bias abc", "--samplers top_k;bogus",
                           "--mirostat 3", "--repeat-last-n -1", "--sampling-seq kq"}) {
    CLI::App app;
    SamplerParams p;
    AddSamplerFlags(app, p);
    EXPECT_THROW(app.parse(args, false), Error) << args;
  }
}

TEST(GrammarFlags, ResolveGrammarPicksOneSource) {
  GrammarOptions o;
  EXPECT_EQ(ResolveGrammar(o), "");
  o.json = true;
  EXPECT_NE(ResolveGrammar(o).find("root ::= object"), std::string::npos);
  o.grammar = "root ::= \"a\"";
  EXPECT_THROW(ResolveGrammar(o), Error);  // two sources
  GrammarOptions f;
  f.grammar_file = "/nonexistent/file.gbnf";
  EXPECT_THROW(ResolveGrammar(f), Error);
  GrammarOptions j;
  j.json_schema = R"({"type": "integer", "minimum": 3})";
  EXPECT_NE(ResolveGrammar(j).find("root ::="), std::string::npos);
}

}  // namespace
}  // namespace ember
