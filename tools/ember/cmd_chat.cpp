// `ember chat`: a multi-turn conversation in the terminal, as llama-cli's conversation mode. The
// whole conversation is rendered through the model's chat template each turn and only the tokens
// that differ from the KV cache are evaluated, so earlier turns cost nothing again. Each answer
// ends at the model's end-of-turn token (or a stop string, or -n); Ctrl-C interrupts an answer
// and returns to the prompt (Ctrl-C at the prompt, Ctrl-D, /exit or /quit end the chat);
// /reset forgets the conversation. Without a terminal it reads one message per line from stdin
// and prints one answer per message, for scripts.
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "generation_setup.h"
#include "line_reader.h"
#include "runtime/generate.h"

namespace ember::cli {
namespace {

// Set by Ctrl-C while an answer is generated (a signal handler can only reach a global).
volatile std::sig_atomic_t g_interrupted = 0;

void OnSigint(int) { g_interrupted = 1; }

struct ChatOptions {
  ModelFlags load;
  GenerationFlags gen;
  TemplateFlags chat;
  bool verbose = false;
};

constexpr const char* kHelp =
    "  /reset   forget the conversation (the system message stays)\n"
    "  /exit    end the chat (also /quit, Ctrl-D, or Ctrl-C at the prompt)\n"
    "  a line ending in \\ continues on the next line; Ctrl-C stops an answer\n";

void Chat(const ChatOptions& o) {
  ResolveGrammar(o.gen.grammar);  // bad grammar flags fail before the model loads
  LoadedModel lm = LoadForGeneration(o.load, /*show_progress=*/true);
  std::optional<ChatPrompt> chat = MakeChatPrompt(lm, o.chat);
  if (!chat) {
    Fail("{} has no chat template: name one with --chat-template NAME (chatml, llama3, gemma, ...) "
         "or --chat-template-file FILE", lm.path);
  }
  const Tokenizer& tok = *lm.tokenizer;
  Session& session = *lm.session;
  std::unique_ptr<Sampler> sampler = MakeSamplerFor(lm, o.gen);
  const std::string gbnf = ResolveGrammar(o.gen.grammar);
  LineReader reader;
  if (reader.interactive()) {
    std::fprintf(stderr, "ember chat: %s on %s, context %lld. /help for commands.\n", lm.path.c_str(),
                 lm.BackendName().c_str(), static_cast<long long>(session.n_ctx()));
  }

  for (;;) {
    std::optional<std::string> line = reader.Read("> ");
    if (!line) break;
    if (*line == "/exit" || *line == "/quit") break;
    if (*line == "/help") {
      std::fputs(kHelp, stdout);
      continue;
    }
    if (*line == "/reset") {
      chat->Clear();
      session.Reset();
      sampler->Reset();
      if (reader.interactive()) std::fprintf(stderr, "(conversation forgotten)\n");
      continue;
    }
    if (line->empty()) continue;

    chat->AddUser(*line);
    std::vector<Tokenizer::TextRange> contents;  // the messages: no special-token parsing there
    const std::string rendered = chat->Render(/*add_generation_prompt=*/true, &contents);
    const std::vector<int32_t> tokens = TokenizePrompt(tok, rendered, /*no_bos=*/false, contents);
    if (static_cast<int64_t>(tokens.size()) >= session.n_ctx()) {
      chat->PopLast();
      std::fprintf(stderr, "ember: the conversation (%zu tokens with this message) no longer fits the context of %lld: "
                   "/reset to start over, or restart with a larger -c\n",
                   tokens.size(), static_cast<long long>(session.n_ctx()));
      if (!reader.interactive()) Fail("the conversation no longer fits the context");
      continue;
    }
    const int64_t before = session.n_past();
    const std::span<const int32_t> fresh = session.KeepCommonPrefix(tokens);
    if (o.verbose) {
      std::fprintf(stderr, "[turn: %zu prompt tokens, %zu reused from the cache (of %lld), %zu evaluated]\n",
                   tokens.size(), tokens.size() - fresh.size(), static_cast<long long>(before), fresh.size());
    }
    for (int32_t id : fresh) sampler->Accept(id, /*accept_grammar=*/false);
    if (!gbnf.empty()) sampler->SetGrammar(gbnf);  // each answer starts at the grammar's root

    g_interrupted = 0;
    std::signal(SIGINT, OnSigint);
    TextGenerateOptions go;
    go.n_predict = o.gen.n_predict;
    go.stops = o.gen.stops;
    ChainChooser chooser(*sampler);
    const TextGenerateResult r = GenerateText(session, tok, fresh, chooser, go, [&](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return g_interrupted == 0;
    });
    std::signal(SIGINT, SIG_DFL);
    std::printf("\n");
    std::fflush(stdout);
    // The answer as shown (an interrupted one too) becomes the assistant's turn; the next render
    // closes it with the template's end-of-turn text.
    chat->AddAssistant(r.text);
    if (r.stop == StopReason::kStopped && reader.interactive()) std::fprintf(stderr, "(interrupted)\n");
    if (r.stop == StopReason::kContextFull) {
      std::fprintf(stderr, "ember: the context of %lld tokens is full: /reset to start over\n",
                   static_cast<long long>(session.n_ctx()));
    }
  }

  const Timings& t = session.timings();
  if (reader.interactive() || o.verbose) {
    std::fprintf(stderr, "prompt eval: %lld tokens, %.2f tokens per second; eval: %lld tokens, %.2f tokens per second\n",
                 static_cast<long long>(t.prompt_tokens),
                 t.prompt_ms > 0 ? 1000.0 * static_cast<double>(t.prompt_tokens) / t.prompt_ms : 0.0,
                 static_cast<long long>(t.gen_tokens),
                 t.gen_ms > 0 ? 1000.0 * static_cast<double>(t.gen_tokens) / t.gen_ms : 0.0);
  }
}

}  // namespace

void RegisterChat(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the terminal (multi-turn, through its chat template)");
  AddModelFlags(cmd, o->load);
  AddGenerationFlags(cmd, o->gen, /*default_n_predict=*/-1, "--json-object");
  AddTemplateFlags(cmd, o->chat);
  cmd->add_flag("--verbose", o->verbose, "Print per turn how many prompt tokens the cache saved, and timings");
  cmd->footer(std::string("In the chat:\n") + kHelp);
  cmd->callback([o] { Chat(*o); });
}

}  // namespace ember::cli
