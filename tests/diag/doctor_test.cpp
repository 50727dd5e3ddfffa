// ember doctor on the real models (healthy) and on deliberately broken copies of them, each of
// which must be flagged by the right check with the right hint. Skipped when a model is absent.
#include <gtest/gtest.h>

#include <filesystem>

#include "diag/doctor.h"
#include "diag/model_copy.h"
#include "gguf/gguf_value.h"

namespace ember {
namespace {

constexpr const char* kSmol = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char* kGemma = "gemma-3-270m-q4_k_m.gguf";

const Finding* FindCheck(const DoctorReport& r, const std::string& check) {
  for (const auto& f : r.findings) {
    if (f.check == check) return &f;
  }
  return nullptr;
}

DoctorReport Doctor(const std::string& path, DoctorOptions o = {}) {
  o.n_threads = 2;
  return RunDoctor(path, o);
}

// Each broken copy runs only the checks that must flag it: a full doctor run on SmolLM2 is seven
// passes over the paragraph plus a continuation, too slow to repeat per copy.
DoctorOptions Only(bool run_model, bool rope, bool bos) {
  DoctorOptions o;
  o.run_model = run_model;
  o.rope_sweep = rope;
  o.bos_sweep = bos;
  o.greedy = false;
  return o;
}

class DoctorBrokenCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    smol_ = test::FindModel(kSmol);
    if (smol_.empty()) GTEST_SKIP() << kSmol << " not found (scripts/fetch-models)";
    dir_ = test::ScratchDir("doctor");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  DoctorReport BrokenSmol(const test::CopyEdits& edits, const DoctorOptions& o) {
    const std::string path = dir_ + "/broken.gguf";
    test::CopyModel(smol_, path, edits);
    return Doctor(path, o);
  }
  std::string smol_, dir_;
};

TEST(Doctor, PassesOnSmolLM2) {
  const std::string smol = test::FindModel(kSmol);
  if (smol.empty()) GTEST_SKIP() << kSmol << " not found (scripts/fetch-models)";
  const DoctorReport r = Doctor(smol);
  EXPECT_TRUE(r.healthy()) << FormatDoctor(r);
  for (const char* check : {"architecture keys vs tensor shapes", "tokenizer round trip",
                            "BOS/EOS configuration", "chat template",
                            "perplexity of an English paragraph", "RoPE base against the weights",
                            "BOS flag against the weights", "greedy continuation"}) {
    const Finding* f = FindCheck(r, check);
    ASSERT_NE(f, nullptr) << check;
    EXPECT_EQ(f->severity, Severity::kOk) << check << ": " << f->detail;
  }
  EXPECT_NE(FormatDoctor(r).find("verdict: healthy"), std::string::npos);
}

// The packaged Gemma 3 270M is the base model and its GGUF carries no chat template: doctor must
// pass every other check -- ember runs gemma3, so the forward-pass checks run too (measured:
// perplexity 16.15 on the paragraph, "... is Paris. The capital of Italy is Rome. ...") -- and
// flag exactly the missing template, with its hint.
TEST(Doctor, ChecksGemma3AndFlagsItsMissingChatTemplate) {
  const std::string gemma = test::FindModel(kGemma);
  if (gemma.empty()) GTEST_SKIP() << kGemma << " not found (scripts/fetch-models)";
  const DoctorReport r = Doctor(gemma);
  for (const char* check : {"architecture keys vs tensor shapes", "tokenizer round trip",
                            "BOS/EOS configuration", "perplexity of an English paragraph",
                            "BOS flag against the weights", "greedy continuation"}) {
    const Finding* f = FindCheck(r, check);
    ASSERT_NE(f, nullptr) << check;
    EXPECT_EQ(f->severity, Severity::kOk) << check << ": " << f->detail;
  }
  const Finding* t = FindCheck(r, "chat template");
  ASSERT_NE(t, nullptr);
  EXPECT_NE(t->severity, Severity::kOk);
  EXPECT_NE(t->detail.find("tokenizer.chat_template is missing"), std::string::npos) << t->detail;
  EXPECT_NE(FormatDoctor(r).find("verdict: 1 problem found"), std::string::npos) << FormatDoctor(r);
}

// SmolLM2 is trained with RoPE base 100000. Read with 10000 it still predicts the paragraph at
// perplexity 20.6, under any ceiling for its size, so only the relative check catches it: 100000
// scores 17.4, 0.84x (the threshold is 0.9x; on the healthy model the best other base is 1.05x).
TEST_F(DoctorBrokenCopy, FlagsAWrongRopeBaseAndNamesTheRightOne) {
  test::CopyEdits e;
  e.set.emplace("llama.rope.freq_base", GgufValue::F32(10000.0f));
  const DoctorReport r = BrokenSmol(e, Only(true, true, false));
  EXPECT_FALSE(r.healthy()) << FormatDoctor(r);
  const Finding* f = FindCheck(r, "RoPE base against the weights");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail) << f->detail;
  EXPECT_NE(f->hint.find("rope.freq_base = 10000, but with 100000"), std::string::npos) << f->hint;
  // The absolute check alone passes this copy: the relative one is what finds it.
  const Finding* p = FindCheck(r, "perplexity of an English paragraph");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, Severity::kOk) << p->detail;
}

