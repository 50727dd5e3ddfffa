// Golden tests: ember's tokenizer against llama.cpp's own output (tests/data/tokenizer/*.json,
// made by scripts/golden/make_tokenizer_golden.py with llama-cpp-python, vocab_only=True) on a
// corpus of 1,200 strings, for SmolLM2 (gpt2/smollm), Gemma 3 (SPM) and the Llama-2 vocabulary
// (SPM, converted by ember convert-tokenizer). The bar is 100% identical ids and bytes.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace ember {
namespace {

struct VocabCase {
  const char* name;   // golden file stem
  const char* model;  // file under models/
};

class GoldenTest : public ::testing::TestWithParam<VocabCase> {
 protected:
  void SetUp() override {
    const auto path = test::FindModel(GetParam().model);
    if (!path) GTEST_SKIP() << GetParam().model << " not found (scripts/fetch-models makes it)";
    file_ = std::make_unique<GgufFile>(GgufFile::Open(*path));
    tok_ = std::make_unique<Tokenizer>(Tokenizer::FromGguf(*file_));
    golden_ = nlohmann::json::parse(
        test::ReadFile(test::SourcePath(fmt::format("tests/data/tokenizer/{}.json", GetParam().name))));
    const auto corpus =
        nlohmann::json::parse(test::ReadFile(test::SourcePath("tests/data/tokenizer/corpus.json")));
    for (const auto& s : corpus["strings"]) {
      texts_.push_back(s.contains("text") ? s["text"].get<std::string>()
                                          : test::Base64Decode(s["b64"].get<std::string>()));
    }
    ASSERT_EQ(texts_.size(), golden_["cases"].size());
  }

  static std::string Show(const std::vector<int32_t>& ids) {
    return fmt::format("[{}]", fmt::join(ids, ", "));
  }
  static std::string Escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += (c >= 0x20 && c < 0x7F) ? std::string(1, c) : fmt::format("\\x{:02x}", c);
    return out;
  }

  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Tokenizer> tok_;
  nlohmann::json golden_;
  std::vector<std::string> texts_;
};

