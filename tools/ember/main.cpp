// ember: run large language models from GGUF files.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "device_flags.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"ember: run large language models from GGUF files (llama.cpp-compatible)", "ember"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ember 0.1.0");
  app.footer("Run 'ember COMMAND --help' for the options of one command.");
  ember::cli::RegisterRun(app);
  ember::cli::RegisterChat(app);
  ember::cli::RegisterServe(app);
  ember::cli::RegisterLogits(app);
  ember::cli::RegisterInspect(app);
  ember::cli::RegisterQuantize(app);
  ember::cli::RegisterSynth(app);
  ember::cli::RegisterTokenize(app);
  ember::cli::RegisterConvertTokenizer(app);
  ember::cli::RegisterTemplate(app);
  ember::cli::RegisterDump(app);
  ember::cli::RegisterCompare(app);
  ember::cli::RegisterPerplexity(app);
  ember::cli::RegisterDoctor(app);
  ember::cli::RegisterGpuBench(app);
  ember::cli::RegisterFastSynth(app);
  ember::cli::RegisterBench(app);
  ember::cli::NormalizeLlamaCppFlags(argc, argv);  // llama.cpp's -ngl
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "ember: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ember: error: out of memory\n");
    return 1;
  }
  return 0;
}
