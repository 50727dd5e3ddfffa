// `ember convert-tokenizer SPM.model -o OUT.gguf`: a SentencePiece model file to a vocabulary-only
// GGUF that ember and llama.cpp (vocab_only) load, with Llama-2's conventions.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "tokenizer/spm_model.h"

namespace ember::cli {
namespace {

struct ConvertTokenizerOptions {
  std::string input;
  std::string output;
  std::string name = "llama2-vocab";
};

void RunConvertTokenizer(const ConvertTokenizerOptions& o) {
  const MappedFile mapped(o.input);
  const std::vector<SpmPiece> pieces = ParseSentencePieceModel(mapped.bytes(), o.input);
  WriteSpmVocabGguf(pieces, o.output, o.name);
  fmt::print("convert-tokenizer: {} pieces -> {}\n", pieces.size(), o.output);
}

}  // namespace

void RegisterConvertTokenizer(CLI::App& app) {
  auto opts = std::make_shared<ConvertTokenizerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert-tokenizer", "Convert a SentencePiece .model file to a vocabulary-only GGUF");
  cmd->add_option("input", opts->input, "SentencePiece model (tokenizer.model)")->required();
  cmd->add_option("-o,--output", opts->output, "Output GGUF path")->required();
  cmd->add_option("--name", opts->name, "general.name to record");
  cmd->callback([opts] { RunConvertTokenizer(*opts); });
}

}  // namespace ember::cli
