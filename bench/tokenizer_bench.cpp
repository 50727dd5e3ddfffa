// Tokenizer throughput (Google Benchmark): Encode and Decode of ~256 KB of mixed-language text with
// the SmolLM2 (byte-level BPE) and Gemma 3 (SPM) vocabularies from models/. The comparison with
// llama.cpp on 1 MB is bench/tokenizer_vs_llama.py.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string MixedText(size_t bytes) {
  static const char* const kParagraphs[] = {
      "The quick brown fox jumps over the lazy dog. It's 2024-05-01 and the price is $9.99.\n",
      "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]\n\n",
      "自然语言处理是人工智能的一个重要领域。今天天气很好。\n", "こんにちは、世界！カタカナとひらがな。\n",
      "안녕하세요, 세계!\n", "Привет, мир! Это русский текст.\n", "مرحبا بالعالم!\n",
      "Emoji: 🙂👍🏽👨‍👩‍👧‍👦🇫🇷 https://example.com/a?b=c\n", "Café naïve résumé\t  Zürich\r\n"};
  std::string s;
  for (size_t i = 0; s.size() < bytes; ++i) s += kParagraphs[(i * 7) % std::size(kParagraphs)];
  return s;
}

void BM_Encode(benchmark::State& state, const char* model) {
  const char* env = std::getenv("EMBER_MODELS");
  const std::string path = (env && *env ? std::string(env) : std::string(EMBER_SOURCE_DIR) + "/models") + "/" + model;
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("model not found");
    return;
  }
  const ember::GgufFile file = ember::GgufFile::Open(path);
  const ember::Tokenizer tok = ember::Tokenizer::FromGguf(file);
  const std::string text = MixedText(256 * 1024);
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok.Encode(text, false, true);
    tokens += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(BM_Encode, smollm2, "SmolLM2-135M-Instruct.Q4_1.gguf")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, gemma3, "gemma-3-270m-q4_k_m.gguf")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
