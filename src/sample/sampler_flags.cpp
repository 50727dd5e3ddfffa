// Sampling flags; names, defaults and checks follow llama.cpp's common/arg.cpp.
#include "sample/sampler_flags.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "sample/json_schema.h"

namespace ember {
namespace {

std::string ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot open '{}'", what, path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void AddSamplerFlags(CLI::App& cmd, SamplerParams& p) {
  cmd.add_option("-s,--seed", p.seed, "RNG seed (default: random, 4294967295 = random)");
  cmd.add_option_function<float>(
         "--temp,--temperature", [&p](const float& v) { p.temp = std::max(v, 0.0f); },
         "temperature (default: 0.80; 0 = greedy)");
  cmd.add_option("--top-k", p.top_k, "top-k sampling (default: 40, 0 = disabled)");
  cmd.add_option("--top-p", p.top_p, "top-p sampling (default: 0.95, 1.0 = disabled)");
  cmd.add_option("--min-p", p.min_p, "min-p sampling (default: 0.05, 0.0 = disabled)");
  cmd.add_option("--typical,--typical-p", p.typical_p, "locally typical sampling, p (default: 1.0 = disabled)");
  cmd.add_option("--top-nsigma,--top-n-sigma", p.top_n_sigma, "top-n-sigma sampling (default: -1 = disabled)");
  cmd.add_option("--xtc-probability", p.xtc_probability, "XTC probability (default: 0.0 = disabled)");
  cmd.add_option("--xtc-threshold", p.xtc_threshold, "XTC threshold (default: 0.1, > 0.5 = disabled)");
  cmd.add_option("--min-keep", p.min_keep, "samplers keep at least this many tokens (default: 0)");
  cmd.add_option_function<int32_t>(
      "--repeat-last-n",
      [&p](const int32_t& v) {
        if (v < 0) Fail("--repeat-last-n must be >= 0, got {}", v);
        p.repeat_last_n = v;
      },
      "last n tokens to consider for penalties (default: 64, 0 = disabled)");
  cmd.add_option_function<float>(
      "--repeat-penalty",
      [&p](const float& v) {
        if (!std::isfinite(v) || v <= 0.0f || !std::isfinite(1.0f / v)) {
          Fail("--repeat-penalty must be finite and greater than 0, got {}", v);
        }
        p.repeat_penalty = v;
      },
      "penalize repeated tokens (default: 1.0 = disabled; 1.1 over 64 tokens is a classic)");
  cmd.add_option_function<float>(
      "--presence-penalty",
      [&p](const float& v) {
        if (!std::isfinite(v)) Fail("--presence-penalty must be finite");
        p.presence_penalty = v;
      },
      "presence penalty (default: 0.0 = disabled)");
  cmd.add_option_function<float>(
      "--frequency-penalty",
      [&p](const float& v) {
        if (!std::isfinite(v)) Fail("--frequency-penalty must be finite");
        p.frequency_penalty = v;
      },
      "frequency penalty (default: 0.0 = disabled)");
  cmd.add_option("--dry-multiplier", p.dry_multiplier, "DRY multiplier (default: 0.0 = disabled)");
  cmd.add_option_function<float>(
      "--dry-base", [&p](const float& v) { if (v >= 1.0f) p.dry_base = v; },
      "DRY base (default: 1.75; values below 1 are ignored, as in llama.cpp)");
  cmd.add_option("--dry-allowed-length", p.dry_allowed_length, "DRY allowed length (default: 2)");
  cmd.add_option_function<int32_t>(
      "--dry-penalty-last-n",
      [&p](const int32_t& v) {
        if (v < 0) Fail("--dry-penalty-last-n must be >= 0, got {}", v);
        p.dry_penalty_last_n = v;
      },
      "DRY: tokens to scan for repeats (default: 64, 0 = disabled)");
  cmd.add_option_function<std::vector<std::string>>(
      "--dry-sequence-breaker",
      [&p](const std::vector<std::string>& v) {
        p.dry_sequence_breakers.clear();
        for (const std::string& s : v) {
          if (s == "none") {
            p.dry_sequence_breakers.clear();
          } else {
            p.dry_sequence_breakers.push_back(s);
          }
        }
      },
      "DRY sequence breaker, repeatable; replaces the defaults ('\\n', ':', '\"', '*'); 'none' for none");
  cmd.add_option("--dynatemp-range", p.dynatemp_range, "dynamic temperature range (default: 0.0 = disabled)");
  cmd.add_option("--dynatemp-exp", p.dynatemp_exponent, "dynamic temperature exponent (default: 1.0)");
  cmd.add_option_function<int32_t>(
      "--mirostat",
      [&p](const int32_t& v) {
        if (v < 0 || v > 2) Fail("--mirostat must be 0, 1 or 2, got {}", v);
        p.mirostat = v;
      },
      "Mirostat: 0 = off, 1 = Mirostat, 2 = Mirostat 2.0 (top-k, top-p, typical ignored)");
  cmd.add_option("--mirostat-lr", p.mirostat_eta, "Mirostat learning rate eta (default: 0.1)");
  cmd.add_option("--mirostat-ent", p.mirostat_tau, "Mirostat target entropy tau (default: 5.0)");
  cmd.add_option_function<std::vector<std::string>>(
      "-l,--logit-bias",
      [&p](const std::vector<std::string>& v) {
        for (const std::string& s : v) p.logit_bias.push_back(ParseLogitBias(s));
      },
      "TOKEN_ID(+|-)BIAS, e.g. 15043+1 or 15043-inf; repeatable");
  cmd.add_flag("--ignore-eos", p.ignore_eos, "ignore end of stream and continue generating");
  cmd.add_option_function<std::string>(
      "--samplers", [&p](const std::string& v) { p.samplers = ParseSamplerNames(v); },
      "samplers in order, separated by ';' (default: penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature)");
  cmd.add_option_function<std::string>(
      "--sampling-seq,--sampler-seq", [&p](const std::string& v) { p.samplers = ParseSamplerChars(v); },
      "samplers as letters (default: edskypmxt)");
}

void AddGrammarFlags(CLI::App& cmd, GrammarOptions& o, const std::string& json_flag) {
  cmd.add_option("--grammar", o.grammar, "GBNF grammar to constrain the output");
  cmd.add_option("--grammar-file", o.grammar_file, "file to read a GBNF grammar from");
  cmd.add_option("-j,--json-schema", o.json_schema,
                 "JSON Schema to constrain the output, e.g. '{\"type\": \"object\"}'");
  cmd.add_option("--json-schema-file", o.json_schema_file, "file containing a JSON Schema");
  cmd.add_flag(json_flag, o.json, "output any valid JSON object");
}

std::string ResolveGrammar(const GrammarOptions& o) {
  const int n = !o.grammar.empty() + !o.grammar_file.empty() + !o.json_schema.empty() +
                !o.json_schema_file.empty() + (o.json ? 1 : 0);
  if (n > 1) {
    Fail("use only one of --grammar, --grammar-file, --json-schema, --json-schema-file, --json");
  }
  if (!o.grammar.empty()) return o.grammar;
  if (!o.grammar_file.empty()) return ReadFile(o.grammar_file, "--grammar-file");
  if (!o.json_schema.empty()) return JsonSchemaTextToGbnf(o.json_schema);
  if (!o.json_schema_file.empty()) {
    return JsonSchemaTextToGbnf(ReadFile(o.json_schema_file, "--json-schema-file"));
  }
  if (o.json) return JsonObjectGbnf();
  return "";
}

void AddStopFlags(CLI::App& cmd, std::vector<std::string>& stops) {
  cmd.add_option("-r,--reverse-prompt", stops, "stop generating at this string (repeatable); it is not printed");
}

}  // namespace ember
