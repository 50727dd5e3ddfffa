// Command-line flags for sampling, grammars and stop strings, with llama.cpp's names, shared
// by `ember run`, `ember chat` and `ember serve` so their spelling and defaults never drift.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sample/sampler_params.h"

namespace ember {

// --temp --top-k --top-p --min-p --typical --repeat-penalty --repeat-last-n --presence-penalty
// --frequency-penalty --dry-* --xtc-* --top-nsigma --dynatemp-range --dynatemp-exp --mirostat*
// -l/--logit-bias -s/--seed --ignore-eos --samplers --sampling-seq --min-keep
void AddSamplerFlags(CLI::App& cmd, SamplerParams& params);

struct GrammarOptions {
  std::string grammar;            // --grammar
  std::string grammar_file;       // --grammar-file
  std::string json_schema;        // -j/--json-schema
  std::string json_schema_file;   // --json-schema-file
  bool json = false;              // --json: any JSON object
};
// json_flag: the spelling of the "any JSON object" flag (llama.cpp-style "--json"); a command
// whose --json already means JSON output can pass e.g. "--json-object".
void AddGrammarFlags(CLI::App& cmd, GrammarOptions& options, const std::string& json_flag = "--json");
// The GBNF text the options ask for ("" = unconstrained). Throws ember::Error for conflicting
// options, unreadable files, invalid or unsupported schemas.
std::string ResolveGrammar(const GrammarOptions& options);

// -r/--reverse-prompt (repeatable): stop strings.
void AddStopFlags(CLI::App& cmd, std::vector<std::string>& stops);

}  // namespace ember
