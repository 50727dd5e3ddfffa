// `ember tokenize -m MODEL (-p TEXT | -f FILE | --stdin)`: the token ids of a text, one line per
// token like llama.cpp's llama-tokenize ("    id -> 'piece'"), or with --ids one JSON array.
// Pieces are escaped so that each token stays on one line: \n \r \t \\ and other control or
// invalid-UTF-8 bytes as \xNN.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace ember::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  std::string file;
  bool use_stdin = false;
  bool no_bos = false;
  bool no_parse_special = false;
  bool ids = false;
  bool show_count = false;
};

std::string EscapePiece(const std::string& piece) {
  std::string out;
  size_t i = 0;
  while (i < piece.size()) {
    const size_t valid = unicode::ValidUtf8Prefix(std::string_view(piece).substr(i));
    for (size_t k = i; k < i + valid; ++k) {
      const unsigned char c = static_cast<unsigned char>(piece[k]);
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\\': out += "\\\\"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02x}", c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    }
    i += valid;
    if (i < piece.size()) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(piece[i]));
      ++i;
    }
  }
  return out;
}

std::string ReadAll(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void RunTokenize(const TokenizeOptions& o) {
  const int sources = !o.prompt.empty() + !o.file.empty() + o.use_stdin;
  if (sources != 1) Fail("tokenize: give exactly one of -p TEXT, -f FILE or --stdin");
  std::string text = o.prompt;
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) Fail("tokenize: cannot open '{}'", o.file);
    text = ReadAll(in);
  } else if (o.use_stdin) {
    std::freopen(nullptr, "rb", stdin);
    text = ReadAll(std::cin);
  }
  const GgufFile file = GgufFile::Open(o.model);
  const Tokenizer tok = Tokenizer::FromGguf(file);
  const std::vector<int32_t> ids =
      tok.Encode(text, !o.no_bos && tok.add_bos(), false, !o.no_parse_special);
  std::string out;
  if (o.ids) {
    out += "[";
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", ids[i]);
    out += "]\n";
  } else {
    for (int32_t id : ids) out += fmt::format("{:6d} -> '{}'\n", id, EscapePiece(tok.TokenToPiece(id, true)));
  }
  if (o.show_count) out += fmt::format("Total number of tokens: {}\n", ids.size());
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void RegisterTokenize(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text (like llama-tokenize)");
  cmd->add_option("-m,--model", opts->model, "GGUF model or vocabulary-only GGUF")->required();
  cmd->add_option("-p,--prompt", opts->prompt, "Text to tokenize");
  cmd->add_option("-f,--file", opts->file, "Read the text from a file (all bytes)");
  cmd->add_flag("--stdin", opts->use_stdin, "Read the text from standard input (all bytes, verbatim)");
  cmd->add_flag("--no-bos", opts->no_bos, "Do not add the BOS token even if the vocabulary says so");
  cmd->add_flag("--no-parse-special", opts->no_parse_special,
                "Treat control-token text (e.g. <|im_start|>) as plain text");
  cmd->add_flag("--ids", opts->ids, "Print only the ids, as one JSON array on one line");
  cmd->add_flag("--show-count", opts->show_count, "Print the number of tokens at the end");
  cmd->callback([opts] { RunTokenize(*opts); });
}

}  // namespace ember::cli
