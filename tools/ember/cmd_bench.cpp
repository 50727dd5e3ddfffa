// `ember bench`: llama-bench's measurements on one model. Tests, for every thread count:
//   ppN  N random valid token ids evaluated as one batch from an empty cache
//   tgN  N single-token decode steps from an empty cache
// and with -d D (llama-bench's --n-depth) the same after D random tokens already in the cache
// ("pp512 @ d4096"; filling the cache is not timed), to see how attention over a long context
// weighs. Each runs once as a warm-up, then -r times; reported as mean +- standard deviation of tokens/s
// (the mean of the per-repetition rates, as llama-bench). Generation also reports the weight bytes
// read per token (every matrix once; of the token embedding only one row, unless it is also the
// output matrix) and the GB/s that amounts to -- the figure to hold against the memory bandwidth.
// Output: a markdown table like llama-bench's (-o md), or json / csv rows.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "device_flags.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "runtime/model_path.h"
#include "runtime/session.h"

namespace ember::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::vector<int> n_prompt{512};
  std::vector<int> n_gen{128};
  std::vector<int> threads{0};
  std::vector<int> depths{0};
  int reps = 5;
  std::string output = "md";
  DeviceFlags device;
};

struct BenchRow {
  std::string test;  // pp512, tg128, "pp512 @ d4096"
  int threads = 0;
  int n_tokens = 0;
  int depth = 0;
  double tps_mean = 0.0, tps_sd = 0.0;
  double bytes_per_token = 0.0;  // tg only
  double copy_gbs = 0.0;         // tg on the GPU: the device's measured copy bandwidth
  std::vector<double> samples;   // tokens/s per repetition
};

struct ModelFacts {
  std::string name;        // file name
  std::string desc;        // "llama 135M Q4_1"
  uint64_t bytes = 0;      // all tensors
  uint64_t params = 0;
  uint64_t read_per_token = 0;
};

std::string HumanCount(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.2f} M", n / 1e6);
  return fmt::format("{}", n);
}

// The type that holds most of the weight bytes, as llama-bench's "Q4_K - Medium"-less summary.
ModelFacts Describe(const std::string& path, const Model& model) {
  ModelFacts f;
  f.name = path.substr(path.find_last_of('/') + 1);
  const GgufFile& file = model.file();
  const bool tied = file.FindTensor("output.weight") == nullptr;
  std::vector<uint64_t> by_type(64, 0);
  for (const GgufTensorInfo& t : file.tensors()) {
    f.bytes += t.n_bytes;
    f.params += t.n_elements;
    const auto ti = static_cast<size_t>(t.type);
    if (ti < by_type.size() && t.shape.size() >= 2) by_type[ti] += t.n_bytes;
    const bool embd = t.name == "token_embd.weight";
    if (!embd || tied) f.read_per_token += t.n_bytes;
    else if (t.n_rows() > 0) f.read_per_token += t.n_bytes / t.n_rows();  // one row looked up
  }
  size_t best = 0;
  for (size_t i = 0; i < by_type.size(); ++i) {
    if (by_type[i] > by_type[best]) best = i;
  }
  f.desc = fmt::format("{} {} {}", model.config().arch, HumanCount(f.params),
                       GgmlTypeName(static_cast<GgmlType>(best)));
  return f;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void MeanSd(BenchRow& row) {
  double sum = 0.0;
  for (double s : row.samples) sum += s;
  row.tps_mean = sum / static_cast<double>(row.samples.size());
  double var = 0.0;
  for (double s : row.samples) var += (s - row.tps_mean) * (s - row.tps_mean);
  row.tps_sd = row.samples.size() > 1 ? std::sqrt(var / static_cast<double>(row.samples.size() - 1))
                                      : 0.0;
}

std::vector<int32_t> RandomTokens(int64_t n, int64_t n_vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(n_vocab - 1));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = dist(rng);
  return t;
}

std::string TestName(const char* kind, int n, int depth) {
  return depth > 0 ? fmt::format("{}{} @ d{}", kind, n, depth) : fmt::format("{}{}", kind, n);
}

