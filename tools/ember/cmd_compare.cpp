// `ember compare A B [--tol X]`: two dumps (ember's JSON, or the text llama.cpp's
// llama-eval-callback prints) side by side: the first tensor, layer and position where they part
// beyond the tolerance, and the divergence per layer. Exit status 1 when they diverge.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "diag/compare.h"
#include "diag/dump_io.h"

namespace ember::cli {
namespace {

struct CompareOptions {
  std::string a, b;
  double tol = 1e-3;
};

void RunCompare(const CompareOptions& o) {
  const Dump a = ReadDump(o.a);
  const Dump b = ReadDump(o.b);
  const CompareResult r = CompareDumps(a, b, o.tol);
  const std::string s = FormatCompare(r, o.a + " (" + a.source + ")", o.b + " (" + b.source + ")");
  std::fwrite(s.data(), 1, s.size(), stdout);
  if (r.diverged() || r.diffs.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void RegisterCompare(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Find the first tensor/layer/position where two dumps (ember or llama-eval-callback) part");
  cmd->add_option("A", o->a, "First dump (ember dump --out JSON, or llama-eval-callback output)")->required();
  cmd->add_option("B", o->b, "Second dump")->required();
  cmd->add_option("--tol", o->tol, "Relative tolerance (default 1e-3)")->check(CLI::PositiveNumber);
  cmd->callback([o] { RunCompare(*o); });
}

}  // namespace ember::cli
