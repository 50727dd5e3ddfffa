// `ember quantize IN.gguf OUT.gguf TYPE`: quantize a model to a llama.cpp file type.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "quant/quant.h"
#include "quant/quantize_model.h"

namespace ember::cli {
namespace {

struct QuantizeCliOptions {
  std::vector<std::string> args;
  bool allow_requantize = false;
  bool pure = false;
  bool leave_output = false;
  bool dry_run = false;
  bool verbose = false;
  int threads = 0;
  std::string output_tensor_type;
  std::string token_embedding_type;
};

std::string Join(const std::vector<std::string_view>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + std::string(i);
  return s;
}

std::string Shape(const std::vector<uint64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

double MiB(uint64_t n) { return static_cast<double>(n) / (1024.0 * 1024.0); }

GgmlType ParseTensorType(const std::string& name, const char* flag) {
  const auto t = GgmlTypeFromName(name);
  if (!t || !CanQuantize(*t)) Fail("{}: '{}' is not a tensor type ember can quantize to", flag, name);
  return *t;
}

void Run(const QuantizeCliOptions& o) {
  QuantizeModelOptions opts;
  std::string type_name;
  if (o.args.size() == 3) {
    opts.input = o.args[0];
    opts.output = o.args[1];
    type_name = o.args[2];
  } else if (o.args.size() == 2 && o.dry_run) {
    opts.input = o.args[0];
    type_name = o.args[1];
  } else {
    Fail("expected IN.gguf OUT.gguf TYPE (or IN.gguf TYPE with --dry-run)");
  }
  const auto ftype = ParseFileType(type_name);
  if (!ftype) Fail("unknown quantization type '{}'; one of: {}", type_name, Join(FileTypeNames(true)));
  if (!ftype->supported) {
    Fail("quantization type {} is not supported by ember (it needs formats or an importance matrix ember does "
         "not have); supported: {}", ftype->name, Join(FileTypeNames(true)));
  }
  if (!opts.output.empty() && opts.output == opts.input) Fail("the output file must differ from the input file");
  opts.plan.ftype = ftype->ftype;
  opts.plan.pure = o.pure;
  opts.plan.quantize_output = !o.leave_output;
  if (!o.output_tensor_type.empty()) {
    opts.plan.output_tensor_type = ParseTensorType(o.output_tensor_type, "--output-tensor-type");
  }
  if (!o.token_embedding_type.empty()) {
    opts.plan.token_embedding_type = ParseTensorType(o.token_embedding_type, "--token-embedding-type");
  }
  opts.allow_requantize = o.allow_requantize;
  opts.dry_run = o.dry_run;
  opts.threads = o.threads;

  const QuantizeModelReport r = QuantizeModel(opts);
  int n_quantized = 0;
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    const auto& t = r.tensors[i];
    n_quantized += t.from != t.to;
    if (o.verbose || o.dry_run) {
      fmt::print("[{:4}/{:4}] {:<36} {:>18}  {:>6} -> {:<6} {:9.3f} MiB -> {:9.3f} MiB{}\n", i + 1, r.tensors.size(),
                 t.name, Shape(t.shape), GgmlTypeName(t.from), GgmlTypeName(t.to), MiB(t.bytes_in), MiB(t.bytes_out),
                 t.fell_back ? "  (fallback: row length)" : "");
    }
  }
  fmt::print("{} {} as {} ({}): {} tensors, {} quantized, {} copied, {} fallback{}\n",
             o.dry_run ? "would quantize" : "quantized", opts.input + (opts.output.empty() ? "" : " -> " + opts.output),
             FileTypeInfoOf(ftype->ftype).name, static_cast<uint32_t>(ftype->ftype), r.tensors.size(), n_quantized,
             r.tensors.size() - static_cast<size_t>(n_quantized), r.n_fallback, r.n_fallback == 1 ? "" : "s");
  fmt::print("size: {:.2f} MiB ({:.2f} bits per weight) -> {:.2f} MiB ({:.2f} bits per weight), {:.2f} s\n",
             MiB(r.bytes_in), r.bpw_in(), MiB(r.bytes_out), r.bpw_out(), r.seconds);
}

}  // namespace

void RegisterQuantize(CLI::App& app) {
  auto opts = std::make_shared<QuantizeCliOptions>();
  auto* cmd = app.add_subcommand("quantize", "Quantize a GGUF model to a llama.cpp file type (Q4_K_M, Q8_0, ...)");
  cmd->add_option("args", opts->args, "IN.gguf OUT.gguf TYPE (TYPE: " + Join(FileTypeNames(true)) + ")")
      ->required()
      ->expected(2, 3);
  cmd->add_flag("--allow-requantize", opts->allow_requantize,
                "Re-quantize tensors that are already quantized (loses quality, as in llama.cpp)");
  cmd->add_option("-t,--threads", opts->threads, "Threads (default: all)")->check(CLI::Range(1, 1024));
  cmd->add_flag("--pure", opts->pure, "Give every quantizable tensor the default type (no _S/_M/_L mix rules)");
  cmd->add_flag("--leave-output-tensor", opts->leave_output, "Keep output.weight as it is");
  cmd->add_option("--output-tensor-type", opts->output_tensor_type, "Type of output.weight (e.g. Q8_0)");
  cmd->add_option("--token-embedding-type", opts->token_embedding_type, "Type of token_embd.weight");
  cmd->add_flag("--dry-run", opts->dry_run, "Print the per-tensor plan and sizes; write nothing");
  cmd->add_flag("-v,--verbose", opts->verbose, "Print one line per tensor");
  cmd->callback([opts]() { Run(*opts); });
}

}  // namespace ember::cli