// Empties the cache, then (untimed) fills `depth` positions.
void ResetToDepth(Session& session, const std::vector<int32_t>& context) {
  session.Reset();
  if (!context.empty()) session.Prefill(context);
}

BenchRow RunPrompt(Session& session, int n, int depth, int reps, int threads, int64_t n_vocab,
                   std::mt19937& rng) {
  BenchRow row{TestName("pp", n, depth), threads, n, depth};
  const std::vector<int32_t> context = RandomTokens(depth, n_vocab, rng);
  const std::vector<int32_t> prompt = RandomTokens(n, n_vocab, rng);
  for (int r = -1; r < reps; ++r) {  // r == -1: warm-up
    ResetToDepth(session, context);
    const auto t0 = std::chrono::steady_clock::now();
    session.Prefill(prompt);
    const double s = Seconds(t0);
    if (r >= 0) row.samples.push_back(n / s);
  }
  MeanSd(row);
  return row;
}

BenchRow RunGen(Session& session, int n, int depth, int reps, int threads, int64_t n_vocab,
                std::mt19937& rng, double bytes_per_token) {
  BenchRow row{TestName("tg", n, depth), threads, n, depth};
  row.bytes_per_token = bytes_per_token;
  const std::vector<int32_t> context = RandomTokens(depth, n_vocab, rng);
  const std::vector<int32_t> tokens = RandomTokens(n, n_vocab, rng);
  for (int r = -1; r < reps; ++r) {
    ResetToDepth(session, context);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) session.Decode(tokens[static_cast<size_t>(i)]);
    const double s = Seconds(t0);
    if (r >= 0) row.samples.push_back(n / s);
  }
  MeanSd(row);
  return row;
}

