// Each sampler stage against llama.cpp's own output on the same logits
// (tests/data/sample/sampler_golden.json, made by scripts/golden/sample_golden.py).
//
// Tolerances: ids and their order must match exactly; logits and probabilities within 1e-6
// relative (llama.cpp and ember run the same float operations in the same order, so in
// practice they agree bit for bit; the slack covers libm differences across machines).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "sample/dry.h"
#include "sample/sampler.h"
#include "sample/samplers.h"

namespace ember {
namespace {

using nlohmann::json;

// Same integer/double recipe as make_logits() in scripts/golden/sample_golden.py.
std::vector<float> GoldenLogits(int64_t n, int64_t seed, double scale) {
  int64_t mult = 0;
  for (int64_t m : {7919, 104729, 1299709}) {
    if (std::gcd(m, n) == 1) {
      mult = m;
      break;
    }
  }
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t perm = (mult * i + seed * 977) % n;
    const double u = static_cast<double>(perm) / static_cast<double>(n) * 2.0 - 1.0;
    out[static_cast<size_t>(i)] = static_cast<float>((6.0 * u * u * u + 2.0 * u) * scale);
  }
  return out;
}

float JsonFloat(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "-inf") return -INFINITY;
    if (s == "inf") return INFINITY;
    return NAN;
  }
  return static_cast<float>(v.get<double>());
}

const json& Golden() {
  static const json data = [] {
    std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/data/sample/sampler_golden.json");
    EXPECT_TRUE(in.good()) << "missing tests/data/sample/sampler_golden.json";
    return in.good() ? json::parse(in) : json::object();
  }();
  return data;
}

std::vector<float> Input(const std::string& name) {
  const json& spec = Golden()["inputs"][name];
  return GoldenLogits(spec[0].get<int64_t>(), spec[1].get<int64_t>(), spec[2].get<double>());
}

std::vector<TokenData> Fresh(const std::vector<float>& logits) {
  std::vector<TokenData> d(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) d[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  return d;
}

bool Close(float a, float b) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= 1e-6f * std::max(1.0f, std::max(std::fabs(a), std::fabs(b)));
}

void ExpectSame(const CandidateArray& cur, const json& want, const std::string& name) {
  const auto& ids = want["ids"];
  ASSERT_EQ(cur.size, ids.size()) << name;
  EXPECT_EQ(cur.sorted, want["sorted"].get<bool>()) << name;
  int bad = 0;
  for (size_t i = 0; i < cur.size && bad < 5; ++i) {
    const float logit = JsonFloat(want["logits"][i]);
    const float p = JsonFloat(want["p"][i]);
    if (cur.data[i].id != ids[i].get<int32_t>() || !Close(cur.data[i].logit, logit) ||
        !Close(cur.data[i].p, p)) {
      ADD_FAILURE() << name << " at " << i << ": ember (" << cur.data[i].id << ", "
                    << cur.data[i].logit << ", " << cur.data[i].p << ") llama.cpp (" << ids[i]
                    << ", " << logit << ", " << p << ")";
      bad++;
    }
  }
}

