// `ember inspect FILE`: metadata, tensor table, totals and a one-line model summary.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "gguf/gguf_file.h"

namespace ember::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool full = false;
  bool json = false;
  bool no_tensors = false;
};

std::string ShapeString(const std::vector<uint64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

// A key or tensor name from the file for a terminal: control characters escaped (a hostile name
// must not add lines or send escape sequences), very long names shortened.
std::string Printable(const std::string& s, size_t max_len = 200) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_len) out += "...";
  return out;
}

// A string value if the key holds one; inspect shows any file, so a wrong type is not an error.
std::string StringOr(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

std::string HumanBytes(uint64_t n) {
  if (n >= (1ull << 30)) return fmt::format("{:.2f} GiB", n / double(1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.2f} MiB", n / double(1ull << 20));
  if (n >= (1ull << 10)) return fmt::format("{:.2f} KiB", n / double(1ull << 10));
  return fmt::format("{} B", n);
}

nlohmann::json ValueToJson(const GgufValue& v, bool full) {
  if (v.is_unsigned()) return v.as_unsigned();
  if (v.is_signed()) return v.as_signed();
  if (v.is_float()) return v.as_float();
  if (v.is_bool()) return v.as_bool();
  if (v.is_string()) return v.as_string();
  nlohmann::json a = nlohmann::json::array();
  const auto& items = v.as_array();
  const size_t n = full ? items.size() : std::min<size_t>(items.size(), 8);
  for (size_t i = 0; i < n; ++i) a.push_back(ValueToJson(items[i], full));
  return a;
}

// The model summary keys, looked up under the file's architecture prefix.
struct Summary {
  std::string arch, name, vocab_type;
  int64_t layers = -1, width = -1, heads = -1, kv_heads = -1, context = -1, ff = -1;
  size_t vocab_size = 0;
};

Summary Summarize(const GgufFile& f) {
  Summary s;
  s.arch = StringOr(f, "general.architecture");
  s.name = StringOr(f, "general.name");
  auto int_key = [&](const std::string& suffix) -> int64_t {
    const GgufValue* v = f.Find(s.arch + "." + suffix);
    if (v == nullptr) return -1;
    if (v->is_unsigned()) return static_cast<int64_t>(v->as_unsigned());
    if (v->is_signed()) return v->as_signed();
    if (v->is_array() && !v->as_array().empty()) {  // per-layer values (e.g. OpenELM)
      const auto& first = v->as_array()[0];
      if (first.is_unsigned()) return static_cast<int64_t>(first.as_unsigned());
      if (first.is_signed()) return first.as_signed();
    }
    return -1;
  };
  s.layers = int_key("block_count");
  s.width = int_key("embedding_length");
  s.heads = int_key("attention.head_count");
  s.kv_heads = int_key("attention.head_count_kv");
  if (s.kv_heads < 0) s.kv_heads = s.heads;
  s.context = int_key("context_length");
  s.ff = int_key("feed_forward_length");
  s.vocab_type = StringOr(f, "tokenizer.ggml.model");
  if (const GgufValue* t = f.Find("tokenizer.ggml.tokens"); t && t->is_array()) {
    s.vocab_size = t->as_array().size();
  }
  return s;
}

std::string SummaryLine(const Summary& s) {
  auto v = [](int64_t x) { return x < 0 ? std::string("?") : std::to_string(x); };
  return fmt::format(
      "{}{}: {} layers, width {}, {} heads / {} KV heads, feed-forward {}, context {}, vocabulary "
      "{} ({})",
      s.arch.empty() ? "(no architecture)" : Printable(s.arch),
      s.name.empty() ? "" : " '" + Printable(s.name) + "'",
      v(s.layers), v(s.width), v(s.heads), v(s.kv_heads), v(s.ff), v(s.context), s.vocab_size,
      s.vocab_type.empty() ? "no tokenizer" : Printable(s.vocab_type));
}

void RunInspect(const InspectOptions& opt) {
  const GgufFile f = GgufFile::Open(opt.path);
  uint64_t n_params = 0, n_bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (tensors, bytes)
  for (const auto& t : f.tensors()) {
    n_params += t.n_elements;
    n_bytes += t.n_bytes;
    auto& e = by_type[std::string(GgmlTypeName(t.type))];
    e.first += 1;
    e.second += t.n_bytes;
  }
  const Summary s = Summarize(f);

  if (opt.json) {
    nlohmann::json j;
    j["file"] = opt.path;
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["data_offset"] = f.data_offset();
    j["file_size"] = f.file_size();
    nlohmann::json meta = nlohmann::json::object();
    nlohmann::json meta_types = nlohmann::json::object();
    for (const auto& [k, v] : f.metadata()) {
      meta[k] = ValueToJson(v, opt.full);
      std::string type(GgufValueTypeName(v.type()));
      if (v.is_array()) {
        type += fmt::format("[{}; {}]", GgufValueTypeName(v.elem_type()), v.as_array().size());
      }
      meta_types[k] = type;
    }
    j["metadata"] = meta;
    j["metadata_types"] = meta_types;
    nlohmann::json tensors = nlohmann::json::array();
    if (!opt.no_tensors) {
      for (const auto& t : f.tensors()) {
        tensors.push_back({{"name", t.name}, {"type", GgmlTypeName(t.type)}, {"shape", t.shape},
                           {"offset", t.offset}, {"bytes", t.n_bytes}});
      }
    }
    j["tensors"] = tensors;
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [name, e] : by_type) types[name] = {{"tensors", e.first}, {"bytes", e.second}};
    j["totals"] = {{"tensors", f.tensors().size()}, {"parameters", n_params}, {"bytes", n_bytes},
                   {"by_type", types}};
    j["summary"] = {{"architecture", s.arch}, {"name", s.name}, {"layers", s.layers},
                    {"width", s.width}, {"heads", s.heads}, {"kv_heads", s.kv_heads},
                    {"feed_forward", s.ff}, {"context", s.context}, {"vocab_size", s.vocab_size},
                    {"vocab_type", s.vocab_type}, {"line", SummaryLine(s)}};
    // Strings from the file need not be UTF-8: replace bad bytes rather than throw.
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }

  fmt::print("{}: GGUF v{}, {} metadata keys, {} tensors, {}\n", opt.path, f.version(),
             f.metadata().size(), f.tensors().size(), HumanBytes(f.file_size()));
  fmt::print("\nmetadata:\n");
  // Columns fit the names, up to a limit: one long key must not pad every line.
  constexpr size_t kMaxColumn = 60;
  size_t key_width = 0;
  for (const auto& kv : f.metadata()) {
    key_width = std::max(key_width, std::min(kv.first.size(), kMaxColumn));
  }
  for (const auto& [k, v] : f.metadata()) {
    std::string type(GgufValueTypeName(v.type()));
    if (v.is_array()) type = fmt::format("arr[{},{}]", GgufValueTypeName(v.elem_type()), v.as_array().size());
    fmt::print("  {:<{}} {:<16} {}\n", Printable(k), key_width, type,
               v.ToString(opt.full ? SIZE_MAX : 8));
  }
  if (!opt.no_tensors && !f.tensors().empty()) {
    size_t name_width = 4;
    for (const auto& t : f.tensors()) {
      name_width = std::max(name_width, std::min(t.name.size(), kMaxColumn));
    }
    fmt::print("\ntensors:\n  {:<{}} {:<8} {:<24} {:>12}\n", "name", name_width, "type", "shape",
               "bytes");
    for (const auto& t : f.tensors()) {
      fmt::print("  {:<{}} {:<8} {:<24} {:>12}\n", Printable(t.name), name_width,
                 GgmlTypeName(t.type), ShapeString(t.shape), t.n_bytes);
    }
  }
  fmt::print("\ntotals: {} tensors, {} parameters ({:.1f} M), {} of tensor data\n",
             f.tensors().size(), n_params, n_params / 1e6, HumanBytes(n_bytes));
  for (const auto& [name, e] : by_type) {
    fmt::print("  {:<8} {:>5} tensors {:>12}\n", name, e.first, HumanBytes(e.second));
  }
  if (n_params > 0) {
    fmt::print("  bits per weight: {:.2f}\n", 8.0 * static_cast<double>(n_bytes) / static_cast<double>(n_params));
  }
  fmt::print("\nsummary: {}\n", SummaryLine(s));
}

}  // namespace

void RegisterInspect(CLI::App& app) {
  auto opt = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Show a GGUF file's metadata, tensors and a model summary (like gguf-dump)");
  cmd->add_option("file,-m,--model", opt->path, "GGUF file to inspect")->required();
  cmd->add_flag("--full", opt->full, "Show long arrays (vocabulary, merges) in full");
  cmd->add_flag("--json", opt->json, "Print one JSON document instead of text");
  cmd->add_flag("--no-tensors", opt->no_tensors, "Leave out the tensor table");
  cmd->callback([opt] { RunInspect(*opt); });
}

}  // namespace ember::cli
