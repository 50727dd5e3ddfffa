// `ember inspect` as users run it (the binary from EMBER_BIN): text and --json output on files made
// by the writer and on the real models, and on malformed files one line on stderr naming the file
// and offset, exit status 1, never a crash.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf/gguf_bytes.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_fixtures.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;  // 128 + signal if it died of one
  std::string out, err;
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class InspectCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("EMBER_BIN");
    bin_ = bin != nullptr && *bin != '\0' ? bin : EMBER_BIN_PATH;
    ASSERT_TRUE(fs::exists(bin_)) << bin_ << " does not exist (build the ember target)";
    dir_ = fs::temp_directory_path() /
           ("ember_inspect_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Put(const std::string& name, const std::vector<uint8_t>& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }

  RunResult Inspect(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = "'" + bin_ + "' inspect " + args + " >'" + out.string() + "' 2>'" +
                            err.string() + "'";
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  // A malformed file must give exactly one line on stderr, "ember: error: PATH: offset N: ...".
  void ExpectOneLineError(const std::string& path, uint64_t offset, const std::string& fragment) {
    const RunResult r = Inspect("'" + path + "'");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    const std::string prefix = "ember: error: " + path + ": offset " + std::to_string(offset) + ": ";
    EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  }

  std::string bin_;
  fs::path dir_;
};

TEST_F(InspectCli, PrintsMetadataTensorsTotalsAndSummary) {
  const std::string path = Put("fixture.gguf", MakeWriterFixture().WriteToBuffer());
  const RunResult r = Inspect("'" + path + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find(path + ": GGUF v3, 45 metadata keys, 10 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("arr[i32,3]"), std::string::npos);
  EXPECT_NE(r.out.find("q4_k.weight"), std::string::npos);
  EXPECT_NE(r.out.find("256 x 2"), std::string::npos);
  EXPECT_NE(r.out.find("... (1000 items)"), std::string::npos);  // long arrays shortened
  EXPECT_NE(r.out.find("totals: 10 tensors"), std::string::npos);
  EXPECT_NE(r.out.find("summary: fixture 'ember writer fixture'"), std::string::npos) << r.out;
  // Control characters in values are escaped: every output line is one line of the table.
  EXPECT_NE(r.out.find("\\n\\t\\\"\\\\"), std::string::npos);
  const RunResult no_tensors = Inspect("--no-tensors '" + path + "'");
  EXPECT_EQ(no_tensors.out.find("q4_k.weight"), std::string::npos);
}

TEST_F(InspectCli, JsonDescribesEveryKeyAndTensorOfAWriterFile) {
  const auto bytes = MakeWriterFixture().WriteToBuffer();
  const std::string path = Put("fixture.gguf", bytes);
  const GgufFile f = GgufFile::Parse(bytes, path);
  const RunResult r = Inspect("--json '" + path + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("version"), 3);
  EXPECT_EQ(j.at("alignment"), 64);
  EXPECT_EQ(j.at("data_offset"), f.data_offset());
  EXPECT_EQ(j.at("file_size"), bytes.size());
  ASSERT_EQ(j.at("metadata").size(), f.metadata().size());
  EXPECT_EQ(j.at("metadata").at("scalar.u64"), ~0ull);
  EXPECT_EQ(j.at("metadata").at("scalar.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(j.at("metadata").at("string.utf8"), f.GetString("string.utf8"));
  EXPECT_EQ(j.at("metadata").at("array.nested_i32"), nlohmann::json::parse("[[1,2],[],[3]]"));
  EXPECT_EQ(j.at("metadata").at("array.long_str").size(), 8u);  // shortened without --full
  EXPECT_EQ(j.at("metadata_types").at("array.long_str"), "arr[str; 300]");
  EXPECT_EQ(j.at("metadata_types").at("scalar.f32"), "f32");
  ASSERT_EQ(j.at("tensors").size(), f.tensors().size());
  uint64_t total = 0;
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& t = f.tensors()[i];
    const auto& jt = j.at("tensors")[i];
    EXPECT_EQ(jt.at("name"), t.name);
    EXPECT_EQ(jt.at("type"), std::string(GgmlTypeName(t.type)));
    EXPECT_EQ(jt.at("shape").get<std::vector<uint64_t>>(), t.shape);
    EXPECT_EQ(jt.at("offset"), t.offset);
    EXPECT_EQ(jt.at("bytes"), t.n_bytes);
    total += t.n_bytes;
  }
  EXPECT_EQ(j.at("totals").at("bytes"), total);
  EXPECT_EQ(j.at("totals").at("by_type").at("Q4_K").at("tensors"), 1);
  EXPECT_EQ(j.at("summary").at("architecture"), "fixture");

  const RunResult full = Inspect("--json --full '" + path + "'");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto jf = nlohmann::json::parse(full.out);
  EXPECT_EQ(jf.at("metadata").at("array.long_str").size(), 300u);
  EXPECT_EQ(jf.at("metadata").at("array.long_str")[299], "tok89401");
}

TEST_F(InspectCli, SurvivesOddButValidMetadata) {
  // Not UTF-8, a non-string architecture, names with escape sequences and huge lengths.
  GgufBytes b;
  b.Header(1, 4).KvStr("general.name", "\xff\xfe").KvU32("general.architecture", 7);
  b.KvU32(std::string(5000, 'k'), 1).KvStr("evil\nkey\x1b[2J", "v");
  b.TensorInfo("evil\ntensor", {4}, 0, 0).PadTo(32).Zeros(16);
  const std::string path = Put("odd.gguf", b.bytes());
  for (const char* flags : {"", "--json ", "--full "}) {
    SCOPED_TRACE(flags);
    const RunResult r = Inspect(std::string(flags) + "'" + path + "'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("evil\n"), std::string::npos);
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
    EXPECT_LT(r.out.size(), 40000u);  // a 5000-byte key must not widen every line
  }
}

TEST_F(InspectCli, MalformedFilesGiveOneLineErrorsAndExitStatus1) {
  GgufBytes magic;
  magic.U32(0x4c4d4747).U32(3).U64(0).U64(0);
  ExpectOneLineError(Put("magic.gguf", magic.bytes()), 0, "not a GGUF file");

  GgufBytes huge;
  huge.Header(0, ~0ull).Zeros(8);
  ExpectOneLineError(Put("huge.gguf", huge.bytes()), 16, "metadata count 18446744073709551615 cannot fit");

  GgufBytes bomb;
  bomb.Header(0, 1).Key("bomb", GgufValueType::ARRAY);
  for (int i = 0; i < 9; ++i) bomb.ArrayHeader(GgufValueType::ARRAY, 1);
  ExpectOneLineError(Put("bomb.gguf", bomb.bytes()), 24 + 16 + 8 * 12, "arrays nested deeper than 8");

  GgufBytes dup;
  dup.Header(0, 2).KvU32("a\nb", 1).KvU32("a\nb", 1);
  ExpectOneLineError(Put("dup.gguf", dup.bytes()), 24 + 19, "duplicate metadata key 'a\\x0ab'");

  GgufBytes removed;
  removed.Header(1, 0).TensorInfo("t", {32}, 4, 0).PadTo(32).Zeros(32);
  ExpectOneLineError(Put("removed.gguf", removed.bytes()), 24 + 9 + 4 + 8, "which ggml removed");

  GgufBytes beyond;
  beyond.Header(1, 0).TensorInfo("t", {4}, 0, 1ull << 40).PadTo(32).Zeros(16);
  ExpectOneLineError(Put("beyond.gguf", beyond.bytes()), 24 + 9 + 4 + 8 + 4, "extends past the end");
}

TEST_F(InspectCli, TruncationsOfASmallFileFailCleanly) {
  // Every byte is covered in memory (GgufMalformed.RejectsTruncationAtEveryByte); through the
  // binary, every 7th byte and the last keep the test quick.
  const auto file = MakeSmallFile();
  std::vector<size_t> lengths;
  for (size_t len = 0; len < file.size(); len += 7) lengths.push_back(len);
  lengths.push_back(file.size() - 1);
  for (size_t len : lengths) {
    SCOPED_TRACE(len);
    const std::string path =
        Put("cut.gguf", std::vector<uint8_t>(file.begin(), file.begin() + static_cast<ptrdiff_t>(len)));
    const RunResult r = Inspect("'" + path + "'");
    ASSERT_EQ(r.exit_code, 1) << r.err;
    ASSERT_EQ(r.err.rfind("ember: error: " + path + ": offset ", 0), 0u) << r.err;
    ASSERT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

TEST_F(InspectCli, MissingFileAndMissingArgumentFail) {
  const RunResult missing = Inspect("/nonexistent/model.gguf");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "ember: error: /nonexistent/model.gguf: cannot open: No such file or directory\n");
  const RunResult none = Inspect("");
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.exit_code, 1 + 128);
}

TEST_F(InspectCli, SummarizesTheRealSmolLM2Model) {
  const char* models = std::getenv("EMBER_MODELS");
  const std::string path = (models != nullptr && *models != '\0' ? std::string(models)
                                                                 : std::string(EMBER_SOURCE_DIR) + "/models") +
                           "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (run scripts/fetch-models)";
  const RunResult r = Inspect("--json --no-tensors '" + path + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(r.out).at("summary");
  EXPECT_EQ(s.at("architecture"), "llama");
  EXPECT_EQ(s.at("layers"), 30);
  EXPECT_EQ(s.at("width"), 576);
  EXPECT_EQ(s.at("heads"), 9);
  EXPECT_EQ(s.at("kv_heads"), 3);
  EXPECT_EQ(s.at("vocab_size"), 49152);
  EXPECT_EQ(s.at("vocab_type"), "gpt2");
  const RunResult text = Inspect("'" + path + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("summary: llama"), std::string::npos);
  EXPECT_NE(text.out.find("30 layers, width 576, 9 heads / 3 KV heads"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace ember::test