// Replays one single-stage case; returns false if the stage is not a single stage.
bool ApplyCase(const json& c, std::vector<TokenData>& buf, CandidateArray& cur) {
  const json& prm = c["params"];
  const std::string stage = prm["stage"];
  std::vector<TokenData> scratch;
  if (stage == "top_k") {
    ApplyTopK(cur, prm["k"].get<int32_t>());
  } else if (stage == "top_p") {
    ApplyTopP(cur, prm["p"].get<float>(), prm["min_keep"].get<size_t>(), scratch);
  } else if (stage == "min_p") {
    ApplyMinP(cur, prm["p"].get<float>(), prm["min_keep"].get<size_t>(), scratch);
  } else if (stage == "typical") {
    ApplyTypical(cur, prm["p"].get<float>(), prm["min_keep"].get<size_t>());
  } else if (stage == "temp") {
    ApplyTemp(cur, prm["t"].get<float>());
  } else if (stage == "temp_ext") {
    ApplyTempExt(cur, prm["t"].get<float>(), prm["delta"].get<float>(),
                 prm["exponent"].get<float>());
  } else if (stage == "top_n_sigma") {
    ApplyTopNSigma(cur, prm["n"].get<float>());
  } else if (stage == "xtc") {
    std::mt19937 rng(prm["seed"].get<uint32_t>());
    ApplyXtc(cur, prm["probability"].get<float>(), prm["threshold"].get<float>(),
             prm["min_keep"].get<size_t>(), rng);
  } else if (stage == "penalties") {
    PenaltyState pen(prm["last_n"].get<int32_t>(), prm["repeat"].get<float>(),
                     prm["freq"].get<float>(), prm["present"].get<float>());
    for (const auto& t : c["accept"]) pen.Accept(t.get<int32_t>());
    pen.Apply(cur);
  } else if (stage == "logit_bias") {
    std::vector<LogitBias> biases;
    for (const auto& b : prm["biases"]) biases.push_back({b[0].get<int32_t>(), JsonFloat(b[1])});
    ApplyLogitBias(cur, biases);
  } else {
    return false;
  }
  (void)buf;
  return true;
}

TEST(SamplerGolden, EveryStageMatchesLlamaCpp) {
  const json& cases = Golden()["cases"];
  ASSERT_GT(cases.size(), 40u);
  int checked = 0;
  for (const json& c : cases) {
    if (!c.contains("ids")) continue;
    const std::string name = c["name"];
    auto buf = Fresh(Input(c["input"]));
    CandidateArray cur{buf.data(), buf.size(), -1, false};
    ASSERT_TRUE(ApplyCase(c, buf, cur)) << name;
    EXPECT_EQ(cur.data - buf.data(), c["offset"].get<int64_t>()) << name;
    ExpectSame(cur, c, name);
    checked++;
  }
  EXPECT_GE(checked, 50);
}

TEST(SamplerGolden, SeededDrawsMatchLlamaCppDist) {
  for (const json& c : Golden()["cases"]) {
    if (c["params"]["stage"] != "dist") continue;
    const auto logits = Input(c["input"]);
    std::mt19937 rng(c["params"]["seed"].get<uint32_t>());
    std::vector<int64_t> got;
    for (size_t i = 0; i < c["draws"].size(); ++i) {
      auto buf = Fresh(logits);
      CandidateArray cur{buf.data(), buf.size(), -1, false};
      SampleDist(cur, rng);
      got.push_back(cur.selected);
    }
    EXPECT_EQ(got, c["draws"].get<std::vector<int64_t>>()) << c["name"];
  }
}

TEST(SamplerGolden, DefaultChainDrawsTheSameTokensAsLlamaCpp) {
  for (const json& c : Golden()["cases"]) {
    if (c["name"] != "default_chain") continue;
    const json& prm = c["params"];
    SamplerParams p;
    p.seed = prm["seed"].get<uint32_t>();
    const int32_t n_vocab = prm["n_vocab"];
    Sampler s(p, n_vocab, {}, {});
    std::vector<int32_t> got;
    for (size_t step = 0; step < c["draws"].size(); ++step) {
      const auto logits = GoldenLogits(n_vocab, prm["logit_seed_base"].get<int64_t>() + static_cast<int64_t>(step), 1.0);
      got.push_back(s.Sample(logits));  // no Accept: penalties are off in this case
    }
    EXPECT_EQ(got, c["draws"].get<std::vector<int32_t>>());
    return;
  }
  FAIL() << "default_chain case missing";
}

TEST(SamplerGolden, MirostatDrawsTheSameTokensAsLlamaCpp) {
  int seen = 0;
  for (const json& c : Golden()["cases"]) {
    if (c["params"]["stage"] != "mirostat") continue;
    const json& prm = c["params"];
    const int32_t n_vocab = prm["n_vocab"];
    MirostatState m(prm["version"].get<int>(), n_vocab, prm["tau"].get<float>(),
                    prm["eta"].get<float>());
    std::mt19937 rng(prm["seed"].get<uint32_t>());
    std::vector<int32_t> got;
    for (size_t step = 0; step < c["draws"].size(); ++step) {
      auto buf = Fresh(GoldenLogits(n_vocab, prm["logit_seed_base"].get<int64_t>() + static_cast<int64_t>(step), 2.0));
      CandidateArray cur{buf.data(), buf.size(), -1, false};
      m.Apply(cur, rng);
      got.push_back(cur.data[cur.selected].id);
    }
    EXPECT_EQ(got, c["draws"].get<std::vector<int32_t>>()) << c["name"];
    seen++;
  }
  EXPECT_EQ(seen, 2);
}

