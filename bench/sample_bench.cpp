// Sampler cost per token: the default llama.cpp chain on a 150k vocabulary, greedy, the full
// chain with penalties, and the grammar mask (SmolLM2's 49k vocabulary under the JSON grammar).
// One iteration is one token, so the CPU time column is the cost per token.
// Run: build/bin/sample_bench  (EMBER_MODELS points at the models folder for the grammar case).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "gguf/gguf_file.h"
#include "sample/grammar.h"
#include "sample/json_schema.h"
#include "sample/sampler.h"

namespace ember {
namespace {

constexpr int32_t kVocab = 150000;

std::vector<std::vector<float>> MakeLogits(int n_sets) {
  std::mt19937 rng(1);
  // Roughly the shape of real LM logits: a normal bulk and a few high tokens.
  std::normal_distribution<float> bulk(0.0f, 2.5f);
  std::vector<std::vector<float>> sets(static_cast<size_t>(n_sets), std::vector<float>(kVocab));
  for (auto& v : sets) {
    for (float& x : v) x = bulk(rng);
    for (int i = 0; i < 20; ++i) v[rng() % kVocab] += 8.0f + static_cast<float>(i % 5);
  }
  return sets;
}

void RunChain(benchmark::State& state, const SamplerParams& params) {
  static const auto sets = MakeLogits(8);
  Sampler s(params, kVocab, {}, {});
  size_t i = 0;
  for (auto _ : state) {
    const int32_t t = s.Sample(sets[i++ % sets.size()]);
    s.Accept(t);
    benchmark::DoNotOptimize(t);
  }
}

void BM_DefaultChain150k(benchmark::State& state) {
  SamplerParams p;
  p.seed = 1;
  RunChain(state, p);
}
BENCHMARK(BM_DefaultChain150k)->Unit(benchmark::kMicrosecond);

void BM_Greedy150k(benchmark::State& state) {
  SamplerParams p;
  p.seed = 1;
  p.temp = 0.0f;
  RunChain(state, p);
}
BENCHMARK(BM_Greedy150k)->Unit(benchmark::kMicrosecond);

void BM_TopPOnly150k(benchmark::State& state) {
  // No top-k cut first: top-p must find its set in the whole vocabulary (partial sorts).
  SamplerParams p;
  p.seed = 1;
  p.top_k = 0;
  p.min_p = 0.0f;
  RunChain(state, p);
}
BENCHMARK(BM_TopPOnly150k)->Unit(benchmark::kMicrosecond);

void BM_PenaltiesDryChain150k(benchmark::State& state) {
  SamplerParams p;
  p.seed = 1;
  p.repeat_penalty = 1.1f;
  p.frequency_penalty = 0.1f;
  p.dry_multiplier = 0.8f;
  RunChain(state, p);
}
BENCHMARK(BM_PenaltiesDryChain150k)->Unit(benchmark::kMicrosecond);

std::vector<std::string> SmolLmPiecesOrEmpty() {
  const char* env = std::getenv("EMBER_MODELS");
  const std::string path = std::string(env ? env : EMBER_SOURCE_DIR "/models") + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::ifstream(path).good()) return {};
  // Byte-level BPE code points map back to bytes; for the mask cost the exact bytes matter
  // little, so the raw token strings are used with 'Ġ' (U+0120) turned into a space.
  std::vector<std::string> pieces = GgufFile::Open(path).GetStringArray("tokenizer.ggml.tokens");
  for (auto& s : pieces) {
    for (size_t at; (at = s.find("\xC4\xA0")) != std::string::npos;) s.replace(at, 2, " ");
  }
  return pieces;
}

// Full mask (every token checked) from a state inside a JSON object: the worst case, paid
// only when the chain's first pick is rejected.
void BM_GrammarMaskJsonSmolLm(benchmark::State& state) {
  static const auto pieces = SmolLmPiecesOrEmpty();
  if (pieces.empty()) {
    state.SkipWithError("SmolLM2 model not found");
    return;
  }
  Grammar g = Grammar::Parse(JsonObjectGbnf());
  g.CacheVocabulary(pieces);
  if (!g.AcceptBytes("{\"name\": \"Ann\", \"tags\": [1, 2")) {
    state.SkipWithError("grammar rejected the prefix");
    return;
  }
  std::vector<uint8_t> is_eog(pieces.size(), 0);
  std::vector<TokenData> buf(pieces.size());
  for (auto _ : state) {
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = {static_cast<int32_t>(i), 0.0f, 0.0f};
    CandidateArray cur{buf.data(), buf.size(), -1, false};
    g.Apply(cur, pieces, is_eog);
    benchmark::DoNotOptimize(buf.data());
  }
}
BENCHMARK(BM_GrammarMaskJsonSmolLm)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ember

BENCHMARK_MAIN();
