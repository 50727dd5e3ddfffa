// `ember doctor -m MODEL`: checks for the usual reasons of garbage output (see diag/doctor.h), one
// line per finding with a hint, and a verdict. Exit status 0 when healthy, 1 when a check fails.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "diag/doctor.h"
#include "runtime/model_path.h"

namespace ember::cli {
namespace {

struct DoctorCliOptions {
  std::string model;
  int threads = 0;
};

void RunDoctorCmd(const DoctorCliOptions& o) {
  DoctorOptions opts;
  opts.n_threads = o.threads;
  const DoctorReport r = RunDoctor(ResolveModelPath(o.model), opts);
  const std::string s = FormatDoctor(r);
  std::fwrite(s.data(), 1, s.size(), stdout);
  if (!r.healthy()) throw CLI::RuntimeError(1);
}

}  // namespace

void RegisterDoctor(CLI::App& app) {
  auto o = std::make_shared<DoctorCliOptions>();
  CLI::App* cmd = app.add_subcommand("doctor", "Check a model for the usual causes of garbage output");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: the default model)");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (0: physical cores)");
  cmd->callback([o] { RunDoctorCmd(*o); });
}

}  // namespace ember::cli