// GPT-2 byte-level BPE stores bytes as printable code points; undo that to get token bytes.
std::vector<std::string> SmolLmPieces(const std::string& path) {
  GgufFile f = GgufFile::Open(path);
  std::vector<int> cp_to_byte(512, -1);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    if (printable) {
      cp_to_byte[static_cast<size_t>(b)] = b;
    } else {
      cp_to_byte[static_cast<size_t>(256 + extra++)] = b;
    }
  }
  std::vector<std::string> pieces;
  for (const std::string& tok : f.GetStringArray("tokenizer.ggml.tokens")) {
    std::string out;
    for (size_t i = 0; i < tok.size();) {
      const auto c = static_cast<unsigned char>(tok[i]);
      uint32_t cp = c;
      size_t len = 1;
      if (c >= 0xC0 && c < 0xE0 && i + 1 < tok.size()) {
        cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(tok[i + 1]) & 0x3Fu);
        len = 2;
      }
      if (cp < cp_to_byte.size() && cp_to_byte[cp] >= 0 && len <= 2) {
        out += static_cast<char>(cp_to_byte[cp]);
      } else {
        out.append(tok, i, len);
      }
      i += len;
    }
    pieces.push_back(out);
  }
  return pieces;
}

std::string ModelPath(const std::string& file) {
  const char* env = std::getenv("EMBER_MODELS");
  return (env ? std::string(env) : std::string(EMBER_SOURCE_DIR) + "/models") + "/" + file;
}

TEST(SamplerGolden, DryPenaltiesMatchLlamaCppOnSmolLm2Vocabulary) {
  const json& dry = Golden()["dry"];
  ASSERT_FALSE(dry.is_null()) << "golden data has no DRY cases";
  const std::string path = ModelPath("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!std::ifstream(path).good()) GTEST_SKIP() << "model not found: " << path;
  const auto pieces = SmolLmPieces(path);
  ASSERT_EQ(pieces.size(), dry["n_vocab"].get<size_t>());
  ASSERT_EQ(pieces[198], "\n");
  const auto logits = GoldenLogits(dry["n_vocab"].get<int64_t>(), dry["logit_seed"].get<int64_t>(), 1.0);
  for (const json& c : dry["cases"]) {
    DryState state(c["multiplier"].get<float>(), c["base"].get<float>(),
                   c["allowed_length"].get<int32_t>(), c["last_n"].get<int32_t>(),
                   {"\n", ":", "\"", "*"}, pieces, {});
    for (const auto& t : c["accept"]) state.Accept(t.get<int32_t>());
    auto buf = Fresh(logits);
    CandidateArray cur{buf.data(), buf.size(), -1, false};
    state.Apply(cur);
    std::vector<std::pair<int32_t, float>> changed;
    for (size_t i = 0; i < cur.size; ++i) {
      if (cur.data[i].logit != logits[static_cast<size_t>(cur.data[i].id)]) {
        changed.emplace_back(cur.data[i].id, cur.data[i].logit);
      }
    }
    ASSERT_EQ(changed.size(), c["changed"].size()) << c["name"];
    for (size_t i = 0; i < changed.size(); ++i) {
      EXPECT_EQ(changed[i].first, c["changed"][i][0].get<int32_t>()) << c["name"];
      EXPECT_TRUE(Close(changed[i].second, JsonFloat(c["changed"][i][1])))
          << c["name"] << ": " << changed[i].second << " vs " << c["changed"][i][1];
    }
  }
}

}  // namespace
}  // namespace ember