void Print(const BenchOptions& o, const ModelFacts& f, const std::string& backend,
           const std::vector<BenchRow>& rows) {
  const double gib = static_cast<double>(f.bytes) / (1024.0 * 1024.0 * 1024.0);
  if (o.output == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const BenchRow& r : rows) {
      out.push_back({{"model_filename", f.name}, {"model_type", f.desc}, {"model_size", f.bytes},
                     {"model_n_params", f.params}, {"backend", backend}, {"n_threads", r.threads},
                     {"test", r.test}, {"n_tokens", r.n_tokens}, {"n_depth", r.depth}, {"avg_ts", r.tps_mean},
                     {"stddev_ts", r.tps_sd}, {"samples_ts", r.samples},
                     {"bytes_per_token", r.bytes_per_token},
                     {"gbs", r.bytes_per_token * r.tps_mean / 1e9}});
      if (r.copy_gbs > 0.0) {
        out.back()["device_copy_gbs"] = r.copy_gbs;
        out.back()["pct_of_copy_bw"] = 100.0 * r.bytes_per_token * r.tps_mean / 1e9 / r.copy_gbs;
      }
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (o.output == "csv") {
    std::printf("model_filename,model_type,model_size,model_n_params,backend,n_threads,test,"
                "avg_ts,stddev_ts,bytes_per_token,gbs,n_depth\n");
    for (const BenchRow& r : rows) {
      std::printf("%s,%s,%llu,%llu,%s,%d,%s,%.3f,%.3f,%.0f,%.3f,%d\n", f.name.c_str(), f.desc.c_str(),
                  static_cast<unsigned long long>(f.bytes),
                  static_cast<unsigned long long>(f.params), backend.c_str(), r.threads,
                  r.test.c_str(), r.tps_mean, r.tps_sd, r.bytes_per_token,
                  r.bytes_per_token * r.tps_mean / 1e9, r.depth);
    }
    return;
  }
  std::printf("| model | size | params | backend | threads | test | t/s | MB/token | GB/s |\n");
  std::printf("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const BenchRow& r : rows) {
    const bool tg = r.bytes_per_token > 0.0;
    std::printf("| %s | %.2f GiB | %s | %s | %d | %s | %.2f ± %.2f | %s | %s |\n", f.desc.c_str(),
                gib, HumanCount(f.params).c_str(), backend.c_str(), r.threads, r.test.c_str(),
                r.tps_mean, r.tps_sd, tg ? fmt::format("{:.1f}", r.bytes_per_token / 1e6).c_str() : "",
                tg ? fmt::format("{:.2f}", r.bytes_per_token * r.tps_mean / 1e9).c_str() : "");
  }
  for (const BenchRow& r : rows) {
    if (r.copy_gbs <= 0.0) continue;
    const double gbs = r.bytes_per_token * r.tps_mean / 1e9;
    std::printf("\n%s: %.0f GB/s of weights = %.0f%% of the device's measured copy bandwidth (%.0f GB/s, "
                "read + write)\n", r.test.c_str(), gbs, 100.0 * gbs / r.copy_gbs, r.copy_gbs);
  }
}

void Run(const BenchOptions& o) {
  if (o.reps < 1) Fail("-r must be at least 1 (got {})", o.reps);
  for (int p : o.n_prompt) {
    if (p < 0) Fail("-p values must not be negative (got {})", p);
  }
  for (int n : o.n_gen) {
    if (n < 0) Fail("-n values must not be negative (got {})", n);
  }
  for (int t : o.threads) {
    if (t < 0) Fail("-t values must not be negative (got {})", t);
  }
  for (int d : o.depths) {
    if (d < 0) Fail("-d values must not be negative (got {})", d);
  }
  const std::string path = ResolveModelPath(o.model);
  auto model = Model::Load(path, false);
  const ModelConfig& c = model->config();
  const ModelFacts facts = Describe(path, *model);
  int max_tokens = 1;
  for (int p : o.n_prompt) max_tokens = std::max(max_tokens, p);
  for (int n : o.n_gen) max_tokens = std::max(max_tokens, n);
  int max_depth = 0;
  for (int d : o.depths) max_depth = std::max(max_depth, d);
  if (static_cast<int64_t>(max_tokens) + max_depth > c.n_ctx_train) {
    Fail("{} tokens after a depth of {} do not fit the model's context of {}", max_tokens, max_depth,
         c.n_ctx_train);
  }
  std::mt19937 rng(1234);
  std::vector<BenchRow> rows;
  std::string backend_name = "CPU";
  for (int t : o.threads) {
    CpuBackend cpu(t);
    SessionOptions so;
    so.n_ctx = max_tokens + max_depth;
    auto gpu = UseDevice(o.device, *model, so, false);
    if (gpu) backend_name = "CUDA";
    if (!gpu) cpu.PrepareWeights(model->weights());  // repacking is load work, as in llama-bench
    Session session(*model, cpu, so);
    for (int d : o.depths) {
      for (int p : o.n_prompt) {
        if (p > 0) rows.push_back(RunPrompt(session, p, d, o.reps, cpu.n_threads(), c.n_vocab, rng));
      }
      for (int n : o.n_gen) {
        if (n > 0) {
          rows.push_back(RunGen(session, n, d, o.reps, cpu.n_threads(), c.n_vocab, rng,
                                static_cast<double>(facts.read_per_token)));
          rows.back().copy_gbs = GpuRooflineOf(gpu).copy_gbs;
        }
      }
    }
  }
  Print(o, facts, backend_name, rows);
}

}  // namespace

void RegisterBench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure prompt (pp) and generation (tg) speed like llama-bench");
  cmd->add_option("-m,--model", o->model, "GGUF model (default: the default model)");
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens per pp test (comma list; 0: none)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Generated tokens per tg test (comma list; 0: none)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "Threads (comma list; 0: physical cores)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-d,--n-depth", o->depths,
                  "Tokens already in the cache before each test (comma list; llama-bench's -d)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions after one warm-up")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "md, json or csv")
      ->check(CLI::IsMember({"md", "json", "csv"}))
      ->capture_default_str();
  AddDeviceFlags(cmd, o->device);
  cmd->callback([o] { Run(*o); });
}

}  // namespace ember::cli
