// Unit tests of the tokenizer that need no model: vocabulary errors, BPE/SPM on tiny synthetic
// vocabularies, the streaming decoder, the SentencePiece model reader and vocabulary-only GGUFs.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "test_util.h"
#include "tokenizer/spm_model.h"
#include "tokenizer/tokenizer.h"

namespace ember {
namespace {

// A GGUF in memory (kept alive with the parsed file).
struct MemGguf {
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
  explicit MemGguf(const GgufWriter& w) : bytes(w.WriteToBuffer()) {
    file = std::make_unique<GgufFile>(GgufFile::Parse(bytes, "mem.gguf"));
  }
};

// A tiny SPM vocabulary: <unk> <s> </s>, byte tokens, and a few merges by score.
GgufWriter TinySpm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
    scores.push_back(0);
  }
  const std::pair<const char*, float> normal[] = {{"▁", -1}, {"h", -2}, {"e", -2}, {"l", -2},
                                                  {"o", -2}, {"he", -3}, {"ll", -3}, {"hell", -4},
                                                  {"hello", -5}, {"▁hello", -6}};
  for (const auto& [t, s] : normal) {
    tokens.push_back(t);
    types.push_back(1);
    scores.push_back(s);
  }
  GgufWriter w;
  w.Set("tokenizer.ggml.model", GgufValue::String("llama"));
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  w.Set("tokenizer.ggml.scores", GgufValue::F32Array(scores));
  w.Set("tokenizer.ggml.token_type", GgufValue::I32Array(types));
  return w;
}

TEST(TokenizerLoad, RejectsFileWithoutVocabulary) {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("llama"));
  MemGguf g(w);
  try {
    Tokenizer::FromGguf(*g.file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoad, RejectsUnsupportedModelAndUnknownPreTokenizer) {
  GgufWriter w = TinySpm();
  w.Set("tokenizer.ggml.model", GgufValue::String("bert"));
  EXPECT_THROW(Tokenizer::FromGguf(*MemGguf(w).file), Error);
  w.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  w.Set("tokenizer.ggml.merges", GgufValue::StringArray({"h e"}));
  w.Set("tokenizer.ggml.pre", GgufValue::String("no-such-pre"));
  try {
    Tokenizer::FromGguf(*MemGguf(w).file);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.pre"), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoad, RejectsGpt2VocabularyWithoutMerges) {
  GgufWriter w = TinySpm();
  w.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  EXPECT_THROW(Tokenizer::FromGguf(*MemGguf(w).file), Error);
}

TEST(TokenizerLoad, RejectsDuplicateTokensAndShortScores) {
  GgufWriter w = TinySpm();
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"a", "b", "a"}));
  w.Set("tokenizer.ggml.scores", GgufValue::F32Array({0, 0, 0}));
  w.Set("tokenizer.ggml.token_type", GgufValue::I32Array({1, 1, 1}));
  EXPECT_THROW(Tokenizer::FromGguf(*MemGguf(w).file), Error);
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"a", "b", "c"}));
  w.Set("tokenizer.ggml.scores", GgufValue::F32Array({0}));
  EXPECT_THROW(Tokenizer::FromGguf(*MemGguf(w).file), Error);
}

TEST(SpmTokenizer, MergesByScoreAndFallsBackToBytes) {
  MemGguf g(TinySpm());
  const Tokenizer tok = Tokenizer::FromGguf(*g.file);
  const int32_t hello = tok.FindToken("▁hello");
  ASSERT_GE(hello, 0);
  EXPECT_EQ(tok.Encode("hello", true, false), (std::vector<int32_t>{1, hello}));
  // 'x' is not in the vocabulary: its byte token <0x78> (id 3 + 0x78).
  EXPECT_EQ(tok.Encode("x", false, false), (std::vector<int32_t>{tok.FindToken("▁"), 3 + 0x78}));
  EXPECT_EQ(tok.Decode(tok.Encode("hello x", false, false), false, false), "hello x");
  // llama.cpp keeps the prefix space when remove_special drops the BOS (llama_detokenize).
  EXPECT_EQ(tok.Decode(tok.Encode("hello x", true, false), true, false), " hello x");
  EXPECT_EQ(tok.TokenToPiece(1, false), "");
  EXPECT_EQ(tok.TokenToPiece(1, true), "<s>");
  EXPECT_THROW(tok.TokenToPiece(tok.n_vocab(), true), Error);
}

TEST(SpmTokenizer, ParsesControlTokensOnlyWhenAsked) {
  MemGguf g(TinySpm());
  const Tokenizer tok = Tokenizer::FromGguf(*g.file);
  const auto with = tok.Encode("hello</s>", false, true);
  ASSERT_FALSE(with.empty());
  EXPECT_EQ(with.back(), 2);
  const auto without = tok.Encode("hello</s>", false, false);
  EXPECT_EQ(std::count(without.begin(), without.end(), 2), 0);
}

