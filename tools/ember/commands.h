// Subcommands of the `ember` tool. Each lives in its own cmd_<name>.cpp and registers itself on
// the CLI11 app here; the work is done by the library layers, not in these files.
#pragma once

#include <CLI/CLI.hpp>

namespace ember::cli {

void RegisterInspect(CLI::App& app);
void RegisterRun(CLI::App& app);
void RegisterChat(CLI::App& app);
void RegisterLogits(CLI::App& app);
void RegisterQuantize(CLI::App& app);
void RegisterSynth(CLI::App& app);
void RegisterTokenize(CLI::App& app);
void RegisterConvertTokenizer(CLI::App& app);
void RegisterTemplate(CLI::App& app);
void RegisterDump(CLI::App& app);
void RegisterCompare(CLI::App& app);
void RegisterPerplexity(CLI::App& app);
void RegisterDoctor(CLI::App& app);
void RegisterGpuBench(CLI::App& app);
void RegisterFastSynth(CLI::App& app);
void RegisterBench(CLI::App& app);
void RegisterServe(CLI::App& app);

}  // namespace ember::cli