TEST_P(GoldenTest, EncodesEveryCorpusStringLikeLlamaCpp) {
  int mismatches = 0;
  for (size_t i = 0; i < texts_.size(); ++i) {
    const auto& c = golden_["cases"][i];
    const auto plain = tok_->Encode(texts_[i], false, false);
    const auto full = tok_->Encode(texts_[i], true, true);
    const auto want_plain = c["plain"].get<std::vector<int32_t>>();
    const auto want_full = c["full"].get<std::vector<int32_t>>();
    if (plain != want_plain) {
      if (++mismatches <= 10) {
        ADD_FAILURE() << "case " << i << " '" << Escape(texts_[i]) << "' (no BOS, no special)\n  ember "
                      << Show(plain) << "\n  llama " << Show(want_plain);
      }
    }
    if (full != want_full) {
      if (++mismatches <= 10) {
        ADD_FAILURE() << "case " << i << " '" << Escape(texts_[i]) << "' (BOS, parse_special)\n  ember "
                      << Show(full) << "\n  llama " << Show(want_full);
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << 2 * texts_.size() << " tokenizations";
}

TEST_P(GoldenTest, DecodesLikeLlamaDetokenize) {
  int mismatches = 0, round_trips = 0;
  for (size_t i = 0; i < texts_.size(); ++i) {
    const auto& c = golden_["cases"][i];
    const auto plain = c["plain"].get<std::vector<int32_t>>();
    const auto full = c["full"].get<std::vector<int32_t>>();
    const std::string want_plain = test::Base64Decode(c["detok_plain"]);
    const std::string got_plain = tok_->Decode(plain, false, false);
    const std::string got_full = tok_->Decode(full, true, true);
    const std::string got_keep = tok_->Decode(full, false, false);
    if (got_plain != want_plain || got_full != test::Base64Decode(c["detok_full"]) ||
        got_keep != test::Base64Decode(c["detok_full_keep"])) {
      if (++mismatches <= 10) {
        ADD_FAILURE() << "case " << i << " '" << Escape(texts_[i]) << "'\n  ember '" << Escape(got_plain)
                      << "'\n  llama '" << Escape(want_plain) << "'";
      }
    }
    // Where llama.cpp round-trips, ember must too (implied by equality; counted for the record).
    if (want_plain == texts_[i]) {
      ++round_trips;
      EXPECT_EQ(got_plain, texts_[i]) << "case " << i;
    }
  }
  EXPECT_EQ(mismatches, 0);
  RecordProperty("round_trips", round_trips);
  std::printf("[ %s ] llama.cpp round-trips %d of %zu strings; ember matches all of them\n",
              GetParam().name, round_trips, texts_.size());
}

TEST_P(GoldenTest, TokenPiecesMatchLlamaTokenToPiece) {
  for (bool special : {true, false}) {
    const auto& want = golden_["piece_hashes"][special ? "special" : "plain"];
    const int32_t n = tok_->n_vocab();
    for (int32_t start = 0, chunk = 0; start < n; start += 1024, ++chunk) {
      uint64_t h = 0xCBF29CE484222325ull;
      auto mix = [&](const std::string& bytes) {
        for (unsigned char b : bytes) {
          h ^= b;
          h *= 0x100000001B3ull;
        }
      };
      for (int32_t t = start; t < std::min(n, start + 1024); ++t) {
        const std::string p = tok_->TokenToPiece(t, special);
        const uint32_t len = static_cast<uint32_t>(p.size());
        mix(std::string(reinterpret_cast<const char*>(&len), 4));
        mix(p);
      }
      EXPECT_EQ(fmt::format("{:016x}", h), want[chunk].get<std::string>())
          << "pieces of ids " << start << ".." << start + 1023 << " (special=" << special << ")";
    }
  }
}

TEST_P(GoldenTest, SpecialTokensAndEogSetMatch) {
  const auto& info = golden_["info"];
  EXPECT_EQ(tok_->n_vocab(), info["n_vocab"].get<int32_t>());
  EXPECT_EQ(tok_->bos(), info["bos"].get<int32_t>());
  EXPECT_EQ(tok_->eos(), info["eos"].get<int32_t>());
  EXPECT_EQ(tok_->eot(), info["eot"].get<int32_t>());
  EXPECT_EQ(tok_->nl(), info["nl"].get<int32_t>());
  EXPECT_EQ(tok_->pad(), info["pad"].get<int32_t>());
  EXPECT_EQ(tok_->add_bos(), info["add_bos"].get<bool>());
  EXPECT_EQ(tok_->add_eos(), info["add_eos"].get<bool>());
  EXPECT_EQ(tok_->eog_ids(), info["eog"].get<std::vector<int32_t>>());
}

TEST_P(GoldenTest, StreamingDecoderNeverEmitsBrokenUtf8) {
  for (size_t i = 0; i < texts_.size(); ++i) {
    const auto ids = golden_["cases"][i]["plain"].get<std::vector<int32_t>>();
    StreamingDecoder dec(*tok_);
    std::string streamed, pieces;
    for (int32_t id : ids) {
      const std::string out = dec.Push(id);
      ASSERT_EQ(unicode::ValidUtf8Prefix(out), out.size()) << "case " << i << ": invalid UTF-8 emitted";
      streamed += out;
      pieces += tok_->TokenToPiece(id, false);
    }
    const std::string tail = dec.Flush();
    ASSERT_EQ(unicode::ValidUtf8Prefix(tail), tail.size());
    streamed += tail;
    if (unicode::ValidUtf8Prefix(pieces) == pieces.size()) {
      EXPECT_EQ(streamed, pieces) << "case " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GoldenTest,
                         ::testing::Values(VocabCase{"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"},
                                           VocabCase{"gemma3", "gemma-3-270m-q4_k_m.gguf"},
                                           VocabCase{"llama2", "llama2-vocab.gguf"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace ember