TEST(SpmTokenizer, LeavesControlTokensInPlainRangesAsText) {
  MemGguf g(TinySpm());
  const Tokenizer tok = Tokenizer::FromGguf(*g.file);
  // "</s>hello</s>": the first "</s>" is template text, the second lies in a user's message.
  const std::string text = "</s>hello</s>";
  const std::vector<Tokenizer::TextRange> user = {{4, 9}};
  const auto ids = tok.Encode(text, false, false, true, user);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  // Without ranges it is the plain parse_special encoding.
  EXPECT_EQ(tok.Encode(text, false, false, true, {}), tok.Encode(text, false, false, true));
}

TEST(StreamingDecoder, HoldsBackSplitCodePointUntilComplete) {
  MemGguf g(TinySpm());
  const Tokenizer tok = Tokenizer::FromGguf(*g.file);
  // U+1F642 as four byte tokens.
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.Push(3 + 0xF0), "");
  EXPECT_EQ(dec.Push(3 + 0x9F), "");
  EXPECT_EQ(dec.Push(3 + 0x99), "");
  EXPECT_EQ(dec.Push(3 + 0x82), "\xF0\x9F\x99\x82");
  EXPECT_EQ(dec.Flush(), "");
}

TEST(StreamingDecoder, ReplacesBytesThatCanNeverBeValid) {
  MemGguf g(TinySpm());
  const Tokenizer tok = Tokenizer::FromGguf(*g.file);
  StreamingDecoder dec(tok);
  EXPECT_EQ(dec.Push(3 + 0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.Push(3 + 0xE4), "");
  EXPECT_EQ(dec.Push(3 + 'a'), "\xEF\xBF\xBD" "a");  // E4 cut short by 'a'
  EXPECT_EQ(dec.Push(3 + 0xC3), "");
  EXPECT_EQ(dec.Flush(), "\xEF\xBF\xBD");  // an incomplete tail at the end
}

// A protobuf ModelProto with the given pieces (field 1), written by hand.
std::vector<uint8_t> ModelProto(const std::vector<SpmPiece>& pieces) {
  auto varint = [](std::vector<uint8_t>& out, uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<uint8_t>(v));
  };
  std::vector<uint8_t> out;
  for (const auto& p : pieces) {
    std::vector<uint8_t> body;
    body.push_back(0x0A);
    varint(body, p.piece.size());
    body.insert(body.end(), p.piece.begin(), p.piece.end());
    body.push_back(0x15);
    const auto* f = reinterpret_cast<const uint8_t*>(&p.score);
    body.insert(body.end(), f, f + 4);
    body.push_back(0x18);
    varint(body, static_cast<uint64_t>(p.type));
    out.push_back(0x0A);
    varint(out, body.size());
    out.insert(out.end(), body.begin(), body.end());
  }
  // An unrelated field (2: trainer_spec, length-delimited) that must be skipped.
  out.insert(out.end(), {0x12, 0x02, 0x08, 0x01});
  return out;
}

TEST(SentencePieceModel, ReadsPiecesScoresAndTypes) {
  const auto bytes = ModelProto({{"<unk>", 0, 2}, {"<s>", 0, 3}, {"▁the", -1.5f, 1}});
  const auto pieces = ParseSentencePieceModel(bytes, "mem.model");
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].piece, "▁the");
  EXPECT_FLOAT_EQ(pieces[2].score, -1.5f);
  EXPECT_EQ(pieces[0].type, 2);
}

TEST(SentencePieceModel, RejectsTruncatedAndMalformedInput) {
  auto bytes = ModelProto({{"<unk>", 0, 2}, {"abc", -1, 1}});
  const std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + bytes.size() / 2);
  EXPECT_THROW(ParseSentencePieceModel(truncated, "t.model"), Error);
  EXPECT_THROW(ParseSentencePieceModel(std::vector<uint8_t>{0x0A, 0xFF}, "t.model"), Error);
  EXPECT_THROW(ParseSentencePieceModel(std::vector<uint8_t>{}, "t.model"), Error);
  EXPECT_THROW(ParseSentencePieceModel(std::vector<uint8_t>(11, 0xFF), "t.model"), Error);
}

TEST(SentencePieceModel, ConvertedVocabularyLoadsWithLlama2Conventions) {
  std::vector<SpmPiece> pieces = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  for (int b = 0; b < 256; ++b) pieces.push_back({fmt::format("<0x{:02X}>", b), 0, 6});
  for (const char* p : {"▁", "h", "i", "▁h"}) pieces.push_back({p, -2, 1});
  pieces.push_back({"▁hi", -1, 1});
  const std::string out = (std::filesystem::temp_directory_path() / "ember_tok_unit_vocab.gguf").string();
  WriteSpmVocabGguf(pieces, out, "unit");
  const GgufFile f = GgufFile::Open(out);
  EXPECT_TRUE(f.tensors().empty());
  const Tokenizer tok = Tokenizer::FromGguf(f);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_eos());
  EXPECT_EQ(tok.Encode("hi", true, false), (std::vector<int32_t>{1, tok.FindToken("▁hi")}));
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace ember