TEST_F(DoctorBrokenCopy, FlagsAMissingChatTemplate) {
  test::CopyEdits e;
  e.remove.insert("tokenizer.chat_template");
  const DoctorReport r = BrokenSmol(e, Only(false, false, false));
  EXPECT_FALSE(r.healthy());
  const Finding* f = FindCheck(r, "chat template");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_NE(f->detail.find("missing"), std::string::npos);
  EXPECT_NE(f->hint.find("chat template"), std::string::npos);
}

TEST_F(DoctorBrokenCopy, FlagsSwappedQAndKWeights) {
  test::CopyEdits e;
  e.rename = {{"blk.4.attn_q.weight", "blk.4.attn_k.weight"},
              {"blk.4.attn_k.weight", "blk.4.attn_q.weight"}};
  const DoctorReport r = BrokenSmol(e, Only(false, false, false));
  EXPECT_FALSE(r.healthy());
  const Finding* f = FindCheck(r, "architecture keys vs tensor shapes");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_NE(f->detail.find("blk.4.attn_q.weight"), std::string::npos) << f->detail;
  EXPECT_NE(f->hint.find("Q and K projection weights look swapped"), std::string::npos) << f->hint;
}

// SmolLM2 does not add BOS (its BOS is <|im_start|>, which opens a chat turn). Wrongly added, the
// paragraph scores 18.8; without it 17.4, 0.92x (threshold 0.95x; healthy, adding BOS is 1.09x).
TEST_F(DoctorBrokenCopy, FlagsAWrongBosFlag) {
  test::CopyEdits e;
  e.set.emplace("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  const DoctorReport r = BrokenSmol(e, Only(true, false, true));
  EXPECT_FALSE(r.healthy()) << FormatDoctor(r);
  const Finding* f = FindCheck(r, "BOS flag against the weights");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail) << f->detail;
  EXPECT_NE(f->hint.find("add_bos_token = true looks wrong"), std::string::npos) << f->hint;
}

TEST(Doctor, FlagsAGemmaCopyThatDoesNotAddBos) {
  const std::string gemma = test::FindModel(kGemma);
  if (gemma.empty()) GTEST_SKIP() << kGemma << " not found (scripts/fetch-models)";
  const std::string dir = test::ScratchDir("doctor-gemma");
  test::CopyEdits e;
  e.set.emplace("tokenizer.ggml.add_bos_token", GgufValue::Bool(false));
  test::CopyModel(gemma, dir + "/gemma-nobos.gguf", e);
  const DoctorReport r = Doctor(dir + "/gemma-nobos.gguf", Only(false, false, false));
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(r.healthy());
  const Finding* f = FindCheck(r, "BOS/EOS configuration");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kFail);
  EXPECT_NE(f->detail.find("add_bos_token is false"), std::string::npos) << f->detail;
  EXPECT_NE(f->hint.find("BOS"), std::string::npos);
}

}  // namespace
}  // namespace ember
