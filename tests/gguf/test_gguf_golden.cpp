// ember's GGUF reader agrees exactly with the reference reader (PyPI gguf 0.19.0) on the real
// models, on the ggml type table, and on a file written by ember's GgufWriter. The golden JSON is
// made by scripts/golden/make_gguf_golden.py and committed in tests/data/gguf/.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gguf/gguf_file.h"
#include "gguf/gguf_fixtures.h"
#include "gguf/gguf_golden_compare.h"
#include "gguf/sha256.h"

namespace ember::test {
namespace {

const std::string kData = std::string(EMBER_SOURCE_DIR) + "/tests/data/gguf/";

std::string ModelPath(const std::string& name) {
  const char* dir = std::getenv("EMBER_MODELS");
  return (dir != nullptr && *dir != '\0' ? std::string(dir) : std::string(EMBER_SOURCE_DIR) + "/models") +
         "/" + name;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void CheckModel(const std::string& file, const std::string& golden) {
  const std::string path = ModelPath(file);
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " is absent (run scripts/fetch-models or set EMBER_MODELS)";
  }
  const GgufFile f = GgufFile::Open(path);
  ExpectMatchesGolden(f, ReadJsonFile(kData + golden), /*check_data=*/true);
}

TEST(GgufGolden, SmolLM2MetadataAndTensorsMatchReferenceReader) {
  CheckModel("SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.json");
}

TEST(GgufGolden, Gemma3MetadataAndTensorsMatchReferenceReader) {
  CheckModel("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m-q4_k_m.json");
}

TEST(GgufGolden, SmolLM2TypedGettersGiveTheModelConfig) {
  const std::string path = ModelPath("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  const GgufFile f = GgufFile::Open(path);
  EXPECT_EQ(f.architecture(), "llama");
  EXPECT_EQ(f.GetU32("llama.block_count"), 30u);
  EXPECT_EQ(f.GetU32("llama.embedding_length"), 576u);
  EXPECT_EQ(f.GetU32("llama.attention.head_count"), 9u);
  EXPECT_EQ(f.GetU32("llama.attention.head_count_kv"), 3u);
  EXPECT_EQ(f.GetFloat("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(f.GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.GetString("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(f.GetStringArray("tokenizer.ggml.tokens").size(), 49152u);
  EXPECT_EQ(f.GetTensor("token_embd.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(f.GetTensor("token_embd.weight").shape, (std::vector<uint64_t>{576, 49152}));
  EXPECT_EQ(f.GetTensor("token_embd.weight").n_rows(), 49152u);
  EXPECT_EQ(f.FindTensor("output.weight"), nullptr);  // tied embeddings
}

TEST(GgufGolden, TypeTableMatchesReference) {
  const auto g = ReadJsonFile(kData + "ggml_types.json");
  std::vector<bool> known(64, false);
  for (const auto& t : g.at("types")) {
    const auto id = t.at("id").get<uint32_t>();
    SCOPED_TRACE(t.dump());
    ASSERT_LT(id, known.size());
    known[id] = true;
    const auto traits = FindGgmlType(id);
    ASSERT_TRUE(traits.has_value());
    EXPECT_EQ(traits->name, t.at("name").get<std::string>());
    EXPECT_EQ(traits->block_size, t.at("block_size").get<uint32_t>());
    if (traits->type == GgmlType::Q8_1) {
      // gguf 0.19.0 still says 4 + 4 + 32 (f32 d and s); ggml's block_q8_1 has two halves:
      // static_assert(sizeof(block_q8_1) == 2*sizeof(ggml_half) + QK8_1) in ggml-common.h. ember
      // follows ggml, which is what llama.cpp uses. (Q8_1 is an activation type, not in files.)
      EXPECT_EQ(t.at("bytes_per_block").get<uint32_t>(), 40u) << "gguf-py changed: drop this case";
      EXPECT_EQ(traits->bytes_per_block, 36u);
      continue;
    }
    EXPECT_EQ(traits->bytes_per_block, t.at("bytes_per_block").get<uint32_t>());
    EXPECT_EQ(GgmlTypeFromName(traits->name), traits->type);
    EXPECT_FALSE(IsRemovedGgmlType(id));
  }
  for (uint32_t id = 0; id < known.size(); ++id) {
    if (!known[id]) {
      EXPECT_FALSE(FindGgmlType(id).has_value()) << "id " << id;
    }
  }
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) EXPECT_TRUE(IsRemovedGgmlType(id));
  EXPECT_EQ(GgmlTypeFromName("q4_k"), GgmlType::Q4_K);
  EXPECT_FALSE(GgmlTypeFromName("Q4_2").has_value());
}

TEST(GgufGolden, CommittedWriterFixtureIsWhatTheWriterMakesToday) {
  const auto committed = ReadBytes(kData + "writer_fixture.gguf");
  const auto made = MakeWriterFixture().WriteToBuffer();
  ASSERT_FALSE(committed.empty());
  EXPECT_TRUE(committed == made)
      << "GgufWriter's output changed: if intended, rebuild make_gguf_fixtures and re-run "
         "scripts/golden/make_gguf_golden.py so that the reference reader checks the new bytes";
}

TEST(GgufGolden, ReferenceReaderReadsWriterFixtureAsEmberDoes) {
  const auto verdict = ReadJsonFile(kData + "writer_fixture.python.json");
  ASSERT_EQ(verdict.at("verdict").get<std::string>().rfind("ok", 0), 0u) << verdict.dump();
  const auto committed = ReadBytes(kData + "writer_fixture.gguf");
  EXPECT_EQ(Sha256Hex(committed), verdict.at("fixture_sha256").get<std::string>())
      << "writer_fixture.python.json is stale: re-run scripts/golden/make_gguf_golden.py";
  const GgufFile f = GgufFile::Parse(committed, "writer_fixture.gguf");
  ExpectMatchesGolden(f, verdict, /*check_data=*/true);
}

}  // namespace
}  // namespace ember::test
